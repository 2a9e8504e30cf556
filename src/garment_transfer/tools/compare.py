"""Put trained methods side by side on the same pairs: one markdown report with a table per protocol (true try-on,
paired try-on, true transfer, re-transfer) and an image grid (source, in-shop garment, target, every method's try-on
and transfer, truth), from evaluations written by ``garment-transfer test``. A method may name several evaluation
folders (its transfer run and its try-on run); methods lacking a protocol are left out of its table. On true try-on,
true transfer and re-transfer, the ``--reference`` method (default ``ours``) is set against every other with paired
bootstrap intervals of the per-pair PSNR / SSIM differences ("n.s." where an interval holds 0).

``--runs DIR`` adds every evaluation the registered methods ship (``registry.evaluations``: its title and
``<DIR>/<its run folder>/results``) that has been run; ``--method`` adds folders by hand.

Examples::

  garment-transfer compare --data data/synthetic-128x96 --out runs/cpu/compare.md --runs runs/cpu   # make compare
  garment-transfer compare --data data/synthetic-128x96 --out cmp.md \\
      --method "ours=runs/cpu/pipeline/results" --method "PF-AFN=runs/cpu/baselines/pfafn/results"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from garment_transfer import registry
from garment_transfer.evaluation.comparison import RESAMPLES
from garment_transfer.report import build_comparison, parse_method


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="a method's name and one of its results folders (with metrics.json); repeat",
    )
    parser.add_argument("--runs", metavar="DIR", help="a preset's run folder: every registered evaluation found there")
    parser.add_argument("--data", required=True, metavar="ROOT", help="the canonical data set that was evaluated")
    parser.add_argument("--out", required=True, metavar="MD", help="report file; the grid goes beside it as .png")
    parser.add_argument("--pairs", type=int, default=6, metavar="N", help="rows of the image grid (default 6)")
    parser.add_argument(
        "--title", default="Try-on and transfer, every method on the same pairs", help="the report's heading"
    )
    parser.add_argument(
        "--reference",
        default="ours",
        metavar="NAME",
        help="the method set against every other with paired bootstrap intervals (default ours)",
    )
    parser.add_argument(
        "--resamples", type=int, default=RESAMPLES, metavar="N", help=f"bootstrap replicates (default {RESAMPLES})"
    )


def registered(runs: str | Path) -> list[tuple[str, Path]]:
    """``(title, results folder)`` of every registered evaluation that has been run under ``runs``."""
    found = [(e.title, Path(runs) / e.run_folder / "results") for e in registry.evaluations().values()]
    return [(title, folder) for title, folder in found if (folder / "metrics.json").is_file()]


def run(args: argparse.Namespace) -> int:
    if not args.method and not args.runs:
        raise ValueError("compare: give --runs DIR (the registered evaluations run there) or --method NAME=FOLDER")
    methods: dict = {}
    if args.runs:
        if not Path(args.runs).is_dir():
            raise FileNotFoundError(f"--runs {args.runs}: run folder not found")
        for title, folder in registered(args.runs):
            methods.setdefault(title, []).append(folder)
        if not methods:
            raise ValueError(f"--runs {args.runs}: no registered evaluation has been run there (make evaluate)")
    for spec in args.method:
        name, folder = parse_method(spec)
        methods.setdefault(name, []).append(folder)
    if args.reference != "ours" and args.reference not in methods:
        raise ValueError(f"--reference {args.reference!r}: not one of the methods {sorted(methods)}")
    if args.pairs < 1 or args.resamples < 1:
        raise ValueError(f"--pairs {args.pairs} / --resamples {args.resamples}: give positive counts")
    print(
        build_comparison(
            methods, args.data, args.out, args.pairs, args.title, reference=args.reference, resamples=args.resamples
        )
    )
    return 0
