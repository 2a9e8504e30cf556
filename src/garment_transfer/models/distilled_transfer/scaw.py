"""Transfer warping student ``S_W``: initial aligning + progressive shape-content-aware flow (arXiv 2401.12433,
Sec. 3.3; ``docs/methods/distilled-transfer.md``, "Transfer warping student").

Architecture.

1. *Initial aligning* (optional, :class:`~garment_transfer.models.stn.AligningSTN`): ``theta`` from
   ``cat(P_s, P_t, M^g_s, M^g_{t<-s})`` warps ``G_s``, ``M^g_s`` and ``P_s`` (pose with zero padding: background).
2. *Encoders* (PF-AFN sized): a :class:`~garment_transfer.models.pyramid.FeaturePyramid` (five
   stride-2 levels, H/2 .. H/32) and an :class:`~garment_transfer.models.pyramid.FPN` of ``fpn`` channels. The shape
   encoder ``E_s`` is *shared* by the source shape ``cat(aligned M^g_s, aligned P_s)`` and the target shape
   ``cat(M^g_{t<-s}, P_t)``; the content encoder ``E_c`` (same structure, own weights) sees the aligned garment
   (``3`` channels, ``+ 1`` with ``content_mask``). Below, level ``k = 0`` is the coarsest (H/32).
3. *SCAW* per level, coarse to fine, from the last flow ``f`` (the identity at the coarsest level, upsampled
   otherwise): shape-aware stage ``f' = f (+) head_s(cost(target shape, warp(source shape, f)))``, content-aware
   stage ``f_k = f' (+) head_c(cost(target shape, warp(content, f')))``. ``cost`` is the 7 x 7 correlation followed
   by ``LeakyReLU(0.1)``; a head is ``49 -> 128 -> 64 -> 32 -> 2`` 3x3 convs with ``LeakyReLU(0.1)`` between them
   and a zero-initialised last conv, predicting pixel offsets of the level; ``(+)`` is
   ``compose(f, offsets_to_grid(offsets))``. ``mode="fsv"`` (ablation) keeps only the content-aware stage.
4. The last grid (H/2) is upsampled to H x W and warps the aligned garment (border) and mask (zeros).

Grids follow :mod:`garment_transfer.geometry` (absolute normalised ``source_from_output`` grids,
``align_corners=True``). At initialisation ``theta`` and every grid are the identity. Widths are data
(``flow.WIDTHS`` and ``_OWN_WIDTHS``): "full" is the paper's preset (26.66 M parameters at ``pose_channels=3``, paper
Table 2: 26.66 M); "tiny" is for CPU
runs.

TPS baseline (:class:`TPSStudent`, the paper's low-freedom comparison): the same optional STN, then one
:class:`~garment_transfer.models.stn.TPSRegressor` reads ``cat(aligned P_s, P_t, aligned M^g_s, M^g_{t<-s})`` and
moves a 5 x 5 control lattice; the thin-plate spline through it (:func:`~garment_transfer.geometry.tps.tps_grid`) is
evaluated at the five level sizes and at ``H x W``, so it returns the fields of
:class:`~garment_transfer.models.flow.FlowOutput` as the flow students do. A smaller regressor than ACGPN's warping
module (no feature correlation), deliberately: it isolates the spline's few degrees of freedom.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import (
    affine_grid,
    compose,
    control_points,
    correlation,
    identity_grid,
    identity_theta,
    offsets_to_grid,
    upsample_grid,
    warp,
)
from garment_transfer.geometry.grids import grid_dtype
from garment_transfer.geometry.tps import tps_grid
from garment_transfer.models.flow import FlowOutput, flow_head, width_spec
from garment_transfer.models.pyramid import FPN, FeaturePyramid
from garment_transfer.models.stn import AligningSTN, TPSRegressor

MODES = ("scaw", "fsv")
# Per width: what differs from the flow warps' widths (``flow.WIDTHS``): the tiny heads, the STN and TPS regressors.
_OWN_WIDTHS = {"full": {"stn": 4, "tps": 32}, "tiny": {"head": (32, 16, 8), "stn": 4, "tps": 8}}


def _spec(width: str) -> dict:
    return {**width_spec(width), **_OWN_WIDTHS[width]}


class _Encoder(nn.Module):
    """``E_s`` / ``E_c``: pyramid + FPN, ``(B, in_channels, H, W)`` -> ``(B, fpn, H_k, W_k)`` maps, coarsest first."""

    def __init__(self, in_channels: int, channels: tuple[int, ...], fpn: int) -> None:
        super().__init__()
        self.pyramid = FeaturePyramid(in_channels, channels)
        self.fpn = FPN(channels, fpn)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.fpn(self.pyramid(x))[::-1]


def _identity_like(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return identity_grid(x.shape[0], *size, device=x.device, dtype=grid_dtype(x))


class SCAWStudent(nn.Module):
    """The transfer warping student ``S_W`` (module docstring).

    Args:
        pose_channels: channels of the DensePose encoding ``P``.
        width: "full" (paper) or "tiny" (CPU).
        mode: "scaw" (shape- then content-aware stage per level) or "fsv" (content-aware stage only; ablation).
        initial_align: use the STN (``False``: the "no initial aligning" ablation, ``theta`` is the identity).
        content_mask: feed ``cat(aligned garment, aligned mask)`` to the content encoder instead of the garment alone.
        max_displacement: correlation radius ``d`` in pixels of each level (``(2 d + 1)^2`` cost channels).
    """

    def __init__(
        self,
        pose_channels: int = 3,
        width: str = "full",
        mode: str = "scaw",
        initial_align: bool = True,
        content_mask: bool = False,
        max_displacement: int = 3,
    ) -> None:
        super().__init__()
        spec = _spec(width)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.pose_channels, self.mode, self.content_mask = pose_channels, mode, content_mask
        self.max_displacement = max_displacement
        self.stn = AligningSTN(2 * pose_channels + 2, spec["stn"]) if initial_align else None
        self.shape_encoder = _Encoder(1 + pose_channels, spec["pyramid"], spec["fpn"])
        self.content_encoder = _Encoder(3 + int(content_mask), spec["pyramid"], spec["fpn"])
        cost_channels, levels = (2 * max_displacement + 1) ** 2, len(spec["pyramid"])
        self.shape_heads = nn.ModuleList(
            flow_head(cost_channels, spec["head"]) for _ in range(levels if mode == "scaw" else 0)
        )
        self.content_heads = nn.ModuleList(flow_head(cost_channels, spec["head"]) for _ in range(levels))

    def forward(
        self,
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
        source_pose: torch.Tensor,
        target_pose: torch.Tensor,
        target_mask: torch.Tensor,
    ) -> FlowOutput:
        """Warp the source garment to the target shape.

        Args:
            garment: ``G_s`` ``(B, 3, H, W)`` in ``[-1, 1]``.
            garment_mask: ``M^g_s`` ``(B, 1, H, W)`` in ``[0, 1]``.
            source_pose: ``P_s`` ``(B, pose_channels, H, W)``.
            target_pose: ``P_t`` ``(B, pose_channels, H, W)``.
            target_mask: ``M^g_{t<-s}`` ``(B, 1, H, W)`` in ``[0, 1]``.

        Returns:
            :class:`FlowOutput`.
        """
        _check_inputs(self.pose_channels, garment, garment_mask, source_pose, target_pose, target_mask)
        height, width = garment.shape[-2:]
        theta, aligned_garment, aligned_mask, aligned_pose = _initial_align(
            self.stn, garment, garment_mask, source_pose, target_pose, target_mask
        )

        target_shape = self.shape_encoder(torch.cat([target_mask, target_pose], dim=1))
        content_input = torch.cat([aligned_garment, aligned_mask], dim=1) if self.content_mask else aligned_garment
        content = self.content_encoder(content_input)
        source_shape = (
            self.shape_encoder(torch.cat([aligned_mask, aligned_pose], dim=1))
            if self.mode == "scaw"
            else [None] * len(content)
        )

        grid, grids, offsets, warped_masks = None, [], [], []
        for k, (target_k, content_k, source_k) in enumerate(zip(target_shape, content, source_shape)):
            size = target_k.shape[-2:]
            grid = _identity_like(garment, size) if grid is None else upsample_grid(grid, size)
            stages = ((self.shape_heads[k], source_k),) if self.mode == "scaw" else ()
            for head, source_feature in (*stages, (self.content_heads[k], content_k)):
                residual = head(
                    F.leaky_relu(
                        correlation(target_k, warp(source_feature, grid, "feature"), self.max_displacement), 0.1
                    )
                )
                grid = compose(grid, offsets_to_grid(residual))
                offsets.append(residual)
            grids.append(grid)
            warped_masks.append(warp(aligned_mask, grid, "mask"))

        full = upsample_grid(grid, (height, width))
        return FlowOutput(
            warp(aligned_garment, full, "image"),
            warp(aligned_mask, full, "mask"),
            full,
            grids,
            offsets,
            warped_masks=warped_masks,
            theta=theta,
            aligned_garment=aligned_garment,
            aligned_mask=aligned_mask,
        )


def _check_inputs(pose_channels: int, garment, garment_mask, source_pose, target_pose, target_mask) -> None:
    _check_shapes(
        garment=(garment, 3),
        garment_mask=(garment_mask, 1),
        source_pose=(source_pose, pose_channels),
        target_pose=(target_pose, pose_channels),
        target_mask=(target_mask, 1),
    )


def _check_shapes(**tensors: tuple[torch.Tensor, int]) -> None:
    reference = None
    for name, (x, channels) in tensors.items():
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be (B, {channels}, H, W), got {got}")
        if reference is None:
            reference = (name, x.shape[0], x.shape[-2:])
        elif (x.shape[0], x.shape[-2:]) != reference[1:]:
            raise ValueError(
                f"{name} must have the batch size and H x W of {reference[0]} "
                f"({reference[1]}, {tuple(reference[2])}), got {tuple(x.shape)}"
            )


def _initial_align(stn: AligningSTN | None, garment, garment_mask, source_pose, target_pose, target_mask):
    """``(theta, aligned garment, aligned mask, aligned source pose)``; the identity without an STN."""
    if stn is None:
        theta = identity_theta(garment.shape[0], device=garment.device, dtype=garment.dtype)
        return theta, garment, garment_mask, source_pose
    theta = stn(torch.cat([source_pose, target_pose, garment_mask, target_mask], dim=1))
    affine = affine_grid(theta, tuple(garment.shape[-2:]))
    return theta, warp(garment, affine, "image"), warp(garment_mask, affine, "mask"), warp(source_pose, affine, "mask")


def _level_sizes(height: int, width: int, levels: int = 5) -> list[tuple[int, int]]:
    """The flow students' level sizes ``H/32 .. H/2`` (ceil-halved as the stride-2 encoders do), coarsest first."""
    sizes = []
    for _ in range(levels):
        height, width = -(-height // 2), -(-width // 2)
        sizes.append((height, width))
    return sizes[::-1]


class TPSStudent(nn.Module):
    """TPS baseline of ``S_W`` (module docstring); the call signature and output of :class:`SCAWStudent`.

    Args:
        pose_channels: channels of the DensePose encoding ``P``.
        width: "full" or "tiny" (the regressor's base width, ``_OWN_WIDTHS[width]["tps"]``).
        initial_align: use the aligning STN first.
        points: control points per side.
    """

    def __init__(
        self, pose_channels: int = 3, width: str = "full", initial_align: bool = True, points: int = 5
    ) -> None:
        super().__init__()
        spec = _spec(width)
        self.pose_channels = pose_channels
        self.stn = AligningSTN(2 * pose_channels + 2, spec["stn"]) if initial_align else None
        self.regressor = TPSRegressor(2 * pose_channels + 2, spec["tps"], points)

    def forward(
        self,
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
        source_pose: torch.Tensor,
        target_pose: torch.Tensor,
        target_mask: torch.Tensor,
    ) -> FlowOutput:
        """Arguments as :meth:`SCAWStudent.forward`. ``offsets`` holds one ``(B, 2, points, points)`` field: the
        control points' displacements in normalised units (not pixels); ``grids`` the spline at the level sizes."""
        _check_inputs(self.pose_channels, garment, garment_mask, source_pose, target_pose, target_mask)
        batch, _, height, width = garment.shape
        theta, aligned_garment, aligned_mask, aligned_pose = _initial_align(
            self.stn, garment, garment_mask, source_pose, target_pose, target_mask
        )
        moves = self.regressor(torch.cat([aligned_pose, target_pose, aligned_mask, target_mask], dim=1))
        lattice = control_points(self.regressor.points, batch, device=garment.device, dtype=garment.dtype)
        grids = [tps_grid(lattice + moves, lattice, size) for size in _level_sizes(height, width)]
        full = tps_grid(lattice + moves, lattice, (height, width))
        offsets = [moves.permute(0, 2, 1).reshape(batch, 2, self.regressor.points, self.regressor.points)]
        return FlowOutput(
            warp(aligned_garment, full, "image"),
            warp(aligned_mask, full, "mask"),
            full,
            grids,
            offsets,
            warped_masks=[warp(aligned_mask, grid, "mask") for grid in grids],
            theta=theta,
            aligned_garment=aligned_garment,
            aligned_mask=aligned_mask,
        )
