"""ResUNet generator, the arm regrowth net ``R`` (PF-AFN's ``ResUnetGenerator`` layout, ``METHOD.md`` 4.5, 9.3).

Architecture. ``num_downs`` levels; level ``k`` has ``inner_k = ngf * min(2^k, 8)`` channels. Down at level ``k``: a
3x3 stride-2 conv (no bias), BatchNorm (not at the outermost and innermost levels), ReLU, two residual blocks
(``ReLU(x + BN(conv(ReLU(BN(conv(x))))))``). Up at level ``k``: nearest upsampling to the size of the level's input,
a 3x3 conv to the channels of that input, then BatchNorm, ReLU and two residual blocks, except at the outermost
level, whose conv gives the ``out_channels`` outputs with nothing after it (raw values: callers pick the activation).
Skips concatenate a level's input with its decoded output, so the up conv of level ``k < num_downs - 1`` reads
``2 * inner_k`` channels. A 3x3 stride-2 conv with padding 1 maps ``n`` to ``ceil(n / 2)`` and every upsampling goes
to the skip's exact size, so any H, W of at least ``2^num_downs`` work (for multiples of ``2^num_downs`` the
upsampling is exactly x2); smaller inputs are refused.

Parameters: 43,898,816 at ``ngf=64, num_downs=5`` with 7 inputs (source skin 3 + shape 1 + IUV 3) and 3 outputs,
the paper's 43.90 M (Table 2); the ``tiny`` width (``ngf=16``) has 2.74 M. PF-AFN's try-on generators are this class
with 4 outputs (``models/pfafn.py``): 43,900,544 parameters with 8 inputs, 43,899,968 with 7.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = {"full": 64, "small": 32, "tiny": 16}
MAX_MULT = 8


def width_ngf(width: str) -> int:
    """``ngf`` of a named width (:data:`WIDTHS`)."""
    if width not in WIDTHS:
        raise ValueError(f"ResUNet width {width!r}: choose one of {tuple(WIDTHS)}")
    return WIDTHS[width]


class ResidualBlock(nn.Module):
    """Post-activation residual block: ``ReLU(x + BN(conv(ReLU(BN(conv(x))))))``, 3x3 convs without bias."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _down(in_ch: int, out_ch: int, norm: bool) -> nn.Sequential:
    layers = [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1, bias=False)]
    layers += [nn.BatchNorm2d(out_ch)] if norm else []
    return nn.Sequential(*layers, nn.ReLU(inplace=True), ResidualBlock(out_ch), ResidualBlock(out_ch))


class _Up(nn.Module):
    """Nearest upsampling to ``size``, 3x3 conv, and (``last=False``) BatchNorm, ReLU, two residual blocks."""

    def __init__(self, in_ch: int, out_ch: int, last: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)
        self.post = nn.Identity() if last else nn.Sequential(nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
                                                             ResidualBlock(out_ch), ResidualBlock(out_ch))

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.post(self.conv(F.interpolate(x, size=size, mode="nearest")))


class ResUnetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) raw outputs (see the module docstring).

    Args:
        in_channels, out_channels: input and output channels.
        num_downs: levels (stride-2 downsamplings), at least 2; the innermost works at ``H / 2^num_downs``.
        ngf: channels of the outermost level; deeper levels double up to ``8 * ngf``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_downs: int = 5, ngf: int = 64) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"ResUnetGenerator: num_downs must be at least 2, got {num_downs}")
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        inner = [ngf * min(2**k, MAX_MULT) for k in range(num_downs)]
        outer = [out_channels] + inner[:-1]  # the channels each level's up path returns
        last = num_downs - 1
        self.downs = nn.ModuleList(_down(in_channels if k == 0 else inner[k - 1], inner[k], 0 < k < last)
                                   for k in range(num_downs))
        self.ups = nn.ModuleList(_Up(inner[k] * (1 if k == last else 2), outer[k], k == 0) for k in range(num_downs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResUnetGenerator: input must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        smallest = 2**self.num_downs
        if min(x.shape[-2:]) < smallest:
            raise ValueError(f"ResUnetGenerator: input {tuple(x.shape[-2:])} is smaller than 2^num_downs = "
                             f"{smallest} in H or W; use a larger image or fewer levels")
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for k in reversed(range(self.num_downs)):
            x = self.ups[k](x, skips[k].shape[-2:])
            if k > 0:
                x = torch.cat([skips[k], x], dim=1)
        return x
