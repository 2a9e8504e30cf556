"""The pieces several methods share: the coarse-to-fine flow driver and its heads, the generator's options, the global
correlation and the try-on composition."""

from __future__ import annotations

import pytest
import torch

from garment_transfer.geometry import global_correlation, identity_grid, offsets_to_grid, upsample_grid, warp
from garment_transfer.models.afwm import AFWM
from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.flow import FlowConventions, FlowOutput, coarse_to_fine, flow_head
from garment_transfer.models.resunet import ResUnetGenerator
from garment_transfer.models.tryon import tryon


def test_flow_head_starts_at_zero_motion_and_has_the_widths_asked():
    head = flow_head(49, (8, 4))
    convs = [m for m in head if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(49, 8), (8, 4), (4, 2)]
    assert torch.count_nonzero(head(torch.randn(2, 49, 5, 4))) == 0
    assert torch.count_nonzero(flow_head(49, (8,), zero_init=False)(torch.randn(2, 49, 5, 4))) > 0


def test_coarse_to_fine_runs_the_steps_in_order_and_composes_their_offsets():
    torch.manual_seed(0)
    sizes = [(2, 2), (4, 3), (8, 6)]
    g = [torch.randn(1, 4, *s) for s in sizes]
    garment, mask = torch.rand(1, 3, 16, 12), torch.ones(1, 1, 16, 12)
    calls, shift = [], 0.5

    def step(name):
        def run(gk, pk, grid):
            calls.append((name, tuple(gk.shape[-2:]), grid is None))
            out = torch.zeros(1, 2, *gk.shape[-2:])
            out[:, 0] = shift
            return out

        return run

    out = coarse_to_fine([(step("a"), step("b")) for _ in sizes], g, g, garment, mask)
    assert calls == [
        ("a", (2, 2), True),
        ("b", (2, 2), False),
        ("a", (4, 3), False),
        ("b", (4, 3), False),
        ("a", (8, 6), False),
        ("b", (8, 6), False),
    ]
    assert [tuple(x.shape[1:3]) for x in out.grids] == [(4, 3), (8, 6), (16, 12)]
    assert len(out.offsets) == 6 and out.grid is out.grids[-1] and out.warped_garment is out.warped_garments[-1]
    expected = None  # the same composition written out: each step's grid composed onto the last, then upsampled
    for size, nxt in zip(sizes, [(4, 3), (8, 6), (16, 12)]):
        for _ in range(2):
            offsets = torch.zeros(1, 2, *size)
            offsets[:, 0] = shift
            step_grid = offsets_to_grid(offsets)
            expected = step_grid if expected is None else FlowConventions().compose(expected, step_grid)
        expected = upsample_grid(expected, nxt)
    torch.testing.assert_close(out.grid, expected)
    torch.testing.assert_close(out.warped_garment, warp(garment, expected, "image"))


def test_coarse_to_fine_with_no_motion_is_the_identity_and_pfafn_conventions_are_not():
    sizes = [(2, 2), (4, 3)]
    g = [torch.randn(1, 4, *s) for s in sizes]
    garment, mask = torch.rand(1, 3, 8, 6), torch.ones(1, 1, 8, 6)
    still = [(lambda gk, pk, grid: torch.zeros(1, 2, *gk.shape[-2:]),) for _ in sizes]
    ours = coarse_to_fine(still, g, g, garment, mask)
    torch.testing.assert_close(ours.grid, identity_grid(1, 8, 6))
    pfafn = coarse_to_fine(still, g, g, garment, mask, FlowConventions("pfafn"))
    assert not torch.allclose(pfafn.grid, identity_grid(1, 8, 6))
    with pytest.raises(ValueError, match="flow_convention must be one of"):
        FlowConventions("other")
    with pytest.raises(ValueError, match="levels of steps"):
        coarse_to_fine(still[:1], g, g, garment, mask)


def test_flow_output_takes_the_fields_a_network_does_not_compute_as_none():
    x = torch.zeros(1)
    out = FlowOutput(x, x, x, [x], [x])
    assert out.warped_garments is None and out.person_features is None and out.theta is None and out.extras is None


def test_afwm_garment_encoder_reads_a_condition_when_built_for_more_channels():
    garment, mask, person = torch.rand(2, 3, 64, 48), torch.ones(2, 1, 64, 48), torch.rand(2, 3, 64, 48)
    wide = AFWM(3, "tiny", garment_channels=4)
    assert wide.garment_pyramid.in_channels == 4
    assert count_parameters(wide) > count_parameters(AFWM(3, "tiny"))
    out = wide(garment, mask, person, garment_condition=torch.rand(2, 1, 64, 48))
    assert out.warped_garment.shape == (2, 3, 64, 48) and len(out.person_features) == 5
    with pytest.raises(ValueError, match=r"garment_condition must be \(B, 1, H, W\)"):
        wide(garment, mask, person)
    with pytest.raises(ValueError, match="reads 3 channels"):
        AFWM(3, "tiny")(garment, mask, person, garment_condition=torch.rand(2, 1, 64, 48))


def test_generator_instance_norm_replaces_every_batch_norm():
    net = ResUnetGenerator(7, 4, 4, 8, norm="instance")
    kinds = {type(m).__name__ for m in net.modules()}
    assert "BatchNorm2d" not in kinds and "InstanceNorm2d" in kinds
    assert net(torch.randn(2, 7, 32, 32)).shape == (2, 4, 32, 32)
    with pytest.raises(ValueError, match="norm must be one of"):
        ResUnetGenerator(7, 4, norm="group")


def test_generator_second_encoder_feeds_every_skip_through_the_transform():
    torch.manual_seed(0)
    net = ResUnetGenerator(3, 3, 4, 8, second_channels=5).eval()
    x, second = torch.randn(1, 3, 32, 32), torch.randn(1, 5, 32, 32)
    seen = []

    def record(feature):
        seen.append(tuple(feature.shape))
        return feature

    out = net(x, second, skip_transform=record)
    assert out.shape == (1, 3, 32, 32)
    # what the decoder reads of the second encoder: its three inner skips and its bottleneck (the raw input is no skip)
    assert seen == [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2)]
    zeroed = net(x, second, skip_transform=torch.zeros_like)
    assert not torch.allclose(out, zeroed)
    torch.testing.assert_close(zeroed, net(x, torch.randn(1, 5, 32, 32), skip_transform=torch.zeros_like))
    with pytest.raises(ValueError, match="second input exactly when"):
        net(x)
    with pytest.raises(ValueError, match="second input exactly when"):
        ResUnetGenerator(3, 3, 4, 8)(x, second)


def test_generator_defaults_keep_the_published_parameter_count():
    assert count_parameters(ResUnetGenerator(7, 3, 5, 64)) == 43_898_816


def test_global_correlation_equals_a_naive_loop():
    torch.manual_seed(0)
    f1, f2 = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    cost = global_correlation(f1, f2)
    assert cost.shape == (2, 20, 4, 5)
    naive = torch.zeros(2, 20, 4, 5)
    for b in range(2):
        for y in range(4):
            for x in range(5):
                for y2 in range(4):
                    for x2 in range(5):
                        naive[b, y2 * 5 + x2, y, x] = (f1[b, :, y, x] * f2[b, :, y2, x2]).sum()
    torch.testing.assert_close(cost, naive)


def test_global_correlation_passes_gradcheck():
    f1 = torch.randn(1, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    f2 = torch.randn(1, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(global_correlation, (f1, f2))
    with pytest.raises(ValueError, match="f2 must be"):
        global_correlation(f1, f2[:, :1])


def test_tryon_keeps_the_warped_garment_where_the_mask_says():
    out = torch.zeros(1, 4, 2, 2)
    out[:, 3] = 50.0  # sigmoid 1
    warped, mask = torch.full((1, 3, 2, 2), 0.5), torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    result = tryon(out, warped, mask)
    torch.testing.assert_close(result.image, warped * mask)  # rendered tanh(0) = 0 elsewhere
    region = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    torch.testing.assert_close(tryon(out, warped, mask, region).mask, mask * region)
    with pytest.raises(ValueError, match="generator_output must be"):
        tryon(out[:, :3], warped, mask)
