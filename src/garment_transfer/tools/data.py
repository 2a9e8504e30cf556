"""Inspect data sets. ``check`` recognises the layout of ROOT (or takes ``--format``), reads every sample listed in
each split through its reader and prints a table of problems per split (missing or unreadable files, wrong sizes,
unknown label ids, JPEG label maps, bad or body-less DensePose, empty or unusable garment masks, bad or empty pair
lists, lines pointing at nothing, duplicate ids, ids in both splits, listings that do not match, files linked from
outside the data set); exit code 1 when it found any. A download of one split only is a note, not a problem.

Examples:
  garment-transfer data check data/VITON-HD                  # recognised as VITON-HD, options chosen from its files
  garment-transfer data check data/synthetic-128x96 --format canonical
"""

from __future__ import annotations

import argparse
import inspect

from garment_transfer.data.check import check_dataset, format_report
from garment_transfer.data.densepose import ENCODINGS
from garment_transfer.data.detect import detect_layout
from garment_transfer.data.formats import dresscode
from garment_transfer.data.formats.registry import FORMATS as FORMAT_TABLE
from garment_transfer.data.readers import DENSEPOSE_FILES, FORMATS

OPTIONS = ("densepose_files", "category", "test_pairs")  # reader options data check takes from the command line


def formats_taking(option: str) -> tuple[str, ...]:
    """The format names (aliases included) whose reader takes ``option``."""
    return tuple(
        name
        for f in FORMAT_TABLE.values()
        if option in inspect.signature(f.reader).parameters
        for name in (f.name, *f.aliases)
    )


_ONLY = {option: formats_taking(option) for option in OPTIONS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate a data set before training on it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("root", metavar="ROOT", help="the data set's folder, as downloaded")
    check.add_argument("--format", choices=FORMATS, help="on-disk layout (default: recognised from the folders)")
    check.add_argument(
        "--size",
        default="128x96",
        help="HEIGHTxWIDTH the reader is set to, multiples of 16 "
        "(default 128x96; files are checked at their stored size)",
    )
    check.add_argument("--label-map", help="built-in name or YAML path (default: the format's own)")
    check.add_argument(
        "--densepose", choices=tuple(ENCODINGS), help="pose encoding to check (default: the one the files call for)"
    )
    check.add_argument(
        "--densepose-files",
        choices=DENSEPOSE_FILES,
        help="canonical / cpvton: what image-densepose holds (default: recognised, else iuv)",
    )
    check.add_argument(
        "--category",
        help="dresscode only: upper_body, lower_body, dresses, a comma list, or all "
        "(default: the category folders present)",
    )
    check.add_argument(
        "--test-pairs",
        metavar="FILE",
        help="viton only: the test list (PF-AFN keeps test_pairs.txt / demo.txt in its code repository)",
    )
    check.add_argument(
        "--max-problems",
        type=int,
        default=20,
        metavar="N",
        help="problems to list (default 20; 0 lists none, the table still counts them all)",
    )


def _category(text: str):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return "all"
    for name in names:
        if name not in dresscode.CATEGORIES:
            raise ValueError(f"--category {text}: each must be one of {dresscode.CATEGORIES} (or all)")
    return names[0] if len(names) == 1 else names


def run(args: argparse.Namespace) -> int:
    if args.max_problems < 0:
        raise ValueError(f"--max-problems {args.max_problems}: must be 0 or more (the number of problems to list)")
    layout, root, options = "", args.root, {}
    fmt = args.format
    if fmt is None:
        found = detect_layout(args.root)
        fmt, root, options, layout = found.format, found.root, dict(found.options), found.describe()
    given = {
        "densepose_files": args.densepose_files,
        "test_pairs": args.test_pairs,
        "category": None if args.category is None else _category(args.category),
    }
    for name, value in given.items():
        if value is not None and fmt not in _ONLY[name]:
            raise ValueError(
                f"--{name.replace('_', '-')} applies to --format {' / '.join(_ONLY[name])} only (this data set: {fmt})"
            )
        if value is not None:
            options[name] = value
    options.update({"size": args.size, "label_map": args.label_map})
    if args.densepose is not None:
        options["densepose"] = args.densepose
    if options.get("densepose_files") == "rendering" and args.densepose is None:
        options["densepose"] = "rendering"
    report = check_dataset(fmt, root, **options)
    report.layout = layout
    print(format_report(report, max_problems=args.max_problems))
    return 0 if report.ok else 1
