"""PF-AFN's appearance-flow warping module AFWM (Ge et al., CVPR 2021; ``docs/methods/pfafn.md``, "Networks").

Architecture. Two :class:`~garment_transfer.models.pyramid.FeaturePyramid` (``preactivate_input=True``: PF-AFN's level 0
applies BatchNorm-ReLU to the raw input) + :class:`~garment_transfer.models.pyramid.FPN` branches encode the garment
``C * C^m`` (3 channels) and the person (the parser-based 45-channel representation of
:mod:`~garment_transfer.models.pfafn.networks`, or the person image for the parser-free student) into five levels
``g_k, p_k`` of ``fpn`` channels. :class:`AFlowNet` then estimates the flow coarse -> fine; at level ``k``, with ``f``
the incoming grid (none at the coarsest level):

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

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import correlation, warp
from garment_transfer.models.flow import (
    FlowConventions,
    FlowOutput,
    check_flow_inputs,
    coarse_to_fine,
    flow_head,
    width_spec,
)
from garment_transfer.models.pyramid import FPN, FeaturePyramid

GARMENT_CHANNELS = 3  # C * C^m


class AFlowNet(nn.Module):
    """The coarse-to-fine flow estimator: per level a correlation-fed main head and a refine head
    (:func:`~garment_transfer.models.flow.coarse_to_fine`).

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

    def __init__(
        self,
        levels: int,
        fpn: int,
        head: Sequence[int],
        max_displacement: int = 3,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        detach_correlation_flow: bool = True,
    ) -> None:
        super().__init__()
        self.conventions = FlowConventions(flow_convention)
        self.max_displacement, self.flow_convention = max_displacement, flow_convention
        self.detach_correlation_flow = detach_correlation_flow
        cost = (2 * max_displacement + 1) ** 2
        self.main_heads = nn.ModuleList(flow_head(cost, head, zero_init_heads) for _ in range(levels))
        self.refine_heads = nn.ModuleList(flow_head(2 * fpn, head, zero_init_heads) for _ in range(levels))

    def _main(self, k: int):
        def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor | None) -> torch.Tensor:
            searched = (
                g if grid is None else warp(g, grid.detach() if self.detach_correlation_flow else grid, "feature")
            )
            return self.main_heads[k](F.leaky_relu(correlation(searched, p, self.max_displacement), 0.1))

        return step

    def _refine(self, k: int):
        def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
            return self.refine_heads[k](torch.cat([warp(g, grid, "feature"), p], 1))

        return step

    def forward(
        self,
        garment_features: Sequence[torch.Tensor],
        person_features: Sequence[torch.Tensor],
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
    ) -> FlowOutput:
        """Estimate the flow and warp the garment at every level.

        Args:
            garment_features, person_features: FPN maps coarse -> fine, map ``k`` (B, fpn, h_k, w_k).
            garment: (B, 3, H, W) the masked garment ``C * C^m``; garment_mask: (B, 1, H, W) ``C^m``.

        Returns:
            :class:`~garment_transfer.models.flow.FlowOutput` (grids, offsets, per-level warps; ``person_features``
            unset).
        """
        if len(garment_features) != len(self.main_heads) or len(person_features) != len(self.main_heads):
            raise ValueError(
                f"AFlowNet: expected {len(self.main_heads)} garment and person maps, got "
                f"{len(garment_features)} and {len(person_features)}"
            )
        steps = [(self._main(k), self._refine(k)) for k in range(len(self.main_heads))]
        return coarse_to_fine(steps, garment_features, person_features, garment, garment_mask, self.conventions)


class AFWM(nn.Module):
    """PF-AFN's appearance-flow warping module (see the module docstring).

    Args:
        person_channels: channels of the person input: 45 for the parser-based warp
            (:data:`~garment_transfer.models.pfafn.networks.PB_PERSON_CHANNELS`), 3 for the parser-free one (the person
            image).
        width: "full" (pyramids (64, 128, 256, 256, 256), FPN 256, heads (128, 64, 32): PF-AFN) or "tiny" (pyramids (16,
            32, 64, 64, 64), FPN 64, heads (32, 32, 16), for CPU training):
            :data:`~garment_transfer.models.flow.WIDTHS`.
        flow_convention, zero_init_heads, detach_correlation_flow, max_displacement: see :class:`AFlowNet`.
        garment_channels: channels of the garment encoder's input: 3, the masked garment ``C * C^m`` (PF-AFN); more
            when the caller adds a condition (GP-VTON: the flat garment's part label), passed to :meth:`forward` as
            ``garment_condition``.
    """

    def __init__(
        self,
        person_channels: int,
        width: str = "full",
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        detach_correlation_flow: bool = True,
        max_displacement: int = 3,
        garment_channels: int = GARMENT_CHANNELS,
    ) -> None:
        super().__init__()
        spec = width_spec(width, "AFWM: width")
        if person_channels < 1:
            raise ValueError(f"AFWM: person_channels must be positive, got {person_channels}")
        if garment_channels < GARMENT_CHANNELS:
            raise ValueError(f"AFWM: garment_channels must be at least {GARMENT_CHANNELS}, got {garment_channels}")
        self.person_channels, self.garment_channels, self.width = person_channels, garment_channels, width
        self.garment_pyramid = FeaturePyramid(garment_channels, spec["pyramid"], preactivate_input=True)
        self.garment_fpn = FPN(spec["pyramid"], spec["fpn"])
        self.person_pyramid = FeaturePyramid(person_channels, spec["pyramid"], preactivate_input=True)
        self.person_fpn = FPN(spec["pyramid"], spec["fpn"])
        self.flow = AFlowNet(
            len(spec["pyramid"]),
            spec["fpn"],
            spec["head"],
            max_displacement,
            flow_convention,
            zero_init_heads,
            detach_correlation_flow,
        )

    def forward(
        self,
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
        person: torch.Tensor,
        garment_condition: torch.Tensor | None = None,
    ) -> FlowOutput:
        """Warp the in-shop garment onto the person.

        Args:
            garment: (B, 3, H, W) in-shop garment ``C`` in [-1, 1] (masked here by ``garment_mask``).
            garment_mask: (B, 1, H, W) its mask ``C^m`` in {0, 1} (PF-AFN binarises it at 0.5).
            person: (B, person_channels, H, W): :func:`~garment_transfer.models.pfafn.networks.pb_person_representation`
                or a person image in [-1, 1].
            garment_condition: (B, garment_channels - 3, H, W) read by the garment encoder beside the masked
                garment; None when ``garment_channels`` is 3.

        Returns:
            :class:`~garment_transfer.models.flow.FlowOutput` with ``person_features`` (the person branch's FPN maps,
            coarse -> fine).
        """
        check_flow_inputs("AFWM", garment, garment_mask, person, self.person_channels)
        extra = self.garment_channels - GARMENT_CHANNELS
        if extra and (garment_condition is None or garment_condition.shape[1] != extra):
            got = None if garment_condition is None else tuple(garment_condition.shape)
            raise ValueError(f"AFWM: garment_condition must be (B, {extra}, H, W), got {got}")
        if not extra and garment_condition is not None:
            raise ValueError("AFWM: garment_condition given, but this warp's garment encoder reads 3 channels")
        masked = garment * garment_mask
        encoded = masked if garment_condition is None else torch.cat([masked, garment_condition], 1)
        g_feats = self.garment_fpn(self.garment_pyramid(encoded))[::-1]  # coarse -> fine
        p_feats = self.person_fpn(self.person_pyramid(person))[::-1]
        return self.flow(g_feats, p_feats, masked, garment_mask)._replace(person_features=p_feats)
