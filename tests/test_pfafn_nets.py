"""PF-AFN's networks (docs/methods/pfafn.md): exact parameter counts of the official classes, AFWM shapes and flow
conventions, identity at initialisation, the correlation-fed heads, input adapters, try-on composition, the student's
partial initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from garment_transfer.data.keypoints import BODY_25_TO_COCO_18, heatmaps
from garment_transfer.data.label_maps import BACKGROUND, FACE, HAIR, LOWER_GARMENT, THIGH, UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.samples import PersonSample
from garment_transfer.geometry import compose, identity_grid, upsample_grid
from garment_transfer.models.afwm import AFWM
from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.flow import compose_sampled, upsample_absolute
from garment_transfer.models.pfafn.networks import (
    PB_PERSON_CHANNELS,
    PF_OWN_PREFIXES,
    PFAFNTryOn,
    build_pb_afwm,
    build_pb_tryon,
    build_pf_afwm,
    build_pf_tryon,
    build_pfafn_generator,
    densepose_parts,
    dress,
    init_pf_from_pb,
    keypoint_heatmaps,
    pb_context,
    pb_generator_input,
    pb_person,
    pb_person_representation,
    pf_generator_input,
    pf_own_parameters,
    preserve_masks,
)
from garment_transfer.models.pyramid import FeaturePyramid
from garment_transfer.models.tryon import tryon


def _inputs(batch: int, h: int, w: int, person_channels: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    garment = torch.rand(batch, 3, h, w, generator=gen) * 2 - 1
    mask = (torch.rand(batch, 1, h, w, generator=gen) > 0.3).float()
    person = torch.rand(batch, person_channels, h, w, generator=gen) * 2 - 1
    return garment, mask, person


def _perturb_heads(net: AFWM, std: float = 0.05) -> None:
    """Give the zero-initialised last convs small weights so the flow is not the identity."""
    with torch.no_grad():
        for head in [*net.flow.main_heads, *net.flow.refine_heads]:
            head[-1].weight.normal_(0, std)


def _ceil_sizes(h: int, w: int, levels: int = 5) -> list[tuple[int, int]]:
    sizes = []
    for _ in range(levels):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes.append((h, w))
    return sizes  # fine -> coarse


def test_parameter_counts_equal_pfafns_official_classes():
    pb, pf = build_pb_afwm({"width": "full"}), build_pf_afwm({"width": "full"})
    assert count_parameters(pb) == 29_328_692
    assert count_parameters(pf) == 29_304_416
    assert count_parameters(build_pfafn_generator({"variant": "parser_based"})) == 43_900_544
    assert count_parameters(build_pfafn_generator({"variant": "parser_free"})) == 43_899_968
    # The official classes' split (docs/methods/pfafn.md, "Networks"): encoders 9.40 M (45 in) / 9.37 M (3 in), FPNs
    # 3.20 M each, AFlowNet 4.16 M.
    parts = [
        count_parameters(m) for m in (pb.person_pyramid, pb.garment_pyramid, pb.person_fpn, pb.garment_fpn, pb.flow)
    ]
    assert parts == [9_398_554, 9_374_278, 3_197_440, 3_197_440, 4_160_980]
    assert count_parameters(pf.person_pyramid) == count_parameters(pf.garment_pyramid) == 9_374_278


def test_level0_preactivation_is_an_argument_whose_default_keeps_the_plain_conv():
    plain, pre = FeaturePyramid(5, (8, 8)), FeaturePyramid(5, (8, 8), preactivate_input=True)
    assert isinstance(plain.levels[0][0], torch.nn.Conv2d)  # today's behaviour, state-dict keys unchanged
    assert count_parameters(pre) - count_parameters(plain) == 2 * 5  # BatchNorm on the raw input
    # In eval mode the fresh BatchNorm is the identity, so the ReLU on the raw input drops negative values.
    x = torch.randn(1, 5, 16, 12)
    plain.eval(), pre.eval()
    assert torch.equal(pre(x)[-1], pre(x.clamp(min=0))[-1])
    assert not torch.equal(plain(x)[-1], plain(x.clamp(min=0))[-1])


@pytest.mark.parametrize(
    ("variant", "builder", "person_channels"), [("pb", build_pb_afwm, PB_PERSON_CHANNELS), ("pf", build_pf_afwm, 3)]
)
@pytest.mark.parametrize("size", [(64, 48), (256, 192)])
def test_afwm_outputs_have_documented_shapes(variant, builder, person_channels, size):
    torch.manual_seed(0)
    net = builder({"width": "tiny"})
    assert net.person_channels == person_channels
    out = net(*_inputs(2, *size, person_channels))
    h, w = size
    fine_to_coarse = _ceil_sizes(h, w)
    grid_sizes = fine_to_coarse[-2::-1] + [(h, w)]  # H/16 .. H/2, then H
    assert out.warped_garment.shape == (2, 3, h, w) and out.warped_mask.shape == (2, 1, h, w)
    assert out.grid.shape == (2, h, w, 2) and out.grid is out.grids[-1]
    assert [tuple(g.shape) for g in out.grids] == [(2, *s, 2) for s in grid_sizes]
    assert [tuple(g.shape) for g in out.warped_garments] == [(2, 3, *s) for s in grid_sizes]
    assert [tuple(g.shape) for g in out.warped_masks] == [(2, 1, *s) for s in grid_sizes]
    feature_sizes = fine_to_coarse[::-1]  # H/32 .. H/2
    assert [tuple(f.shape) for f in out.person_features] == [(2, 64, *s) for s in feature_sizes]
    assert [tuple(o.shape) for o in out.offsets] == [(2, 2, *s) for s in feature_sizes for _ in range(2)]


def test_heads_are_correlation_fed_main_and_concatenation_fed_refine():
    net = build_pb_afwm({"width": "full"})
    assert len(net.flow.main_heads) == len(net.flow.refine_heads) == 5
    main, refine = net.flow.main_heads[0], net.flow.refine_heads[0]
    convs = [m for m in main if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(49, 128), (128, 64), (64, 32), (32, 2)]
    convs = [m for m in refine if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(512, 128), (128, 64), (64, 32), (32, 2)]
    assert all(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.1 for m in main[1:-1:2])


def test_zero_initialised_heads_give_the_identity_flow_and_the_garment_itself():
    torch.manual_seed(0)
    net = build_pf_afwm({"width": "tiny"})
    garment, mask, person = _inputs(2, 64, 48, 3)
    out = net(garment, mask, person)
    for grid in out.grids:
        torch.testing.assert_close(grid, identity_grid(2, *grid.shape[1:3]), atol=1e-6, rtol=0)
    assert all(torch.count_nonzero(o) == 0 for o in out.offsets)
    torch.testing.assert_close(out.warped_garment, garment * mask, atol=1e-4, rtol=0)  # float rounding of the grid
    torch.testing.assert_close(out.warped_mask, mask, atol=1e-4, rtol=0)


def test_pfafns_default_initialisation_is_not_the_identity():
    torch.manual_seed(0)
    net = build_pf_afwm({"width": "tiny", "zero_init_heads": False})
    out = net(*_inputs(1, 64, 48, 3))
    assert (out.grid - identity_grid(1, 64, 48)).abs().max() > 1e-3


def test_pfafn_flow_convention_upsamples_the_absolute_grid_and_composes_by_sampling():
    identity = identity_grid(1, 8, 6)
    ours, theirs = upsample_grid(identity, (16, 12)), upsample_absolute(identity, (16, 12))
    torch.testing.assert_close(ours, identity_grid(1, 16, 12))
    # align_corners=False on the absolute grid scales it about the centre by (n - 0.5) / (n - 1) (clamped at the
    # border): a zoom-out that PF-AFN's heads must undo.
    for axis, n in ((0, 6), (1, 8)):
        torch.testing.assert_close(
            theirs[0, 1:-1, 1:-1, axis], identity_grid(1, 16, 12)[0, 1:-1, 1:-1, axis] * (n - 0.5) / (n - 1)
        )
    # Inside the map, composing on displacements equals sampling the first grid.
    first = identity_grid(1, 8, 6) + 0.05 * torch.randn(1, 8, 6, 2, generator=torch.Generator().manual_seed(1))
    second = identity_grid(1, 8, 6) * 0.8
    torch.testing.assert_close(compose(first, second), compose_sampled(first, second), atol=1e-5, rtol=0)
    # Over five levels at 256 x 192 an untrained flow samples 19 % (x) and 14 % (y) farther out than the identity.
    net = build_pf_afwm({"width": "tiny", "flow_convention": "pfafn"})
    with torch.no_grad():
        grid = net(torch.zeros(1, 3, 256, 192), torch.ones(1, 1, 256, 192), torch.zeros(1, 3, 256, 192)).grid
    identity = identity_grid(1, 256, 192)
    assert (grid[0, 128, 120, 0] / identity[0, 128, 120, 0]).item() == pytest.approx(1.1938, abs=1e-3)
    assert (grid[0, 150, 96, 1] / identity[0, 150, 96, 1]).item() == pytest.approx(1.1384, abs=1e-3)


def test_correlation_flow_is_detached_only_when_asked():
    """Level 1's main head sees level 0's flow only through the correlation's warp: detached, no gradient."""
    grads = {}
    for detach in (True, False):
        torch.manual_seed(0)
        net = build_pf_afwm({"width": "tiny", "detach_correlation_flow": detach})
        _perturb_heads(net)
        out = net(*_inputs(1, 64, 48, 3))
        out.offsets[2].square().sum().backward()  # level 1's main-head offsets
        grads[detach] = net.flow.refine_heads[0][-1].weight.grad
    assert grads[True] is None or torch.count_nonzero(grads[True]) == 0
    assert torch.count_nonzero(grads[False]) > 0


def test_gradients_reach_both_branches_and_every_head():
    torch.manual_seed(0)
    net = build_pb_afwm({"width": "tiny"})
    _perturb_heads(net)
    out = net(*_inputs(2, 64, 48, PB_PERSON_CHANNELS))
    (out.warped_garment.square().mean() + out.person_features[-1].mean()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    for part in (net.garment_pyramid, net.person_pyramid, *net.flow.main_heads, *net.flow.refine_heads):
        assert any(torch.count_nonzero(p.grad) for p in part.parameters())


def test_bad_inputs_and_arguments_are_refused_clearly():
    net = build_pf_afwm({"width": "tiny"})
    garment, mask, _ = _inputs(1, 64, 48, 3)
    with pytest.raises(ValueError, match=r"person must be \(1, 3, 64, 48\)"):
        net(garment, mask, torch.zeros(1, 45, 64, 48))
    with pytest.raises(ValueError, match=r"garment must be \(B, 3, H, W\)"):
        net(torch.zeros(1, 4, 64, 48), mask, garment)
    with pytest.raises(ValueError, match="flow_convention must be one of"):
        build_pf_afwm({"width": "tiny", "flow_convention": "theirs"})
    with pytest.raises(ValueError, match="width must be one of"):
        build_pb_afwm({"width": "huge"})
    with pytest.raises(ValueError, match="variant must be one of"):
        build_pfafn_generator({"width": "tiny"})


def _parsing() -> torch.Tensor:
    parsing = torch.full((1, 6, 4), BACKGROUND)
    parsing[0, 0] = torch.tensor([HAIR, FACE, UPPER_SKIN, UPPER_GARMENT])
    parsing[0, 1] = torch.tensor([LOWER_GARMENT, THIGH, UPPER_SKIN, BACKGROUND])
    return parsing


def _parts(h: int = 6, w: int = 4) -> torch.Tensor:
    index = torch.zeros(1, h, w, dtype=torch.long)
    index[0, 0, 2] = 3  # a hand part on arm skin: a hand
    index[0, 1, 2] = 15  # upper arm on skin
    index[0, 0, 3] = 20  # lower arm under the garment
    index[0, 1, 3] = 4  # a hand part off the arm labels: not a hand
    return torch.nn.functional.one_hot(index, 25).permute(0, 3, 1, 2).float()


def test_preserve_masks_map_face_and_other_clothes_from_the_seven_classes():
    masks = preserve_masks(_parsing())
    assert masks.shape == (1, 2, 6, 4)
    assert masks[0, 0, 0].tolist() == [1, 1, 0, 0] and masks[0, 0, 1].tolist() == [0, 0, 0, 0]
    assert masks[0, 1, 0].tolist() == [0, 0, 0, 0] and masks[0, 1, 1].tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="parsing must be"):
        preserve_masks(_parsing().float())


def test_keypoint_heatmaps_are_the_data_encoders_squares_on_coco18_scaled_to_the_height():
    gen = torch.Generator().manual_seed(0)
    body25 = torch.cat([torch.rand(2, 25, 2, generator=gen) * torch.tensor([47.0, 63.0]), torch.ones(2, 25, 1)], -1)
    body25[0, 3] = torch.tensor([-1.0, -1.0, 0.0])  # missing: the readers' marker
    maps = keypoint_heatmaps(body25, (64, 48))
    assert maps.shape == (2, 18, 64, 48) and set(maps.unique().tolist()) <= {-1.0, 1.0}
    coco = body25[:, list(BODY_25_TO_COCO_18)]
    for b in range(2):  # one encoder: data.keypoints.heatmaps, radius 5 at 256 x 192 scaled to 64 (1)
        assert torch.equal(maps[b], torch.from_numpy(heatmaps(coco[b].numpy(), (64, 48), 1)))
    assert (maps[0, 3] == -1).all()  # BODY_25 point 3 (right elbow) is COCO-18 point 3
    assert torch.equal(keypoint_heatmaps(coco, (64, 48)), maps)
    centre = torch.tensor([[[100.0, 120.0, 1.0]] * 18])
    assert ((keypoint_heatmaps(centre, (256, 192)) > 0).sum((2, 3)) == 121).all()  # PF-AFN's 11 x 11 at 256 x 192
    with pytest.raises(ValueError, match="need body keypoints"):
        keypoint_heatmaps(None, (64, 48))
    with pytest.raises(ValueError, match="18 or 25"):
        keypoint_heatmaps(torch.zeros(1, 17, 3), (64, 48))


def test_densepose_parts_come_from_parts_parts_uv_and_iuv_but_not_a_rendering():
    index = torch.randint(0, 25, (2, 8, 6), generator=torch.Generator().manual_seed(0))
    parts = torch.nn.functional.one_hot(index, 25).permute(0, 3, 1, 2).float()
    uv = torch.rand(2, 2, 8, 6)
    assert torch.equal(densepose_parts(parts), parts)
    assert torch.equal(densepose_parts(torch.cat([parts, uv], 1)), parts)
    assert torch.equal(densepose_parts(torch.cat([index[:, None] / 24.0, uv], 1)), parts)
    with pytest.raises(ValueError, match="rendering"):
        densepose_parts(torch.rand(2, 3, 8, 6) * 2 - 1)
    with pytest.raises(ValueError, match="4 channels"):
        densepose_parts(torch.zeros(2, 4, 8, 6))


def _person(batch: int = 2, h: int = 64, w: int = 48, seed: int = 0) -> PersonSample:
    gen = torch.Generator().manual_seed(seed)
    parsing = torch.randint(0, 7, (batch, h, w), generator=gen)
    index = torch.randint(0, 25, (batch, h, w), generator=gen)
    points = torch.cat(
        [torch.rand(batch, 25, 2, generator=gen) * torch.tensor([w - 1.0, h - 1.0]), torch.ones(batch, 25, 1)], -1
    )
    garment_mask = (parsing == 4)[:, None].float()
    return PersonSample(
        image=torch.rand(batch, 3, h, w, generator=gen) * 2 - 1,
        parsing=parsing,
        densepose=torch.cat([index[:, None] / 24.0, torch.rand(batch, 2, h, w, generator=gen)], 1),
        cloth=torch.rand(batch, 3, h, w, generator=gen) * 2 - 1,
        cloth_mask=torch.ones(batch, 1, h, w),
        garment_mask=garment_mask,
        skin_mask=(parsing == 3)[:, None].float(),
        remaining=torch.zeros(batch, 4, h, w),
        id=["a", "b"][:batch],
        keypoints=points,
    )


def test_person_adapters_build_the_parser_based_inputs_from_a_sample():
    person = _person()
    parts = densepose_parts(person.densepose)
    pose = keypoint_heatmaps(person.keypoints, (64, 48))
    torch.testing.assert_close(pb_person(person), pb_person_representation(person.parsing, parts, pose))
    warped, mask, covered = torch.rand(2, 3, 64, 48), torch.rand(2, 1, 64, 48), torch.rand(2, 1, 64, 48)
    context = pb_context(person)
    assert context.shape == (2, 4, 64, 48)
    torch.testing.assert_close(
        torch.cat([context[:, :3], warped, mask, context[:, 3:] * (1 - covered)], 1),
        pb_generator_input(person.image, person.parsing, parts, warped, mask, covered),
    )


@pytest.mark.parametrize(("builder", "variant"), [(build_pb_tryon, "parser_based"), (build_pf_tryon, "parser_free")])
def test_tryon_model_warps_then_renders_with_the_variants_generator_input(builder, variant):
    torch.manual_seed(0)
    model = builder({"width": "tiny"})
    assert isinstance(model, PFAFNTryOn) and model.variant == variant
    _perturb_heads(model.warp)
    person = _person()
    garment, garment_mask = person.cloth, (torch.rand(2, 1, 64, 48) > 0.3).float()
    model.eval()
    out = dress(model, person, garment, garment_mask)
    warp = model.warp(garment, garment_mask, model.person_input(person))
    torch.testing.assert_close(out.warp.grid, warp.grid)
    if variant == "parser_based":  # at test time the warped mask is the covered part of the arms
        inputs = pb_generator_input(
            person.image,
            person.parsing,
            densepose_parts(person.densepose),
            warp.warped_garment,
            warp.warped_mask,
            warp.warped_mask,
        )
    else:
        inputs = pf_generator_input(person.image, warp.warped_garment, warp.warped_mask)
    expected = tryon(model.generator(inputs), warp.warped_garment, warp.warped_mask)
    torch.testing.assert_close(out.tryon.image, expected.image)
    region = person.garment_mask
    torch.testing.assert_close(
        dress(model, person, garment, garment_mask, garment_region=region).tryon.mask, expected.mask * region
    )
    assert model(garment, garment_mask, model.person_input(person)).tryon is None  # the warp alone
    with pytest.raises(ValueError, match="person channels"):
        PFAFNTryOn(
            variant,
            build_pf_afwm({"width": "tiny"}) if variant == "parser_based" else build_pb_afwm({"width": "tiny"}),
            model.generator,
        )


def test_parser_based_person_representation_has_45_channels_in_order():
    parsing, parts = _parsing(), _parts()
    pose = keypoint_heatmaps(torch.tensor([[[1.5, 2.0, 1.0]] * 18]), (6, 4), radius=0)
    person = pb_person_representation(parsing, parts, pose)
    assert person.shape == (1, 45, 6, 4)
    torch.testing.assert_close(person[:, :2], preserve_masks(parsing))
    torch.testing.assert_close(person[:, 2:27], parts)
    torch.testing.assert_close(person[:, 27:], pose)
    with pytest.raises(ValueError, match=r"parts must be \(B, 25, H, W\)"):
        pb_person_representation(parsing, parts[:, :3], pose)


def test_parser_based_generator_input_keeps_face_other_clothes_and_hands_and_the_uncovered_arm():
    parsing, parts = _parsing(), _parts()
    image = torch.rand(1, 3, 6, 4) * 2 - 1
    warped, warped_mask = torch.rand(1, 3, 6, 4), torch.rand(1, 1, 6, 4)
    covered = torch.zeros(1, 1, 6, 4)
    covered[0, 0, 0, 3] = 1  # the garment covers the lower arm at (0, 3)
    x = pb_generator_input(image, parsing, parts, warped, warped_mask, covered)
    assert x.shape == (1, 8, 6, 4)
    kept = torch.zeros(6, 4)
    kept[0, :2] = kept[1, :2] = 1  # hair, face, lower garment, thigh
    kept[0, 2] = 1  # the hand on arm skin (not (1, 3): a hand part off the arm labels)
    torch.testing.assert_close(x[0, :3], image[0] * kept)
    torch.testing.assert_close(x[:, 3:6], warped)
    torch.testing.assert_close(x[:, 6:7], warped_mask)
    arms = torch.zeros(6, 4)
    arms[1, 2] = 1  # the upper arm; the covered lower arm is dropped
    torch.testing.assert_close(x[0, 7], arms)


def test_parser_free_generator_input_has_7_channels():
    person, warped, mask = torch.rand(2, 3, 8, 6), torch.rand(2, 3, 8, 6), torch.rand(2, 1, 8, 6)
    torch.testing.assert_close(pf_generator_input(person, warped, mask), torch.cat([person, warped, mask], 1))
    with pytest.raises(ValueError, match="warped_mask"):
        pf_generator_input(person, warped, mask[:1])


def test_tryon_composes_warped_and_rendered_with_the_sigmoid_mask_inside_the_warped_mask():
    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(2, 4, 8, 6, generator=gen)
    warped = torch.rand(2, 3, 8, 6, generator=gen) * 2 - 1
    warped_mask = (torch.rand(2, 1, 8, 6, generator=gen) > 0.5).float()
    result = tryon(raw, warped, warped_mask)
    m = torch.sigmoid(raw[:, 3:]) * warped_mask
    torch.testing.assert_close(result.rendered, torch.tanh(raw[:, :3]))
    torch.testing.assert_close(result.mask, m)
    torch.testing.assert_close(result.image, warped * m + torch.tanh(raw[:, :3]) * (1 - m))
    assert (result.mask[warped_mask.expand_as(result.mask) == 0] == 0).all()
    garment_mask = torch.zeros(2, 1, 8, 6)
    torch.testing.assert_close(tryon(raw, warped, warped_mask, garment_mask).image, torch.tanh(raw[:, :3]))


def test_generators_output_four_channels_at_64_by_48():
    for variant, channels in (("parser_based", 8), ("parser_free", 7)):
        net = build_pfafn_generator({"variant": variant, "width": "tiny"})
        assert net(torch.zeros(1, channels, 64, 48)).shape == (1, 4, 64, 48)


def test_student_copies_all_but_person_branch_and_refine_heads_and_trains_those_first():
    torch.manual_seed(0)
    teacher, student = build_pb_afwm({"width": "tiny"}), build_pf_afwm({"width": "tiny"})
    _perturb_heads(teacher)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    copied = init_pf_from_pb(student, teacher)
    state, source = student.state_dict(), teacher.state_dict()
    assert copied and not any(k.startswith(PF_OWN_PREFIXES) for k in copied)
    assert any(k.startswith("flow.main_heads.") for k in copied) and any(k.startswith("garment_") for k in copied)
    for key, value in state.items():
        expected = source[key] if key in copied else before[key]
        assert torch.equal(value, expected), key
    assert set(copied) | {k for k in state if k.startswith(PF_OWN_PREFIXES)} == set(state)
    own = {id(p) for p in pf_own_parameters(student)}
    modules = (student.person_pyramid, student.person_fpn, student.flow.refine_heads)
    assert own == {id(p) for m in modules for p in m.parameters()}
    with pytest.raises(ValueError, match="widths differ"):
        init_pf_from_pb(student, build_pb_afwm({"width": "full"}))
