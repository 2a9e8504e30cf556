"""Geometry for the warping stages: sampling grids, flow composition, affine and TPS grids, local and global
correlation.

Convention (that of PF-AFN and FS-VTON; ``docs/methods/distilled-transfer.md``, "Flow conventions"), shared by every
function in this package:

- A flow carried between pyramid levels is an **absolute normalised sampling grid** ``(B, H, W, 2)`` in ``(x, y)``
  order with ``align_corners=True`` (``-1`` / ``+1`` are the centres of the corner pixels), exactly what
  :func:`torch.nn.functional.grid_sample` takes.
- Warping is backward: ``warp(src, grid)[b, :, i, j]`` is ``src`` sampled at ``grid[b, i, j]``.
- Network heads predict **offsets in pixels** ``(B, 2, H, W)`` (dx, dy) at the current level;
  :func:`offsets_to_grid` turns them into a grid, :func:`compose` chains grids (``g1`` sampled at ``g2``), and
  :func:`upsample_grid` moves a grid to the next level without rescaling its values.
- Images and features are warped with border padding, masks with zero padding.
"""

from .correlation import correlation, correlation_reference, global_correlation
from .grids import (
    PADDING,
    affine_grid,
    compose,
    denormalise_points,
    grid_to_offsets,
    identity_grid,
    identity_theta,
    normalise_points,
    offsets_to_grid,
    resize_for_level,
    upsample_grid,
    warp,
)
from .tps import control_points, tps_grid

__all__ = [
    "PADDING",
    "affine_grid",
    "compose",
    "control_points",
    "correlation",
    "correlation_reference",
    "global_correlation",
    "denormalise_points",
    "grid_to_offsets",
    "identity_grid",
    "identity_theta",
    "normalise_points",
    "offsets_to_grid",
    "resize_for_level",
    "tps_grid",
    "upsample_grid",
    "warp",
]
