"""GP-VTON's losses (docs/methods/other-systems.md): each warping term on hand-made tensors (level weights k + 1, the
torso's smoothness 40 times a sleeve's, the parsing's class weights, the attention target, LSGAN), dynamic gradient
truncation off and on, the truncation probability and the person/cloth ratio, the generator terms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from garment_transfer.geometry import identity_grid
from garment_transfer.losses.gpvton import (
    CLASS_WEIGHTS,
    GENERATOR_WEIGHTS,
    SMOOTH_PART_WEIGHTS,
    WEIGHTS,
    dgt_preserve,
    generator_terms,
    part_preserve_masks,
    person_cloth_ratio,
    smoothness,
    truncate,
    truncation_active,
    truncation_probability,
    warping_terms,
)
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.gpvton.networks import LFGP, LFGPOutput, fold_parts
from garment_transfer.models.tryon import TryOn

B, P, H, W = 2, 3, 16, 12
SIZES = [(8, 6), (16, 12)]  # two levels, coarse -> fine


def _fake(pred_value: float = 0.0, mask_value: float = 1.0, parsing=None, attention=None) -> LFGPOutput:
    """An LFGP output whose warps are constants at every level and whose grids are the identity."""
    grids = [identity_grid(P * B, *s) for s in SIZES]
    parts = FlowOutput(
        None, None, grids[-1], grids, [torch.zeros(P * B, 2, *s) for s in SIZES],
        [torch.full((P * B, 3, *s), pred_value) for s in SIZES],
        [torch.full((P * B, 1, *s), mask_value) for s in SIZES],
    )  # fmt: skip
    full_grids = [identity_grid(B, *s) for s in SIZES]
    full = FlowOutput(
        None, None, full_grids[-1], full_grids, [],
        [torch.full((B, 3, *s), pred_value) for s in SIZES], [torch.full((B, 1, *s), mask_value) for s in SIZES],
    )  # fmt: skip
    attention = attention or [torch.full((B, P, *s), 1 / 3) for s in SIZES]
    parsing = parsing or [torch.zeros(B, 7, *s) for s in SIZES]
    return LFGPOutput(parts, full, attention, parsing, P)


def _targets(worn_value: float = 1.0):
    worn_parts = torch.zeros(B, P, H, W)
    worn_parts[:, 0, :, :4], worn_parts[:, 1, :, 4:8], worn_parts[:, 2, :, 8:] = 1, 1, 1
    return dict(
        worn_garment=torch.full((B, 3, H, W), worn_value),
        worn_mask=torch.ones(B, 1, H, W),
        worn_part_masks=worn_parts,
        flat_part_masks=torch.ones(B, P, H, W),
        parsing_target=torch.zeros(B, H, W, dtype=torch.long),
    )


def test_weight_table_is_gpvtons():
    assert WEIGHTS == {
        "l1": 1.0, "vgg": 0.2, "mask": 2.0, "smooth": 6.0, "full_l1": 1.0, "full_mask": 2.0,
        "attention": 0.5, "parsing": 0.5, "tv": 0.1, "gan": 0.1,
    }  # fmt: skip
    assert CLASS_WEIGHTS["vitonhd"] == (1, 40, 5, 40, 30, 30, 40) and SMOOTH_PART_WEIGHTS == (1, 40, 1)
    assert GENERATOR_WEIGHTS == {"l1": 5, "vgg": 1, "rendered_l1": 5, "rendered_vgg": 1, "mask": 5, "gan": 0.5}


def test_level_terms_are_weighted_k_plus_one():
    # Warps 0 against a worn garment of 1: each part's L1 is the worn part's area share, the full L1 is 1 per level.
    targets = _targets()
    terms = warping_terms(_fake(0.0, mask_value=0.0), **targets)
    assert terms["full_l1"].item() == pytest.approx(1 + 2)
    assert terms["full_mask"].item() == pytest.approx(1 + 2)
    assert terms["l1"].item() == pytest.approx((1 + 2) / 3)  # each worn part covers a third of the image
    assert terms["mask"].item() == pytest.approx((1 + 2) / 3)
    only_fine = _fake(0.0, 0.0)
    only_fine.full.warped_garments[0].fill_(1.0)  # the coarse level now right
    assert warping_terms(only_fine, **targets)["full_l1"].item() == pytest.approx(2)


def test_a_part_the_flat_garment_lacks_is_left_out():
    targets = _targets()
    targets["flat_part_masks"][:, 2] = 0  # no right sleeve
    full = warping_terms(_fake(0.0, 0.0), **_targets())
    lacking = warping_terms(_fake(0.0, 0.0), **targets)
    assert lacking["l1"].item() == pytest.approx(full["l1"].item() * 2 / 3)


def test_attention_is_compared_with_the_worn_part_masks():
    targets = _targets()
    exact = [F.interpolate(targets["worn_part_masks"], size=s, mode="bilinear") for s in SIZES]
    assert warping_terms(_fake(attention=exact), **targets)["attention"].item() == pytest.approx(0, abs=1e-6)
    uniform = warping_terms(_fake(), **targets)["attention"].item()
    assert uniform == pytest.approx((1 + 2) * (2 / 3 * 1 / 3 + 1 / 3 * 2 / 3))


def test_parsing_cross_entropy_uses_the_class_weights():
    targets = _targets()
    targets["parsing_target"][:, :, :6] = 1  # left sleeve on half the image
    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(B, 7, *s, generator=g) for s in SIZES]
    got = warping_terms(_fake(parsing=logits), **targets)["parsing"]
    weight = torch.tensor(CLASS_WEIGHTS["vitonhd"])
    expected = 0
    for k, (x, s) in enumerate(zip(logits, SIZES)):
        labels = F.interpolate(targets["parsing_target"][:, None].float(), size=s, mode="nearest")[:, 0].long()
        expected += (k + 1) * F.cross_entropy(x, labels, weight=weight)
        assert not torch.isclose(F.cross_entropy(x, labels), F.cross_entropy(x, labels, weight=weight))
    torch.testing.assert_close(got, expected)


def test_torso_smoothness_weighs_forty_times_a_sleeve():
    size = (10, 8)
    base = identity_grid(P * B, *size)
    present = torch.ones(B, P)
    floor = smoothness(base, present, (1.0, 40.0, 1.0))
    bend = torch.linspace(-1, 1, size[1]).square() * 0.3  # curvature along x

    def bent(part: int) -> torch.Tensor:
        grid = base.clone()
        grid[part * B : (part + 1) * B, :, :, 1] += bend
        return smoothness(grid, present, (1.0, 40.0, 1.0)) - floor

    sleeve, torso = bent(0), bent(1)
    assert sleeve > 0
    torch.testing.assert_close(torso, 40 * sleeve)
    torch.testing.assert_close(bent(2), sleeve)


def test_tv_and_gan_terms():
    out = _fake()
    out.parts.offsets[0][:, 0, :, :3] = 1.0  # a step along x on every part
    terms = warping_terms(out, **_targets(), fake_logits=torch.ones(B, 1, 3, 2))
    assert terms["tv"].item() == pytest.approx(1 / 5 / 2)  # one jump over 5 x-differences, mean over x and y
    assert terms["gan"].item() == 0
    assert warping_terms(_fake(), **_targets(), fake_logits=torch.zeros(B, 1, 3, 2))["gan"].item() == 1
    assert warping_terms(_fake(), **_targets())["gan"].item() == 0


def test_truncation_removes_the_preserve_region_from_the_l1_and_mask_terms():
    # The warps spill 1 into the preserve region (the bottom half) where the worn garment is 0.
    targets = _targets(0.0)
    targets["worn_mask"].zero_()
    targets["worn_part_masks"].zero_()
    preserve = torch.zeros(B, 1, H, W)
    preserve[:, :, H // 2 :] = 1
    out = _fake(0.0, 0.0)
    for level in (out.full.warped_garments, out.full.warped_masks, out.parts.warped_garments, out.parts.warped_masks):
        for x in level:
            x[..., x.shape[-2] // 2 :, :] = 1
    parts = preserve.expand(B, P, H, W)
    off = warping_terms(out, **targets, part_preserve=parts, full_preserve=preserve, truncation=False)
    on = warping_terms(out, **targets, part_preserve=parts, full_preserve=preserve, truncation=True)
    for name in ("l1", "mask", "full_l1", "full_mask"):
        assert off[name] > 0.5 and on[name].item() == pytest.approx(0, abs=1e-6), name
    with pytest.raises(ValueError, match="truncation"):
        warping_terms(out, **targets, truncation=True)


def test_truncate_and_when_it_starts():
    x, preserve = torch.ones(2, 3, 4, 4), torch.zeros(2, 1, 4, 4)
    preserve[:, :, :2] = 1
    assert torch.equal(truncate(x, preserve, active=False), x)
    assert truncate(x, preserve).sum() == 2 * 3 * 8
    assert not truncation_active(69) and truncation_active(70)


def test_part_preserve_sets_add_the_other_worn_parts():
    worn = torch.zeros(1, 3, 1, 3)
    worn[0, 0, 0, 0], worn[0, 1, 0, 1], worn[0, 2, 0, 2] = 1, 1, 1
    sleeves, torso = torch.zeros(1, 1, 1, 3), torch.zeros(1, 1, 1, 3)
    sets = part_preserve_masks(sleeves, torso, worn)
    assert sets[0, :, 0].tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]


@pytest.mark.parametrize(
    "ratio, thresholds, expected",
    [(0.85, (0.9, 0.95), 1.0), (0.9, (0.9, 0.95), 0.5), (0.93, (0.9, 0.95), 0.5), (0.95, (0.9, 0.95), 0.1),
     (1.2, (0.9, 0.95), 0.1), (0.93, (0.95, 1.0), 1.0), (0.97, (0.95, 1.0), 0.5), (1.0, (0.95, 1.0), 0.1)],
)  # fmt: skip
def test_truncation_probability_steps_with_the_ratio(ratio, thresholds, expected):
    assert truncation_probability(ratio, thresholds).item() == pytest.approx(expected)


def test_truncation_probability_is_elementwise_and_the_draw_follows_it():
    assert truncation_probability(torch.tensor([0.5, 0.92, 1.0])).tolist() == pytest.approx([1.0, 0.5, 0.1])
    base, lower = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    drawn = dgt_preserve(base, lower, torch.tensor([1.0, 0.0]))
    assert drawn[0].sum() == 4 and drawn[1].sum() == 0


def test_person_cloth_ratio_compares_the_bounding_box_aspects():
    worn, cloth = torch.zeros(2, 1, 20, 20), torch.zeros(2, 1, 20, 20)
    cloth[:, :, 0:10, 0:10] = 1  # square in the shop
    worn[0, :, 0:8, 0:10] = 1  # shorter on the person: tucked in
    worn[1, :, 0:10, 0:10] = 1
    torch.testing.assert_close(person_cloth_ratio(worn, cloth), torch.tensor([0.8, 1.0]))
    assert person_cloth_ratio(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)).item() == 1.0


def test_generator_terms_add_lsgan_to_pfafns_terms():
    real = torch.zeros(1, 3, 8, 8)
    result = TryOn(torch.full_like(real, 0.5), torch.full_like(real, 0.25), torch.full((1, 1, 8, 8), 0.75))
    terms = generator_terms(result, real, fake_logits=torch.zeros(1, 1, 2, 2))
    assert terms["l1"].item() == pytest.approx(0.5) and terms["rendered_l1"].item() == pytest.approx(0.25)
    assert terms["mask"].item() == pytest.approx(0.25) and terms["gan"].item() == pytest.approx(1.0)
    total = weighted_sum(terms, GENERATOR_WEIGHTS)
    assert total.item() == pytest.approx(5 * 0.5 + 5 * 0.25 + 5 * 0.25 + 0.5)


def test_warping_terms_on_a_real_lfgp_backpropagate():
    torch.manual_seed(0)
    net = LFGP("tiny")
    h, w = 64, 48
    part_masks = torch.zeros(1, 3, h, w)
    part_masks[:, 0, :, :16], part_masks[:, 1, :, 16:32], part_masks[:, 2, :, 32:] = 1, 1, 1
    out = net(torch.rand(1, 3, h, w), torch.ones(1, 1, h, w), torch.rand(1, 1, h, w), torch.rand(1, 51, h, w),
              part_masks, torch.zeros(1, 1, h, w))  # fmt: skip
    terms = warping_terms(
        out, torch.rand(1, 3, h, w), torch.ones(1, 1, h, w), part_masks, part_masks,
        torch.randint(0, 7, (1, h, w)), fake_logits=torch.zeros(1, 1, 4, 3),
    )  # fmt: skip
    assert set(terms) == set(WEIGHTS)
    weighted_sum(terms, {k: v for k, v in WEIGHTS.items() if k != "vgg"}).backward()
    assert net.parsing_heads[-1][0].weight.grad.abs().sum() > 0
    assert fold_parts(part_masks).shape == (3, h, w)
