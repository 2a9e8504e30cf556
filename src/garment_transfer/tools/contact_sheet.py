"""Render a contact sheet (one PNG) of a generated data set: person, parsing, DensePose, in-shop garment, and
source / target / true-transfer rows, so a person sees at a glance what the data looks like."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", help="a data set written by `garment-transfer synth`")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--rows", type=int, default=4, help="transfer pairs to show, 1 or more (default 4)")


def run(args: argparse.Namespace) -> int:
    from garment_transfer.data.contact_sheet import write_contact_sheet

    if args.rows < 1:
        raise ValueError(f"--rows {args.rows}: the sheet needs at least 1 row (a transfer pair)")
    print(write_contact_sheet(args.root, args.out, args.rows))
    return 0
