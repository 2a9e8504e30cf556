"""End-to-end garment transfer ``I_{t<-s}`` (and try-on) from trained stage checkpoints (``METHOD.md`` 3, 4.5, 4.6).

``method`` picks the networks that dress the target (:data:`METHODS`, one :class:`Method` each); what they dress it
in is the ``garment`` of :meth:`GarmentTransfer.forward`: ``worn`` (transfer: the source's worn garment ``G_s`` and
``M^g_s``) or ``in_shop`` (try-on: the source's in-shop ``C_s`` and ``C^m_s``), where the method takes it:

======================  ===============  ================================================================================
``ours``                worn             ``S_P(M^r_t, M^g_s, P_t) -> M_{t<-s}``; ``S_W`` warps ``G_s`` to ``M^g_{t<-s}``
``teacher``             worn, in-shop    the try-on teachers: ``T_P(M^r_t, mask, P_t)``, then
                                         ``T_W(repr(M_{t<-s}, P_t), garment, mask)``; for transfer the worn garment
                                         stands in for the in-shop one (the paper's Table 4 setting)
``affine``              worn             a naive paste: ``G_s`` scaled and moved so the bounding box of ``M^g_s``
                                         covers the one of ``M^g_t``, pasted over ``I_t`` (no parsing, regrowth or
                                         composition: the low bar)
``pfafn``               worn, in-shop    PF-AFN's parser-free try-on model (``models.pfafn``): warp and generator read
                                         the target image; for transfer, "PF-AFN used for transfer", the worn garment
                                         cut out of the source is its in-shop input
``pfafn_parser_based``  worn, in-shop    PF-AFN's parser-based try-on model (the tutor): the target's parsing,
                                         DensePose and keypoints
======================  ===============  ================================================================================

Then, for ``ours`` and ``teacher``: the arm regrowth net ``R(I_t * M^s_t, M^s_{t<-s}, P_t)`` gives skin where the new
skin lies outside the old; :func:`garment_transfer.composition.compose` assembles the picture, inheriting every
untouched target pixel and filling holes. PF-AFN's generators render the whole person themselves; their result's
parsing (what a re-transfer reads back) is the target's with the upper garment where the warped mask covers
(> 0.5) and the target's old garment elsewhere counted as skin. Every network is a
:class:`~garment_transfer.models.frozen.FrozenNet` of its stage checkpoint (checked to be of the stage it is used as),
run in eval mode under ``no_grad``.

Speed switches (README "Speed"; all off is the reference): ``precision="bf16"`` runs the networks under bf16
autocast (flows, grids and grid sampling stay float32, composition works on float32 images: the result is float32);
``channels_last`` puts the networks' parameters in channels-last memory format; ``compile`` compiles the whole
forward with ``torch.compile`` (one graph: nothing in it waits for the device), ``"reduce-overhead"`` with CUDA
graphs for fixed-shape inference on a GPU, ``"frozen"`` with the weights frozen into the graph (on the CPU: oneDNN
convolutions on weights packed once; README "Speed" gives its operator count and compile time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from garment_transfer.checkpoints import (ARM_REGROWTH, PB_TRYON, PF_TRYON, TRANSFER_PARSING, TRANSFER_WARPING,
                                          TRYON_PARSING, TRYON_WARPING)
from garment_transfer.composition import compose
from garment_transfer.data.label_maps import UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.samples import PersonSample, one_hot
from garment_transfer.geometry.grids import affine_grid, warp
from garment_transfer.models.acceleration import accelerate, compile_function
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.pfafn import build_pb_tryon, build_pf_tryon, dress
from garment_transfer.models.regrowth import build_regrowth_net, regrow
from garment_transfer.models.warping import (build_warping_student, build_warping_teacher, person_representation,
                                             warp_garment)

GARMENTS = {"worn": ("garment", "garment_mask"), "in_shop": ("cloth", "cloth_mask")}  # PersonSample fields
PRECISIONS = ("32", "bf16")
INTERMEDIATES = ("parsing", "aligned_garment", "warped_garment", "skin")  # TransferOutput fields worth saving
STAGES = {  # checkpoint argument -> the stage it must come from and that stage's builder
    "parsing_checkpoint": {TRANSFER_PARSING: build_parsing_net},
    "warping_checkpoint": {TRANSFER_WARPING: build_warping_student},
    "regrowth_checkpoint": {ARM_REGROWTH: build_regrowth_net},
    "tryon_parsing_checkpoint": {TRYON_PARSING: build_parsing_net},
    "tryon_warping_checkpoint": {TRYON_WARPING: build_warping_teacher},
    "pf_tryon_checkpoint": {PF_TRYON: build_pf_tryon},
    "pb_tryon_checkpoint": {PB_TRYON: build_pb_tryon},
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


def _regrow_and_compose(nets: nn.ModuleDict, target: PersonSample, parsing: torch.Tensor, warped, aligned,
                        fill: str) -> TransferOutput:
    """Arm regrowth for the new skin and the composition over the target (``ours`` and ``teacher``)."""
    new_skin = (parsing == UPPER_SKIN).unsqueeze(1).to(target.image.dtype)
    skin = regrow(nets["regrowth"], target.image * target.skin_mask, new_skin, target.densepose)
    image, masks = compose(target.image, target.parsing, parsing, warped.warped_garment, skin, fill=fill)
    return TransferOutput(image, parsing, aligned, warped.warped_garment, warped.warped_mask, skin, masks)


def _ours(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    logits = nets["parsing"](parsing_inputs(target.remaining, garment_mask, target.densepose)).logits
    parsing = logits.argmax(1)
    shape = (parsing == UPPER_GARMENT).unsqueeze(1).to(target.image.dtype)
    warped = warp_garment(nets["warping"], source, target.densepose, shape)
    return _regrow_and_compose(nets, target, parsing, warped, warped.aligned_garment, fill)


def _teacher(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    logits = nets["tryon_parsing"](parsing_inputs(target.remaining, garment_mask, target.densepose)).logits
    parsing = logits.argmax(1)
    person = person_representation(one_hot(parsing, dtype=target.image.dtype), target.densepose)
    warped = nets["tryon_warping"](garment, garment_mask, person)
    return _regrow_and_compose(nets, target, parsing, warped, garment, fill)


def _affine(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    image, pasted, mask = affine_paste(source, target)
    parsing = torch.where(mask[:, 0] > 0.5, UPPER_GARMENT, target.parsing)
    return TransferOutput(image, parsing, pasted, pasted, mask, torch.zeros_like(image), {"garment": mask})


def _pfafn(name: str):
    def run(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
        out = dress(nets[name], target, garment, garment_mask)
        covered = out.warp.warped_mask[:, 0] > 0.5
        old_garment = torch.where(target.parsing == UPPER_GARMENT, UPPER_SKIN, target.parsing)
        parsing = torch.where(covered, UPPER_GARMENT, old_garment)
        return TransferOutput(out.tryon.image, parsing, garment, out.warp.warped_garment, out.warp.warped_mask,
                              torch.zeros_like(out.tryon.image), {"garment": out.tryon.mask})
    return run


@dataclass(frozen=True)
class Method:
    """A way to dress a target. needs: the checkpoint arguments it loads; garments: what it can dress the target in
    (keys of :data:`GARMENTS`); run: ``(nets, source, target, garment, garment_mask, fill) -> TransferOutput``."""

    needs: tuple[str, ...]
    garments: tuple[str, ...]
    run: Callable[..., TransferOutput]


METHODS = {
    "ours": Method(("parsing_checkpoint", "warping_checkpoint", "regrowth_checkpoint"), ("worn",), _ours),
    "teacher": Method(("tryon_parsing_checkpoint", "tryon_warping_checkpoint", "regrowth_checkpoint"),
                      ("worn", "in_shop"), _teacher),
    "affine": Method((), ("worn",), _affine),
    "pfafn": Method(("pf_tryon_checkpoint",), ("worn", "in_shop"), _pfafn("pf_tryon")),
    "pfafn_parser_based": Method(("pb_tryon_checkpoint",), ("worn", "in_shop"), _pfafn("pb_tryon")),
}
NEEDS = {name: method.needs for name, method in METHODS.items()}  # method -> the checkpoint arguments it loads


class GarmentTransfer(nn.Module):
    """The frozen networks of one method and :meth:`forward` ``(source, target, garment) -> TransferOutput``.

    Args:
        method: one of :data:`METHODS`.
        parsing_checkpoint, warping_checkpoint: ``S_P`` and ``S_W`` (``ours``).
        tryon_parsing_checkpoint, tryon_warping_checkpoint: ``T_P`` and ``T_W`` (``teacher``).
        regrowth_checkpoint: ``R`` (``ours`` and ``teacher``).
        pf_tryon_checkpoint, pb_tryon_checkpoint: PF-AFN's parser-free and parser-based try-on models (``pfafn``,
            ``pfafn_parser_based``).
        fill: hole filling of the composition (``composition.compose``).
        precision: ``"32"`` or ``"bf16"`` (bf16 autocast for the networks). channels_last: networks in channels-last
            memory format. compile: False, True, a ``torch.compile`` mode (``"reduce-overhead"``: CUDA graphs) or
            ``"frozen"`` (weights frozen into the graph, ``acceleration.compile_function``).
            fold_norms: fold every BatchNorm that follows a convolution into it (``acceleration.fold_batch_norms``;
            the default: fewer operators, equal within float tolerance); False keeps the networks as trained, the
            reference.
    """

    def __init__(self, method: str = "ours", parsing_checkpoint: str | None = None,
                 warping_checkpoint: str | None = None, regrowth_checkpoint: str | None = None,
                 tryon_parsing_checkpoint: str | None = None, tryon_warping_checkpoint: str | None = None,
                 fill: str = "inpaint", pf_tryon_checkpoint: str | None = None,
                 pb_tryon_checkpoint: str | None = None, precision: str = "32", channels_last: bool = False,
                 compile: bool | str = False, fold_norms: bool = True) -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"method {method!r}: choose one of {tuple(METHODS)}")
        if str(precision) not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: choose one of {PRECISIONS}")
        paths = {"parsing_checkpoint": parsing_checkpoint, "warping_checkpoint": warping_checkpoint,
                 "regrowth_checkpoint": regrowth_checkpoint, "tryon_parsing_checkpoint": tryon_parsing_checkpoint,
                 "tryon_warping_checkpoint": tryon_warping_checkpoint, "pf_tryon_checkpoint": pf_tryon_checkpoint,
                 "pb_tryon_checkpoint": pb_tryon_checkpoint}
        self.spec = METHODS[method]
        missing = [name for name in self.spec.needs if not paths[name]]
        if missing:
            raise ValueError(f"method {method!r} needs {', '.join(missing)} (the stage checkpoints it runs)")
        self.method, self.fill, self.precision = method, fill, str(precision)
        self.nets = nn.ModuleDict({name.removesuffix("_checkpoint"): FrozenNet.from_checkpoint(
            paths[name], STAGES[name], argument=name) for name in self.spec.needs})
        for frozen in self.nets.values():
            accelerate(frozen.net, channels_last, fold_norms=fold_norms)
        self._compiled = compile_function(self.transfer, compile) if compile else None

    @property
    def garments(self) -> tuple[str, ...]:
        """What this method can dress a target in (keys of :data:`GARMENTS`)."""
        return self.spec.garments

    @torch.no_grad()
    def forward(self, source: PersonSample, target: PersonSample, garment: str = "worn") -> TransferOutput:
        """Dress ``target`` (batched :class:`PersonSample`) in ``source``'s upper garment: the one they wear
        (``garment="worn"``, transfer) or their in-shop one (``"in_shop"``, try-on)."""
        if garment not in self.spec.garments:
            raise ValueError(f"method {self.method!r} dresses a person in {' or '.join(self.spec.garments)} "
                             f"garments only, not {garment!r}")
        return (self._compiled or self.transfer)(source, target, garment)

    def transfer(self, source: PersonSample, target: PersonSample, garment: str = "worn") -> TransferOutput:
        """:meth:`forward`, uncompiled: the eager reference. Under bf16 the images and masks still come out in the
        inputs' dtype: warps sample the float32 inputs in float32, and ``R``'s output is scaled by a float32 mask."""
        image_field, mask_field = GARMENTS[garment]
        with torch.autocast(target.image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.spec.run(self.nets, source, target, getattr(source, image_field),
                                 getattr(source, mask_field), self.fill)
