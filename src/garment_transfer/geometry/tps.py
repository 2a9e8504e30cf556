"""Thin-plate-spline sampling grids on top of :mod:`kornia.geometry.transform` (the TPS baseline of ``S_W``).

Control points are ``(B, N, 2)`` in ``(x, y)`` order in the normalised frame of :mod:`~garment_transfer.geometry.grids`
(``align_corners=True``; use :func:`~garment_transfer.geometry.grids.normalise_points` for pixel points). Direction:
:func:`tps_grid` returns the grid that moves the content at ``source_points`` to ``target_points`` when passed to
:func:`~garment_transfer.geometry.grids.warp`. Since warping is backward, that grid is the spline ``f`` with
``f(target_i) = source_i`` evaluated at every output pixel: kornia's ``get_tps_transform(a, b)`` fits a spline taking
``a`` to ``b`` whose kernel centres are ``b``, and ``warp_points_tps(points, b, ...)`` evaluates it, so we call them
with ``a = target_points`` and ``b = source_points``.
"""

from __future__ import annotations

import torch
from kornia.geometry.transform import get_tps_transform, warp_points_tps

from .grids import identity_grid


def tps_grid(source_points: torch.Tensor, target_points: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Sampling grid of the thin-plate spline that carries ``source_points`` onto ``target_points``.

    Args:
        source_points: ``(B, N, 2)`` normalised ``(x, y)`` points in the source image.
        target_points: ``(B, N, 2)`` where those points must land in the output; ``N >= 3``, not all collinear.
        size: output ``(H, W)``.

    Returns:
        ``(B, H, W, 2)`` normalised grid (``source_from_output``): ``grid`` at ``target_points[b, n]`` equals
        ``source_points[b, n]``; identical point sets give the identity grid.
    """
    for name, points in (("source_points", source_points), ("target_points", target_points)):
        if not isinstance(points, torch.Tensor) or points.ndim != 3 or points.shape[-1] != 2:
            got = tuple(points.shape) if isinstance(points, torch.Tensor) else type(points).__name__
            raise ValueError(f"{name} must be a (B, N, 2) tensor, got {got}")
    if source_points.shape != target_points.shape:
        raise ValueError(
            f"target_points must have the shape of source_points {tuple(source_points.shape)}, "
            f"got {tuple(target_points.shape)}"
        )
    batch, height, width = source_points.shape[0], *size
    kernel_weights, affine_weights = get_tps_transform(target_points, source_points)
    output_points = identity_grid(batch, height, width, device=source_points.device, dtype=source_points.dtype)
    grid = warp_points_tps(output_points.reshape(batch, -1, 2), source_points, kernel_weights, affine_weights)
    return grid.reshape(batch, height, width, 2)


def control_points(
    points: int, batch: int = 1, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """A regular ``points x points`` lattice spanning ``[-1, 1]^2``: ``(B, points^2, 2)`` normalised ``(x, y)``,
    row-major (``y`` outer, ``x`` inner)."""
    ticks = torch.linspace(-1.0, 1.0, points, device=device, dtype=dtype or torch.get_default_dtype())
    lattice = torch.stack(torch.meshgrid(ticks, ticks, indexing="xy"), dim=-1).reshape(1, -1, 2)
    return lattice.repeat(batch, 1, 1)
