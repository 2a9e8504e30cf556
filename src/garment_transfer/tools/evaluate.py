"""Evaluate a folder of result images under one protocol (docs/evaluation.md) and print the metrics table.

Protocols: transfer (each result against the true transfer of a synthetic data set), retransfer (each result
I_{s<-t<-s}, named after its pair (s, t), against the source person I_s), unpaired (the results alone: IS, and FID /
KID against the real target persons when --data is given); for try-on results: tryon (the target in the source's
in-shop garment against the true transfer, which is its true try-on), tryon_paired (each person in their own in-shop
garment, <id>__<id>.png, against the person), tryon_unpaired (as unpaired). Results are named
<source>__<target>.png, or as the third column of --pairs says; without --pairs the pair list is the data set's
fixed evaluation pairs (the true transfers where they exist), as the pipeline's test uses them. FID, KID and IS
need --inception, LPIPS needs --lpips and --lpips-backbone: without them those metrics are listed as skipped, with
the reason.

Examples:
  garment-transfer evaluate --results runs/pipeline/results/transfer --data data/synthetic-128x96 --out eval/
  garment-transfer evaluate --results R --data D --protocol retransfer --inception FID_WEIGHTS.pth
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from garment_transfer.data.fingerprint import dataset_fingerprint
from garment_transfer.data.readers import FORMATS
from garment_transfer.evaluation import METRICS, PREPROCESSING, PROTOCOLS, evaluate_folder, format_table, write_results
from garment_transfer.evaluation.statistics import KID_SUBSET_SIZE


def _metrics(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown or no metrics {unknown or names}; choose from {','.join(METRICS)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = PREPROCESSING
    parser.add_argument("--results", required=True, metavar="DIR", help="folder of result images")
    parser.add_argument("--protocol", default="transfer", choices=PROTOCOLS, help="default transfer")
    parser.add_argument(
        "--data",
        metavar="ROOT",
        help="data set with the references (required by transfer and retransfer; the real set of unpaired)",
    )
    parser.add_argument(
        "--format", default="canonical", choices=FORMATS, help="the data set's layout (default canonical)"
    )
    parser.add_argument("--split", default="test", help="the data set's split (default test)")
    parser.add_argument("--pairs", metavar="FILE", help="CSV / text pairs file: source,target[,result] per line")
    parser.add_argument(
        "--eval-seed",
        type=int,
        default=0,
        help="seed of the data set's evaluation pairs where it has no true transfers (default 0, as the pipeline)",
    )
    parser.add_argument(
        "--inception", metavar="FILE", help="FID Inception-v3 weights (weights-inception-2015-12-05-6726825d.pth)"
    )
    parser.add_argument(
        "--lpips", metavar="FILE", help="LPIPS v0.1 linear layers (the lpips package's vgg.pth or alex.pth)"
    )
    parser.add_argument(
        "--lpips-backbone",
        metavar="FILE",
        help="its torchvision backbone (vgg16-397923af.pth or alexnet-owt-7be5be79.pth)",
    )
    parser.add_argument(
        "--metrics",
        type=_metrics,
        default=METRICS,
        metavar="LIST",
        help=f"comma-separated subset of {','.join(METRICS)} (default all)",
    )
    parser.add_argument(
        "--kid-subset-size",
        type=int,
        default=KID_SUBSET_SIZE,
        metavar="N",
        help=f"KID subset size; KID is skipped with fewer images (default {KID_SUBSET_SIZE})",
    )
    parser.add_argument("--batch-size", type=int, default=16, metavar="N", help="images per batch (default 16)")
    parser.add_argument("--device", help="torch device (default cuda when available, else cpu)")
    parser.add_argument("--out", metavar="DIR", help="write DIR/metrics.json and DIR/metrics.csv")


def check_arguments(args: argparse.Namespace) -> None:
    """Counts positive, the device one torch knows and this machine has."""
    import torch

    for name in ("batch_size", "kid_subset_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    if args.device is not None:
        try:
            device = torch.device(args.device)
        except RuntimeError:
            raise ValueError(f"--device {args.device!r}: not a torch device (cpu, cuda, cuda:1, mps)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: this machine has no CUDA device; use --device cpu")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {args.device}: this machine has {torch.cuda.device_count()} CUDA devices")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    folder = Path(args.results).name
    if folder in PROTOCOLS and folder != args.protocol:
        print(
            f"garment-transfer evaluate: warning: {args.results} holds the pipeline's {folder!r} results and is "
            f"scored under --protocol {args.protocol}: the names match, the images may not",
            file=sys.stderr,
        )
    result = evaluate_folder(
        args.results,
        protocol=args.protocol,
        data=args.data,
        format=args.format,
        split=args.split,
        pairs=args.pairs,
        inception=args.inception,
        lpips=args.lpips,
        lpips_backbone=args.lpips_backbone,
        metrics=args.metrics,
        eval_seed=args.eval_seed,
        batch_size=args.batch_size,
        device=args.device,
        progress=True,
        kid_subset_size=args.kid_subset_size,
    )
    title = f"results: {args.results}"
    if args.out is None:
        print(format_table({args.protocol: result}, title))
    else:
        data = {"root": args.data, "fingerprint": dataset_fingerprint(args.data)} if args.data else None
        print(write_results({args.protocol: result}, Path(args.out) / "metrics", title, data))
        print(f"wrote {Path(args.out) / 'metrics.json'} and {Path(args.out) / 'metrics.csv'}")
    return 0
