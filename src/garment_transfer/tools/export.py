"""Write a canonical data set in the DressCode or VITON 256 x 192 layout (see ``garment_transfer.data.formats``)."""

from __future__ import annotations

import argparse

from garment_transfer.data.formats import dresscode, viton


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="canonical data set root (holding train/ and test/)")
    parser.add_argument("--format", required=True, choices=("dresscode", "viton"), help="layout to write")
    parser.add_argument("--out", required=True, metavar="DIR", help="empty folder, or a previous export of the format")
    parser.add_argument(
        "--category", default="upper_body", choices=dresscode.CATEGORIES, help="DressCode category folder"
    )


def run(args: argparse.Namespace) -> int:
    if args.format == "dresscode":
        count = dresscode.export_dresscode(args.root, args.out, category=args.category)
        where = f"{args.out}/{args.category}"
    else:
        count = viton.export_viton(args.root, args.out)
        where = args.out
    print(f"exported {count} samples in {args.format} layout to {where}")
    return 0
