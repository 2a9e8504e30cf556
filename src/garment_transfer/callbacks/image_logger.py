"""Image grids of a stage's visuals, logged to TensorBoard and W&B and saved as PNG.

Every stage module provides ``visuals(batch) -> {name: (B, 3, H, W) in [0, 1]}`` (an ordered dict,
:mod:`garment_transfer.visuals` has the helpers). The grid has one row per sample and one column per visual, in the
dict's order; names are not drawn, they go into the TensorBoard tag (``val/visuals/<name>,<name>,...``) and the W&B
caption (``"<name> | <name> | ..."``).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger

from garment_transfer.data.io import write_png
from garment_transfer.visuals import make_grid


class ImageLogger(pl.Callback):
    """Logs a grid of ``pl_module.visuals(batch)`` for the first validation (and test) batch, on global rank 0.

    Sanity checking is skipped. Validation epochs ``e`` with ``(e + 1) % every_n_epochs == 0`` are logged (Lightning's
    ``check_val_every_n_epoch`` convention). TensorBoard and W&B loggers receive the grid; other loggers (CSV, ...)
    are skipped. The grid is also written as ``<out_dir or trainer.log_dir>/images/<val|test>_epoch<NNN>.png``.

    Args:
        every_n_epochs: log every n-th validation epoch.
        max_samples: rows of the grid (the first samples of the batch).
        out_dir: folder for the PNGs; default the trainer's log dir (resolved in ``setup`` on every rank).
    """

    def __init__(self, every_n_epochs: int = 1, max_samples: int = 4, out_dir: str | None = None) -> None:
        if every_n_epochs < 1 or max_samples < 1:
            raise ValueError(f"every_n_epochs ({every_n_epochs}) and max_samples ({max_samples}) must be >= 1")
        self.every_n_epochs, self.max_samples, self.out_dir = every_n_epochs, max_samples, out_dir
        self._image_dir: Path | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # trainer.log_dir broadcasts: it must be read on every rank, so not in the rank-0-only hooks.
        self._image_dir = Path(self.out_dir or trainer.log_dir or trainer.default_root_dir) / "images"

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._log(trainer, pl_module, batch, batch_idx, dataloader_idx, "val")

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._log(trainer, pl_module, batch, batch_idx, dataloader_idx, "test")

    def _log(self, trainer: pl.Trainer, pl_module, batch, batch_idx: int, dataloader_idx: int, stage: str) -> None:
        if batch_idx != 0 or dataloader_idx != 0 or trainer.sanity_checking or not trainer.is_global_zero:
            return
        if not callable(getattr(pl_module, "visuals", None)):
            raise AttributeError(f"ImageLogger: {type(pl_module).__name__} has no visuals(batch) method")
        with torch.no_grad():
            visuals = pl_module.visuals(batch)
        names = list(visuals)
        grid = make_grid(visuals, nrow=self.max_samples)
        hwc = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        step = trainer.global_step
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(f"{stage}/visuals/{','.join(names)}", grid, step)
            elif isinstance(logger, WandbLogger):
                logger.log_image(key=f"{stage}/visuals", images=[hwc], caption=[" | ".join(names)], step=step)
        if self._image_dir is not None:
            self._image_dir.mkdir(parents=True, exist_ok=True)
            write_png(self._image_dir / f"{stage}_epoch{trainer.current_epoch:03d}.png", hwc)
