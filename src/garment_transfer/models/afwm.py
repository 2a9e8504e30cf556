"""PF-AFN's appearance-flow warping module AFWM (Ge et al., CVPR 2021; ``SYSTEMS.md`` 1, ``METHOD.md`` 9.2).

Architecture. Two :class:`~.pyramid.FeaturePyramid` (``preactivate_input=True``: PF-AFN's level 0 applies
BatchNorm-ReLU to the raw input) + :class:`~.pyramid.FPN` branches encode the garment ``C * C^m`` (3 channels) and
the person (the parser-based 45-channel representation of :mod:`.pfafn`, or the person image for the parser-free
student) into five levels ``g_k, p_k`` of ``fpn`` channels. :class:`AFlowNet` then estimates the flow coarse ->
fine; at level ``k``, with ``f`` the incoming grid (none at the coarsest level):

1. main head: ``c = LeakyReLU_0.1(correlation(warp(g_k, f), p_k))`` (49 channels at displacement 3; ``f`` detached
   here, as in PF-AFN), ``o = Main(c)``, ``f = compose(f, grid(o))``;
2. refine head: ``o = Refine(cat(warp(g_k, f), p_k))``, ``f = compose(f, grid(o))``;
3. ``f`` is upsampled to the next level's size (to ``(H, W)`` after the finest level): ``grids[k]``; the garment and
   its mask, resized to that size and warped by it, are ``warped_garments[k]`` and ``warped_masks[k]``.

``Main`` is ``49 -> 128 -> 64 -> 32 -> 2`` and ``Refine`` ``2 fpn -> 128 -> 64 -> 32 -> 2`` (width "full"), 3x3 convs
with LeakyReLU(0.1) between them; both predict **pixel offsets** of their level (PF-AFN's ``apply_offset`` is
:func:`~garment_transfer.geometry.offsets_to_grid`: both normalise with ``(size - 1) / 2``, ``align_corners=True``).

Where PF-AFN differs from this library's conventions (:mod:`garment_transfer.geometry`), an argument chooses:

- ``flow_convention="ours"`` (default): compose on displacements (equal to sampling the old grid inside the map,
  gradients alive at the border) and upsample the displacement bilinearly with ``align_corners=True`` to the next
  level's exact size, so an identity flow stays the identity at every level; per-level garments are resized with
  antialiasing. ``"pfafn"``: PF-AFN's code under its PyTorch 1.1, where ``grid_sample`` behaved as
  ``align_corners=True`` and ``F.interpolate`` defaults to ``align_corners=False``: compose by sampling the old grid
  with border padding, upsample the absolute grid bilinearly with ``align_corners=False``, resize garments
  bilinearly without antialiasing. Upsampling from ``n`` to ``2 n`` that way scales the grid about the centre by
  ``(n - 0.5) / (n - 1)`` (clamped at the border), so a zero flow is not the identity: over the five levels at
  256 x 192 it samples 19 % (x) and 14 % (y) farther out, a zoom-out PF-AFN's trained heads undo.
- ``zero_init_heads=True`` (default): the last conv of every head starts at zero, so the initial flow is the
  identity (with ``flow_convention="ours"``) and the first warped garment is the in-shop garment itself, as for our
  try-on warping teacher (a deterministic start, nothing to unlearn); PF-AFN keeps PyTorch's default initialisation
  (``False``), a small random initial flow. The parameter count is the same either way.

Sizes: 29,328,692 parameters with the 45-channel person input, 29,304,416 with the 3-channel one (width "full"), as
PF-AFN's official ``AFWM(opt, 45)`` / ``AFWM(opt, 3)``: encoders 9.40 M / 9.37 M, FPNs 3.20 M each, AFlowNet 4.16 M.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import compose, correlation, offsets_to_grid, resize_for_level, upsample_grid, warp
from garment_transfer.models.pyramid import FPN, FeaturePyramid

# Per width: pyramid channels (fine -> coarse), FPN channels, head widths.
WIDTHS = {
    "full": dict(channels=(64, 128, 256, 256, 256), fpn=256, head=(128, 64, 32)),
    "tiny": dict(channels=(16, 32, 64, 64, 64), fpn=64, head=(32, 32, 16)),
}
FLOW_CONVENTIONS = ("ours", "pfafn")
GARMENT_CHANNELS = 3  # C * C^m


class AFWMOutput(NamedTuple):
    """Outputs of :class:`AFWM`; lists are per level, coarse -> fine (the last one at full resolution).

    Attributes:
        warped_garment: (B, 3, H, W) ``C * C^m`` warped by ``grid`` (border padding), in [-1, 1].
        warped_mask: (B, 1, H, W) ``C^m`` warped by ``grid`` (zero padding), in [0, 1].
        grid: (B, H, W, 2) final normalised sampling grid (``== grids[-1]``).
        grids: five (B, h_k, w_k, 2) grids: level ``k``'s flow upsampled to the next level's size (``H/16 .. H/2``,
            ceil-divided) and, for the finest, to (H, W). PF-AFN's ``last_flow_all``.
        offsets: ten (B, 2, h, w) pixel offsets at the levels' feature sizes (``H/32 .. H/2``), per level the main
            head's then the refine head's (PF-AFN's ``delta_list``, for the TV loss).
        warped_garments: five (B, 3, h_k, w_k): ``C * C^m`` resized to ``grids[k]``'s size and warped by it.
        warped_masks: five (B, 1, h_k, w_k): ``C^m`` likewise.
        person_features: five (B, fpn, H/32 .. H/2) person-branch FPN maps (PF-AFN's ``cond_fea_all``, the maps of
            the feature distillation).
    """

    warped_garment: torch.Tensor
    warped_mask: torch.Tensor
    grid: torch.Tensor
    grids: list[torch.Tensor]
    offsets: list[torch.Tensor]
    warped_garments: list[torch.Tensor]
    warped_masks: list[torch.Tensor]
    person_features: list[torch.Tensor]


def _head(in_channels: int, widths: Sequence[int], zero_init: bool) -> nn.Sequential:
    chans, layers = (in_channels, *widths), []
    for a, b in zip(chans[:-1], chans[1:]):
        layers += [nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(0.1)]
    out = nn.Conv2d(chans[-1], 2, 3, padding=1)
    if zero_init:
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


def _compose_sampled(grid_first: torch.Tensor, grid_second: torch.Tensor) -> torch.Tensor:
    """PF-AFN's composition: ``grid_first`` sampled at ``grid_second`` (border padding, align_corners=True)."""
    sampled = F.grid_sample(grid_first.permute(0, 3, 1, 2), grid_second.to(grid_first.dtype), mode="bilinear",
                            padding_mode="border", align_corners=True)
    return sampled.permute(0, 2, 3, 1)


def _upsample_absolute(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PF-AFN's upsampling: the absolute grid resized bilinearly with ``align_corners=False``."""
    return F.interpolate(grid.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False).permute(0, 2, 3, 1)


def _resize_plain(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class AFlowNet(nn.Module):
    """The coarse-to-fine flow estimator: per level a correlation-fed main head and a refine head.

    Args:
        levels: pyramid levels (heads are indexed coarse -> fine).
        fpn: channels of the FPN maps.
        head: hidden widths of both heads.
        max_displacement: correlation range ``d`` (``(2 d + 1)^2`` channels into the main head).
        flow_convention: "ours" or "pfafn" (module docstring).
        zero_init_heads: start every head's last conv at zero (module docstring).
        detach_correlation_flow: warp the garment features for the correlation with the detached incoming flow
            (PF-AFN); the refine head always sees them warped with gradients.
    """

    def __init__(self, levels: int, fpn: int, head: Sequence[int], max_displacement: int = 3,
                 flow_convention: str = "ours", zero_init_heads: bool = True,
                 detach_correlation_flow: bool = True) -> None:
        super().__init__()
        if flow_convention not in FLOW_CONVENTIONS:
            raise ValueError(f"flow_convention must be one of {FLOW_CONVENTIONS}, got {flow_convention!r}")
        self.max_displacement, self.flow_convention = max_displacement, flow_convention
        self.detach_correlation_flow = detach_correlation_flow
        cost = (2 * max_displacement + 1) ** 2
        self.main_heads = nn.ModuleList(_head(cost, head, zero_init_heads) for _ in range(levels))
        self.refine_heads = nn.ModuleList(_head(2 * fpn, head, zero_init_heads) for _ in range(levels))

    def _compose(self, first: torch.Tensor | None, second: torch.Tensor) -> torch.Tensor:
        if first is None:
            return second
        return compose(first, second) if self.flow_convention == "ours" else _compose_sampled(first, second)

    def _upsample(self, grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return upsample_grid(grid, size) if self.flow_convention == "ours" else _upsample_absolute(grid, size)

    def _resize(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return resize_for_level(x, size) if self.flow_convention == "ours" else _resize_plain(x, size)

    def forward(self, garment_features: Sequence[torch.Tensor], person_features: Sequence[torch.Tensor],
                garment: torch.Tensor, garment_mask: torch.Tensor):
        """Estimate the flow and warp the garment at every level.

        Args:
            garment_features, person_features: FPN maps coarse -> fine, map ``k`` (B, fpn, h_k, w_k).
            garment: (B, 3, H, W) the masked garment ``C * C^m``; garment_mask: (B, 1, H, W) ``C^m``.

        Returns:
            ``(grids, offsets, warped_garments, warped_masks)`` as in :class:`AFWMOutput`.
        """
        if len(garment_features) != len(self.main_heads) or len(person_features) != len(self.main_heads):
            raise ValueError(f"AFlowNet: expected {len(self.main_heads)} garment and person maps, got "
                             f"{len(garment_features)} and {len(person_features)}")
        sizes = [tuple(f.shape[-2:]) for f in garment_features[1:]] + [tuple(garment.shape[-2:])]
        grid, grids, offsets, warped_garments, warped_masks = None, [], [], [], []
        for k, (g, p, size) in enumerate(zip(garment_features, person_features, sizes)):
            searched = g if grid is None else warp(g, grid.detach() if self.detach_correlation_flow else grid,
                                                   "feature")
            cost = F.leaky_relu(correlation(searched, p, self.max_displacement), 0.1)
            offset = self.main_heads[k](cost)
            grid = self._compose(grid, offsets_to_grid(offset))
            offsets.append(offset)
            offset = self.refine_heads[k](torch.cat([warp(g, grid, "feature"), p], 1))
            grid = self._compose(grid, offsets_to_grid(offset))
            offsets.append(offset)
            grid = self._upsample(grid, size)
            grids.append(grid)
            warped_garments.append(warp(self._resize(garment, size), grid, "image"))
            warped_masks.append(warp(self._resize(garment_mask, size), grid, "mask"))
        return grids, offsets, warped_garments, warped_masks


class AFWM(nn.Module):
    """PF-AFN's appearance-flow warping module (see the module docstring).

    Args:
        person_channels: channels of the person input: 45 for the parser-based warp (:data:`.pfafn.PB_PERSON_CHANNELS`),
            3 for the parser-free one (the person image).
        width: "full" (pyramids (64, 128, 256, 256, 256), FPN 256, heads (128, 64, 32): PF-AFN) or "tiny" (pyramids
            (16, 32, 64, 64, 64), FPN 64, heads (32, 32, 16), for CPU training).
        flow_convention, zero_init_heads, detach_correlation_flow, max_displacement: see :class:`AFlowNet`.
    """

    garment_channels = GARMENT_CHANNELS

    def __init__(self, person_channels: int, width: str = "full", flow_convention: str = "ours",
                 zero_init_heads: bool = True, detach_correlation_flow: bool = True,
                 max_displacement: int = 3) -> None:
        super().__init__()
        if width not in WIDTHS:
            raise ValueError(f"AFWM: width must be one of {sorted(WIDTHS)}, got {width!r}")
        if person_channels < 1:
            raise ValueError(f"AFWM: person_channels must be positive, got {person_channels}")
        spec = WIDTHS[width]
        self.person_channels, self.width = person_channels, width
        self.garment_pyramid = FeaturePyramid(GARMENT_CHANNELS, spec["channels"], preactivate_input=True)
        self.garment_fpn = FPN(spec["channels"], spec["fpn"])
        self.person_pyramid = FeaturePyramid(person_channels, spec["channels"], preactivate_input=True)
        self.person_fpn = FPN(spec["channels"], spec["fpn"])
        self.flow = AFlowNet(len(spec["channels"]), spec["fpn"], spec["head"], max_displacement, flow_convention,
                             zero_init_heads, detach_correlation_flow)

    def _check(self, garment: torch.Tensor, garment_mask: torch.Tensor, person: torch.Tensor) -> None:
        if not isinstance(garment, torch.Tensor) or garment.ndim != 4 or garment.shape[1] != GARMENT_CHANNELS:
            raise ValueError(f"AFWM: garment must be (B, 3, H, W), got {_shape(garment)}")
        batch, _, height, width = garment.shape
        for name, x, c in (("garment_mask", garment_mask, 1), ("person", person, self.person_channels)):
            if not isinstance(x, torch.Tensor) or tuple(x.shape) != (batch, c, height, width):
                raise ValueError(f"AFWM: {name} must be ({batch}, {c}, {height}, {width}) like garment, "
                                 f"got {_shape(x)}")

    def forward(self, garment: torch.Tensor, garment_mask: torch.Tensor, person: torch.Tensor) -> AFWMOutput:
        """Warp the in-shop garment onto the person.

        Args:
            garment: (B, 3, H, W) in-shop garment ``C`` in [-1, 1] (masked here by ``garment_mask``).
            garment_mask: (B, 1, H, W) its mask ``C^m`` in {0, 1} (PF-AFN binarises it at 0.5).
            person: (B, person_channels, H, W): :func:`.pfafn.pb_person_representation` or a person image in [-1, 1].

        Returns:
            :class:`AFWMOutput`.
        """
        self._check(garment, garment_mask, person)
        masked = garment * garment_mask
        g_feats = self.garment_fpn(self.garment_pyramid(masked))[::-1]  # coarse -> fine
        p_feats = self.person_fpn(self.person_pyramid(person))[::-1]
        grids, offsets, warped_garments, warped_masks = self.flow(g_feats, p_feats, masked, garment_mask)
        return AFWMOutput(warped_garments[-1], warped_masks[-1], grids[-1], grids, offsets, warped_garments,
                          warped_masks, p_feats)


def _shape(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
