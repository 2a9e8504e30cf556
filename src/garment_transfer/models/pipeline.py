"""End-to-end garment transfer ``I_{t<-s}`` from trained stage checkpoints (``METHOD.md`` 3, 4.5, 4.6).

``method`` picks what produces the target shape and the warped garment; regrowth and composition are shared:

=============  ==========================================================================================
``ours``       ``S_P(M^r_t, M^g_s, P_t) -> M_{t<-s}``; ``S_W`` warps ``G_s`` to ``M^g_{t<-s}``
``teacher``    the try-on teachers used directly for transfer (the paper's Table 4 setting): the source's worn
               garment ``G_s`` / ``M^g_s`` stands in for the in-shop ``C`` / ``C^m``: ``T_P(M^r_t, M^g_s, P_t)``,
               then ``T_W(repr(M_{t<-s}, P_t), G_s, M^g_s)``
``affine``     a naive paste: ``G_s`` scaled and moved so the bounding box of ``M^g_s`` covers the one of
               ``M^g_t``, pasted over ``I_t`` (no parsing, regrowth or composition: the low bar)
=============  ==========================================================================================

Then, for ``ours`` and ``teacher``: the arm regrowth net ``R(I_t * M^s_t, M^s_{t<-s}, P_t)`` gives skin where the new
skin lies outside the old; :func:`garment_transfer.composition.compose` assembles the picture, inheriting every
untouched target pixel and filling holes. Every network is a :class:`~garment_transfer.models.frozen.FrozenNet` of its
stage checkpoint (checked to be of the stage it is used as), run in eval mode under ``no_grad``.

Speed switches (README "Speed"; all off is the reference): ``precision="bf16"`` runs the networks under bf16
autocast (flows, grids and grid sampling stay float32, composition works on float32 images: the result is float32);
``channels_last`` puts the networks' parameters in channels-last memory format; ``compile`` compiles the whole
forward with ``torch.compile`` (one graph: nothing in it waits for the device), ``"reduce-overhead"`` with CUDA
graphs for fixed-shape inference on a GPU.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from garment_transfer.checkpoints import ARM_REGROWTH, TRANSFER_PARSING, TRANSFER_WARPING, TRYON_PARSING, TRYON_WARPING
from garment_transfer.composition import compose
from garment_transfer.data.label_maps import UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.samples import PersonSample, one_hot
from garment_transfer.geometry.grids import affine_grid, warp
from garment_transfer.models.acceleration import accelerate, compile_mode
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.regrowth import build_regrowth_net, regrow
from garment_transfer.models.warping import (build_warping_student, build_warping_teacher, person_representation,
                                             warp_garment)

METHODS = ("ours", "teacher", "affine")
PRECISIONS = ("32", "bf16")
NEEDS = {  # method -> the checkpoints it loads (argument names of GarmentTransfer)
    "ours": ("parsing_checkpoint", "warping_checkpoint", "regrowth_checkpoint"),
    "teacher": ("tryon_parsing_checkpoint", "tryon_warping_checkpoint", "regrowth_checkpoint"),
    "affine": (),
}
INTERMEDIATES = ("parsing", "aligned_garment", "warped_garment", "skin")  # TransferOutput fields worth saving
STAGES = {  # checkpoint argument -> the stage it must come from and that stage's builder
    "parsing_checkpoint": {TRANSFER_PARSING: build_parsing_net},
    "warping_checkpoint": {TRANSFER_WARPING: build_warping_student},
    "regrowth_checkpoint": {ARM_REGROWTH: build_regrowth_net},
    "tryon_parsing_checkpoint": {TRYON_PARSING: build_parsing_net},
    "tryon_warping_checkpoint": {TRYON_WARPING: build_warping_teacher},
}


class TransferOutput(NamedTuple):
    """One transfer, batched. ``image`` (B, 3, H, W) in [-1, 1] is the result ``I_{t<-s}``; ``parsing`` (B, H, W)
    the target shape ``M_{t<-s}``; ``aligned_garment`` / ``warped_garment`` (B, 3, H, W) and ``warped_mask``
    (B, 1, H, W) the warping stage's outputs; ``skin`` (B, 3, H, W) the regrowth output (zeros where not run);
    ``masks`` composition masks by name ((B, 1, H, W) each)."""

    image: torch.Tensor
    parsing: torch.Tensor
    aligned_garment: torch.Tensor
    warped_garment: torch.Tensor
    warped_mask: torch.Tensor
    skin: torch.Tensor
    masks: dict


def _box(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) masks -> (B, 4) normalised ``(x0, y0, x1, y1)`` of their bounding boxes (align_corners=True
    coordinates); an empty mask gives the whole image."""
    _, _, height, width = mask.shape
    rows, cols = mask[:, 0].amax(2) > 0.5, mask[:, 0].amax(1) > 0.5
    ys = torch.linspace(-1, 1, height, device=mask.device)
    xs = torch.linspace(-1, 1, width, device=mask.device)
    inf = torch.tensor(float("inf"), device=mask.device)
    x0 = torch.where(cols, xs, inf).amin(1)
    x1 = torch.where(cols, xs, -inf).amax(1)
    y0 = torch.where(rows, ys, inf).amin(1)
    y1 = torch.where(rows, ys, -inf).amax(1)
    box = torch.stack([x0, y0, x1, y1], 1)
    full = torch.tensor([-1.0, -1.0, 1.0, 1.0], device=mask.device).expand_as(box)
    return torch.where(torch.isfinite(box).all(1, keepdim=True), box, full)


def affine_paste(source: PersonSample, target: PersonSample) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The naive baseline: ``G_s`` mapped box-to-box onto ``M^g_t`` and pasted. Returns (image, warped garment,
    pasted mask)."""
    src, dst = _box(source.garment_mask), _box(target.garment_mask)
    scale = (src[:, 2:] - src[:, :2]) / (dst[:, 2:] - dst[:, :2]).clamp(min=1e-6)  # source units per target unit
    shift = src[:, :2] - dst[:, :2] * scale
    theta = torch.zeros(scale.shape[0], 2, 3, device=scale.device, dtype=scale.dtype)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = scale[:, 0], scale[:, 1], shift
    grid = affine_grid(theta, tuple(target.image.shape[-2:]))
    mask = (warp(source.garment_mask, grid, "mask") > 0.5).to(target.image.dtype)
    garment = warp(source.garment, grid, "image") * mask
    return target.image * (1 - mask) + garment, garment, mask


class GarmentTransfer(nn.Module):
    """The frozen networks of one transfer method and :meth:`forward` ``(source, target) -> TransferOutput``.

    Args:
        method: one of :data:`METHODS`.
        parsing_checkpoint, warping_checkpoint: ``S_P`` and ``S_W`` (``ours``).
        tryon_parsing_checkpoint, tryon_warping_checkpoint: ``T_P`` and ``T_W`` (``teacher``).
        regrowth_checkpoint: ``R`` (``ours`` and ``teacher``).
        fill: hole filling of the composition (``composition.compose``).
        precision: ``"32"`` or ``"bf16"`` (bf16 autocast for the networks). channels_last: networks in channels-last
            memory format. compile: False, True or a ``torch.compile`` mode (``"reduce-overhead"``: CUDA graphs).
    """

    def __init__(self, method: str = "ours", parsing_checkpoint: str | None = None,
                 warping_checkpoint: str | None = None, regrowth_checkpoint: str | None = None,
                 tryon_parsing_checkpoint: str | None = None, tryon_warping_checkpoint: str | None = None,
                 fill: str = "inpaint", precision: str = "32", channels_last: bool = False,
                 compile: bool | str = False) -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"method {method!r}: choose one of {METHODS}")
        if str(precision) not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: choose one of {PRECISIONS}")
        paths = {"parsing_checkpoint": parsing_checkpoint, "warping_checkpoint": warping_checkpoint,
                 "regrowth_checkpoint": regrowth_checkpoint, "tryon_parsing_checkpoint": tryon_parsing_checkpoint,
                 "tryon_warping_checkpoint": tryon_warping_checkpoint}
        missing = [name for name in NEEDS[method] if not paths[name]]
        if missing:
            raise ValueError(f"method {method!r} needs {', '.join(missing)} (the stage checkpoints it runs)")
        self.method, self.fill, self.precision = method, fill, str(precision)
        self.nets = nn.ModuleDict({name.removesuffix("_checkpoint"): FrozenNet.from_checkpoint(
            paths[name], STAGES[name], argument=name) for name in NEEDS[method]})
        for frozen in self.nets.values():
            accelerate(frozen.net, channels_last)
        self._compiled = torch.compile(self.transfer, mode=compile_mode(compile)) if compile else None

    @torch.no_grad()
    def forward(self, source: PersonSample, target: PersonSample) -> TransferOutput:
        """Dress ``target`` (batched :class:`PersonSample`) in ``source``'s upper garment."""
        return (self._compiled or self.transfer)(source, target)

    def transfer(self, source: PersonSample, target: PersonSample) -> TransferOutput:
        """:meth:`forward`, uncompiled: the eager reference. Under bf16 the images and masks still come out in the
        inputs' dtype: warps sample the float32 inputs in float32, and ``R``'s output is scaled by a float32 mask."""
        with torch.autocast(target.image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self._transfer(source, target)

    def _transfer(self, source: PersonSample, target: PersonSample) -> TransferOutput:
        if self.method == "affine":
            image, garment, mask = affine_paste(source, target)
            parsing = torch.where(mask[:, 0] > 0.5, UPPER_GARMENT, target.parsing)
            return TransferOutput(image, parsing, garment, garment, mask, torch.zeros_like(image), {"garment": mask})
        shape_net = self.nets["parsing" if self.method == "ours" else "tryon_parsing"]
        logits = shape_net(parsing_inputs(target.remaining, source.garment_mask, target.densepose)).logits
        parsing = logits.argmax(1)
        garment_mask = (parsing == UPPER_GARMENT).unsqueeze(1).to(target.image.dtype)
        if self.method == "ours":
            warped = warp_garment(self.nets["warping"], source, target.densepose, garment_mask)
            aligned = warped.aligned_garment
        else:
            person = person_representation(one_hot(parsing, dtype=target.image.dtype), target.densepose)
            warped = self.nets["tryon_warping"](source.garment, source.garment_mask, person)
            aligned = source.garment
        new_skin = (parsing == UPPER_SKIN).unsqueeze(1).to(target.image.dtype)
        skin = regrow(self.nets["regrowth"], target.image * target.skin_mask, new_skin, target.densepose)
        image, masks = compose(target.image, target.parsing, parsing, warped.warped_garment, skin, fill=self.fill)
        return TransferOutput(image, parsing, aligned, warped.warped_garment, warped.warped_mask, skin, masks)
