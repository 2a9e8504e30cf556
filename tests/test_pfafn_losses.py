"""PF-AFN's losses (docs/methods/pfafn.md): multi-scale warping weights (k + 1), the smoothness stencils and PF-AFN's
sum over coordinates, TV over all offsets, feature KD weights (5 - k) * 0.04, flow KD on the three finest levels, the
adjustable per-sample gate, generator and skin terms."""

from __future__ import annotations

import pytest
import torch

from garment_transfer.geometry import identity_grid
from garment_transfer.losses.pfafn import (
    E2E_WARP_WEIGHT,
    FEATURE_KD_WEIGHTS,
    GENERATOR_WEIGHTS,
    SKIN_WEIGHTS,
    SKIN_WEIGHTS_AFTER_NITER,
    WARP_WEIGHTS,
    distillation_gate,
    feature_distillation,
    flow_distillation,
    gated_mean,
    generator_terms,
    skin_mask,
    skin_terms,
    skin_weights,
    warping_terms,
)
from garment_transfer.losses.warping import CHARBONNIER_ALPHA, CHARBONNIER_EPS, second_order_smoothness
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.pfafn.networks import build_pf_afwm
from garment_transfer.models.tryon import TryOn

SIZES = [(4, 3), (8, 6), (16, 12), (32, 24), (64, 48)]  # grids' sizes at 64 x 48, coarse -> fine
FLOOR = CHARBONNIER_EPS**CHARBONNIER_ALPHA


def _output(garment_values=(0.0,) * 5, mask_values=(0.0,) * 5, grids=None, offsets=None) -> FlowOutput:
    """An FlowOutput whose level k is constant: warped garment ``garment_values[k]``, mask ``mask_values[k]``."""
    garments = [torch.full((2, 3, *s), v) for s, v in zip(SIZES, garment_values)]
    masks = [torch.full((2, 1, *s), v) for s, v in zip(SIZES, mask_values)]
    grids = grids if grids is not None else [identity_grid(2, *s) for s in SIZES]
    offsets = offsets if offsets is not None else [torch.zeros(2, 2, 2, 2)] * 10
    features = [torch.zeros(2, 8, 2, 2)] * 5
    return FlowOutput(garments[-1], masks[-1], grids[-1], grids, offsets, garments, masks, features)


def test_warping_l1_and_mask_terms_weight_level_k_by_k_plus_one():
    values = (0.1, 0.2, 0.3, 0.4, 0.5)
    out = _output(garment_values=values, mask_values=[v / 2 for v in values])
    terms = warping_terms(out, torch.zeros(2, 3, 64, 48), torch.zeros(2, 1, 64, 48))
    expected = sum((k + 1) * v for k, v in enumerate(values))
    assert terms["l1"].item() == pytest.approx(expected)
    assert terms["mask"].item() == pytest.approx(expected / 2)
    assert terms["vgg"].item() == 0.0  # no VGG given
    seen = []

    def fake_vgg(pred, target):
        seen.append(tuple(pred.shape[-2:]))
        return pred.mean()

    terms = warping_terms(out, torch.zeros(2, 3, 64, 48), torch.zeros(2, 1, 64, 48), fake_vgg, vgg_levels=2)
    assert seen == SIZES[-2:] and terms["vgg"].item() == pytest.approx(4 * 0.4 + 5 * 0.5)


def test_smoothness_uses_four_stencils_sums_coordinates_and_weights_levels():
    pixel_quadratic = torch.arange(6.0).pow(2).expand(1, 2, 5, 6).clone()  # x: second difference 2 along x
    pixel_quadratic[:, 1] = 0  # y: affine (zero)
    # Stencils on x: horizontal and both diagonals see 2, vertical 0; all four see 0 on y.
    per_coordinate = (3 * (4 + CHARBONNIER_EPS) ** CHARBONNIER_ALPHA + FLOOR) / 4 + FLOOR
    assert second_order_smoothness(pixel_quadratic, coordinate_reduction="sum").item() == pytest.approx(
        per_coordinate, rel=1e-5
    )
    assert second_order_smoothness(pixel_quadratic).item() == pytest.approx(per_coordinate / 2, rel=1e-5)
    with pytest.raises(ValueError, match="coordinate_reduction"):
        second_order_smoothness(pixel_quadratic, coordinate_reduction="max")
    # In warping_terms: sum_k (k + 1) * smoothness(grid_k), PF-AFN's sum over x and y by default.
    grids = [identity_grid(2, *s) for s in SIZES]
    bent = grids[3].clone()
    bent[..., 0] += torch.arange(24.0).pow(2) * 1e-2  # a quadratic along x at level 3 only
    grids[3] = bent
    terms = warping_terms(_output(grids=grids), torch.zeros(2, 3, 64, 48), torch.zeros(2, 1, 64, 48))
    level3 = second_order_smoothness(bent.permute(0, 3, 1, 2), coordinate_reduction="sum")
    assert level3 > 4 * FLOOR
    assert terms["smooth"].item() == pytest.approx((1 + 2 + 3 + 5) * 2 * FLOOR + 4 * level3.item(), rel=1e-4)
    mean = warping_terms(
        _output(grids=grids), torch.zeros(2, 3, 64, 48), torch.zeros(2, 1, 64, 48), smooth_reduction="mean"
    )
    assert mean["smooth"].item() == pytest.approx(terms["smooth"].item() / 2, rel=1e-5)


def test_tv_sums_over_all_ten_offset_fields():
    offsets = [torch.zeros(2, 2, 2, 2) for _ in range(10)]
    offsets[0][:, :, 1] = 1.0  # vertical steps of 1 in half the positions
    offsets[9][:, 0, :, 1] = 2.0
    terms = warping_terms(_output(offsets=offsets), torch.zeros(2, 3, 64, 48), torch.zeros(2, 1, 64, 48))
    assert terms["tv"].item() == pytest.approx(1.0 + 2.0 / 2)


def test_weighted_sum_applies_the_pfafn_warping_weights():
    assert WARP_WEIGHTS == {"l1": 1.0, "vgg": 0.2, "mask": 2.0, "smooth": 6.0, "tv": 0.01}
    terms = {name: torch.tensor(float(i + 1)) for i, name in enumerate(("l1", "vgg", "mask", "smooth", "tv"))}
    assert weighted_sum(terms, WARP_WEIGHTS).item() == pytest.approx(1 + 0.4 + 6 + 24 + 0.05)
    with pytest.raises(ValueError, match=r"no term for weights \['tv'\]"):
        weighted_sum({k: v for k, v in terms.items() if k != "tv"}, WARP_WEIGHTS)
    assert E2E_WARP_WEIGHT == {"parser_based": 0.5, "parser_free": 0.25}


def test_warping_terms_train_a_real_afwm():
    torch.manual_seed(0)
    net = build_pf_afwm({"width": "tiny"})
    out = net(torch.rand(2, 3, 64, 48) * 2 - 1, torch.ones(2, 1, 64, 48), torch.rand(2, 3, 64, 48))
    terms = warping_terms(out, torch.rand(2, 3, 64, 48) * 2 - 1, (torch.rand(2, 1, 64, 48) > 0.5).float())
    weighted_sum(terms, WARP_WEIGHTS).backward()
    assert net.flow.refine_heads[-1][-1].weight.grad.abs().sum() > 0


def test_feature_distillation_weights_levels_5_minus_k_times_0_04():
    assert FEATURE_KD_WEIGHTS == pytest.approx((0.2, 0.16, 0.12, 0.08, 0.04))
    gaps = (1.0, 2.0, 3.0, 4.0, 5.0)
    teacher = [torch.zeros(2, 8, 2**k, 2**k) for k in range(5)]
    student = [torch.full_like(t, g**0.5) for t, g in zip(teacher, gaps)]  # squared error g per element
    loss = feature_distillation(student, teacher, torch.ones(2))
    assert loss.item() == pytest.approx(sum((5 - k) * 0.04 * g for k, g in enumerate(gaps)))


def test_feature_distillation_is_a_mean_over_gated_samples_with_the_teacher_detached():
    teacher = [torch.zeros(2, 4, 3, 3, requires_grad=True) for _ in range(5)]
    student = [torch.zeros(2, 4, 3, 3) for _ in range(5)]
    for s in student:
        s[0] = 1.0  # sample 0: squared error 1
        s[1] = 10.0  # sample 1: squared error 100
    student = [s.requires_grad_() for s in student]
    loss = feature_distillation(student, teacher, torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(sum(FEATURE_KD_WEIGHTS) * 1.0)  # sample 1 ignored, mean over one sample
    loss.backward()
    assert all(t.grad is None for t in teacher)
    assert all((s.grad[1] == 0).all() and (s.grad[0] != 0).all() for s in student)


def test_flow_distillation_reads_the_three_finest_levels_weighted_k_plus_one():
    teacher = [identity_grid(2, *s) for s in SIZES]
    student = [g.clone() for g in teacher]
    student[0] += 5.0
    student[1] -= 3.0  # the two coarsest levels are not distilled
    assert flow_distillation(student, teacher, torch.ones(2)).item() == 0.0
    shift = torch.tensor([0.3, 0.4])  # per-pixel L2 norm 0.5
    for k in (2, 3, 4):
        moved = [g.clone() for g in student]
        moved[k] = moved[k] + shift
        assert flow_distillation(moved, teacher, torch.ones(2)).item() == pytest.approx((k + 1) * 0.5, rel=1e-5)
    moved = [g + shift for g in teacher]
    assert flow_distillation(moved, teacher, torch.ones(2), levels=5).item() == pytest.approx(15 * 0.5, rel=1e-5)


def test_flow_distillation_gate_and_gradients():
    teacher = [identity_grid(2, *s) for s in SIZES]
    student = [g.clone().requires_grad_() for g in teacher]  # equal: the norm's gradient must stay finite
    flow_distillation(student, teacher, torch.ones(2)).backward()
    assert student[0].grad is None and student[1].grad is None  # the coarsest two take no part
    assert all(torch.isfinite(s.grad).all() for s in student[2:])
    student = [(g + torch.tensor([0.0, 0.1]) * i).requires_grad_() for i, g in enumerate(teacher)]
    loss = flow_distillation(student, teacher, torch.tensor([0.0, 1.0]))
    loss.backward()
    assert all((s.grad[0] == 0).all() and (s.grad[1] != 0).any() for s in student[2:])


def test_gate_lets_through_only_samples_whose_teacher_is_strictly_better():
    target = torch.zeros(3, 3, 4, 4)
    teacher = torch.stack([torch.full((3, 4, 4), v) for v in (0.1, 0.5, 0.3)])
    student = torch.stack([torch.full((3, 4, 4), v) for v in (0.4, 0.2, 0.3)])
    gate = distillation_gate(teacher, student.requires_grad_(), target)
    assert gate.tolist() == [1.0, 0.0, 0.0]  # better, worse, tie
    assert not gate.requires_grad
    assert distillation_gate(teacher, student, target, adjustable=False).tolist() == [1.0, 1.0, 1.0]


def test_a_sample_whose_teacher_is_worse_gets_no_distillation():
    target = torch.zeros(2, 3, 4, 4)
    teacher_warped = torch.stack([torch.full((3, 4, 4), 0.1), torch.full((3, 4, 4), 0.9)])
    student_warped = torch.full((2, 3, 4, 4), 0.5)
    gate = distillation_gate(teacher_warped, student_warped, target)
    teacher = [torch.zeros(2, 4, 2, 2) for _ in range(5)]
    student = [torch.ones(2, 4, 2, 2, requires_grad=True) for _ in range(5)]
    feature_distillation(student, teacher, gate).backward()
    assert all((s.grad[1] == 0).all() and (s.grad[0] != 0).all() for s in student)
    # Not adjustable: both samples are distilled.
    student = [torch.ones(2, 4, 2, 2, requires_grad=True) for _ in range(5)]
    feature_distillation(student, teacher, distillation_gate(teacher_warped, student_warped, target, False)).backward()
    assert all((s.grad != 0).all() for s in student)


def test_gated_mean_is_zero_when_no_sample_passes():
    assert gated_mean(torch.tensor([3.0, 4.0]), torch.zeros(2)).item() == 0.0
    assert gated_mean(torch.tensor([3.0, 4.0]), torch.ones(2)).item() == 3.5
    with pytest.raises(ValueError, match="must be"):
        gated_mean(torch.ones(2, 1), torch.ones(2, 1))


def test_generator_terms_and_weights():
    assert GENERATOR_WEIGHTS == {"l1": 5.0, "vgg": 1.0, "rendered_l1": 5.0, "rendered_vgg": 1.0, "mask": 1.0}
    real = torch.rand(2, 3, 8, 6) * 2 - 1
    rendered = real + 0.25
    mask = torch.full((2, 1, 8, 6), 0.75)
    terms = generator_terms(TryOn(real.clone(), rendered, mask), real)
    assert terms["l1"].item() == 0.0
    assert terms["rendered_l1"].item() == pytest.approx(0.25)
    assert terms["mask"].item() == pytest.approx(0.25)
    assert terms["vgg"].item() == terms["rendered_vgg"].item() == 0.0
    terms = generator_terms(TryOn(real.clone(), rendered, mask), real, vgg=lambda p, t: (p - t).abs().max())
    assert terms["rendered_vgg"].item() == pytest.approx(0.25)


def test_vgg_runs_only_for_the_terms_that_are_weighted():
    real, calls = torch.rand(2, 3, 8, 6) * 2 - 1, []

    def vgg(pred, target):
        calls.append(pred)
        return (pred - target).abs().max()

    result = TryOn(real.clone(), real + 0.25, torch.full((2, 1, 8, 6), 0.75))
    weights = {"l1": 5.0, "vgg": 1.0, "rendered_l1": 5.0, "rendered_vgg": 0.0, "mask": 1.0}
    terms = generator_terms(result, real, vgg, weights)
    assert len(calls) == 1 and calls[0] is result.image and terms["rendered_vgg"].item() == 0.0
    everything = generator_terms(result, real, vgg)
    assert len(calls) == 3 and everything["rendered_vgg"].item() == pytest.approx(0.25)
    assert weighted_sum(terms, weights) == weighted_sum(everything, weights)  # the loss is the same
    skin = torch.ones(2, 1, 8, 6)
    assert skin_terms(result.rendered, real, skin, vgg, {"skin_l1": 30.0, "skin_vgg": 0.0})["skin_vgg"].item() == 0
    assert len(calls) == 3
    assert skin_terms(result.rendered, real, skin, vgg, SKIN_WEIGHTS)["skin_vgg"].item() == pytest.approx(0.25)


def test_skin_terms_only_see_the_skin_the_fake_image_exposes():
    tutor_mask = torch.zeros(1, 1, 4, 4)
    tutor_mask[..., :2, :] = 1
    garment_mask = torch.zeros(1, 1, 4, 4)
    garment_mask[..., :, :2] = 1
    skin = skin_mask(tutor_mask, garment_mask)
    assert skin[0, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    real = torch.zeros(1, 3, 4, 4)
    rendered = torch.ones(1, 3, 4, 4)
    rendered[..., :2, 2:] = 0  # right on the skin, wrong elsewhere
    assert skin_terms(rendered, real, skin)["skin_l1"].item() == 0.0
    rendered[..., 0, 3] = 1
    assert skin_terms(rendered, real, skin)["skin_l1"].item() == pytest.approx(3 / 48)


def test_skin_weights_switch_at_niter():
    assert SKIN_WEIGHTS == {"skin_l1": 30.0, "skin_vgg": 2.0}
    assert SKIN_WEIGHTS_AFTER_NITER == {"skin_l1": 60.0, "skin_vgg": 4.0}
    assert skin_weights(0, 3) == skin_weights(2, 3) == SKIN_WEIGHTS
    assert skin_weights(3, 3) == skin_weights(9, 3) == SKIN_WEIGHTS_AFTER_NITER


def test_losses_refuse_mismatched_inputs():
    out = _output()
    with pytest.raises(ValueError, match="warping_terms"):
        warping_terms(out, torch.zeros(2, 3, 32, 24), torch.zeros(2, 1, 32, 24))
    with pytest.raises(ValueError, match="distillation_gate"):
        distillation_gate(torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 4, 4), torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="levels=4 do not fit"):
        flow_distillation(out.grids[:3], out.grids[:3], torch.ones(2), levels=4)
    with pytest.raises(ValueError, match="level 0"):
        feature_distillation([torch.zeros(2, 1)] * 5, [torch.zeros(2, 2)] * 5, torch.ones(2))
