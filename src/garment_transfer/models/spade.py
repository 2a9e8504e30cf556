"""Spatially-adaptive normalisation SPADE (Park et al., CVPR 2019) and what is built of it, as GP-VTON's DressCode
warp uses them (Xie et al., CVPR 2023): a condition map (there, the garment category as a constant map) modulates
normalised activations.

- :class:`SPADE`: ``IN(x) * (1 + gamma(c)) + beta(c)``, ``IN`` an InstanceNorm without learnt parameters, ``c`` the
  condition resized (nearest) to ``x``'s size, ``gamma, beta = Conv3x3(ReLU(Conv3x3(c)))`` (a shared hidden
  layer of ``hidden`` channels, 128 in the paper, then one 3x3 conv each, all with biases).
- :class:`SpadeResidualBlock`: ``x + Conv(LReLU_0.1(SPADE(Conv(LReLU_0.1(SPADE(x))))))``, 3x3 convs with biases.
- :class:`ConditionedSequential`: a sequence whose members marked ``takes_condition`` also receive the condition.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SPADE(nn.Module):
    """(B, channels, h, w), condition (B, condition_channels, H, W) -> (B, channels, h, w) (module docstring)."""

    takes_condition = True

    def __init__(self, channels: int, condition_channels: int = 1, hidden: int = 128) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(condition_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        if condition.ndim != 4 or condition.shape[0] != x.shape[0]:
            raise ValueError(f"SPADE: condition must be ({x.shape[0]}, C, H, W), got {tuple(condition.shape)}")
        hidden = self.shared(F.interpolate(condition, size=x.shape[-2:], mode="nearest"))
        return self.norm(x) * (1 + self.gamma(hidden)) + self.beta(hidden)


class SpadeResidualBlock(nn.Module):
    """SPADE residual block (module docstring); (B, C, H, W) -> (B, C, H, W)."""

    takes_condition = True

    def __init__(self, channels: int, condition_channels: int = 1, hidden: int = 128) -> None:
        super().__init__()
        self.norms = nn.ModuleList(SPADE(channels, condition_channels, hidden) for _ in range(2))
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2))

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        out = x
        for norm, conv in zip(self.norms, self.convs):
            out = conv(F.leaky_relu(norm(out, condition), 0.1))
        return x + out


class ConditionedSequential(nn.Sequential):
    """``nn.Sequential`` whose members with ``takes_condition`` are called as ``module(x, condition)``."""

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        for module in self:
            x = module(x, condition) if getattr(module, "takes_condition", False) else module(x)
        return x
