"""Write a canonical data set in the layout of DressCode, PF-AFN's VITON 256 x 192 pack, CP-VTON or GP-VTON (see
``garment_transfer.data.formats``); each export reads back through its reader.

The source is read with the canonical reader's checks: a photo with an alpha channel is composited on white (a
warning names it); a DensePose that a layout cannot hold is refused naming the file: VITON-HD's colour renderings in
any layout, a grey part index in DressCode's (which needs U, V).

The export is written into a hidden temporary folder beside ``--out`` and renamed into place when it is complete:
a failed export leaves ``--out`` as it was (absent, or the previous export).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from garment_transfer.data.formats import cpvton, dresscode, gpvton, viton
from garment_transfer.data.io import read_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="canonical data set root (holding train/ and test/)")
    parser.add_argument("--format", required=True, choices=tuple(EXPORTERS), help="layout to write")
    parser.add_argument("--out", required=True, metavar="DIR", help="empty folder, or a previous export of the format")
    parser.add_argument(
        "--category",
        default=None,
        choices=dresscode.CATEGORIES,
        help="DressCode: write every sample into this category folder (default: each into its own category, "
        "upper_body for a set without categories)",
    )


EXPORTERS = {
    "dresscode": lambda root, out, category, warnings: dresscode.export_dresscode(root, out, category, warnings),
    "viton": lambda root, out, category, warnings: viton.export_viton(root, out, warnings=warnings),
    "cpvton": lambda root, out, category, warnings: cpvton.export_cpvton(root, out, warnings=warnings),
    "gpvton": lambda root, out, category, warnings: gpvton.export_gpvton(root, out, warnings=warnings),
}


def export(root: str, out: Path, fmt: str, category: str | None, warnings: list[str] | None = None) -> int:
    """Export into ``out`` (see the module docstring); returns the number of samples. The reader's warnings about
    the source's files (an alpha channel composited on white) go to ``warnings``."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if not Path(root).is_dir():
        raise FileNotFoundError(f"ROOT {root}: data set folder not found")
    previous = read_json(out / "meta.json") if out.is_dir() else None
    if out.is_dir() and any(out.iterdir()) and (previous or {}).get("format") != fmt:
        raise ValueError(f"--out {out}: folder is not empty and is not a previous {fmt} export; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        if out.is_dir() and any(out.iterdir()):  # a previous export of the format: extend it in the copy
            shutil.rmtree(staging)
            shutil.copytree(out, staging)
        count = EXPORTERS[fmt](root, staging, category, warnings)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(staging, out)
            shutil.rmtree(old)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return count


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    warnings: list[str] = []
    count = export(args.root, out, args.format, args.category, warnings)  # a refusal is its one line alone
    for warning in warnings:
        print(f"garment-transfer export: warning: {warning}", file=sys.stderr)
    where = out / args.category if args.format == "dresscode" and args.category else out
    print(f"exported {count} samples in {args.format} layout to {where}")
    return 0
