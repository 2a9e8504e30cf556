"""Initial aligning of the transfer warping student ``S_W``: an STN regressing one affine map (``METHOD.md`` 4.4).

Architecture. The input is ``cat(P_s, P_t, M^g_s, M^g_{t<-s})`` (``2 * pose_channels + 2`` channels) plus two
normalised coordinate channels (CoordConv), so that globally pooled features can still say *where* the shapes are.
Five ``Conv3x3(stride 2) + BatchNorm + ReLU`` layers of ``(w, 2w, 4w, 8w, 8w)`` channels, a global average pool and
``Linear(8w, 8w) + ReLU + Linear(8w, 6)`` give ``theta``; the last linear layer has zero weights and the identity as
bias, so ``theta`` is the identity at initialisation. Any input size works.

``theta`` follows :func:`garment_transfer.geometry.affine_grid`: it maps normalised *output* ``(x, y, 1)`` to
normalised *source* coordinates (``source_from_output``, ``align_corners=True``); :func:`align` applies it.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.geometry import affine_grid, identity_grid, warp


def align(theta: torch.Tensor, garment: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp a garment image and its mask by an affine ``theta`` (``source_from_output``).

    Args:
        theta: ``(B, 2, 3)`` affine matrices on normalised ``(x, y)`` coordinates.
        garment: ``(B, 3, H, W)`` image in ``[-1, 1]`` (border padding).
        mask: ``(B, 1, H, W)`` mask in ``[0, 1]`` (zero padding).

    Returns:
        ``(aligned_garment (B, 3, H, W), aligned_mask (B, 1, H, W))``.
    """
    grid = affine_grid(theta, tuple(mask.shape[-2:]))
    return warp(garment, grid, kind="image"), warp(mask, grid, kind="mask")


class AligningSTN(nn.Module):
    """Regress an affine ``theta`` from the pose and shape pair; the identity at initialisation.

    Args:
        in_channels: channels of the concatenated input, ``2 * pose_channels + 2``.
        width: base width ``w`` of the conv encoder (module docstring).
    """

    align = staticmethod(align)

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__()
        self.in_channels = in_channels
        channels = (width, 2 * width, 4 * width, 8 * width, 8 * width)
        layers, previous = [], in_channels + 2
        for ch in channels:
            layers += [nn.Conv2d(previous, ch, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(ch),
                       nn.ReLU(inplace=True)]
            previous = ch
        self.encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.regressor = nn.Sequential(nn.Linear(previous, previous), nn.ReLU(inplace=True), nn.Linear(previous, 6))
        nn.init.zeros_(self.regressor[-1].weight)
        with torch.no_grad():
            self.regressor[-1].bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Affine parameters of ``x``.

        Args:
            x: ``(B, in_channels, H, W)``: ``cat(P_s, P_t, M^g_s, M^g_{t<-s})``.

        Returns:
            ``theta`` ``(B, 2, 3)``, ``source_from_output`` in normalised coordinates.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        batch, _, height, width = x.shape
        coords = identity_grid(batch, height, width, device=x.device, dtype=x.dtype).permute(0, 3, 1, 2)
        return self.regressor(self.encoder(torch.cat([x, coords], dim=1))).view(batch, 2, 3)
