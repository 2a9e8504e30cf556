"""Sampling grids: creation, offsets <-> grids, composition, upsampling and warping (the flow conventions of
PF-AFN and FS-VTON: ``docs/methods/distilled-transfer.md``, "Flow conventions").

Convention (the one of :func:`torch.nn.functional.grid_sample`, used by every function here):

- A *grid* is an **absolute normalised sampling grid** ``(B, H, W, 2)`` in ``(x, y)`` order with
  ``align_corners=True``: ``-1`` and ``+1`` are the centres of the corner pixels, so pixel column ``j`` of a width-``W``
  map sits at ``x = 2 j / (W - 1) - 1``. Normalised coordinates do not depend on the resolution.
- Warping is *backward*: ``warp(src, grid)[b, :, i, j]`` is ``src`` sampled (bilinearly) at ``grid[b, i, j]``; the grid
  says, for every output pixel, where in the source to read. Its frame name is ``source_from_output``.
- *Offsets* ``(B, 2, H, W)`` are what network heads predict: displacements in **pixels of the current level**,
  channel 0 = dx, channel 1 = dy, relative to the identity grid.
- Images and features are sampled with ``"border"`` padding, masks with ``"zeros"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

WarpKind = Literal["image", "feature", "mask"]
PADDING: dict[str, str] = {"image": "border", "feature": "border", "mask": "zeros"}
LOW_PRECISION = (torch.float16, torch.bfloat16)  # sampled in float32: a grid must not be rounded to 8 bits
_CONSTANTS: dict[tuple, torch.Tensor] = {}  # (name, H, W, device, dtype) -> identity grid or pixel scale, read-only


def _check_grid(grid: torch.Tensor, name: str = "grid") -> None:
    if not isinstance(grid, torch.Tensor) or grid.ndim != 4 or grid.shape[-1] != 2:
        raise ValueError(f"{name} must be a (B, H, W, 2) tensor, got {_shape(grid)}")


def _check_maps(x: torch.Tensor, name: str, channels: int | None = None) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(B, {channels}, H, W)" if channels is not None else "(B, C, H, W)"
        raise ValueError(f"{name} must be a {expected} tensor, got {_shape(x)}")


def _shape(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else f"{type(x).__name__}"


def _constant(
    name: str, height: int, width: int, device: torch.device | str | None, dtype: torch.dtype | None
) -> torch.Tensor:
    """The identity grid ``(1, H, W, 2)`` (``name="identity"``) or the pixel scale ``(2,)`` (``"scale"``) of a size,
    made once per size, device and dtype and then reused (never written to): building them is a dozen small operator
    calls, which every warp, composition and upsampling of a flow pyramid would otherwise repeat. Made afresh while
    ``torch.compile`` traces (the compiler folds them)."""
    dtype = dtype or torch.get_default_dtype()
    device = torch.device(device) if device is not None else torch.get_default_device()
    if torch.compiler.is_compiling():
        return _make_constant(name, height, width, device, dtype)
    key = (name, height, width, device, dtype)
    value = _CONSTANTS.get(key)
    if value is None:
        with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable in training after inference
            value = _CONSTANTS[key] = _make_constant(name, height, width, device, dtype)
    return value


def _make_constant(name: str, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if name == "scale":
        return torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], device=device, dtype=dtype)
    xs = torch.arange(width, device=device, dtype=dtype) * (2.0 / max(width - 1, 1)) - 1.0
    ys = torch.arange(height, device=device, dtype=dtype) * (2.0 / max(height - 1, 1)) - 1.0
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).unsqueeze(0)  # (1, H, W, 2)


def _pixel_scale(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Normalised units per pixel, ``(2 / (W - 1), 2 / (H - 1))``; a size-1 axis counts as one pixel span."""
    return _constant("scale", height, width, like.device, like.dtype)


def _identity(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """The identity grid ``(1, H, W, 2)`` on ``like``'s device and in its dtype, shared: broadcast it, never write."""
    return _constant("identity", height, width, like.device, like.dtype)


def grid_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a grid or flow derived from ``x`` is kept in: float32 for 16-bit floats (bf16 has 8 significant
    bits: a grid value near 1 is off by up to 1 / 512, a fifth of a pixel across 192 pixels), else ``x``'s."""
    return torch.float32 if x.dtype in LOW_PRECISION else x.dtype


def identity_grid(
    batch: int, height: int, width: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The grid that samples every pixel at its own centre.

    Returns:
        ``(B, H, W, 2)`` in ``[-1, 1]``, ``(x, y)`` order; ``warp(x, identity_grid(...))`` returns ``x``. A new tensor
        (the functions of this module broadcast a shared one instead).
    """
    return _constant("identity", height, width, device, dtype).repeat(batch, 1, 1, 1)


def normalise_points(points: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coordinates ``(..., 2)`` ``(x, y)`` (pixel centres at integers) -> normalised ``[-1, 1]`` coordinates."""
    return points * _pixel_scale(height, width, points) - 1.0


def denormalise_points(points: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`normalise_points`: normalised ``(..., 2)`` ``(x, y)`` -> pixel coordinates."""
    return (points + 1.0) / _pixel_scale(height, width, points)


def offsets_to_grid(offsets: torch.Tensor, base_grid: torch.Tensor | None = None) -> torch.Tensor:
    """Add pixel offsets to a grid (the identity by default), converting them to normalised units.

    This is addition, not composition: ``grid[b, i, j] = base[b, i, j] + (dx * 2 / (W - 1), dy * 2 / (H - 1))``.

    Args:
        offsets: ``(B, 2, H, W)`` displacements in pixels of this level, channel 0 = dx, channel 1 = dy; 16-bit
            offsets (a network under autocast) are added in float32.
        base_grid: ``(B, H, W, 2)`` or ``(1, H, W, 2)`` normalised grid; ``None`` is the identity.

    Returns:
        ``(B, H, W, 2)`` normalised sampling grid (float32 for 16-bit offsets).
    """
    _check_maps(offsets, "offsets", channels=2)
    batch, _, height, width = offsets.shape
    if offsets.dtype in LOW_PRECISION:
        offsets = offsets.float()
    if base_grid is None:
        return _identity(height, width, offsets) + offsets.permute(0, 2, 3, 1) * _pixel_scale(height, width, offsets)
    _check_grid(base_grid, "base_grid")
    if base_grid.shape[1:3] != (height, width) or base_grid.shape[0] not in (1, batch):
        raise ValueError(
            f"base_grid must be a ({batch} or 1, {height}, {width}, 2) tensor to match offsets, got {_shape(base_grid)}"
        )
    return base_grid + offsets.permute(0, 2, 3, 1) * _pixel_scale(height, width, offsets)


def grid_to_offsets(grid: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`offsets_to_grid` with the identity base.

    Args:
        grid: ``(B, H, W, 2)`` normalised sampling grid.

    Returns:
        ``(B, 2, H, W)`` pixel offsets (dx, dy) of ``grid`` relative to the identity grid at its own size.
    """
    _check_grid(grid)
    _, height, width, _ = grid.shape
    return ((grid - _identity(height, width, grid)) / _pixel_scale(height, width, grid)).permute(0, 3, 1, 2)


def warp(x: torch.Tensor, grid: torch.Tensor, kind: WarpKind = "image") -> torch.Tensor:
    """Backward-warp ``x`` by ``grid``: ``out[b, :, i, j] = x[b]`` sampled bilinearly at ``grid[b, i, j]``.

    Args:
        x: ``(B, C, H, W)`` image, feature map or mask.
        grid: ``(B, H', W', 2)`` normalised sampling grid (``source_from_output``).
        kind: ``"image"`` or ``"feature"`` (border padding: outside samples repeat the edge) or ``"mask"``
            (zero padding: outside samples are 0).

    Returns:
        ``(B, C, H', W')`` warped tensor in ``x``'s dtype; a 16-bit ``x`` (bf16 / fp16 features under autocast) is
        sampled in float32 at the grid's full precision.
    """
    _check_maps(x, "x")
    _check_grid(grid)
    if grid.shape[0] != x.shape[0]:
        raise ValueError(f"grid must have the batch size of x ({x.shape[0]}), got {_shape(grid)}")
    if kind not in PADDING:
        raise ValueError(f"kind must be one of {sorted(PADDING)}, got {kind!r}")
    dtype = grid_dtype(x)
    sampled = F.grid_sample(
        x if x.dtype == dtype else x.to(dtype),
        grid if grid.dtype == dtype else grid.to(dtype),
        mode="bilinear",
        padding_mode=PADDING[kind],
        align_corners=True,
    )
    return sampled if sampled.dtype == x.dtype else sampled.to(x.dtype)


def compose(grid_first: torch.Tensor, grid_second: torch.Tensor) -> torch.Tensor:
    """The grid of "warp by ``grid_first``, then by ``grid_second``": ``grid_first`` sampled at ``grid_second``.

    ``warp(warp(x, grid_first), grid_second) == warp(x, compose(grid_first, grid_second))`` up to interpolation
    error, i.e. ``compose(g1, g2)(p) = g1(g2(p))``. In the flow pyramid ``grid_first`` is the last level's (upsampled)
    flow and ``grid_second`` the new one. It is computed on displacements, ``g2 + (g1 - identity)(g2)`` with the
    displacement sampled with border padding: equal to sampling ``g1`` itself inside the map, but points of ``g2``
    outside ``[-1, 1]`` stay outside (masks read 0 there), and the gradient with respect to ``g2`` does not vanish at
    the border while the flow is still the identity (sampling a grid directly gives zero gradient exactly there,
    which would starve the coarsest pyramid levels, whose pixels are all on the border).

    Args:
        grid_first: ``(B, H1, W1, 2)`` normalised grid, applied first.
        grid_second: ``(B, H2, W2, 2)`` normalised grid, applied second (it indexes ``grid_first``'s output).

    Returns:
        ``(B, H2, W2, 2)`` normalised grid.
    """
    _check_grid(grid_first, "grid_first")
    _check_grid(grid_second, "grid_second")
    if grid_first.shape[0] != grid_second.shape[0]:
        raise ValueError(
            f"grid_second must have the batch size of grid_first ({grid_first.shape[0]}), got {_shape(grid_second)}"
        )
    _, height, width, _ = grid_first.shape
    displacement = grid_first - _identity(height, width, grid_first)
    return grid_second + warp(displacement.permute(0, 3, 1, 2), grid_second, kind="feature").permute(0, 2, 3, 1)


def upsample_grid(grid: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize a grid bilinearly (``align_corners=True``) without rescaling its values.

    Normalised coordinates are resolution independent, so the values stay as they are; an identity grid becomes the
    identity grid at the new size. The displacement from the identity is what gets interpolated: the same as
    resizing the grid itself, except that a map with a 1-pixel axis (whose identity sits at -1 rather than spanning
    [-1, 1]) still upsamples to the identity.

    Args:
        grid: ``(B, H, W, 2)`` normalised grid.
        size: output ``(H', W')`` or a single int for both.

    Returns:
        ``(B, H', W', 2)`` normalised grid.
    """
    _check_grid(grid)
    size = (size, size) if isinstance(size, int) else tuple(size)
    _, height, width, _ = grid.shape
    displacement = grid - _identity(height, width, grid)
    resized = F.interpolate(displacement.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=True)
    return _identity(*size, grid) + resized.permute(0, 2, 3, 1)


def identity_theta(
    batch: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``(B, 2, 3)`` identity affine matrices (the STN's initialisation)."""
    theta = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=device, dtype=dtype or torch.get_default_dtype())
    return theta.unsqueeze(0).repeat(batch, 1, 1)


def affine_grid(theta: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Sampling grid of an affine map in normalised coordinates: ``grid[b, i, j] = theta[b] @ (x_j, y_i, 1)``.

    ``theta`` maps output coordinates to source coordinates (``source_from_output``), as everywhere here.

    Args:
        theta: ``(B, 2, 3)`` affine matrices on normalised ``(x, y)`` coordinates.
        size: output ``(H, W)``.

    Returns:
        ``(B, H, W, 2)`` normalised grid (``align_corners=True``).
    """
    if not isinstance(theta, torch.Tensor) or theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"theta must be a (B, 2, 3) tensor, got {_shape(theta)}")
    height, width = size
    return F.affine_grid(theta, [theta.shape[0], 1, height, width], align_corners=True)


def resize_for_level(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize an image or mask to a pyramid level's size (bilinear, antialiased); use it for multi-scale targets too.

    Args:
        x: (B, C, H, W).
        size: (H', W').

    Returns:
        (B, C, H', W'); ``x`` itself when the size already matches.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
