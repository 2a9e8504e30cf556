"""Feature pyramid and FPN of the appearance-flow warping nets of the PF-AFN / FS-VTON family
(``docs/methods/pfafn.md``, "Networks").

Architecture. :class:`FeaturePyramid` has five levels; level ``k`` is a stride-2 3x3 conv (pre-activation
BatchNorm-ReLU-Conv; level 0 is a plain conv by default, so the raw input is not clipped by a ReLU, and
``preactivate_input=True`` gives PF-AFN's level 0, BatchNorm-ReLU on the raw input too) followed by two
pre-activation residual blocks (``x + Conv(ReLU(BN(Conv(ReLU(BN(x))))))``), giving maps at ``H/2 .. H/32``
(ceil-divided for odd sizes: a 3x3 stride-2 conv with padding 1 maps ``n`` to ``ceil(n / 2)``). :class:`FPN` puts a 1x1
lateral on every level, adds the nearest-upsampled coarser sum top-down (resized to the lateral's size, which is x2 for
even sizes) and smooths each sum with a 3x3 conv. Both return lists ordered **fine -> coarse**. Reference widths:
pyramid ``(64, 128, 256, 256, 256)``, FPN 256; a CPU preset uses e.g. ``(16, 32, 64, 64, 64)`` and 64. ``norm`` swaps
the BatchNorm for GP-VTON's InstanceNorm (no learnt parameters) or its SPADE residual blocks
(:mod:`~garment_transfer.models.spade`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.models.spade import ConditionedSequential, SpadeResidualBlock

NORMS = ("batch", "instance", "spade")


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.InstanceNorm2d(channels)


def _bn_relu_conv(in_ch: int, out_ch: int, stride: int = 1, norm: str = "batch") -> nn.Sequential:
    return nn.Sequential(
        _norm(norm, in_ch), nn.ReLU(inplace=False), nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
    )


class ResidualBlock(nn.Module):
    """Pre-activation residual block (two N-ReLU-Conv 3x3, ``N`` BatchNorm or, ``norm="instance"``, InstanceNorm
    without learnt parameters); (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, norm: str = "batch") -> None:
        super().__init__()
        self.body = nn.Sequential(
            _bn_relu_conv(channels, channels, norm=norm), _bn_relu_conv(channels, channels, norm=norm)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class FeaturePyramid(nn.Module):
    """Five-level encoder (see the module docstring).

    Args:
        in_channels: input channels.
        channels: output channels per level, fine -> coarse (five reference levels; any length >= 1 works).
        preactivate_input: level 0 as every other level, N-ReLU-Conv on the raw input (PF-AFN's
            ``FeatureEncoder``; adds ``2 * in_channels`` parameters with BatchNorm); False (default, the warping nets
            of the distilled-transfer method): a plain conv.
        norm: ``N``, one of :data:`NORMS`: "batch" (default, PF-AFN: BatchNorm with learnt affine parameters),
            "instance" (GP-VTON: InstanceNorm without learnt parameters), "spade" (GP-VTON's DressCode garment
            encoder: InstanceNorm before the stride-2 convs, and residual blocks
            :class:`~garment_transfer.models.spade.SpadeResidualBlock` modulated by a condition map of
            ``condition_channels`` channels passed to :meth:`forward`).
        condition_channels, spade_hidden: the condition's channels and the SPADE hidden width ("spade" only).
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int] = (64, 128, 256, 256, 256),
        preactivate_input: bool = False,
        norm: str = "batch",
        condition_channels: int = 1,
        spade_hidden: int = 128,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"FeaturePyramid: norm must be one of {NORMS}, got {norm!r}")
        self.in_channels, self.channels = in_channels, tuple(channels)
        self.preactivate_input, self.norm = preactivate_input, norm
        self.levels = nn.ModuleList()
        for k, (c_in, c_out) in enumerate(zip((in_channels, *self.channels[:-1]), self.channels)):
            down = (
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
                if k == 0 and not preactivate_input
                else _bn_relu_conv(c_in, c_out, stride=2, norm=norm)
            )
            if norm == "spade":
                blocks = [SpadeResidualBlock(c_out, condition_channels, spade_hidden) for _ in range(2)]
                self.levels.append(ConditionedSequential(down, *blocks))
            else:
                self.levels.append(nn.Sequential(down, ResidualBlock(c_out, norm), ResidualBlock(c_out, norm)))

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Encode ``x``.

        Args:
            x: (B, in_channels, H, W).
            condition: (B, condition_channels, H, W) the SPADE condition (``norm="spade"`` only, then required).

        Returns:
            ``len(channels)`` maps fine -> coarse, level ``k`` (B, channels[k], ceil(H / 2^(k+1)), ceil(W / 2^(k+1))).
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if (condition is not None) != (self.norm == "spade"):
            raise ValueError(f"FeaturePyramid: a condition goes with norm 'spade' only (norm {self.norm!r})")
        features = []
        for level in self.levels:
            x = level(x) if condition is None else level(x, condition)
            features.append(x)
        return features


class FPN(nn.Module):
    """Feature pyramid network top-down pathway (see the module docstring).

    Args:
        in_channels_list: channels of the input maps, fine -> coarse.
        out_channels: channels of every output map.
    """

    def __init__(self, in_channels_list: Sequence[int], out_channels: int = 256) -> None:
        super().__init__()
        self.in_channels_list, self.out_channels = tuple(in_channels_list), out_channels
        self.laterals = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in self.in_channels_list)
        self.smooth = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in self.in_channels_list)

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Fuse a pyramid top-down.

        Args:
            features: maps fine -> coarse, map ``k`` (B, in_channels_list[k], H_k, W_k), each coarser than the last.

        Returns:
            Maps fine -> coarse, map ``k`` (B, out_channels, H_k, W_k).
        """
        if len(features) != len(self.laterals):
            raise ValueError(f"features must hold {len(self.laterals)} maps, got {len(features)}")
        for k, (f, c) in enumerate(zip(features, self.in_channels_list)):
            if f.ndim != 4 or f.shape[1] != c:
                raise ValueError(f"features[{k}] must be (B, {c}, H, W), got {tuple(f.shape)}")
        outputs, top = [], None
        for f, lateral, smooth in zip(reversed(features), reversed(self.laterals), reversed(self.smooth)):
            top = lateral(f) if top is None else lateral(f) + F.interpolate(top, size=f.shape[-2:], mode="nearest")
            outputs.append(smooth(top))
        return outputs[::-1]
