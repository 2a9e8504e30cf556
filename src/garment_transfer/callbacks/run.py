"""What every run gets and records: its default callbacks, its loggers and its run record.

Everything goes under ``trainer.default_root_dir`` (e.g. ``runs/cpu/tryon_parsing``): ``checkpoints/`` (see
:mod:`~garment_transfer.callbacks.checkpointing`), and ``csv/``, ``tensorboard/`` and ``wandb/`` for the logs. A config
that changes ``default_root_dir`` moves all of it, so an ablation overlay needs one line to get its own run folder.

Run records: :class:`RunRecord` (LightningCLI's config saver) writes ``config.yaml`` into the log folder and logs,
to every logger, the full resolved config (``config``) and a ``run`` record: stage, run name, preset, git commit
and dirty flag, data set fingerprint (:func:`~garment_transfer.data.fingerprint.dataset_fingerprint`), which
evaluation pairs the data module used (the data set's own list, its true transfers or a seeded draw), world size,
resumed checkpoint and versions. :class:`~garment_transfer.callbacks.phases.PhaseSchedule` logs the phases.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities.rank_zero import rank_zero_info

import garment_transfer
from garment_transfer.callbacks.checkpointing import StageCheckpoint
from garment_transfer.callbacks.guard import FiniteLossGuard
from garment_transfer.callbacks.image_logger import ImageLogger
from garment_transfer.data.fingerprint import dataset_fingerprint

PROJECT = "garment-transfer"
UNKNOWN = "unknown"


def stage_callbacks(
    callbacks: pl.Callback | list[pl.Callback] | None, checkpointing: bool | None = True, images: bool = False
) -> list[pl.Callback]:
    """A run's callbacks with the defaults every stage gets, appended to the configured ones unless one of the
    type is configured: a :class:`StageCheckpoint` (unless ``checkpointing`` is False or a :class:`ModelCheckpoint`
    is configured), an :class:`ImageLogger` when ``images`` (the module has ``visuals``), and a
    :class:`~garment_transfer.callbacks.guard.FiniteLossGuard`. Stage configs list only what is theirs (a
    :class:`~garment_transfer.callbacks.phases.PhaseSchedule`, an image logger with other settings)."""
    callbacks = [callbacks] if isinstance(callbacks, pl.Callback) else list(callbacks or [])
    if checkpointing is not False and not any(isinstance(c, ModelCheckpoint) for c in callbacks):
        callbacks.append(StageCheckpoint())
    if images and not any(isinstance(c, ImageLogger) for c in callbacks):
        callbacks.append(ImageLogger())
    if not any(isinstance(c, FiniteLossGuard) for c in callbacks):
        callbacks.append(FiniteLossGuard())
    return callbacks


def run_names(root_dir: str | os.PathLike, stage: str | None = None) -> dict[str, Any]:
    """How a run folder is named in W&B: ``runs/<preset>/<name>`` gives ``group`` = preset and ``name`` (which may
    hold a slash: ``baselines/teacher``); elsewhere the parent folder is the group. ``job_type`` is the stage (the
    model's ``garment_transfer.stages`` package, or the name), and a name that extends the stage (``<stage>_cycle``)
    is an ablation of it. ``tags``: preset, stage and ablation."""
    root = Path(os.path.normpath(root_dir))
    parts = root.parts
    if "runs" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("runs")
        group = parts[index + 1]
        name = "/".join(parts[index + 2 :]) or group
    else:
        group, name = root.parent.name or root.name, root.name
    stage = stage or name
    ablation = name[len(stage) + 1 :] if name.startswith(stage + "_") else None
    tags = [group, stage] + ([ablation] if ablation else [])
    return {"group": group, "name": name, "job_type": stage, "ablation": ablation, "tags": tags}


def method_and_stage(module: pl.LightningModule) -> tuple[str | None, str | None]:
    """``(method, stage)`` of a module class in ``garment_transfer.stages.<method>.<stage>...``, else
    ``(None, None)``."""
    parts = type(module).__module__.split(".")
    if parts[:2] == ["garment_transfer", "stages"] and len(parts) > 3:
        return parts[2], parts[3]
    return None, None


def stage_of(module: pl.LightningModule) -> str | None:
    """The stage folder of a module class (``garment_transfer.stages.<method>.<stage>....``), or None."""
    return method_and_stage(module)[1]


def stage_loggers(root_dir: str | os.PathLike, stage: str | None = None) -> list[Logger]:
    """CSV and TensorBoard under ``root_dir``, and W&B under ``root_dir/wandb`` (offline unless
    ``WANDB_MODE=online``; none when ``WANDB_MODE=disabled``), named by :func:`run_names` in project
    ``garment-transfer`` (``WANDB_PROJECT`` overrides), so dashboards put a preset's stages and ablations side by
    side."""
    root = Path(root_dir)
    loggers: list[Logger] = [CSVLogger(root, name="csv"), TensorBoardLogger(root, name="tensorboard")]
    mode = os.environ.get("WANDB_MODE", "offline")
    if mode != "disabled":
        names = run_names(root, stage)
        loggers.append(
            WandbLogger(
                save_dir=str(root),
                project=os.environ.get("WANDB_PROJECT", PROJECT),
                group=names["group"],
                name=names["name"],
                job_type=names["job_type"],
                tags=names["tags"],
                offline=mode != "online",
            )
        )
    return loggers


def git_state(folder: str | os.PathLike | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the git checkout holding ``folder`` (default: this package's source), dirty meaning
    tracked or untracked, non-ignored changes; ``("unknown", None)`` outside a checkout or without git."""
    folder = Path(folder or Path(garment_transfer.__file__).parent)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=20
        ).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain"))
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN, None


def run_record(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
    """What a run logs about itself (see the module docstring)."""
    method, stage = method_and_stage(pl_module)
    names = run_names(trainer.default_root_dir, stage)
    commit, dirty = git_state()
    data_root = getattr(trainer.datamodule, "root", None)
    try:
        fingerprint = dataset_fingerprint(data_root) if data_root is not None else UNKNOWN
    except OSError:
        fingerprint = UNKNOWN
    module = f"{type(pl_module).__module__}.{type(pl_module).__qualname__}"
    return {
        "method": method or UNKNOWN,
        "stage": stage or UNKNOWN,
        "module": module,
        "run_dir": str(trainer.default_root_dir),
        "preset": names["group"],
        "name": names["name"],
        "ablation": names["ablation"],
        "command": trainer.state.fn.value if trainer.state.fn else UNKNOWN,
        "git_commit": commit,
        "git_dirty": dirty,
        "data_root": str(data_root) if data_root else None,
        "data_fingerprint": fingerprint,
        "eval_pairs": getattr(trainer.datamodule, "eval_pairs_source", None),
        "world_size": trainer.world_size,
        "resumed_from": str(trainer.ckpt_path) if trainer.ckpt_path else None,
        "versions": {
            "garment_transfer": garment_transfer.__version__,
            "torch": str(torch.__version__),
            "pytorch_lightning": str(pl.__version__),
        },
    }


class RunRecord(SaveConfigCallback):
    """LightningCLI's config saver that also logs the resolved config and the :func:`run_record` to every logger
    (W&B run config, TensorBoard hparams, ``hparams.yaml`` of the CSV and TensorBoard logs)."""

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        record = run_record(trainer, pl_module)
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config, "run": record})
        dirty = {True: " (uncommitted changes)", False: "", None: ""}[record["git_dirty"]]
        rank_zero_info(
            f"run {record['preset']}/{record['name']}: stage {record['stage']}, commit "
            f"{record['git_commit']}{dirty}, data {record['data_root']} fingerprint "
            f"{record['data_fingerprint']}"
        )
