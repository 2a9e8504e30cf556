"""U-2-Net backbone (docs/methods/distilled-transfer.md, "U-2-Net") and the complexity counters: sizes, shapes at any
resolution, gradients."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.models.u2net import FEATURE_LAYERS, RSU, RSU4F, U2Net

FULL_CHANNELS = {"hx6": 512, "hx5d": 512, "hx4d": 256, "hx3d": 128, "hx2d": 64, "hx1d": 64}
STRIDES = {"hx6": 32, "hx5d": 16, "hx4d": 8, "hx3d": 4, "hx2d": 2, "hx1d": 1}


def _ceil_div(size: int, stride: int) -> int:
    for _ in range(int(math.log2(stride))):  # repeated ceil-mode halving
        size = math.ceil(size / 2)
    return size


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(0)
    return U2Net(8, 7, width="small")


@pytest.mark.parametrize(
    "in_ch, out_ch, width, expected",
    [
        (8, 7, "full", 44.10e6),  # paper Table 2 (S_P)
        (3, 1, "full", 44.0e6),  # official U2NET
        (3, 1, "small", 1.13e6),  # official U2NETP
    ],
)
def test_parameter_count_matches_reference(in_ch, out_ch, width, expected):
    n = count_parameters(U2Net(in_ch, out_ch, width=width))
    assert abs(n - expected) / expected < 0.01, format_count(n)


def test_trainable_only_skips_frozen_parameters():
    net = U2Net(3, 1, width="small")
    net.encoder.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == count_parameters(net) - count_parameters(net.encoder)


@pytest.mark.parametrize("width", ["full", "small"])
@pytest.mark.parametrize("size", [(64, 48), (50, 37)])
def test_features_sides_and_logits_have_documented_shapes(width, size):
    torch.manual_seed(0)
    net = U2Net(8, 7, width=width).eval()
    h, w = size
    with torch.no_grad():
        out = net(torch.randn(2, 8, h, w), return_features=True)
    assert out.logits.shape == (2, 7, h, w)
    assert len(out.side_logits) == 6 and all(s.shape == (2, 7, h, w) for s in out.side_logits)
    assert tuple(out.features) == FEATURE_LAYERS
    for name, feat in out.features.items():
        channels = FULL_CHANNELS[name] if width == "full" else 64
        assert feat.shape == (2, channels, _ceil_div(h, STRIDES[name]), _ceil_div(w, STRIDES[name])), name


def test_side_logits_are_ordered_from_hx1d_to_hx6(small_net):
    small_net.eval()
    with torch.no_grad():
        out = small_net(torch.randn(1, 8, 64, 48), return_features=True)
        d6 = small_net.sides[5](out.features["hx6"])
        d6 = nn.functional.interpolate(d6, size=(64, 48), mode="bilinear", align_corners=False)
        d1 = small_net.sides[0](out.features["hx1d"])
    torch.testing.assert_close(out.side_logits[5], d6)
    torch.testing.assert_close(out.side_logits[0], d1)


def test_features_are_none_unless_requested(small_net):
    with torch.no_grad():
        assert small_net.eval()(torch.randn(1, 8, 64, 48)).features is None


def test_gradients_reach_the_input(small_net):
    small_net.train()
    x = torch.randn(2, 8, 64, 48, requires_grad=True)
    out = small_net(x, return_features=True)
    (out.logits.sum() + sum(s.sum() for s in out.side_logits)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in small_net.parameters())


@pytest.mark.parametrize("shape", [(1, 3, 64, 48), (8, 64, 48), (1, 8, 64, 48, 1)])
def test_wrong_input_shape_names_the_tensor(small_net, shape):
    with pytest.raises(ValueError, match=r"x must be \(B, 8, H, W\)"):
        small_net(torch.zeros(shape))


def test_unknown_width_is_rejected():
    with pytest.raises(ValueError, match="width"):
        U2Net(8, 7, width="medium")


@pytest.mark.parametrize("block", [RSU(7, 5, 4, 6), RSU(4, 5, 4, 6), RSU4F(5, 4, 6)])
def test_rsu_blocks_keep_size_at_odd_resolutions(block):
    with torch.no_grad():
        assert block.eval()(torch.randn(1, 5, 23, 17)).shape == (1, 6, 23, 17)


def test_rsu4f_uses_dilations_instead_of_pooling():
    block = RSU4F(5, 4, 6)
    dilations = [m.dilation[0] for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert dilations == [1, 1, 2, 4, 8, 4, 2, 1]


def test_count_macs_of_a_conv_is_analytic():
    conv = nn.Conv2d(6, 10, kernel_size=(3, 5), stride=2, padding=1, groups=2)
    macs = count_macs(conv, (torch.zeros(2, 6, 20, 16),))
    out_h, out_w = (20 + 2 - 3) // 2 + 1, (16 + 2 - 5) // 2 + 1
    assert macs == 2 * 10 * out_h * out_w * (6 // 2) * 3 * 5


def test_count_macs_covers_linear_and_transposed_conv():
    net = nn.Sequential(nn.ConvTranspose2d(4, 3, 2, stride=2), nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
    assert count_macs(net, (torch.zeros(1, 4, 4, 4),)) == 4 * 4 * 4 * 3 * 2 * 2 + 3 * 8 * 8 * 5


def test_count_macs_scales_with_area_and_restores_state(small_net):
    small_net.train()
    small = count_macs(small_net, (torch.zeros(1, 8, 64, 48),))
    large = count_macs(small_net, (torch.zeros(1, 8, 128, 96),), return_features=True)
    assert small > 0 and abs(large / small - 4) < 0.4
    assert small_net.training
    assert not any(m._forward_hooks for m in small_net.modules())


def test_format_count():
    assert format_count(44_096_023) == "44.10 M"
    assert format_count(28.62e9) == "28.62 G"
    assert format_count(512) == "512"
