"""Stage checkpoints as other stages, the pipeline and the tools read them: safely, and knowing which stage wrote them.

A checkpoint is read with ``torch.load(..., weights_only=True)``: tensors and plain Python containers only, so a file
whose pickle would run code is refused, never executed. Every stage module records its class path under
:data:`STAGE_KEY` when it saves (``StageModule.on_save_checkpoint``); :func:`checkpoint_stage` reads it back, and for
checkpoints written before the stages moved to ``stages/<method>/<stage>/`` it maps the class path that LightningCLI
stored in the hyper-parameters (``_class_path``) through :data:`LEGACY_CLASS_PATHS`. The class paths of the stages
whose checkpoints other code loads are the constants below (a test checks that each names the class it should).
"""

from __future__ import annotations

from pathlib import Path

import torch

STAGE_KEY = "garment_transfer_stage"  # the class path of the stage module that wrote a checkpoint

_METHOD = "garment_transfer.stages.distilled_transfer"
TRYON_PARSING = f"{_METHOD}.tryon_parsing.lightning_module.TryOnParsingModule"
TRANSFER_PARSING = f"{_METHOD}.transfer_parsing.lightning_module.TransferParsingModule"
TRYON_WARPING = f"{_METHOD}.tryon_warping.lightning_module.TryOnWarpingModule"
TRANSFER_WARPING = f"{_METHOD}.transfer_warping.lightning_module.TransferWarpingModule"
ARM_REGROWTH = f"{_METHOD}.arm_regrowth.lightning_module.ArmRegrowthModule"

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


def read_checkpoint(path: str | Path) -> dict:
    """Load a Lightning checkpoint on the CPU, safely (``weights_only=True``); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (train the stage that writes it first)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a foreign, truncated or unsafe file
        raise ValueError(f"{path}: cannot read checkpoint ({err})") from err
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
