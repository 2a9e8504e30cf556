"""Image grids of a stage's visuals, logged to TensorBoard and W&B and saved as PNG.

Every stage module provides ``visuals(batch) -> {name: (B, 3, H, W) in [0, 1]}`` (an ordered dict). The grid has
one row per sample and one column per visual, in the dict's order; names are not drawn, they go into the
TensorBoard tag (``val/visuals/<name>,<name>,...``) and the W&B caption (``"<name> | <name> | ..."``).
The helpers below turn the method's tensors into such visuals. No torchvision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger

from garment_transfer.data.io import write_png
from garment_transfer.data.label_maps import NUM_CLASSES

# background, hair, face, upper skin, upper garment, lower garment, thigh (label_maps.CLASSES order)
PARSING_PALETTE = np.array([[0, 0, 0], [128, 64, 0], [255, 200, 150], [230, 150, 60], [220, 30, 40],
                            [40, 80, 220], [60, 170, 70]], np.uint8)


def _as_rgb(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name}: expected (B, 3, H, W) or (B, 1, H, W), got {tuple(x.shape)}")
    return x.detach().float().expand(-1, 3, -1, -1)


def image_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 3, H, W) in [0, 1]."""
    return ((_as_rgb(image, "image") + 1) / 2).clamp(0, 1)


def mask_to_rgb(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1] -> grey (B, 3, H, W) in [0, 1]."""
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask: expected (B, 1, H, W), got {tuple(mask.shape)}")
    return _as_rgb(mask, "mask").clamp(0, 1)


def parsing_to_rgb(parsing: torch.Tensor, palette: np.ndarray = PARSING_PALETTE) -> torch.Tensor:
    """(B, H, W) class indices or (B, C, H, W) scores (argmax over C) -> (B, 3, H, W) in [0, 1] through ``palette``
    (indices outside the palette are clamped to its range, as ``labels.colorize`` does)."""
    if parsing.ndim == 4:
        parsing = parsing.argmax(1)
    if parsing.ndim != 3:
        raise ValueError(f"parsing: expected (B, H, W) or (B, {NUM_CLASSES}, H, W), got {tuple(parsing.shape)}")
    table = torch.as_tensor(palette, device=parsing.device).float() / 255
    return table[parsing.long().clamp(0, len(palette) - 1)].permute(0, 3, 1, 2)


def make_grid(images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor], nrow: int | None = None,
              padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile visuals into one picture: row ``i`` is sample ``i``, column ``j`` the ``j``-th visual.

    Args:
        images: K tensors (B, 3, H, W) (or (B, 1, H, W), shown grey) in [0, 1], all of one size; a dict's order.
        nrow: number of rows = samples shown (the first ``nrow``), all when None.
        padding: pixels between tiles and around the border, filled with ``pad_value``.

    Returns:
        (3, n H + (n + 1) padding, K W + (K + 1) padding) float on the CPU in [0, 1], n = min(nrow, B).
    """
    items = list(images.items()) if isinstance(images, Mapping) else [(f"images[{i}]", x) for i, x in enumerate(images)]
    if not items:
        raise ValueError("make_grid: no images")
    tiles = [_as_rgb(x, name).cpu() for name, x in items]
    b, _, h, w = tiles[0].shape
    for (name, _), x in zip(items, tiles):
        if x.shape != tiles[0].shape:
            raise ValueError(f"make_grid: {name} has shape {tuple(x.shape)}, {items[0][0]} {tuple(tiles[0].shape)}")
    n = b if nrow is None else min(nrow, b)
    grid = torch.full((3, n * h + (n + 1) * padding, len(tiles) * w + (len(tiles) + 1) * padding), pad_value)
    for j, x in enumerate(tiles):
        for i in range(n):
            top, left = padding + i * (h + padding), padding + j * (w + padding)
            grid[:, top:top + h, left:left + w] = x[i]
    return grid.clamp(0, 1)


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
