"""Check, before the first stage starts, everything the stages of a plan will need, and list what is missing.

``make train-all`` runs it with the preset's configs (``make -n train-all`` shows the call). For every config: its
classes import; every weight file it names (``vgg_weights``, ``inception``, ``lpips``, ``lpips_backbone``) exists,
unless the config explicitly allows going without it (``allow_random_vgg``); every ``*_checkpoint`` and every entry
of ``checkpoints`` exists or is written by an earlier stage of the plan (under ``--runs``); every data root exists;
and the disk holds the built-in synthetic data set a config will generate. Exit code 2 and one line per problem,
with how to fix it.

Example: ``garment-transfer preflight --runs runs/cpu -c conf/trainer/cpu.yaml conf/distilled_transfer/*/cpu.yaml``
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path

import yaml

from garment_transfer.data.io import read_json
from garment_transfer.data.samples import parse_size

WEIGHT_FILES = {  # model argument -> how to get the file
    "vgg_weights": "the torchvision VGG-19 file vgg19-dcbb9e9d.pth (https://download.pytorch.org/models/"
    "vgg19-dcbb9e9d.pth, fetched by hand on a machine with network), or set allow_random_vgg: true",
    "inception": "torch-fidelity's weights-inception-2015-12-05-6726825d.pth, or set inception: null to skip "
    "FID / KID / IS (the report says so)",
    "lpips": "the lpips package's weights/v0.1/vgg.pth, or set lpips: null to skip LPIPS",
    "lpips_backbone": "torchvision's vgg16-397923af.pth (the LPIPS backbone), or set lpips: null",
}
BYTES_PER_PIXEL = 5.0  # synthetic set on disk per pixel of one sample (3.2 measured at 128 x 96), with a margin
# The data module's defaults (data.datamodule.DEFAULT_SYNTHETIC, not imported: preflight runs without torch); val and
# test samples each come with their true transfers.
DEFAULT_SYNTHETIC = {"train": 2000, "val": 200, "test": 200, "transfers": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="the stage configs of the plan")
    parser.add_argument("-c", "--trainer", metavar="YAML", help="the shared trainer overlay (checked to load)")
    parser.add_argument(
        "--runs",
        default="runs/cpu",
        metavar="DIR",
        help="where the plan's stages write (checkpoints under it are made by earlier stages)",
    )


def _load(path: Path) -> dict:
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the config ({err})") from err
    if not isinstance(config, dict):
        raise ValueError(f"{path}: not a mapping of config sections")
    for section in ("trainer", "model", "data"):
        value = config.get(section)
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                f"{path}: {section} must be a mapping (class_path:, init_args:), got a {type(value).__name__}"
            )
        arguments = (value or {}).get("init_args")
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"{path}: {section}.init_args must be a mapping, got a {type(arguments).__name__}")
        class_path = (value or {}).get("class_path")
        if class_path is not None and not isinstance(class_path, str):
            raise ValueError(f"{path}: {section}.class_path must be a dotted class path, got {class_path!r}")
    return config


def _imports(class_path: str) -> bool:
    module, _, name = class_path.rpartition(".")
    if not module:
        return False
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def _synthetic_bytes(init_args: dict) -> tuple[Path, float]:
    """Where the built-in synthetic set goes and its size on disk, from a data module's init_args (root null)."""
    size = parse_size(init_args.get("size", "128x96"))
    counts = {**DEFAULT_SYNTHETIC, **(init_args.get("synthetic") or {})}
    samples = counts["train"] + (counts["val"] + counts["test"]) * (1 + counts["transfers"])
    return Path(f"data/synthetic-{size[0]}x{size[1]}"), BYTES_PER_PIXEL * size[0] * size[1] * samples


def problems(configs: list[Path], runs: Path) -> list[str]:
    """What the plan misses, one line each."""
    found, synthetic = [], {}
    for path in configs:
        config = _load(path)
        for section in ("model", "data"):
            class_path = (config.get(section) or {}).get("class_path")
            if class_path and not _imports(class_path):
                found.append(f"{path}: {section}.class_path {class_path} does not import")
        model = (config.get("model") or {}).get("init_args") or {}
        for name, how in WEIGHT_FILES.items():
            value = model.get(name)
            if value and not Path(value).is_file():
                if name == "vgg_weights" and model.get("allow_random_vgg"):
                    continue
                found.append(f"{path}: model.init_args.{name} {value} not found: get {how}")
        named = {name: value for name, value in model.items() if name.endswith("_checkpoint")}
        if isinstance(model.get("checkpoints"), dict):
            named.update({f"checkpoints.{role}": value for role, value in model["checkpoints"].items()})
        for name, value in named.items():
            if value is not None and not isinstance(value, str):
                found.append(f"{path}: model.init_args.{name} {value!r}: a checkpoint must be a path")
                continue
            if value and not Path(value).is_file() and not Path(value).resolve().is_relative_to(runs.resolve()):
                found.append(
                    f"{path}: model.init_args.{name} {value} not found, and no stage of this plan "
                    f"writes it (they write under {runs})"
                )
        data = (config.get("data") or {}).get("init_args") or {}
        if "root" in data and data["root"] is not None and not Path(data["root"]).is_dir():
            found.append(
                f"{path}: data.init_args.root {data['root']} not found: point it at the data set folder, "
                "or set it to null for the built-in synthetic set"
            )
        elif "root" in data and data["root"] is None and "size" in data:
            root, needed = _synthetic_bytes(data)
            if (read_json(root / "meta.json") or {}).get("status") != "complete":
                synthetic[root] = max(synthetic.get(root, 0.0), needed)
    for root, needed in synthetic.items():
        existing = root
        while not existing.exists():
            existing = existing.parent
        free = shutil.disk_usage(existing).free
        if free < needed:
            found.append(
                f"{root}: the built-in synthetic set needs about {needed / 1e9:.1f} GB and {existing} has "
                f"{free / 1e9:.1f} GB free: free some space or set data.init_args.root to another disk"
            )
    return found


def run(args: argparse.Namespace) -> int:
    configs = [Path(c) for c in args.configs]
    if args.trainer:
        _load(Path(args.trainer))
    missing = [str(c) for c in configs if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: config not found")
    found = problems(configs, Path(args.runs))
    for line in found:
        print(f"garment-transfer preflight: {line}", file=sys.stderr)
    if found:
        print(f"garment-transfer preflight: {len(found)} problem(s); nothing was started", file=sys.stderr)
        return 2
    print(f"preflight: {len(configs)} configs checked, nothing missing")
    return 0
