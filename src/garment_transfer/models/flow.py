"""What the appearance-flow warps share: their widths, their offset heads, one coarse-to-fine driver and one output.

Every flow warp here (PF-AFN's AFWM, the try-on warping teacher ``T_W``, the transfer warping student ``S_W``) encodes
a garment and a person into pyramids of feature maps and estimates a sampling grid level by level, coarse to fine.

- :data:`WIDTHS` names the encoder widths (pyramid channels fine -> coarse, FPN channels, head widths); a network
  with other head widths or extra settings keeps its own small table beside its class.
- :func:`flow_head` is the offset head they all use: 3x3 convs with LeakyReLU(0.1) between them, the last one giving
  2 channels of **pixel offsets** ``(dx, dy)`` of its level, zero-initialised by default (the first flow is then the
  identity).
- :func:`coarse_to_fine` is the loop of AFWM and ``T_W``: at level ``k`` (``k = 0`` the coarsest) each of the level's
  steps maps ``(g_k, p_k, f)`` (garment features, person features, incoming grid or None at the first step) to pixel
  offsets, and ``f`` becomes ``compose(f, offsets_to_grid(offsets))``; after the level's steps ``f`` is upsampled to
  the next level's size (``(H, W)`` after the finest), and the garment and its mask, resized to that size, are
  warped by it. A step is any callable: a main head fed by a correlation, a refine head, a style-modulated head, or
  heads that work on several garment parts folded into the batch.
- :class:`FlowConventions` chooses how grids are composed, upsampled and garments resized: this library's
  (:mod:`garment_transfer.geometry`) or PF-AFN's code under PyTorch 1.1 (:mod:`~garment_transfer.models.afwm` explains
  the difference).
- :class:`FlowOutput` is what every flow warp returns (fields a network does not compute are None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import compose, offsets_to_grid, resize_for_level, upsample_grid, warp
from garment_transfer.models.spade import SPADE, ConditionedSequential

# Per width: pyramid channels (fine -> coarse), FPN channels, offset-head widths.
WIDTHS = {
    "full": dict(pyramid=(64, 128, 256, 256, 256), fpn=256, head=(128, 64, 32)),
    "tiny": dict(pyramid=(16, 32, 64, 64, 64), fpn=64, head=(32, 32, 16)),
}
CONVENTIONS = ("ours", "pfafn")

Step = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def width_spec(width: str, what: str = "width") -> dict:
    """The :data:`WIDTHS` entry of ``width``; an unknown name is an error naming ``what``."""
    if width not in WIDTHS:
        raise ValueError(f"{what} must be one of {sorted(WIDTHS)}, got {width!r}")
    return WIDTHS[width]


class FlowOutput(NamedTuple):
    """What a flow warp returns; lists are per level, coarse -> fine.

    Attributes:
        warped_garment: (B, 3, H, W) the garment warped by ``grid`` (border padding), in [-1, 1].
        warped_mask: (B, 1, H, W) its mask warped by ``grid`` (zero padding), in [0, 1].
        grid: (B, H, W, 2) final normalised sampling grid.
        grids: per level (B, h_k, w_k, 2) grids (for AFWM and ``T_W`` level ``k``'s flow upsampled to the next
            level's size, the finest to (H, W), so ``grids[-1] == grid``; for ``S_W`` the grid at the level's own size).
        offsets: every predicted pixel-offset field (B, 2, h, w), in the order the heads ran (for the TV loss).
        warped_garments: per level (B, 3, h_k, w_k) the garment resized to ``grids[k]``'s size and warped by it, or
            None.
        warped_masks: per level (B, 1, h_k, w_k) the mask warped likewise, or None.
        person_features: per level (B, C, h_k, w_k) the person branch's FPN maps (PF-AFN's feature distillation),
            or None.
        theta: (B, 2, 3) an initial affine alignment (``S_W``), or None.
        aligned_garment, aligned_mask: (B, 3, H, W) and (B, 1, H, W) the garment and mask after that alignment, or
            None.
        extras: named outputs of extra heads (a parsing, attention maps), or None.
    """

    warped_garment: torch.Tensor
    warped_mask: torch.Tensor
    grid: torch.Tensor
    grids: list[torch.Tensor]
    offsets: list[torch.Tensor]
    warped_garments: list[torch.Tensor] | None = None
    warped_masks: list[torch.Tensor] | None = None
    person_features: list[torch.Tensor] | None = None
    theta: torch.Tensor | None = None
    aligned_garment: torch.Tensor | None = None
    aligned_mask: torch.Tensor | None = None
    extras: dict | None = None


def flow_head(
    in_channels: int,
    widths: Sequence[int],
    zero_init: bool = True,
    out_channels: int = 2,
    condition_channels: int = 0,
    spade_hidden: int = 128,
) -> nn.Sequential:
    """An offset head: ``in_channels -> widths... -> out_channels`` 3x3 convs with LeakyReLU(0.1) between them.

    Args:
        in_channels: channels of the head's input (a cost volume, or garment and person features side by side).
        widths: hidden widths. zero_init: start the last conv at zero (the head first predicts no motion).
        out_channels: 2 (pixel offsets), or another count for a head of the same layout (GP-VTON's attention and
            parsing heads).
        condition_channels: 0 (default) or the channels of a condition map: a
            :class:`~garment_transfer.models.spade.SPADE` of ``spade_hidden`` hidden channels then follows every
            hidden conv (GP-VTON's DressCode heads), and the head, a
            :class:`~garment_transfer.models.spade.ConditionedSequential`, is called as ``head(x, condition)``.

    Returns:
        A module mapping (B, in_channels, h, w) to (B, out_channels, h, w) (pixel offsets by default).
    """
    chans, layers = (in_channels, *widths), []
    for a, b in zip(chans[:-1], chans[1:]):
        spade = [SPADE(b, condition_channels, spade_hidden)] if condition_channels else []
        layers += [nn.Conv2d(a, b, 3, padding=1), *spade, nn.LeakyReLU(0.1)]
    out = nn.Conv2d(chans[-1], out_channels, 3, padding=1)
    if zero_init:
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
    return (ConditionedSequential if condition_channels else nn.Sequential)(*layers, out)


def compose_sampled(grid_first: torch.Tensor, grid_second: torch.Tensor) -> torch.Tensor:
    """PF-AFN's composition: ``grid_first`` sampled at ``grid_second`` (border padding, align_corners=True)."""
    sampled = F.grid_sample(
        grid_first.permute(0, 3, 1, 2),
        grid_second.to(grid_first.dtype),
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )
    return sampled.permute(0, 2, 3, 1)


def upsample_absolute(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PF-AFN's upsampling: the absolute grid resized bilinearly with ``align_corners=False``."""
    return F.interpolate(grid.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False).permute(0, 2, 3, 1)


def resize_plain(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PF-AFN's garment resizing: bilinear, ``align_corners=False``, no antialiasing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class FlowConventions:
    """How a coarse-to-fine flow composes, upsamples and resizes: ``"ours"`` (:mod:`garment_transfer.geometry`:
    composition on displacements, displacement upsampling with ``align_corners=True``, antialiased resizing) or
    ``"pfafn"`` (PF-AFN's code under PyTorch 1.1; :mod:`~garment_transfer.models.afwm`)."""

    name: str = "ours"

    def __post_init__(self) -> None:
        if self.name not in CONVENTIONS:
            raise ValueError(f"flow_convention must be one of {CONVENTIONS}, got {self.name!r}")

    def compose(self, first: torch.Tensor | None, second: torch.Tensor) -> torch.Tensor:
        if first is None:
            return second
        return compose(first, second) if self.name == "ours" else compose_sampled(first, second)

    def upsample(self, grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return upsample_grid(grid, size) if self.name == "ours" else upsample_absolute(grid, size)

    def resize(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return resize_for_level(x, size) if self.name == "ours" else resize_plain(x, size)


def coarse_to_fine(
    steps: Sequence[Sequence[Step]],
    garment_features: Sequence[torch.Tensor],
    person_features: Sequence[torch.Tensor],
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    conventions: FlowConventions = FlowConventions(),
) -> FlowOutput:
    """Estimate a flow coarse -> fine and warp the garment at every level (module docstring).

    Args:
        steps: per level (coarse -> fine) the callables ``(g_k, p_k, grid or None) -> offsets (B, 2, h_k, w_k)``,
            run in order.
        garment_features, person_features: maps coarse -> fine, map ``k`` (B, C, h_k, w_k); a batch may hold
            several garment parts folded into B, as long as ``garment`` and ``garment_mask`` hold them the same way.
        garment: (B, 3, H, W) the (masked) garment; garment_mask: (B, 1, H, W).
        conventions: composition, upsampling and resizing (:class:`FlowConventions`).

    Returns:
        :class:`FlowOutput` with ``grids``, ``offsets``, ``warped_garments`` and ``warped_masks`` (the last of each
        also ``grid``, ``warped_garment``, ``warped_mask``); the other fields None.
    """
    if not len(steps) == len(garment_features) == len(person_features):
        raise ValueError(
            f"coarse_to_fine: {len(steps)} levels of steps, {len(garment_features)} garment and "
            f"{len(person_features)} person maps"
        )
    sizes = [tuple(f.shape[-2:]) for f in garment_features[1:]] + [tuple(garment.shape[-2:])]
    grid, grids, offsets, warped_garments, warped_masks = None, [], [], [], []
    for level, g, p, size in zip(steps, garment_features, person_features, sizes):
        for step in level:
            offset = step(g, p, grid)
            grid = conventions.compose(grid, offsets_to_grid(offset))
            offsets.append(offset)
        grid = conventions.upsample(grid, size)
        grids.append(grid)
        warped_garments.append(warp(conventions.resize(garment, size), grid, "image"))
        warped_masks.append(warp(conventions.resize(garment_mask, size), grid, "mask"))
    return FlowOutput(warped_garments[-1], warped_masks[-1], grid, grids, offsets, warped_garments, warped_masks)


def check_flow_inputs(
    owner: str, garment: torch.Tensor, garment_mask: torch.Tensor, person: torch.Tensor, person_channels: int
) -> None:
    """``garment`` (B, 3, H, W), ``garment_mask`` (B, 1, H, W) and ``person`` (B, person_channels, H, W), or a
    ``ValueError`` naming the tensor (after ``owner``, the network, when given)."""
    prefix = f"{owner}: " if owner else ""
    if not isinstance(garment, torch.Tensor) or garment.ndim != 4 or garment.shape[1] != 3:
        raise ValueError(f"{prefix}garment must be (B, 3, H, W), got {_shape(garment)}")
    batch, _, height, width = garment.shape
    for name, x, c in (("garment_mask", garment_mask, 1), ("person", person, person_channels)):
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != (batch, c, height, width):
            raise ValueError(f"{prefix}{name} must be ({batch}, {c}, {height}, {width}) like garment, got {_shape(x)}")


def _shape(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
