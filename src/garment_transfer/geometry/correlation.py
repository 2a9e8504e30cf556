"""Correlation (cost volumes) of two feature maps: local, as in PF-AFN and the SCAW modules of arXiv 2401.12433
(Sec. 3.3.3), and global (all-pairs), as in CP-VTON's geometric matcher; CPU and GPU, differentiable.

Global (:func:`global_correlation`): ``cost[b, j, y, x] = sum_c f1[b, c, y, x] * f2[b, c, j // W, j % W]``, one
channel per position of ``f2`` in row-major order (``j = y2 W + x2``), a sum over channels (CP-VTON L2-normalises
the features first, so the sum is a cosine). One batched matrix product, ``(B, H W, C) @ (B, C, H W)``.

Local:

Kernel size 1: ``cost[b, k, y, x] = mean_c f1[b, c, y, x] * f2[b, c, y + dy, x + dx]`` for every displacement
``(dy, dx)`` in ``[-d, d]^2``, with ``f2`` zero outside the map. Channels are row-major in the displacement, ``dy``
outer and ``dx`` inner: ``k = (dy + d) * (2 d + 1) + (dx + d)``, so ``k = d (2 d + 1) + d`` (the centre) is zero
displacement. PF-AFN follows it with ``LeakyReLU(0.1)``; that is the caller's job, not done here.

:func:`correlation` is a few batched matrix products forward and backward, on any device, as custom operators
(``torch.ops.garment_transfer.correlation`` and its two gradients: opaque to ``torch.compile``, so no graph break);
:func:`correlation_reference` is the plain formulation (one product and mean per displacement, 49 of each for
``d = 3``), kept as the reference the fast one is tested against.

How the fast one works. Both maps go channels-last onto one zero-padded *canvas* of ``B (H + 2 d)`` rows of
``W + 2 d`` pixels, flattened to a list of pixels: the pixel of ``(b, y, x)`` is ``q = (b (H + 2 d) + y) (W + 2 d) + x``
and its neighbour at displacement ``(dy, dx)`` (counted from ``-d``) is ``q + dy (W + 2 d) + dx`` in ``f2``'s canvas,
whatever ``b``, ``y`` and ``x`` (the padding keeps rows and samples apart). So ``T`` consecutive pixels ("a tile")
meet their neighbours inside ``2 d + 1`` windows of ``T + 2 d`` consecutive pixels (one per ``dy``), or inside one
window of ``2 d (W + 2 d) + T + 2 d`` pixels; each window is a strided *view* of the canvas (tiles overlap in memory,
nothing is copied), and one batched product per window gives every tile's dot products with its window, of which the
band ``dx = 0 .. 2 d`` is kept. Narrow maps take the one large window (one product), wide maps the ``2 d + 1`` small
ones (``T + 2 d`` dot products per pixel and displacement row instead of ``2 d + 1``). The backward pass is the same
products with the incoming gradient written into band matrices: for ``f1`` the gradient at the pixel, for ``f2`` the
gradient at the neighbour, read in reverse displacement order. Memory: the canvases (about the size of the maps) and
the products (``(2 d + 1) (T + 2 d)`` or ``2 d (W + 2 d) + T + 2 d`` values per pixel); only the inputs are kept for the
backward pass. Under autocast the inputs are cast to the autocast dtype (bf16 / fp16) first, as for a matrix product.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

TILE = 16  # pixels per tile: rows of each matrix product
MERGE_LIMIT = 2.0  # one merged window while it costs at most this many times the products of one window per dy


def correlation(f1: torch.Tensor, f2: torch.Tensor, max_displacement: int = 3) -> torch.Tensor:
    """Cost volume between two feature maps over a ``(2 d + 1)^2`` neighbourhood, averaged over channels.

    Args:
        f1: ``(B, C, H, W)`` reference features (e.g. the warped source).
        f2: ``(B, C, H, W)`` features searched around each position of ``f1`` (zero-padded by ``d``).
        max_displacement: ``d >= 0``, in pixels of this level; ``d = 3`` gives 49 channels.

    Returns:
        ``(B, (2 d + 1)^2, H, W)`` on the device of ``f1``, in the dtype of ``f1`` (the autocast dtype under
        autocast), channels-last when ``f1`` is; channel order as in the module docstring. Equal to
        :func:`correlation_reference` up to float rounding (a different summation order).
    """
    _check(f1, f2, max_displacement)
    device = f1.device.type
    if torch.is_autocast_enabled(device):  # as autocast treats a matrix product; the op itself is not autocast
        dtype = torch.get_autocast_dtype(device)
    else:
        dtype = f1.dtype if f1.dtype == f2.dtype else torch.promote_types(f1.dtype, f2.dtype)
    return _correlation_op(_as(f1, dtype), _as(f2, dtype), max_displacement)


def global_correlation(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    """All-pairs cost volume (module docstring): every position of ``f1`` against every position of ``f2``.

    Args:
        f1: ``(B, C, H, W)`` features whose positions index the output map.
        f2: ``(B, C, H, W)`` features whose positions index the output channels (row-major).

    Returns:
        ``(B, H W, H, W)``: ``cost[b, y2 W + x2, y, x] = <f1[b, :, y, x], f2[b, :, y2, x2]>``.
    """
    _check(f1, f2, 0)
    batch, channels, height, width = f1.shape
    return torch.bmm(f2.flatten(2).transpose(1, 2), f1.flatten(2)).view(batch, height * width, height, width)


def correlation_reference(f1: torch.Tensor, f2: torch.Tensor, max_displacement: int = 3) -> torch.Tensor:
    """:func:`correlation` written out: one product and one channel mean per displacement (the reference).

    Arguments and result as :func:`correlation` (the result is in ``f1``'s dtype, contiguous).
    """
    _check(f1, f2, max_displacement)
    d, (height, width) = max_displacement, f1.shape[-2:]
    padded = F.pad(f2, (d, d, d, d))
    costs = [
        (f1 * padded[:, :, dy : dy + height, dx : dx + width]).mean(dim=1)
        for dy in range(2 * d + 1)
        for dx in range(2 * d + 1)
    ]
    return torch.stack(costs, dim=1)


def _check(f1: torch.Tensor, f2: torch.Tensor, max_displacement: int) -> None:
    if not isinstance(f1, torch.Tensor) or f1.ndim != 4:
        raise ValueError(f"f1 must be a (B, C, H, W) tensor, got {_describe(f1)}")
    if not isinstance(f2, torch.Tensor) or f2.shape != f1.shape:
        raise ValueError(f"f2 must be a {tuple(f1.shape)} tensor like f1, got {_describe(f2)}")
    if max_displacement < 0:
        raise ValueError(f"max_displacement must be >= 0, got {max_displacement}")


def _describe(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


class _Plan(NamedTuple):
    """Sizes of one correlation on the flattened canvas (module docstring)."""

    batch: int
    channels: int
    height: int
    width: int
    d: int
    k: int  # 2 d + 1
    row: int  # canvas row length W + 2 d
    plane: int  # canvas pixels per sample (H + 2 d) (W + 2 d)
    pixels: int  # canvas pixels of the batch, B * plane
    tile: int  # T
    tiles: int  # ceil(pixels / T)
    window: int  # pixels per window: T + 2 d, or 2 d (W + 2 d) + T + 2 d when merged
    merged: bool  # one window per tile (all dy) instead of one per dy
    lead: int  # 2 d (W + 2 d) + 2 d: how far back a pixel's furthest neighbour-of-neighbour lies
    front: int  # zero samples in front of the pixel canvases (>= lead pixels)

    @property
    def covered(self) -> int:
        return self.tiles * self.tile


def _plan(f1: torch.Tensor, d: int) -> _Plan:
    batch, channels, height, width = f1.shape
    k, row = 2 * d + 1, width + 2 * d
    plane = (height + 2 * d) * row
    tile = TILE
    tiles = -(-batch * plane // tile)
    merged_window = (k - 1) * row + tile + 2 * d
    merged = merged_window <= MERGE_LIMIT * k * (tile + 2 * d)
    lead = (k - 1) * row + 2 * d
    return _Plan(
        batch,
        channels,
        height,
        width,
        d,
        k,
        row,
        plane,
        batch * plane,
        tile,
        tiles,
        merged_window if merged else tile + 2 * d,
        merged,
        lead,
        -(-lead // plane),
    )


def _canvas(x: torch.Tensor, plan: _Plan, offset: int, front: int) -> torch.Tensor:
    """``x`` (B, C', H, W) channels-last on the zero canvas, flattened to (pixels, C'): ``x[b, :, y, x]`` at pixel
    ``(front + b) plane + (y + offset) row + x + offset`` (``offset`` 0: at its own pixel; ``d``: padded by ``d``);
    zeros after it for every window of the last tile (module docstring)."""
    d = plan.d
    needed = front * plan.plane + plan.covered + plan.lead  # the last tile's furthest window pixel, exclusive
    back = -(-needed // plan.plane) - front - plan.batch
    pad = (0, 0, offset, 2 * d - offset, offset, 2 * d - offset, front, back)
    return F.pad(x.permute(0, 2, 3, 1), pad).reshape(-1, x.shape[1])


def _windows(canvas: torch.Tensor, plan: _Plan, start: int, dy: int | None, transposed: bool = False) -> torch.Tensor:
    """(tiles, window, C') views of ``canvas`` (pixels, C') contiguous, (tiles, C', window) if ``transposed``: tile
    ``n``'s window from pixel ``start + n T (+ dy row)``; ``dy`` None: the merged window."""
    offset = start + (0 if dy is None else dy * plan.row)
    channels = canvas.shape[1]
    size, stride = (plan.tiles, plan.window, channels), (plan.tile * channels, channels, 1)
    if transposed:
        size, stride = (size[0], size[2], size[1]), (stride[0], stride[2], stride[1])
    return canvas.as_strided(size, stride, canvas.storage_offset() + offset * channels)


def _dots(anchors: torch.Tensor, start: int, canvas: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """``out[q, dy, dx] = anchors[start + q] . canvas[q + dy row + dx]`` for the covered pixels ``q``:
    (tiles, T, K, K), a strided view of the products."""
    t, k, channels = plan.tile, plan.k, canvas.shape[1]
    tiles = anchors.as_strided(
        (plan.tiles, t, channels), (t * channels, channels, 1), anchors.storage_offset() + start * channels
    )
    if plan.merged:
        products = torch.bmm(tiles, _windows(canvas, plan, 0, None, transposed=True))  # (tiles, T, window)
        return products.as_strided((plan.tiles, t, k, k), (t * plan.window, plan.window + 1, plan.row, 1))
    products = tiles.new_empty((k, plan.tiles, t, plan.window))
    for dy in range(k):
        torch.bmm(tiles, _windows(canvas, plan, 0, dy, transposed=True), out=products[dy])
    return products.as_strided(
        (plan.tiles, t, k, k), (t * plan.window, plan.window + 1, plan.tiles * t * plan.window, 1)
    )


def _spread(values: torch.Tensor, canvas: torch.Tensor, start: int, plan: _Plan, scale: float) -> torch.Tensor:
    """``out[q] = scale * sum_{dy, dx} values[q / T, q % T, dy, dx] canvas[start + q + dy row + dx]`` for the covered
    pixels ``q``: (covered, C'). ``values``: (tiles, T, K, K), any strides."""
    t, k, w = plan.tile, plan.k, plan.window
    if plan.merged:
        band = values.new_zeros((plan.tiles, t, w))
        torch.mul(values, scale, out=band.as_strided(values.shape, (t * w, w + 1, plan.row, 1)))
        return torch.bmm(band, _windows(canvas, plan, start, None)).view(-1, canvas.shape[1])
    band = values.new_zeros((k, plan.tiles, t, w))
    torch.mul(values, scale, out=band.as_strided(values.shape, (t * w, w + 1, plan.tiles * t * w, 1)))
    out = torch.bmm(band[0], _windows(canvas, plan, start, 0))
    for dy in range(1, k):
        out.baddbmm_(band[dy], _windows(canvas, plan, start, dy))
    return out.view(-1, canvas.shape[1])


def _to_maps(
    flat: torch.Tensor, plan: _Plan, offset: int, like: torch.Tensor, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Inverse of :func:`_canvas` without front samples: (pixels or more, C') contiguous -> (B, C', H, W) in ``dtype``
    (default ``like``'s), channels-last where ``like`` is."""
    channels = flat.shape[1]
    maps = flat.as_strided(
        (plan.batch, channels, plan.height, plan.width),
        (plan.plane * channels, 1, plan.row * channels, channels),
        flat.storage_offset() + (offset * plan.row + offset) * channels,
    )
    out = torch.empty(maps.shape, dtype=dtype or like.dtype, device=like.device, memory_format=_memory_format(like))
    return out.copy_(maps)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def _as(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x if x.dtype == dtype else x.to(dtype)


# The three computations are custom operators (``garment_transfer::correlation`` and its two gradients): one opaque
# node each for autograd and for torch.compile (no graph break, CUDA graphs possible), with shape-only fake versions.


@torch.library.custom_op("garment_transfer::correlation", mutates_args=())
def _correlation_op(f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    plan = _plan(f1, d)
    anchors = _canvas(f1, plan, 0, plan.front)
    searched = _canvas(f2, plan, d, 0)
    dots = _dots(anchors, plan.front * plan.plane, searched, plan)  # (tiles, T, K, K), strided
    flat = torch.mul(dots, 1.0 / plan.channels, out=dots.new_empty(dots.shape)).view(plan.covered, -1)
    return _to_maps(flat, plan, 0, f1)


@_correlation_op.register_fake
def _(f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    batch, _, height, width = f1.shape
    return torch.empty(
        (batch, (2 * d + 1) ** 2, height, width), dtype=f1.dtype, device=f1.device, memory_format=_memory_format(f1)
    )


@torch.library.custom_op("garment_transfer::correlation_grad_f1", mutates_args=())
def _grad_f1_op(grad: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    plan = _plan(f1, d)
    k2, t = plan.k * plan.k, plan.tile
    grads = _canvas(_as(grad, f1.dtype), plan, 0, plan.front)  # (pixels, K^2), the gradient at each pixel
    searched = _canvas(f2, plan, d, 0)
    at_pixel = grads.as_strided(
        (plan.tiles, t, plan.k, plan.k), (t * k2, k2, plan.k, 1), grads.storage_offset() + plan.front * plan.plane * k2
    )
    return _to_maps(_spread(at_pixel, searched, 0, plan, 1.0 / plan.channels), plan, 0, f1)


@torch.library.custom_op("garment_transfer::correlation_grad_f2", mutates_args=())
def _grad_f2_op(grad: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    # f2's pixel p gets grad[p - dy row - dx, (dy, dx)] * f1[p - dy row - dx]: with e = K - 1 - dy, the pixel
    # p - lead + e row + e_x and the channel K^2 - 1 - (e K + e_x), read with positive strides.
    plan = _plan(f1, d)
    k2, t = plan.k * plan.k, plan.tile
    start = plan.front * plan.plane - plan.lead
    grads = _canvas(_as(grad, f1.dtype), plan, 0, plan.front)
    anchors = _canvas(f1, plan, 0, plan.front)
    at_neighbour = grads.as_strided(
        (plan.tiles, t, plan.k, plan.k),
        (t * k2, k2, plan.row * k2 - plan.k, k2 - 1),
        grads.storage_offset() + start * k2 + k2 - 1,
    )
    return _to_maps(_spread(at_neighbour, anchors, start, plan, 1.0 / plan.channels), plan, d, f2)


@_grad_f1_op.register_fake
def _(grad: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    return torch.empty_like(f1, memory_format=_memory_format(f1))


@_grad_f2_op.register_fake
def _(grad: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    return torch.empty_like(f2, memory_format=_memory_format(f2))


def _save(ctx, inputs: tuple, output: torch.Tensor) -> None:
    f1, f2, d = inputs
    ctx.save_for_backward(f1, f2)
    ctx.d = d


def _backward(ctx, grad: torch.Tensor):
    f1, f2 = ctx.saved_tensors
    grad_f1 = _grad_f1_op(grad, f1, f2, ctx.d) if ctx.needs_input_grad[0] else None
    grad_f2 = _grad_f2_op(grad, f1, f2, ctx.d) if ctx.needs_input_grad[1] else None
    return grad_f1, grad_f2, None


_correlation_op.register_autograd(_backward, setup_context=_save)
