"""Stage checkpoints as other stages, the pipeline and the tools read them: safely, and knowing which stage wrote them.

A checkpoint is read with ``torch.load(..., weights_only=True)``: tensors and plain Python containers only, so a file
whose pickle would run code is refused, never executed. Every stage module records, when it saves
(``StageModule.on_save_checkpoint``), its stable stage id (:data:`STAGE_ID_KEY`, ``<method>/<stage>`` as the method
registry names it, :mod:`garment_transfer.registry`) and its class path (:data:`STAGE_KEY`). :func:`checkpoint_stage`
reads the id back; for a checkpoint that records only a class path (written before stage ids, or before the stages
moved to ``stages/<method>/<stage>/``: the class path that LightningCLI stored in the hyper-parameters,
``_class_path``) the registry maps that path to its stage.
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

from garment_transfer import registry

STAGE_KEY = "garment_transfer_stage"  # the class path of the stage module that wrote a checkpoint
STAGE_ID_KEY = "garment_transfer_stage_id"  # its stable stage id, <method>/<stage>


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
            raise ValueError(
                f"{path}: refused: this {what} asks to unpickle objects beyond tensors and plain "
                "containers, which could run code; only files that load with weights_only=True are "
                "read"
            ) from err
        # torch's message: its own advice, then "WeightsUnpickler error: <reason>", the reason maybe on a later line
        after = text.split("WeightsUnpickler error:", 1)[1] if "WeightsUnpickler error:" in text else text
        detail = next((line.strip() for line in after.splitlines() if line.strip()), type(err).__name__)
        raise ValueError(f"{path}: cannot read {what} (not a torch file, or damaged: {detail})") from err
    except Exception as err:  # torch raises many types for a truncated or foreign file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: cannot read {what} ({type(err).__name__}: {first})") from err


class _LegacyStageModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``import <a stage's former module>[.lightning_module]`` give today's module, so that a checkpoint whose
    hyper-parameters name an old class path (LightningCLI reads ``_class_path`` on ``--ckpt_path``) resolves."""

    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in self.modules else None

    def create_module(self, spec):
        return importlib.import_module(self.modules[spec.name])

    def exec_module(self, module) -> None:
        pass


def install_legacy_stage_modules() -> None:
    """Register every registered stage's former packages (and their ``lightning_module``) as aliases of today's,
    ahead of the other finders so that an old name never loads a second copy (idempotent)."""
    modules = {}
    for stage in registry.stages().values():
        package = stage.module.rsplit(".", 2)[0]  # garment_transfer.stages.<method>.<stage>
        for old in stage.former_modules:
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


def stage_id_of_class(path: str) -> str | None:
    """The stage id of a stage module's class path (today's or a former one), or None for an unregistered class."""
    stage = registry.stage_of_class(path)
    return None if stage is None else stage.id


def checkpoint_stage(checkpoint: dict) -> str | None:
    """The stage id of the stage that wrote ``checkpoint``: the recorded id, else its class path mapped through the
    registry (an unregistered class path is returned as it is), or None when it records neither."""
    if checkpoint.get(STAGE_ID_KEY):
        return checkpoint[STAGE_ID_KEY]
    recorded = checkpoint.get(STAGE_KEY) or (checkpoint.get("hyper_parameters") or {}).get("_class_path")
    return (stage_id_of_class(recorded) or recorded) if recorded else None


def short_stage(stage_id: str | None) -> str:
    """``TryOnParsingModule (distilled_transfer/tryon_parsing)`` for a stage id, for messages (anything else as
    it is)."""
    if not stage_id:
        return "no recorded stage"
    stage = registry.stages().get(stage_id)
    return stage_id if stage is None else f"{stage.class_name} ({stage.id})"
