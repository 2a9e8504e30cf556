"""Where a stage's run writes: everything under ``trainer.default_root_dir`` (e.g. ``runs/cpu/tryon_parsing``).

``checkpoints/last.ckpt`` is the stable path the next stage and ``make`` read; ``csv/``, ``tensorboard/`` and
``wandb/`` hold the logs. A config that changes ``default_root_dir`` moves all of it, so an ablation overlay
needs one line to get its own run folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from garment_transfer.data.io import atomic_write_text


COMPLETE = "complete"


class StageCheckpoint(ModelCheckpoint):
    """:class:`ModelCheckpoint` that saves ``last.ckpt`` every epoch into ``<default_root_dir>/checkpoints`` unless
    ``dirpath`` is given, and marks a run that reached its end with a ``complete`` file beside it (an interrupted
    run has ``last.ckpt`` but no marker, and resumes with ``--ckpt_path last``)."""

    def __init__(self, dirpath: str | None = None, save_last: bool = True, every_n_epochs: int = 1, **kwargs):
        super().__init__(dirpath=dirpath, save_last=save_last, every_n_epochs=every_n_epochs, **kwargs)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")
        super().setup(trainer, pl_module, stage)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and not trainer.interrupted and not trainer.fast_dev_run:
            atomic_write_text(Path(self.dirpath) / COMPLETE, f"global_step {trainer.global_step}\n")


def stage_loggers(root_dir: str | os.PathLike) -> list[Logger]:
    """CSV and TensorBoard under ``root_dir``, and W&B (offline unless ``WANDB_MODE=online``; none when
    ``WANDB_MODE=disabled``) named after the stage folder and grouped by the preset folder above it, so W&B
    dashboards put a preset's stages and ablations side by side."""
    root = Path(root_dir)
    loggers: list[Logger] = [CSVLogger(root, name="csv"), TensorBoardLogger(root, name="tensorboard")]
    mode = os.environ.get("WANDB_MODE", "offline")
    if mode != "disabled":
        loggers.append(WandbLogger(save_dir=str(root), project=os.environ.get("WANDB_PROJECT", "garment-transfer"),
                                   group=root.parent.name, name=root.name, job_type=root.name,
                                   offline=mode != "online"))
    return loggers
