"""ResUNet generator of the arm regrowth stage: the paper's size (Table 2), output shapes at any size, clear errors."""

from __future__ import annotations

import pytest
import torch

from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.distilled_transfer.regrowth import build_regrowth_net
from garment_transfer.models.resunet import ResUnetGenerator


def test_paper_preset_has_the_papers_43_90_million_parameters():
    net = build_regrowth_net({"width": "full", "num_downs": 5, "pose_channels": 3, "use_pose": True})
    assert net.in_channels == 7  # skin content 3 + shape 1 + IUV 3
    assert count_parameters(net) == 43_898_816
    assert round(count_parameters(net) / 1e6, 2) == 43.90


def test_tiny_width_is_small_and_pose_can_be_left_out():
    assert count_parameters(build_regrowth_net({"width": "tiny", "pose_channels": 3})) == 2_749_424
    assert build_regrowth_net({"width": "tiny", "pose_channels": 3, "use_pose": False}).in_channels == 4
    with pytest.raises(ValueError, match="width 'huge'"):
        build_regrowth_net({"width": "huge", "pose_channels": 3})


@pytest.mark.parametrize("size", [(64, 48), (128, 96), (70, 50), (33, 45)])
def test_output_has_the_input_size_also_off_multiples_of_32(size):
    net = ResUnetGenerator(5, 3, num_downs=5, ngf=4)
    out = net(torch.randn(2, 5, *size))
    assert out.shape == (2, 3, *size) and torch.isfinite(out).all()


def test_deep_levels_see_the_whole_input():
    """A change in one corner reaches the opposite corner through the innermost level."""
    net = ResUnetGenerator(1, 1, num_downs=5, ngf=4).eval()
    x = torch.zeros(1, 1, 64, 48)
    moved = x.clone()
    moved[..., :4, :4] = 1
    assert not torch.equal(net(x)[..., -1, -1], net(moved)[..., -1, -1])


def test_bad_inputs_are_refused_clearly():
    net = ResUnetGenerator(5, 3, num_downs=5, ngf=4)
    with pytest.raises(ValueError, match=r"input must be \(B, 5, H, W\)"):
        net(torch.zeros(1, 4, 64, 48))
    with pytest.raises(ValueError, match="smaller than 2\\^num_downs = 32"):
        net(torch.zeros(1, 5, 64, 24))
    with pytest.raises(ValueError, match="num_downs must be at least 2"):
        ResUnetGenerator(5, 3, num_downs=1)
