"""The registry entry of the garment transfer of arXiv 2401.12433: its five stages, the ways it dresses a person, its
evaluations and its networks' sizes.

Dressing a target ``t`` in a source ``s``'s garment:

- ``ours``: ``S_P(M^r_t, M^g_s, P_t) -> M_{t<-s}``; ``S_W`` warps the worn garment ``G_s`` to ``M^g_{t<-s}``; the arm
  regrowth net ``R(I_t * M^s_t, M^s_{t<-s}, P_t)`` gives skin where the new skin lies outside the old;
  :func:`garment_transfer.composition.compose` assembles the picture, inheriting every untouched target pixel and
  filling holes. Transfer only (``worn``).
- ``teacher``: the try-on teachers ``T_P(M^r_t, mask, P_t)``, then ``T_W(repr(M_{t<-s}, P_t), garment, mask)``, with
  the same regrowth and composition; for transfer the worn garment stands in for the in-shop one (the paper's
  Table 4 setting). Worn and in-shop garments.
- ``affine``: a naive paste: ``G_s`` scaled and moved so the bounding box of ``M^g_s`` covers the one of ``M^g_t``,
  pasted over ``I_t`` (no parsing, regrowth or composition: the low bar).
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.composition import compose
from garment_transfer.data.label_maps import NUM_CLASSES, UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.samples import PersonSample, one_hot
from garment_transfer.geometry.grids import affine_grid, warp
from garment_transfer.models.distilled_transfer import (
    ARM_REGROWTH,
    TRANSFER_PARSING,
    TRANSFER_WARPING,
    TRYON_PARSING,
    TRYON_WARPING,
)
from garment_transfer.models.distilled_transfer.parsing import REMAINING_CHANNELS, build_parsing_net, parsing_inputs
from garment_transfer.models.distilled_transfer.regrowth import build_regrowth_net, regrow
from garment_transfer.models.distilled_transfer.warping import (
    build_warping_student,
    build_warping_teacher,
    person_representation,
    teach_with_tryon_teacher,
    warp_garment,
)
from garment_transfer.models.transfer import TransferOutput
from garment_transfer.registry import Dresser, Evaluation, Group, Method, Network, Stage

_STAGES = "garment_transfer.stages.distilled_transfer"


def _stage(name: str, cls: str, data: str, build, reads: tuple[str, ...] = (), title: str = "", **extra) -> Stage:
    return Stage(
        f"distilled_transfer/{name}",
        f"{_STAGES}.{name}.lightning_module.{cls}Module",
        f"{_STAGES}.{name}.{data}DataModule",
        build,
        name,
        reads,
        former_modules=(f"garment_transfer.stages.{name}",),
        title=title,
        **extra,
    )


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


def _regrow_and_compose(
    nets: nn.ModuleDict, target: PersonSample, parsing: torch.Tensor, warped, aligned, fill: str
) -> TransferOutput:
    """Arm regrowth for the new skin and the composition over the target (``ours`` and ``teacher``)."""
    new_skin = (parsing == UPPER_SKIN).unsqueeze(1).to(target.image.dtype)
    skin = regrow(nets["regrowth"], target.image * target.skin_mask, new_skin, target.densepose)
    image, masks = compose(target.image, target.parsing, parsing, warped.warped_garment, skin, fill=fill)
    return TransferOutput(image, parsing, aligned, warped.warped_garment, warped.warped_mask, skin, masks)


def dress_ours(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    """``ours`` (module docstring)."""
    logits = nets["parsing"](parsing_inputs(target.remaining, garment_mask, target.densepose)).logits
    parsing = logits.argmax(1)
    shape = (parsing == UPPER_GARMENT).unsqueeze(1).to(target.image.dtype)
    warped = warp_garment(nets["warping"], source, target.densepose, shape)
    return _regrow_and_compose(nets, target, parsing, warped, warped.aligned_garment, fill)


def dress_teacher(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    """``teacher`` (module docstring)."""
    logits = nets["tryon_parsing"](parsing_inputs(target.remaining, garment_mask, target.densepose)).logits
    parsing = logits.argmax(1)
    person = person_representation(one_hot(parsing, dtype=target.image.dtype), target.densepose)
    warped = nets["tryon_warping"](garment, garment_mask, person)
    return _regrow_and_compose(nets, target, parsing, warped, garment, fill)


def dress_affine(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    """``affine`` (module docstring)."""
    image, pasted, mask = affine_paste(source, target)
    parsing = torch.where(mask[:, 0] > 0.5, UPPER_GARMENT, target.parsing)
    return TransferOutput(image, parsing, pasted, pasted, mask, torch.zeros_like(image), {"garment": mask})


def _hp(width: str, pose_channels: int, **extra) -> dict:
    return {"width": width, "pose_channels": pose_channels, **extra}


_EVALUATE = "conf/distilled_transfer/evaluate"

METHOD = Method(
    name="distilled_transfer",
    title="garment transfer distilled from try-on (arXiv 2401.12433)",
    stages=(
        _stage("tryon_parsing", "TryOnParsing", "TryOnParsing", build_parsing_net, title="T_P try-on parsing teacher"),
        _stage(
            "transfer_parsing",
            "TransferParsing",
            "TransferParsing",
            build_parsing_net,
            (TRYON_PARSING,),
            "S_P transfer parsing student",
        ),
        _stage(
            "tryon_warping",
            "TryOnWarping",
            "TryOnWarping",
            build_warping_teacher,
            title="T_W try-on warping teacher",
            offers={"tryon_warp": teach_with_tryon_teacher},
        ),
        _stage(
            "transfer_warping",
            "TransferWarping",
            "TransferWarping",
            build_warping_student,
            (TRYON_WARPING, TRANSFER_PARSING),
            "S_W transfer warping student",
        ),
        _stage("arm_regrowth", "ArmRegrowth", "ArmRegrowth", build_regrowth_net, (TRANSFER_PARSING,), "R arm regrowth"),
    ),
    dressers=(
        Dresser(
            "ours",
            {"parsing": TRANSFER_PARSING, "warping": TRANSFER_WARPING, "regrowth": ARM_REGROWTH},
            ("worn",),
            dress_ours,
            title="ours",
        ),
        Dresser(
            "teacher",
            {"tryon_parsing": TRYON_PARSING, "tryon_warping": TRYON_WARPING, "regrowth": ARM_REGROWTH},
            ("worn", "in_shop"),
            dress_teacher,
            title="try-on teachers",
        ),
        Dresser("affine", {}, ("worn",), dress_affine, title="affine paste"),
    ),
    evaluations=(
        Evaluation("ours", "ours", "ours", "pipeline", f"{_EVALUATE}/ours.yaml"),
        Evaluation("teacher", "teacher", "try-on teachers", "baselines/teacher", f"{_EVALUATE}/teacher.yaml"),
        Evaluation(
            "teacher_tryon", "teacher", "try-on teachers", "baselines/teacher_tryon", f"{_EVALUATE}/teacher_tryon.yaml"
        ),
        Evaluation("affine", "affine", "affine paste", "baselines/affine", f"{_EVALUATE}/affine.yaml"),
    ),
    networks=(
        Network(
            "T_P try-on parsing teacher",
            lambda w, p: build_parsing_net(_hp(w, p)),
            lambda p: (REMAINING_CHANNELS + 1 + p,),
        ),
        Network(
            "S_P transfer parsing student",
            lambda w, p: build_parsing_net(_hp(w, p)),
            lambda p: (REMAINING_CHANNELS + 1 + p,),
            "44.10 M / 28.62 G (paper Table 2)",
        ),
        Network(
            "T_W try-on warping teacher",
            lambda w, p: build_warping_teacher(_hp(w, p)),
            lambda p: (3, 1, NUM_CLASSES + p),
        ),
        Network(
            "S_W transfer warping student",
            lambda w, p: build_warping_student(_hp(w, p, method="scaw")),
            lambda p: (3, 1, p, p, 1),
            "26.66 M / 55.05 G (paper Table 2)",
        ),
        Network(
            "R arm regrowth",
            lambda w, p: build_regrowth_net(_hp(w, p, num_downs=5, use_pose=True)),
            lambda p: (3 + 1 + p,),
            "43.90 M / 21.86 G (paper Table 2)",
        ),
        Group(
            "pipeline S_P + S_W + R",
            ("S_P transfer parsing student", "S_W transfer warping student", "R arm regrowth"),
            "114.66 M / 105.53 G (paper Table 2)",
        ),
    ),
)
