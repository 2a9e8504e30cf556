"""ResUNet generator, the arm regrowth net ``R`` (PF-AFN's ``ResUnetGenerator`` layout).

Architecture. ``num_downs`` levels; level ``k`` has ``inner_k = ngf * min(2^k, 8)`` channels. Down at level ``k``: a
3x3 stride-2 conv (no bias), BatchNorm (not at the outermost and innermost levels), ReLU, two residual blocks
(``ReLU(x + BN(conv(ReLU(BN(conv(x))))))``). Up at level ``k``: nearest upsampling to the size of the level's input,
a 3x3 conv to the channels of that input, then BatchNorm, ReLU and two residual blocks, except at the outermost
level, whose conv gives the ``out_channels`` outputs with nothing after it (raw values: callers pick the activation).
Skips concatenate a level's input with its decoded output, so the up conv of level ``k < num_downs - 1`` reads
``2 * inner_k`` channels. A 3x3 stride-2 conv with padding 1 maps ``n`` to ``ceil(n / 2)`` and every upsampling goes
to the skip's exact size, so any H, W of at least ``2^num_downs`` work (for multiples of ``2^num_downs`` the
upsampling is exactly x2); smaller inputs are refused.

Options beyond that layout (defaults: the layout above):

- ``norm``: ``"batch"`` (BatchNorm, PF-AFN's) or ``"instance"`` (InstanceNorm with learnt affine parameters, as
  WUTON's U-Net: "instance norm throughout");
- ``second_channels``: a second, non-shared encoder of the same widths for a second input (WUTON: E1 reads the
  cloth, E2 the person). The decoder then reads both encoders' skips: at level ``k`` the first encoder's skip, the
  second encoder's skip (passed through ``skip_transform``, e.g. warped by a TPS grid) and the decoded map are
  concatenated, and the innermost level reads both bottlenecks; the up convs widen to match.

Parameters: 43,898,816 at ``ngf=64, num_downs=5`` with 7 inputs (source skin 3 + shape 1 + IUV 3) and 3 outputs,
the paper's 43.90 M (Table 2); the ``tiny`` width (``ngf=16``) has 2.74 M. PF-AFN's try-on generators are this class
with 4 outputs (``models/pfafn.py``): 43,900,544 parameters with 8 inputs, 43,899,968 with 7.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = {"full": 64, "small": 32, "tiny": 16}
MAX_MULT = 8
NORMS = ("batch", "instance")


def width_ngf(width: str) -> int:
    """``ngf`` of a named width (:data:`WIDTHS`)."""
    if width not in WIDTHS:
        raise ValueError(f"ResUNet width {width!r}: choose one of {tuple(WIDTHS)}")
    return WIDTHS[width]


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.InstanceNorm2d(channels, affine=True)


class ResidualBlock(nn.Module):
    """Post-activation residual block: ``ReLU(x + N(conv(ReLU(N(conv(x))))))``, 3x3 convs without bias, ``N`` the
    normalisation (``norm``: "batch" or "instance")."""

    def __init__(self, channels: int, norm: str = "batch") -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _norm(norm, channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _down(in_ch: int, out_ch: int, normalised: bool, norm: str) -> nn.Sequential:
    layers = [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1, bias=False)]
    layers += [_norm(norm, out_ch)] if normalised else []
    return nn.Sequential(*layers, nn.ReLU(inplace=True), ResidualBlock(out_ch, norm), ResidualBlock(out_ch, norm))


def _encoder(in_channels: int, inner: list[int], norm: str) -> nn.ModuleList:
    last = len(inner) - 1
    return nn.ModuleList(
        _down(in_channels if k == 0 else inner[k - 1], inner[k], 0 < k < last, norm) for k in range(len(inner))
    )


class _Up(nn.Module):
    """Nearest upsampling to ``size``, 3x3 conv, and (``last=False``) normalisation, ReLU, two residual blocks."""

    def __init__(self, in_ch: int, out_ch: int, last: bool, norm: str = "batch") -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)
        self.post = (
            nn.Identity()
            if last
            else nn.Sequential(
                _norm(norm, out_ch), nn.ReLU(inplace=True), ResidualBlock(out_ch, norm), ResidualBlock(out_ch, norm)
            )
        )

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.post(self.conv(F.interpolate(x, size=size, mode="nearest")))


class ResUnetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) raw outputs (see the module docstring).

    Args:
        in_channels, out_channels: input and output channels.
        num_downs: levels (stride-2 downsamplings), at least 2; the innermost works at ``H / 2^num_downs``.
        ngf: channels of the outermost level; deeper levels double up to ``8 * ngf``.
        norm: "batch" (default) or "instance".
        second_channels: input channels of a second encoder (module docstring); None: one encoder.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int = 5,
        ngf: int = 64,
        norm: str = "batch",
        second_channels: int | None = None,
    ) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"ResUnetGenerator: num_downs must be at least 2, got {num_downs}")
        if norm not in NORMS:
            raise ValueError(f"ResUnetGenerator: norm must be one of {NORMS}, got {norm!r}")
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        self.second_channels = second_channels
        inner = [ngf * min(2**k, MAX_MULT) for k in range(num_downs)]
        outer = [out_channels] + inner[:-1]  # the channels each level's up path returns
        last, encoders = num_downs - 1, 1 if second_channels is None else 2
        self.downs = _encoder(in_channels, inner, norm)
        self.second_downs = None if second_channels is None else _encoder(second_channels, inner, norm)
        self.ups = nn.ModuleList(
            _Up(inner[k] * (encoders if k == last else encoders + 1), outer[k], k == 0, norm) for k in range(num_downs)
        )

    def _check(self, name: str, x: torch.Tensor, channels: int) -> None:
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(f"ResUnetGenerator: {name} must be (B, {channels}, H, W), got {tuple(x.shape)}")
        smallest = 2**self.num_downs
        if min(x.shape[-2:]) < smallest:
            raise ValueError(
                f"ResUnetGenerator: {name} {tuple(x.shape[-2:])} is smaller than 2^num_downs = "
                f"{smallest} in H or W; use a larger image or fewer levels"
            )

    def forward(
        self,
        x: torch.Tensor,
        second: torch.Tensor | None = None,
        skip_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The generator's output for ``x`` (and the second encoder's input).

        Args:
            x: (B, in_channels, H, W).
            second: (B, second_channels, H, W) the second encoder's input (only with ``second_channels``).
            skip_transform: applied to every map of the second encoder the decoder reads (the inputs of its
                levels below the first, which are its skips, and its bottleneck; (B, C, h, w) -> (B, C, h, w)); None:
                the identity.

        Returns:
            (B, out_channels, H, W) raw outputs.
        """
        self._check("input", x, self.in_channels)
        if (second is None) != (self.second_downs is None):
            raise ValueError(
                "ResUnetGenerator: give the second input exactly when the net has a second encoder "
                f"(second_channels={self.second_channels})"
            )
        skips, seconds = [], None
        for down in self.downs:
            skips.append(x)
            x = down(x)
        if second is not None:
            self._check("second input", second, self.second_channels)
            if second.shape[0] != x.shape[0] or second.shape[-2:] != skips[0].shape[-2:]:
                raise ValueError(
                    f"ResUnetGenerator: second input {tuple(second.shape)} does not match the batch "
                    f"and size of the input {tuple(skips[0].shape)}"
                )
            transform = skip_transform or (lambda y: y)
            seconds = []
            for k, down in enumerate(self.second_downs):
                seconds.append(transform(second) if k > 0 else None)  # level 0's input is no skip of the decoder
                second = down(second)
            x = torch.cat([x, transform(second)], dim=1)
        for k in reversed(range(self.num_downs)):
            x = self.ups[k](x, skips[k].shape[-2:])
            if k > 0:
                x = torch.cat([skips[k], x] if seconds is None else [skips[k], seconds[k], x], dim=1)
        return x
