"""Collect a preset's evaluations (``<runs>/pipeline`` and ``<runs>/baselines/*``, written by ``garment-transfer
test``) into a markdown report with one table per protocol and an image grid (source, target, each method, truth).

Example: garment-transfer report runs/cpu --data data/synthetic-128x96 --out runs/cpu/report.md
"""

from __future__ import annotations

import argparse

from garment_transfer.report import build_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUNS", help="a preset's run folder, e.g. runs/cpu")
    parser.add_argument("--data", required=True, metavar="ROOT", help="the canonical data set that was evaluated")
    parser.add_argument("--out", required=True, metavar="MD", help="report file; the grid goes beside it as .png")
    parser.add_argument("--pairs", type=int, default=6, metavar="N", help="rows of the image grid (default 6)")


def run(args: argparse.Namespace) -> int:
    if args.pairs < 1:
        raise ValueError(f"--pairs {args.pairs}: the image grid needs at least 1 row")
    print(build_report(args.runs, args.data, args.out, args.pairs))
    return 0
