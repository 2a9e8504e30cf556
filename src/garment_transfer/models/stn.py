"""Spatial transformers of the transfer warping student ``S_W`` (arXiv 2401.12433, Sec. 3.3.2): the initial
aligning STN, regressing one affine map, and the TPS baseline's regressor of thin-plate-spline control points.

Architecture (both). The input is ``cat(P_s, P_t, M^g_s, M^g_{t<-s})`` (``2 * pose_channels + 2`` channels) plus two
normalised coordinate channels (CoordConv), so that globally pooled features can still say *where* the shapes are.
Five ``Conv3x3(stride 2) + BatchNorm + ReLU`` layers of ``(w, 2w, 4w, 8w, 8w)`` channels, a global average pool and
``Linear(8w, 8w) + ReLU + Linear(8w, outputs)``; the last linear layer has zero weights, and its bias is the identity
``theta`` (STN) or zero control-point offsets (TPS), so both start at the identity map. Any input size works.

Under autocast the last linear layer runs in float32: ``theta`` and the control points are geometry (in bf16 a scale
near 1 is off by up to 1 / 512: a fifth of a pixel at the edge of a 192-pixel-wide image).

``theta`` follows :func:`garment_transfer.geometry.affine_grid`: it maps normalised *output* ``(x, y, 1)`` to
normalised *source* coordinates (``source_from_output``, ``align_corners=True``); :func:`align` applies it.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.geometry import affine_grid, identity_grid, warp
from garment_transfer.geometry.grids import grid_dtype


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


class _Regressor(nn.Module):
    """CoordConv encoder + MLP (module docstring): ``(B, in_channels, H, W)`` -> ``(B, len(initial))``, equal to
    ``initial`` at initialisation."""

    def __init__(self, in_channels: int, width: int, initial: torch.Tensor) -> None:
        super().__init__()
        self.in_channels = in_channels
        channels = (width, 2 * width, 4 * width, 8 * width, 8 * width)
        layers, previous = [], in_channels + 2
        for ch in channels:
            layers += [
                nn.Conv2d(previous, ch, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(ch),
                nn.ReLU(inplace=True),
            ]
            previous = ch
        self.encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.regressor = nn.Sequential(
            nn.Linear(previous, previous), nn.ReLU(inplace=True), nn.Linear(previous, initial.numel())
        )
        nn.init.zeros_(self.regressor[-1].weight)
        with torch.no_grad():
            self.regressor[-1].bias.copy_(initial)

    def regress(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        batch, _, height, width = x.shape
        coords = identity_grid(batch, height, width, device=x.device, dtype=x.dtype).permute(0, 3, 1, 2)
        features = self.regressor[:-1](self.encoder(torch.cat([x, coords], dim=1)))
        if not torch.is_autocast_enabled(x.device.type):
            return self.regressor[-1](features)
        with torch.autocast(x.device.type, enabled=False):  # theta / control points are geometry: float32
            return self.regressor[-1](features.to(grid_dtype(features)))


class AligningSTN(_Regressor):
    """Regress an affine ``theta`` from the pose and shape pair; the identity at initialisation.

    Args:
        in_channels: channels of the concatenated input, ``2 * pose_channels + 2``.
        width: base width ``w`` of the conv encoder (module docstring).
    """

    align = staticmethod(align)

    def __init__(self, in_channels: int, width: int = 16) -> None:
        super().__init__(in_channels, width, torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Affine parameters of ``x``.

        Args:
            x: ``(B, in_channels, H, W)``: ``cat(P_s, P_t, M^g_s, M^g_{t<-s})``.

        Returns:
            ``theta`` ``(B, 2, 3)``, ``source_from_output`` in normalised coordinates.
        """
        return self.regress(x).view(x.shape[0], 2, 3)


class TPSRegressor(_Regressor):
    """Regress the displacements of a ``points x points`` control lattice (TPS baseline); zero at initialisation.

    Args:
        in_channels: channels of the input, ``2 * pose_channels + 2`` (the aligned source shape and the target shape).
        width: base width ``w`` of the conv encoder.
        points: control points per side (CP-VTON / ACGPN use 5).
    """

    def __init__(self, in_channels: int, width: int = 16, points: int = 5) -> None:
        if points < 2:
            raise ValueError(f"points must be >= 2, got {points}")
        super().__init__(in_channels, width, torch.zeros(2 * points * points))
        self.points = points

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Control-point displacements ``(B, points^2, 2)`` in normalised ``(x, y)`` units, in the order of
        :func:`~garment_transfer.geometry.control_points`: where, relative to the lattice, each output control point
        reads the source."""
        return self.regress(x).view(x.shape[0], -1, 2)
