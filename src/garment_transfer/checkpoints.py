"""Stage checkpoints as other stages, the pipeline and the tools read them: safely, and knowing which stage wrote them.

A checkpoint is read with ``torch.load(..., weights_only=True)``: tensors and plain Python containers only, so a file
whose pickle would run code is refused, never executed. Every stage module records its class path under
:data:`STAGE_KEY` when it saves (``StageModule.on_save_checkpoint``); :func:`checkpoint_stage` reads it back, and for
checkpoints written before the stages moved to ``stages/<method>/<stage>/`` it maps the class path that LightningCLI
stored in the hyper-parameters (``_class_path``) through :data:`LEGACY_CLASS_PATHS`. The class paths of the stages
whose checkpoints other code loads are the constants below (a test checks that each names the class it should).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pickle
import sys
from pathlib import Path
from typing import Any

import torch

STAGE_KEY = "garment_transfer_stage"  # the class path of the stage module that wrote a checkpoint

_METHOD = "garment_transfer.stages.distilled_transfer"
TRYON_PARSING = f"{_METHOD}.tryon_parsing.lightning_module.TryOnParsingModule"
TRANSFER_PARSING = f"{_METHOD}.transfer_parsing.lightning_module.TransferParsingModule"
TRYON_WARPING = f"{_METHOD}.tryon_warping.lightning_module.TryOnWarpingModule"
TRANSFER_WARPING = f"{_METHOD}.transfer_warping.lightning_module.TransferWarpingModule"
ARM_REGROWTH = f"{_METHOD}.arm_regrowth.lightning_module.ArmRegrowthModule"

_PFAFN = "garment_transfer.stages.pfafn"  # PF-AFN (SYSTEMS.md 1)
PB_WARPING = f"{_PFAFN}.pb_warping.lightning_module.PBWarpingModule"
PB_TRYON = f"{_PFAFN}.pb_tryon.lightning_module.PBTryOnModule"
PF_WARPING = f"{_PFAFN}.pf_warping.lightning_module.PFWarpingModule"
PF_TRYON = f"{_PFAFN}.pf_tryon.lightning_module.PFTryOnModule"

# Class paths of the stage modules before the method folders (``garment_transfer.stages.<stage>``), as LightningCLI
# wrote them into ``hyper_parameters._class_path`` (the package path) or as a module's own path names them.
LEGACY_CLASS_PATHS = {
    f"garment_transfer.stages.{stage}{module}.{name}": new
    for stage, name, new in (("tryon_parsing", "TryOnParsingModule", TRYON_PARSING),
                             ("transfer_parsing", "TransferParsingModule", TRANSFER_PARSING),
                             ("tryon_warping", "TryOnWarpingModule", TRYON_WARPING),
                             ("transfer_warping", "TransferWarpingModule", TRANSFER_WARPING),
                             ("arm_regrowth", "ArmRegrowthModule", ARM_REGROWTH))
    for module in ("", ".lightning_module")
}


def safe_load(path: str | Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, every failure one line naming the file.

    A file whose pickle asks for anything beyond tensors and plain containers (which could run code while it is
    read) is refused, never executed; a truncated or foreign file says it cannot be read.

    Args:
        path: the file. what: what it should be ("checkpoint", "VGG-19 weights file"), for messages.

    Raises:
        FileNotFoundError: the file does not exist. ValueError: the file is refused or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "unsupported global" in text.lower() or "not an allowed global" in text.lower():
            raise ValueError(f"{path}: refused: this {what} asks to unpickle objects beyond tensors and plain "
                             "containers, which could run code; only files that load with weights_only=True are "
                             "read") from err
        detail = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                       if "WeightsUnpickler error" in line), text.strip().splitlines()[0] if text.strip() else "")
        raise ValueError(f"{path}: cannot read {what} (not a torch file, or damaged: {detail})") from err
    except Exception as err:  # torch raises many types for a truncated or foreign file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: cannot read {what} ({type(err).__name__}: {first})") from err


class _LegacyStageModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import garment_transfer.stages.<stage>[.lightning_module]`` give today's module, so that a checkpoint
    whose hyper-parameters name an old class path (LightningCLI reads ``_class_path`` on ``--ckpt_path``) resolves."""

    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in self.modules else None

    def create_module(self, spec):
        return importlib.import_module(self.modules[spec.name])

    def exec_module(self, module) -> None:
        pass


def install_legacy_stage_modules() -> None:
    """Register the old stage packages (``garment_transfer.stages.<stage>`` and its ``lightning_module``) as aliases
    of today's, ahead of the other finders so that an old name never loads a second copy (idempotent)."""
    modules = {}
    for new in LEGACY_CLASS_PATHS.values():
        package = new.rsplit(".", 2)[0]  # garment_transfer.stages.<method>.<stage>
        old = "garment_transfer.stages." + package.rsplit(".", 1)[1]
        modules[old], modules[f"{old}.lightning_module"] = package, f"{package}.lightning_module"
    if not any(isinstance(finder, _LegacyStageModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LegacyStageModules(modules))


def read_checkpoint(path: str | Path) -> dict:
    """Load a Lightning checkpoint on the CPU, safely (:func:`safe_load`); errors name the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint not found (train the stage that writes it first)")
    checkpoint = safe_load(path, "checkpoint")
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(f"{path}: not a Lightning checkpoint with state_dict and hyper_parameters")
    return checkpoint


def class_path(cls: type) -> str:
    """``module.QualName`` of a class: what :data:`STAGE_KEY` holds."""
    return f"{cls.__module__}.{cls.__qualname__}"


def checkpoint_stage(checkpoint: dict) -> str | None:
    """The class path of the stage that wrote ``checkpoint`` (legacy paths mapped), or None when it records none."""
    recorded = checkpoint.get(STAGE_KEY) or (checkpoint.get("hyper_parameters") or {}).get("_class_path")
    return LEGACY_CLASS_PATHS.get(recorded, recorded) if recorded else None


def short_stage(path: str | None) -> str:
    """``TryOnParsingModule (distilled_transfer/tryon_parsing)`` for a stage class path, for messages."""
    if not path:
        return "no recorded stage"
    parts = path.split(".")
    if parts[:2] == ["garment_transfer", "stages"] and len(parts) >= 5:
        return f"{parts[-1]} ({'/'.join(parts[2:4])})"
    return path
