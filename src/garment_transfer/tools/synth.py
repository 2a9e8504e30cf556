"""Generate the synthetic garment-transfer data set in the canonical layout (resumable, parallel, deterministic).

Example: garment-transfer synth --out data/synthetic-128x96 --size 128x96 --train 2000 --test 200 --seed 0
         garment-transfer synth --out data/synthetic-3cat --categories upper,lower,dresses   (DressCode-like)
"""

from __future__ import annotations

import argparse
import os

from omegaconf import OmegaConf

from garment_transfer.data.samples import parse_size
from garment_transfer.data.synth import EngineConfig, SynthSettings, generate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write (created; an earlier run's folder resumes)")
    parser.add_argument("--size", default="128x96", help="HEIGHTxWIDTH, multiples of 16 (default 128x96)")
    parser.add_argument("--train", type=int, default=2000, help="training samples (default 2000)")
    parser.add_argument(
        "--val",
        type=int,
        default=0,
        help="validation samples, with true transfers like the test "
        "split (default 0: no validation split; make data and "
        "the built-in set use 200)",
    )
    parser.add_argument("--test", type=int, default=200, help="test samples (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    parser.add_argument(
        "--transfers", type=int, default=1, help="true transfers per validation and test target (default 1)"
    )
    parser.add_argument("--train-transfers", type=int, default=0, help="true transfers per train target (default 0)")
    parser.add_argument(
        "--config", help="YAML of engine parameter ranges overriding the defaults (conf/data/engine.yaml lists them)"
    )
    parser.add_argument(
        "--categories",
        default="upper",
        help="garment categories, comma-separated: upper (default), lower, dresses; each gets --train "
        "and --test samples of its own, true transfers within the category and DressCode-like "
        "lists in <out>/<upper_body|lower_body|dresses>/",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="processes (default 0: every core; at most the machine's cores)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def load_engine_config(path: str | None) -> EngineConfig:
    if path is None:
        return EngineConfig()
    values = OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of engine parameters")
    try:
        return EngineConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None


def run(args: argparse.Namespace) -> int:
    height, width = parse_size(args.size)
    if args.workers < 0:
        raise ValueError(f"--workers {args.workers}: must be 0 (every core) or more")
    cores = os.cpu_count() or 1
    if args.workers > cores:
        print(f"--workers {args.workers}: this machine has {cores} cores; using {cores}")
        args.workers = cores
    settings = SynthSettings(
        seed=args.seed,
        height=height,
        width=width,
        counts={"train": args.train, "val": args.val, "test": args.test},
        transfers_per_target={"train": args.train_transfers, "val": args.transfers, "test": args.transfers},
        config=load_engine_config(args.config),
        categories=tuple(name.strip() for name in args.categories.split(",") if name.strip()),
    )
    report = generate(args.out, settings, workers=args.workers, progress=not args.quiet)
    print(f"{report.root}: {report.written} file sets written, {report.skipped} already there")
    return 0
