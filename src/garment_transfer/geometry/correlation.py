"""Local correlation (cost volume) in pure PyTorch, as in PF-AFN (``METHOD.md`` 4.4, 9.2); CPU and GPU, differentiable.

Kernel size 1: ``cost[b, k, y, x] = mean_c f1[b, c, y, x] * f2[b, c, y + dy, x + dx]`` for every displacement
``(dy, dx)`` in ``[-d, d]^2``, with ``f2`` zero outside the map. Channels are row-major in the displacement, ``dy``
outer and ``dx`` inner: ``k = (dy + d) * (2 d + 1) + (dx + d)``, so ``k = d (2 d + 1) + d`` (the centre) is zero
displacement. PF-AFN follows it with ``LeakyReLU(0.1)``; that is the caller's job, not done here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def correlation(f1: torch.Tensor, f2: torch.Tensor, max_displacement: int = 3) -> torch.Tensor:
    """Cost volume between two feature maps over a ``(2 d + 1)^2`` neighbourhood, averaged over channels.

    Args:
        f1: ``(B, C, H, W)`` reference features (e.g. the warped source).
        f2: ``(B, C, H, W)`` features searched around each position of ``f1`` (zero-padded by ``d``).
        max_displacement: ``d >= 0``, in pixels of this level; ``d = 3`` gives 49 channels.

    Returns:
        ``(B, (2 d + 1)^2, H, W)`` in the dtype and on the device of ``f1``; channel order as in the module docstring.
    """
    if not isinstance(f1, torch.Tensor) or f1.ndim != 4:
        raise ValueError(f"f1 must be a (B, C, H, W) tensor, got {_describe(f1)}")
    if not isinstance(f2, torch.Tensor) or f2.shape != f1.shape:
        raise ValueError(f"f2 must be a {tuple(f1.shape)} tensor like f1, got {_describe(f2)}")
    if max_displacement < 0:
        raise ValueError(f"max_displacement must be >= 0, got {max_displacement}")
    d, (height, width) = max_displacement, f1.shape[-2:]
    padded = F.pad(f2, (d, d, d, d))
    # One product per shift (49 for d = 3). On CPU at (2, 256, 32, 24), one thread, this loop took ~11-60 ms forward and
    # ~66-100 ms forward + backward, an unfold (im2col, 49x the features in memory) ~130 / ~330 ms, and a per-row
    # einsum ~31-37 / ~107-116 ms; the loop is also the lightest in memory, so it is the one kept.
    costs = [(f1 * padded[:, :, dy:dy + height, dx:dx + width]).mean(dim=1)
             for dy in range(2 * d + 1) for dx in range(2 * d + 1)]
    return torch.stack(costs, dim=1)


def _describe(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
