"""Inspect data sets. ``check`` reads every sample listed in each split's pairs files through the format's reader and
prints a table of problems per split (missing or unreadable files, wrong sizes, unknown label ids, bad DensePose, empty
garment masks, pairs lines pointing at nothing, duplicate ids); exit code 1 when it found any.

Example: garment-transfer data check data/synthetic-128x96 --format canonical
"""

from __future__ import annotations

import argparse

from garment_transfer.data.check import check_dataset, format_report
from garment_transfer.data.densepose import ENCODINGS
from garment_transfer.data.formats import dresscode
from garment_transfer.data.readers import FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a data set before training on it", description=__doc__)
    check.add_argument("root", metavar="ROOT", help="the data set's folder")
    check.add_argument("--format", required=True, choices=FORMATS, help="on-disk layout")
    check.add_argument("--size", default="128x96", help="HEIGHTxWIDTH the reader is set to, multiples of 16 "
                                                        "(default 128x96; files are checked at their stored size)")
    check.add_argument("--label-map", help="built-in name or YAML path (default: the format's own)")
    check.add_argument("--densepose", choices=tuple(ENCODINGS),
                       help="pose encoding to check (default: iuv, or parts for viton)")
    check.add_argument("--densepose-files", choices=("iuv", "rendering"),
                       help="canonical only: what image-densepose holds (default iuv)")
    check.add_argument("--category", choices=dresscode.CATEGORIES, help="dresscode only (default upper_body)")
    check.add_argument("--max-problems", type=int, default=20, metavar="N", help="problems to list (default 20)")


def run(args: argparse.Namespace) -> int:
    options = {"size": args.size, "label_map": args.label_map}
    if args.densepose is not None:
        options["densepose"] = args.densepose
    for name, fmt in (("densepose_files", "canonical"), ("category", "dresscode")):
        value = getattr(args, name)
        if value is not None and args.format != fmt:
            raise ValueError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
        if value is not None:
            options[name] = value
    report = check_dataset(args.format, args.root, **options)
    print(format_report(report, max_problems=args.max_problems))
    return 0 if report.ok else 1
