"""Put trained methods side by side on the same pairs: one markdown report with a table per protocol (true try-on,
paired try-on, true transfer, re-transfer) and an image grid (source, in-shop garment, target, every method's try-on
and transfer, truth), from evaluations written by ``garment-transfer test``. A method may name several evaluation
folders (its transfer run and its try-on run); methods lacking a protocol are left out of its table. On true try-on,
true transfer and re-transfer, the ``--reference`` method (default ``ours``) is set against every other with paired
bootstrap intervals of the per-pair PSNR / SSIM differences ("n.s." where an interval holds 0).

Example (make compare):
  garment-transfer compare --data data/synthetic-128x96 --out runs/cpu/compare.md \\
      --method "ours=runs/cpu/pipeline/results" --method "PF-AFN=runs/cpu/baselines/pfafn/results" \\
      --method "try-on teachers=runs/cpu/baselines/teacher/results" \\
      --method "try-on teachers=runs/cpu/baselines/teacher_tryon/results"
"""

from __future__ import annotations

import argparse

from garment_transfer.evaluation.comparison import RESAMPLES
from garment_transfer.report import build_comparison, parse_method


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--method", action="append", required=True, metavar="NAME=FOLDER",
                        help="a method's name and one of its results folders (with metrics.json); repeat")
    parser.add_argument("--data", required=True, metavar="ROOT", help="the canonical data set that was evaluated")
    parser.add_argument("--out", required=True, metavar="MD", help="report file; the grid goes beside it as .png")
    parser.add_argument("--pairs", type=int, default=6, metavar="N", help="rows of the image grid (default 6)")
    parser.add_argument("--title", default="Try-on and transfer, every method on the same pairs",
                        help="the report's heading")
    parser.add_argument("--reference", default="ours", metavar="NAME",
                        help="the method set against every other with paired bootstrap intervals (default ours)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES, metavar="N",
                        help=f"bootstrap replicates (default {RESAMPLES})")


def run(args: argparse.Namespace) -> int:
    methods: dict = {}
    for spec in args.method:
        name, folder = parse_method(spec)
        methods.setdefault(name, []).append(folder)
    if args.reference != "ours" and args.reference not in methods:
        raise ValueError(f"--reference {args.reference!r}: not one of the methods {sorted(methods)}")
    if args.pairs < 1 or args.resamples < 1:
        raise ValueError(f"--pairs {args.pairs} / --resamples {args.resamples}: give positive counts")
    print(build_comparison(methods, args.data, args.out, args.pairs, args.title, reference=args.reference,
                           resamples=args.resamples))
    return 0
