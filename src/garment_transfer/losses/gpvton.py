"""GP-VTON's losses (Xie et al., CVPR 2023; ``train_warping.py``, ``train_tryon.py``; ``docs/methods/other-systems.md``)
as functions returning dicts of unweighted terms (each already summed over the levels with its level weights), and
the weight tables; ``weighted_sum(terms, WEIGHTS)`` (:func:`~garment_transfer.losses.weighting.weighted_sum`) is
the loss.

Warping (:func:`warping_terms` on an :class:`~garment_transfer.models.gpvton.networks.LFGPOutput`), per level
``k = 0`` (coarsest) .. 4, weighted ``k + 1``, with the targets resized bilinearly to the level (the parsing target by
nearest neighbour) and every part term multiplied by whether the flat garment has that part:

- ``l1``, ``vgg``, ``mask``: each part garment and part mask warped by its own flow against the worn part (the person
  image times the worn part mask) and the worn part mask (weights 1, 0.2, 2);
- ``smooth``: second-order smoothness (:func:`~garment_transfer.losses.warping.second_order_smoothness`, summed over
  x and y) of each part's grid, the parts weighted :data:`SMOOTH_PART_WEIGHTS` (torso 40 times the sleeves) and
  divided by ``P`` (weight 6);
- ``full_l1``, ``full_mask``: the garment and mask warped by the fused grid against the worn garment and its mask
  (1, 2);
- ``attention``: L1 of the fusion weights against the worn part masks (0.5);
- ``parsing``: cross-entropy of the global parsing with :data:`CLASS_WEIGHTS` (0.5);
- ``tv``: first-order TV of every offset field, not level-weighted (0.1);
- ``gan``: LSGAN generator term of the parsing discriminator's logits on the predicted parsing (0.1); its
  discriminator loss is :data:`DISCRIMINATOR_WEIGHT` times
  :func:`~garment_transfer.losses.adversarial.lsgan_discriminator` (0.1 x 0.5 (real + fake) = 0.05 per term).

Dynamic gradient truncation (DGT): from epoch ``mask_epoch`` (70) on (:func:`truncation_active`), the warps are
multiplied by ``1 - preserve`` before the L1 and mask terms (:func:`truncate`), so that a garment is not pulled
towards the border of a region it must not cover. A sleeve's preserve set is the base set and the worn torso, the
torso's the base set and the worn sleeves (:func:`part_preserve_masks`), the full garment's the base set. The base set
holds the lower body with a probability set by the person/cloth ratio (:func:`person_cloth_ratio`,
:func:`truncation_probability`): 1 below 0.9, 0.5 below 0.95, 0.1 otherwise (DressCode upper garments: 0.95 and 1.0).

Generator (:func:`generator_terms`): ``5 L1 + VGG`` on the try-on and on the rendered image, ``5 mean |1 - m|``,
``0.5`` LSGAN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from garment_transfer.losses.adversarial import lsgan_generator
from garment_transfer.losses.pfafn import generator_terms as pfafn_generator_terms
from garment_transfer.losses.warping import second_order_smoothness, total_variation
from garment_transfer.models.gpvton.networks import LFGPOutput, fold_parts, split_parts
from garment_transfer.models.tryon import TryOn

ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

WEIGHTS = {
    "l1": 1.0,
    "vgg": 0.2,
    "mask": 2.0,
    "smooth": 6.0,
    "full_l1": 1.0,
    "full_mask": 2.0,
    "attention": 0.5,
    "parsing": 0.5,
    "tv": 0.1,
    "gan": 0.1,
}
DISCRIMINATOR_WEIGHT = 0.1  # times lsgan_discriminator = 0.5 (real + fake)
SMOOTH_PART_WEIGHTS = (1.0, 40.0, 1.0)  # left sleeve, torso, right sleeve
CLASS_WEIGHTS = {
    "vitonhd": (1.0, 40.0, 5.0, 40.0, 30.0, 30.0, 40.0),
    "dresscode": (1.0, 100.0, 15.0, 100.0, 50.0, 100.0, 50.0, 70.0, 70.0, 150.0),
}
MASK_EPOCH = 70
TRUNCATION_THRESHOLDS = {"vitonhd": (0.9, 0.95), "dresscode_upper": (0.95, 1.0)}
TRUNCATION_PROBABILITIES = (1.0, 0.5, 0.1)
GENERATOR_WEIGHTS = {"l1": 5.0, "vgg": 1.0, "rendered_l1": 5.0, "rendered_vgg": 1.0, "mask": 5.0, "gan": 0.5}


def truncation_active(epoch: int, mask_epoch: int = MASK_EPOCH) -> bool:
    """Whether DGT applies at 0-based ``epoch``: from ``mask_epoch`` on (GP-VTON counts from 1 and tests
    ``epoch > mask_epoch``: the same epochs)."""
    return epoch >= mask_epoch


def truncate(warped: torch.Tensor, preserve: torch.Tensor, active: bool = True) -> torch.Tensor:
    """DGT: ``warped * (1 - preserve)`` when ``active``, else ``warped``. warped: (N, C, h, w); preserve: (N, 1, h, w)
    in [0, 1] (resized to the level by the caller)."""
    if not active:
        return warped
    if preserve.shape[0] != warped.shape[0] or preserve.shape[-2:] != warped.shape[-2:]:
        raise ValueError(f"truncate: preserve {tuple(preserve.shape)} does not fit warped {tuple(warped.shape)}")
    return warped * (1 - preserve)


def person_cloth_ratio(worn_mask: torch.Tensor, garment_mask: torch.Tensor) -> torch.Tensor:
    """The person/cloth ratio of DGT, per sample: the height/width ratio of the worn garment's bounding box over that
    of the in-shop garment's. GP-VTON ships the ratios with its data, not the code; the paper compares the garment's
    aspect on the person with its aspect in the shop image, which is what this computes: a garment tucked in or
    folded up on the person is relatively shorter, its ratio below 1.

    Args:
        worn_mask, garment_mask: (B, 1, H, W) in {0, 1}.

    Returns:
        (B,) float; 1 where either mask is empty.
    """
    if worn_mask.ndim != 4 or worn_mask.shape != garment_mask.shape or worn_mask.shape[1] != 1:
        raise ValueError(
            f"person_cloth_ratio: masks must both be (B, 1, H, W), got {tuple(worn_mask.shape)}, "
            f"{tuple(garment_mask.shape)}"
        )

    def aspect(mask: torch.Tensor) -> torch.Tensor:
        rows, cols = mask[:, 0].amax(2) > 0.5, mask[:, 0].amax(1) > 0.5  # (B, H), (B, W)

        def extent(hit: torch.Tensor) -> torch.Tensor:
            index = torch.arange(hit.shape[1], device=hit.device).expand_as(hit)
            first = torch.where(hit, index, hit.shape[1]).amin(1)
            last = torch.where(hit, index, -1).amax(1)
            return (last - first + 1).clamp(min=0).to(mask.dtype)

        return extent(rows) / extent(cols).clamp(min=1)

    person, cloth = aspect(worn_mask), aspect(garment_mask)
    valid = (person > 0) & (cloth > 0)
    return torch.where(valid, person / cloth.clamp(min=1e-6), torch.ones_like(person))


def truncation_probability(
    ratio: torch.Tensor | float, thresholds: Sequence[float] = TRUNCATION_THRESHOLDS["vitonhd"]
) -> torch.Tensor:
    """The probability that DGT's preserve set holds the lower body: 1 for ``ratio < thresholds[0]``, 0.5 below
    ``thresholds[1]``, 0.1 otherwise (:data:`TRUNCATION_PROBABILITIES`). ratio: (B,) or a number -> same shape."""
    low, high = thresholds
    if not low <= high:
        raise ValueError(f"truncation_probability: thresholds must be increasing, got {tuple(thresholds)}")
    ratio = torch.as_tensor(ratio, dtype=torch.float32)
    p_low, p_mid, p_high = TRUNCATION_PROBABILITIES
    return torch.where(ratio < low, p_low, torch.where(ratio < high, p_mid, p_high)).to(ratio.dtype)


def dgt_preserve(
    base: torch.Tensor, lower_body: torch.Tensor, probability: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """DGT's preserve set per sample: ``base``, with ``lower_body`` added with ``probability``.

    Args:
        base: (B, 1, H, W) in {0, 1} what is always preserved (face, hair, ... as the data defines it).
        lower_body: (B, 1, H, W) in {0, 1} the lower-body labels. probability: (B,) from
            :func:`truncation_probability`. generator: for the draw (None: the global one).
    """
    draw = torch.rand(probability.shape, generator=generator, device=probability.device) < probability
    return torch.maximum(base, lower_body * draw.to(base.dtype).view(-1, 1, 1, 1))


def part_preserve_masks(
    preserve_sleeves: torch.Tensor, preserve_torso: torch.Tensor, worn_part_masks: torch.Tensor
) -> torch.Tensor:
    """The per-part DGT sets of three parts (left sleeve, torso, right sleeve), as GP-VTON's training: a sleeve's is
    ``preserve_sleeves`` and the worn torso, the torso's ``preserve_torso`` and both worn sleeves.

    Args:
        preserve_sleeves, preserve_torso: (B, 1, H, W) in {0, 1} (GP-VTON: the DGT set with the palms, resp. the hands).
        worn_part_masks: (B, 3, H, W) in {0, 1}.

    Returns:
        (B, 3, H, W) in {0, 1}.
    """
    if worn_part_masks.ndim != 4 or worn_part_masks.shape[1] != 3:
        raise ValueError(
            f"part_preserve_masks: worn_part_masks must be (B, 3, H, W), got {tuple(worn_part_masks.shape)}"
        )
    left, torso, right = worn_part_masks.split(1, 1)
    masks = (preserve_sleeves + torso, preserve_torso + left + right, preserve_sleeves + torso)
    return (torch.cat(masks, 1) > 0).to(worn_part_masks.dtype)


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))


def smoothness(grid: torch.Tensor, present: torch.Tensor, part_weights: Sequence[float]) -> torch.Tensor:
    """``sum_p w_p mean_b(present_bp s_bp) / P``, ``s_bp`` the second-order smoothness of sample ``b``'s part ``p``
    grid summed over x and y. grid: (P B, h, w, 2) part-major; present: (B, P) in {0, 1}."""
    parts = present.shape[1]
    if len(part_weights) != parts:
        raise ValueError(f"smoothness: {len(part_weights)} part weights for {parts} parts")
    flows = split_parts(grid.permute(0, 3, 1, 2), parts)  # (B, P, 2, h, w)
    per = torch.stack(
        [
            torch.stack(
                [second_order_smoothness(flows[b, p : p + 1], coordinate_reduction="sum") for p in range(parts)]
            )
            for b in range(flows.shape[0])
        ]
    )  # (B, P)
    weights = per.new_tensor(part_weights)
    return ((per * present).mean(0) * weights).sum() / parts


def warping_terms(
    out: LFGPOutput,
    worn_garment: torch.Tensor,
    worn_mask: torch.Tensor,
    worn_part_masks: torch.Tensor,
    flat_part_masks: torch.Tensor,
    parsing_target: torch.Tensor,
    variant: str = "vitonhd",
    part_preserve: torch.Tensor | None = None,
    full_preserve: torch.Tensor | None = None,
    truncation: bool = False,
    vgg: ImageLoss | None = None,
    fake_logits: torch.Tensor | None = None,
    part_weights: Sequence[float] = SMOOTH_PART_WEIGHTS,
) -> dict[str, torch.Tensor]:
    """GP-VTON's warping terms (module docstring): ``l1, vgg, mask, smooth, full_l1, full_mask, attention, parsing``
    (each ``sum_k (k + 1) term_k``), ``tv`` and ``gan``.

    Args:
        out: the LFGP's output (global parsing on).
        worn_garment: (B, 3, H, W) the person image times the worn garment mask, in [-1, 1].
        worn_mask: (B, 1, H, W) the worn garment mask; worn_part_masks: (B, P, H, W) its parts, in {0, 1}.
        flat_part_masks: (B, P, H, W) the in-shop garment's part masks (a part absent there is left out).
        parsing_target: (B, H, W) int64 class indices of the global parsing.
        variant: picks :data:`CLASS_WEIGHTS`.
        part_preserve: (B, P, H, W) the parts' DGT sets (:func:`part_preserve_masks`); full_preserve: (B, 1, H, W)
            the full garment's; both required when ``truncation``.
        truncation: DGT on (:func:`truncation_active`).
        vgg: a perceptual loss; None: ``vgg`` is 0.
        fake_logits: the parsing discriminator's logits on the predicted parsing; None: ``gan`` is 0.
        part_weights: the smoothness weights per part.
    """
    if out.parsing is None or out.attention is None:
        raise ValueError("warping_terms: the LFGP output has no global parsing (built with global_parsing=False)")
    parts, batch = out.num_parts, worn_garment.shape[0]
    for name, x, c in (
        ("worn_mask", worn_mask, 1),
        ("worn_part_masks", worn_part_masks, parts),
        ("flat_part_masks", flat_part_masks, parts),
    ):
        if x.shape != (batch, c, *worn_garment.shape[-2:]):
            raise ValueError(
                f"warping_terms: {name} must be {(batch, c, *worn_garment.shape[-2:])}, got {tuple(x.shape)}"
            )
    if truncation and (part_preserve is None or full_preserve is None):
        raise ValueError("warping_terms: truncation needs part_preserve and full_preserve")
    present = (flat_part_masks.flatten(2).sum(2) > 0).to(worn_garment.dtype)  # (B, P)
    present_folded = fold_parts(present)[:, None, None, None]  # (P B, 1, 1, 1)
    worn_parts = fold_parts(worn_garment[:, None] * worn_part_masks[:, :, None])  # (P B, 3, H, W)
    worn_part_folded = fold_parts(worn_part_masks[:, :, None])
    class_weights = worn_garment.new_tensor(CLASS_WEIGHTS[variant])
    zero = worn_garment.new_zeros(())
    terms = {name: zero for name in ("l1", "vgg", "mask", "smooth", "full_l1", "full_mask", "attention", "parsing")}
    for k in range(len(out.parts.grids)):
        w = k + 1.0
        size = tuple(out.parts.grids[k].shape[1:3])
        pred, pred_mask = out.parts.warped_garments[k], out.parts.warped_masks[k]
        full, full_mask = out.full.warped_garments[k], out.full.warped_masks[k]
        if truncation:
            keep_out = (fold_parts(_resize(part_preserve, size)[:, :, None]) > 0).to(pred.dtype)
            pred, pred_mask = truncate(pred, keep_out), truncate(pred_mask, keep_out)
            full_out = _resize(full_preserve, size)
            full, full_mask = truncate(full, full_out), truncate(full_mask, full_out)
        target, target_mask = _resize(worn_parts, size) * present_folded, _resize(worn_part_folded, size)
        terms["l1"] = terms["l1"] + w * F.l1_loss(pred * present_folded, target)
        if vgg is not None:
            terms["vgg"] = terms["vgg"] + w * vgg(pred * present_folded, target)
        terms["mask"] = terms["mask"] + w * F.l1_loss(pred_mask * present_folded, target_mask * present_folded)
        terms["smooth"] = terms["smooth"] + w * smoothness(out.parts.grids[k], present, part_weights)
        terms["full_l1"] = terms["full_l1"] + w * F.l1_loss(full, _resize(worn_garment, size))
        terms["full_mask"] = terms["full_mask"] + w * F.l1_loss(full_mask, _resize(worn_mask, size))
        terms["attention"] = terms["attention"] + w * F.l1_loss(out.attention[k], _resize(worn_part_masks, size))
        labels = _resize(parsing_target[:, None].to(worn_garment.dtype), size, "nearest")[:, 0].long()
        terms["parsing"] = terms["parsing"] + w * F.cross_entropy(out.parsing[k], labels, weight=class_weights)
    terms["tv"] = sum((total_variation(o * present_folded) for o in out.parts.offsets), zero)
    terms["gan"] = zero if fake_logits is None else lsgan_generator(fake_logits)
    return terms


def generator_terms(
    result: TryOn,
    real: torch.Tensor,
    vgg: ImageLoss | None = None,
    fake_logits: torch.Tensor | None = None,
    weights: Mapping[str, float] | None = GENERATOR_WEIGHTS,
) -> dict[str, torch.Tensor]:
    """The try-on generator's terms: ``l1``, ``vgg``, ``rendered_l1``, ``rendered_vgg``, ``mask`` (PF-AFN's,
    :func:`~garment_transfer.losses.pfafn.generator_terms`) and ``gan``, the LSGAN generator term of the
    discriminator's logits on the rendered image (0 without ``fake_logits``); weights :data:`GENERATOR_WEIGHTS`."""
    terms = pfafn_generator_terms(result, real, vgg, weights)
    terms["gan"] = terms["l1"] * 0 if fake_logits is None else lsgan_generator(fake_logits)
    return terms
