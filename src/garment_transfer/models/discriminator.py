"""PatchGAN discriminator (Isola et al., pix2pix, 2017): a few stride-2 4x4 convolutions and a 1-channel map of logits,
one per overlapping patch of the input.

Layout at ``layers = 3``: ``conv(in -> ndf, s2) LReLU``, ``conv(ndf -> 2 ndf, s2) N LReLU``, ``conv(2 ndf -> 4 ndf,
s2) N LReLU``, ``conv(4 ndf -> 8 ndf, s1) N LReLU``, ``conv(8 ndf -> 1, s1)``; 4x4 kernels, padding 2 (pix2pixHD's
``ceil((4 - 1) / 2)``), LeakyReLU 0.2, convolutions with biases, widths capped at ``8 ndf``. ``N`` is ``norm``:
``"none"`` (default), ``"instance"`` (InstanceNorm without learnt parameters) or ``"batch"``. ``spectral_norm``
(default on) reparametrises every convolution's weight by its largest singular value (Miyato et al., 2018;
``torch.nn.utils.parametrizations``), which adds no parameters.

Parameters at ``ndf = 64``, ``layers = 3``, no norm: 2,822,081 on 59 input channels and 2,801,601 on 39, GP-VTON's
warping and generator discriminators as its training code builds them.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as spectral

NORMS = ("none", "instance", "batch")


class PatchDiscriminator(nn.Module):
    """(B, in_channels, H, W) -> (B, 1, h, w) logits (module docstring).

    Args:
        in_channels: channels of what it judges (an image, with its condition concatenated).
        ndf: channels of the first convolution. layers: stride-2 convolutions (at least 1).
        norm: one of :data:`NORMS`. spectral_norm: spectral normalisation of every convolution.
        padding: of every convolution; None (default) pix2pixHD's 2; GP-VTON's code pads by 1 (same parameters,
            smaller logit maps).
    """

    def __init__(
        self,
        in_channels: int,
        ndf: int = 64,
        layers: int = 3,
        norm: str = "none",
        spectral_norm: bool = True,
        padding: int | None = None,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"PatchDiscriminator: norm must be one of {NORMS}, got {norm!r}")
        if layers < 1 or in_channels < 1:
            raise ValueError(
                f"PatchDiscriminator: in_channels and layers must be positive, got {in_channels}, {layers}"
            )
        self.in_channels = in_channels
        padding = math.ceil((4 - 1) / 2) if padding is None else padding
        wrap = spectral if spectral_norm else (lambda conv: conv)
        widths = [ndf * min(2**k, 8) for k in range(layers + 1)]
        modules: list[nn.Module] = [wrap(nn.Conv2d(in_channels, ndf, 4, 2, padding)), nn.LeakyReLU(0.2, True)]
        for k in range(1, layers + 1):
            stride = 2 if k < layers else 1
            modules += [
                wrap(nn.Conv2d(widths[k - 1], widths[k], 4, stride, padding)),
                *_norm(norm, widths[k]),
                nn.LeakyReLU(0.2, True),
            ]
        modules.append(wrap(nn.Conv2d(widths[layers], 1, 4, 1, padding)))
        self.model = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator: input must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return self.model(x)


def _norm(kind: str, channels: int) -> list[nn.Module]:
    if kind == "none":
        return []
    return [nn.InstanceNorm2d(channels) if kind == "instance" else nn.BatchNorm2d(channels)]
