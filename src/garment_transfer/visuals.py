"""Pictures of tensors: images, masks and parsings as RGB in [0, 1], the 7-class palette, grids of visuals, and
batches written as PNG files. No torchvision.

Every stage module provides ``visuals(batch) -> {name: (B, 3, H, W) in [0, 1]}`` (an ordered dict) for
:class:`~garment_transfer.callbacks.image_logger.ImageLogger`; :func:`make_grid` tiles it, one row per sample and
one column per visual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from garment_transfer.data.io import write_png
from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.evaluation.preprocessing import to_uint8

# background, hair, face, upper skin, upper garment, lower garment, thigh (label_maps.CLASSES order)
PARSING_PALETTE = np.array(
    [[0, 0, 0], [128, 64, 0], [255, 200, 150], [230, 150, 60], [220, 30, 40], [40, 80, 220], [60, 170, 70]], np.uint8
)


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


def make_grid(
    images: Sequence[torch.Tensor] | Mapping[str, torch.Tensor],
    nrow: int | None = None,
    padding: int = 2,
    pad_value: float = 1.0,
) -> torch.Tensor:
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
            grid[:, top : top + h, left : left + w] = x[i]
    return grid.clamp(0, 1)


def save_images(folder: Path, names: list[str], images: torch.Tensor, palette: bool = False) -> None:
    """Write each image of a batch atomically as ``folder/<name>.png``: (B, 3, H, W) in [-1, 1], or with ``palette``
    (B, H, W) 7-class indices as a palette PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (images if palette else to_uint8(images).permute(0, 2, 3, 1)).to(torch.uint8).cpu().numpy()
    for name, array in zip(names, arrays):
        write_png(folder / f"{name}.png", array, PARSING_PALETTE if palette else None)
