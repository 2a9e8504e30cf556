"""PF-AFN's losses (``docs/methods/pfafn.md``; PF-AFN's ``train_PBAFN_*.py`` / ``train_PFAFN_*.py``): the
multi-scale warping loss, the distillation terms with their per-sample gate, and the generator and skin terms.

Every ``*_terms`` function returns a dict of unweighted terms (each already summed over levels with its level
weights); :func:`weighted_sum` applies a weight table. A stage is then
``weighted_sum(warping_terms(out, G, M^g, vgg), WARP_WEIGHTS)`` and so on.

- Warping, per level ``k = 0`` (coarsest) .. 4 (full size), weighted ``k + 1``: ``1 L1 + 0.2 VGG + 2 mask L1 +
  6 second-order smoothness`` of the level's grid (summed over its x and y coordinates, as PF-AFN does), plus
  ``0.01 TV`` over all ten offset fields.
- Feature distillation: masked MSE on the five person-branch FPN maps, level ``k`` weighted ``(5 - k) * 0.04``
  (0.2 at the coarsest map, 0.04 at the finest). Flow distillation: per-pixel L2 norm of the difference of the
  normalised grids on the three finest levels (``H/4, H/2, H``), weighted ``k + 1`` (3, 4, 5). Both are means over
  the samples the gate lets through (:func:`gated_mean`); the teacher is detached.
- Gate (PF-AFN's adjustable knowledge distillation): a sample is distilled only where the teacher's warped garment
  is closer (mean L1) to the person's worn garment than the student's; ``adjustable=False`` distils every sample.
- Generator: ``5 L1 + VGG`` on the try-on and on the rendered image, ``1 mean |1 - m|``; end-to-end totals are
  ``0.5 warp + generator`` (parser-based) and ``0.25 warp + generator`` (parser-free). Skin (parser-free):
  ``30 L1 + 2 VGG`` of the rendered image on the skin mask, ``60`` and ``4`` from epoch ``niter`` on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from garment_transfer.losses.warping import multiscale_loss, second_order_smoothness, total_variation
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.tryon import TryOn

ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

WARP_WEIGHTS = {"l1": 1.0, "vgg": 0.2, "mask": 2.0, "smooth": 6.0, "tv": 0.01}
FEATURE_KD_WEIGHTS = tuple((5 - k) * 0.04 for k in range(5))  # coarse -> fine: 0.2, 0.16, 0.12, 0.08, 0.04
FLOW_KD_LEVELS = 3
VGG_TERMS = ("vgg", "rendered_vgg", "skin_vgg")  # the terms that run the VGG network
GENERATOR_WEIGHTS = {"l1": 5.0, "vgg": 1.0, "rendered_l1": 5.0, "rendered_vgg": 1.0, "mask": 1.0}
SKIN_WEIGHTS = {"skin_l1": 30.0, "skin_vgg": 2.0}
SKIN_WEIGHTS_AFTER_NITER = {"skin_l1": 60.0, "skin_vgg": 4.0}
E2E_WARP_WEIGHT = {"parser_based": 0.5, "parser_free": 0.25}


def warping_terms(
    out: FlowOutput,
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    vgg: ImageLoss | None = None,
    vgg_levels: int | None = None,
    resize_mode: str = "area",
    smooth_reduction: str = "sum",
) -> dict[str, torch.Tensor]:
    """The multi-scale warping terms ``l1``, ``vgg``, ``mask``, ``smooth`` (each ``sum_k (k + 1) term_k``) and ``tv``.

    Args:
        out: the AFWM's output (five levels).
        garment: ``I * M^g`` (B, 3, H, W) in [-1, 1], the garment as the person wears it.
        garment_mask: ``M^g`` (B, 1, H, W) in {0, 1}.
        vgg: a perceptual loss (``losses.warping.VGGLoss``); None: ``vgg`` is 0.
        vgg_levels: the VGG term on the finest ``vgg_levels`` levels only (a CPU-speed choice); None: all.
        resize_mode: how the targets are resized to the levels: "area" (default, as our try-on warping teacher) or
            "bilinear" (PF-AFN's ``F.interpolate``).
        smooth_reduction: "sum" (PF-AFN) or "mean" over the grid's two coordinates
            (:func:`~garment_transfer.losses.warping.second_order_smoothness`).
    """
    if garment.shape != out.warped_garment.shape or garment_mask.shape != out.warped_mask.shape:
        raise ValueError(
            f"warping_terms: garment {tuple(garment.shape)} and mask {tuple(garment_mask.shape)} must "
            f"match the warped garment {tuple(out.warped_garment.shape)} and mask "
            f"{tuple(out.warped_mask.shape)}"
        )
    terms = {
        "l1": multiscale_loss(out.warped_garments, garment, F.l1_loss, mode=resize_mode),
        "mask": multiscale_loss(out.warped_masks, garment_mask, F.l1_loss, mode=resize_mode),
        "smooth": sum(
            (k + 1) * second_order_smoothness(grid.permute(0, 3, 1, 2), coordinate_reduction=smooth_reduction)
            for k, grid in enumerate(out.grids)
        ),
        "tv": sum(total_variation(o) for o in out.offsets),
    }
    terms["vgg"] = (
        terms["l1"] * 0
        if vgg is None
        else multiscale_loss(out.warped_garments, garment, vgg, mode=resize_mode, finest=vgg_levels)
    )
    return terms


def distillation_gate(
    teacher_warped: torch.Tensor, student_warped: torch.Tensor, target: torch.Tensor, adjustable: bool = True
) -> torch.Tensor:
    """Which samples the distillation terms apply to.

    Args:
        teacher_warped, student_warped: (B, 3, H, W) the warped garments of the teacher (the parser-based warp on the
            real person with the person's own garment) and of the student, in [-1, 1].
        target: (B, 3, H, W) the garment as the person wears it, ``I * M^g``.
        adjustable: True: 1 where the teacher's mean L1 to ``target`` is strictly below the student's, else 0 (a
            sample whose teacher is worse gets no distillation); False: 1 everywhere.

    Returns:
        (B,) float in {0, 1}, without gradient.
    """
    if teacher_warped.shape != student_warped.shape or target.shape != student_warped.shape:
        raise ValueError(
            f"distillation_gate: teacher {tuple(teacher_warped.shape)}, student "
            f"{tuple(student_warped.shape)} and target {tuple(target.shape)} must have one shape"
        )
    if not adjustable:
        return student_warped.new_ones(student_warped.shape[0])
    with torch.no_grad():
        teacher_l1 = (teacher_warped - target).abs().flatten(1).mean(1)
        student_l1 = (student_warped - target).abs().flatten(1).mean(1)
        return (teacher_l1 < student_l1).to(student_warped.dtype)


def gated_mean(per_sample: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``sum_b gate_b * x_b / max(sum_b gate_b, 1)``: the mean over the gated samples, 0 when none passes.
    per_sample, gate: (B,)."""
    if per_sample.shape != gate.shape or per_sample.ndim != 1:
        raise ValueError(f"gated_mean: per_sample {tuple(per_sample.shape)} and gate {tuple(gate.shape)} must be (B,)")
    return (per_sample * gate).sum() / gate.sum().clamp(min=1)


def feature_distillation(
    student_features: Sequence[torch.Tensor],
    teacher_features: Sequence[torch.Tensor],
    gate: torch.Tensor,
    weights: Sequence[float] = FEATURE_KD_WEIGHTS,
) -> torch.Tensor:
    """``sum_k w_k * gated_mean(mean_{c,h,w} (s_k - t_k)^2)`` over the person-branch FPN maps, coarse -> fine.

    Args:
        student_features, teacher_features: (B, C, h_k, w_k) per level, coarsest first (``FlowOutput.person_features``).
        gate: (B,) from :func:`distillation_gate`.
        weights: one per level; default ``(5 - k) * 0.04``.
    """
    if not len(student_features) == len(teacher_features) == len(weights):
        raise ValueError(
            f"feature_distillation: {len(student_features)} student maps, {len(teacher_features)} "
            f"teacher maps and {len(weights)} weights must agree"
        )
    total = gate.new_zeros(())
    for k, (s, t, w) in enumerate(zip(student_features, teacher_features, weights)):
        if s.shape != t.shape:
            raise ValueError(f"feature_distillation: level {k}: student {tuple(s.shape)} != teacher {tuple(t.shape)}")
        total = total + w * gated_mean((s - t.detach()).square().flatten(1).mean(1), gate)
    return total


def flow_distillation(
    student_grids: Sequence[torch.Tensor],
    teacher_grids: Sequence[torch.Tensor],
    gate: torch.Tensor,
    levels: int = FLOW_KD_LEVELS,
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """``sum_k w_k * gated_mean(mean_{h,w} |g^s_k - g^t_k|_2)`` over the ``levels`` finest grids.

    Args:
        student_grids, teacher_grids: (B, h_k, w_k, 2) normalised grids per level, coarsest first
            (``FlowOutput.grids``).
        gate: (B,) from :func:`distillation_gate`.
        levels: how many of the finest levels (PF-AFN: 3).
        weights: one per level of the whole pyramid; default ``k + 1`` (so 3, 4, 5 on the finest three of five).
    """
    count = len(student_grids)
    weights = [k + 1.0 for k in range(count)] if weights is None else list(weights)
    if len(teacher_grids) != count or len(weights) != count or not 1 <= levels <= count:
        raise ValueError(
            f"flow_distillation: {count} student grids, {len(teacher_grids)} teacher grids, "
            f"{len(weights)} weights and levels={levels} do not fit"
        )
    total = gate.new_zeros(())
    for k in range(count - levels, count):
        s, t = student_grids[k], teacher_grids[k]
        if s.shape != t.shape:
            raise ValueError(f"flow_distillation: level {k}: student {tuple(s.shape)} != teacher {tuple(t.shape)}")
        total = total + weights[k] * gated_mean((s - t.detach()).norm(dim=-1).flatten(1).mean(1), gate)
    return total


def _weighted(name: str, weights: Mapping[str, float] | None) -> bool:
    """Whether a term is worth computing: weighted non-zero, or every term when no weights are given."""
    return weights is None or bool(weights.get(name, 0))


def generator_terms(
    result: TryOn, real: torch.Tensor, vgg: ImageLoss | None = None, weights: Mapping[str, float] | None = None
) -> dict[str, torch.Tensor]:
    """``l1`` / ``vgg`` of the try-on, ``rendered_l1`` / ``rendered_vgg`` of the rendered image, both against the
    real person (B, 3, H, W) in [-1, 1], and ``mask = mean |1 - m|``; a VGG term is 0 without ``vgg`` or where
    ``weights`` (the weight table the terms are summed with) gives it no weight: the network runs only where it
    counts."""
    if result.image.shape != real.shape:
        raise ValueError(f"generator_terms: try-on {tuple(result.image.shape)} != real {tuple(real.shape)}")
    terms = {
        "l1": F.l1_loss(result.image, real),
        "rendered_l1": F.l1_loss(result.rendered, real),
        "mask": (1 - result.mask).abs().mean(),
    }
    for name, image in (("vgg", result.image), ("rendered_vgg", result.rendered)):
        terms[name] = vgg(image, real) if vgg is not None and _weighted(name, weights) else terms["l1"] * 0
    return terms


def skin_mask(tutor_warped_mask: torch.Tensor, garment_mask: torch.Tensor) -> torch.Tensor:
    """Skin the fake image exposes: the tutor's warped garment mask outside the real garment mask, (B, 1, H, W)."""
    if tutor_warped_mask.shape != garment_mask.shape:
        raise ValueError(f"skin_mask: {tuple(tutor_warped_mask.shape)} != {tuple(garment_mask.shape)}")
    return tutor_warped_mask.detach() * (1 - garment_mask)


def skin_terms(
    rendered: torch.Tensor,
    real: torch.Tensor,
    skin: torch.Tensor,
    vgg: ImageLoss | None = None,
    weights: Mapping[str, float] | None = None,
) -> dict[str, torch.Tensor]:
    """``skin_l1`` / ``skin_vgg``: the rendered image against the real person, both multiplied by ``skin``.
    rendered, real: (B, 3, H, W) in [-1, 1]; skin: (B, 1, H, W) in [0, 1]; ``skin_vgg`` is 0 without ``vgg`` or
    weight (as :func:`generator_terms`)."""
    if rendered.shape != real.shape or skin.shape != (real.shape[0], 1, *real.shape[-2:]):
        raise ValueError(
            f"skin_terms: rendered {tuple(rendered.shape)}, real {tuple(real.shape)}, skin {tuple(skin.shape)}"
        )
    pred, target = rendered * skin, real * skin
    use = vgg is not None and _weighted("skin_vgg", weights)
    return {"skin_l1": F.l1_loss(pred, target), "skin_vgg": vgg(pred, target) if use else pred.sum() * 0}


def skin_weights(epoch: int, niter: int) -> dict[str, float]:
    """The skin terms' weights at 0-based ``epoch``: :data:`SKIN_WEIGHTS` for the first ``niter`` epochs, then
    :data:`SKIN_WEIGHTS_AFTER_NITER`. (PF-AFN's loop counts epochs from 1 and tests ``epoch < niter``, so it
    switches one epoch earlier: pass ``niter - 1`` to reproduce it.)"""
    return dict(SKIN_WEIGHTS if epoch < niter else SKIN_WEIGHTS_AFTER_NITER)


def uses_vgg(*weights: Mapping[str, float]) -> bool:
    """Whether any weight table gives a VGG term (:data:`VGG_TERMS`) a non-zero weight: only then is the VGG network
    built and run."""
    return any(table.get(name, 0) for table in weights for name in VGG_TERMS)


def distillation_terms(
    student: FlowOutput, teacher: FlowOutput, target_garment: torch.Tensor, adjustable: bool
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``({"feature_kd", "flow_kd"}, gate)``: feature KD on the five person-branch FPN maps (weights
    ``(5 - k) * 0.04``) and flow KD on the three finest grids (weights ``k + 1``), both over the samples the
    adjustable gate lets through."""
    gate = distillation_gate(teacher.warped_garment, student.warped_garment, target_garment, adjustable)
    return {
        "feature_kd": feature_distillation(student.person_features, teacher.person_features, gate, FEATURE_KD_WEIGHTS),
        "flow_kd": flow_distillation(student.grids, teacher.grids, gate, FLOW_KD_LEVELS),
    }, gate


def stage_warping_terms(
    out: FlowOutput,
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    weights: Mapping[str, float],
    vgg: ImageLoss | None,
    options: Mapping,
) -> dict[str, torch.Tensor]:
    """:func:`warping_terms` with a stage's choices: the VGG network runs only where ``weights`` (the table the
    terms are summed with) gives ``vgg`` a weight; ``vgg_levels``, ``resize_mode`` and ``smooth_reduction`` come from
    ``options`` (the stage's hyper-parameters)."""
    return warping_terms(
        out,
        garment,
        garment_mask,
        vgg if weights.get("vgg", 0) else None,
        options["vgg_levels"],
        options["resize_mode"],
        options["smooth_reduction"],
    )
