"""Try-on composition, shared by the try-on generators (PF-AFN's, GP-VTON's): a generator's raw 4-channel output is a
rendered person and a composition mask, and the try-on keeps the warped garment where the mask says so;
:class:`TryOnOutput` is what a try-on model (a warp and its generator) returns.

``rendered = tanh(out[:, :3])``, ``m = sigmoid(out[:, 3]) * warped_mask`` (times a garment region when given), and
the try-on is ``warped * m + rendered * (1 - m)``. Images are (B, 3, H, W) in [-1, 1], masks (B, 1, H, W) in [0, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from garment_transfer.data.label_maps import UPPER_GARMENT, UPPER_SKIN
from garment_transfer.models.checks import check_maps
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.transfer import TransferOutput

TRYON_OUTPUTS = 4  # RGB + composition mask


class TryOn(NamedTuple):
    """A generator's try-on. image: (B, 3, H, W) in [-1, 1]; rendered: (B, 3, H, W) in [-1, 1]; mask: the
    composition mask ``m`` (B, 1, H, W) in [0, 1], zero outside the warped garment."""

    image: torch.Tensor
    rendered: torch.Tensor
    mask: torch.Tensor


def tryon(
    generator_output: torch.Tensor,
    warped_garment: torch.Tensor,
    warped_mask: torch.Tensor,
    garment_mask: torch.Tensor | None = None,
) -> TryOn:
    """Compose the try-on: ``warped * m + rendered * (1 - m)``, ``m = sigmoid(out[:, 3]) * warped_mask``.

    Args:
        generator_output: (B, 4, H, W) raw outputs of a try-on generator.
        warped_garment: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1].
        garment_mask: (B, 1, H, W) in {0, 1}, also multiplied into ``m`` when given: end-to-end training on the
            paired person (the garment may only show where the person wears it); None at test time.
    """
    check_maps("generator_output", generator_output, TRYON_OUTPUTS)
    check_maps("warped_garment", warped_garment, 3, generator_output)
    check_maps("warped_mask", warped_mask, 1, generator_output)
    rendered = torch.tanh(generator_output[:, :3])
    mask = torch.sigmoid(generator_output[:, 3:]) * warped_mask
    if garment_mask is not None:
        check_maps("garment_mask", garment_mask, 1, generator_output)
        mask = mask * garment_mask
    return TryOn(warped_garment * mask + rendered * (1 - mask), rendered, mask)


class TryOnOutput(NamedTuple):
    """A try-on model's output: the warp's (:class:`~garment_transfer.models.flow.FlowOutput`) and the try-on
    (None when only the warp ran)."""

    warp: FlowOutput
    tryon: TryOn | None


def as_transfer(
    out: TryOnOutput, target_parsing: torch.Tensor, garment: torch.Tensor, composition: torch.Tensor
) -> TransferOutput:
    """A try-on model's output as a pipeline result, for methods whose generator renders the whole person (PF-AFN,
    WUTON): the image, ``garment`` as the aligned garment (none is aligned before the warp), the warp's outputs, no
    regrown skin, ``composition`` as the ``garment`` mask, and the result's parsing (what a re-transfer reads back):
    the target's (B, H, W) with the upper garment where the warped mask covers (> 0.5) and the target's old garment
    elsewhere counted as skin."""
    covered = out.warp.warped_mask[:, 0] > 0.5
    old_garment = torch.where(target_parsing == UPPER_GARMENT, UPPER_SKIN, target_parsing)
    return TransferOutput(
        out.tryon.image,
        torch.where(covered, UPPER_GARMENT, old_garment),
        garment,
        out.warp.warped_garment,
        out.warp.warped_mask,
        torch.zeros_like(out.tryon.image),
        {"garment": composition},
    )
