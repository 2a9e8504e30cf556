"""Try-on warping teacher T_W (arXiv 2401.12433, Sec. 3.3.1): pyramid / FPN shapes, identity at initialisation,
gradients, resolution independence, input validation, size."""

from __future__ import annotations

import math

import pytest
import torch

from garment_transfer.geometry import identity_grid
from garment_transfer.models.complexity import count_parameters, format_count
from garment_transfer.models.distilled_transfer.flow_teacher import FlowTeacher, ModulatedConv2d
from garment_transfer.models.pyramid import FPN, FeaturePyramid

PERSON = 7 + 3  # parsing one-hot + DensePose IUV


def _level_sizes(h: int, w: int, levels: int = 5) -> list[tuple[int, int]]:
    sizes = []
    for _ in range(levels):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes.append((h, w))
    return sizes  # fine -> coarse


def _inputs(batch: int, h: int, w: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    garment = torch.rand(batch, 3, h, w, generator=gen) * 2 - 1
    mask = (torch.rand(batch, 1, h, w, generator=gen) > 0.3).float()
    person = torch.rand(batch, PERSON, h, w, generator=gen)
    return garment, mask, person


@pytest.fixture()
def tiny_teacher():
    torch.manual_seed(0)
    return FlowTeacher(PERSON, width="tiny")


def _perturb_heads(net: FlowTeacher, std: float = 0.05) -> None:
    """Give the zero-initialised offset convs small weights so the flow is not the identity."""
    with torch.no_grad():
        for head in [*net.refine_heads, *(h.out for h in net.style_heads)]:
            last = head[-1] if isinstance(head, torch.nn.Sequential) else head
            last.weight.normal_(0, std)


@pytest.mark.parametrize("size", [(64, 48), (50, 38)])
def test_pyramid_and_fpn_levels_are_fine_to_coarse_with_ceil_sizes(size):
    pyramid, fpn = FeaturePyramid(4, (16, 32, 64, 64, 64)), FPN((16, 32, 64, 64, 64), 64)
    feats = pyramid(torch.randn(2, 4, *size))
    fused = fpn(feats)
    sizes = _level_sizes(*size)
    assert [tuple(f.shape) for f in feats] == [(2, c, *s) for c, s in zip((16, 32, 64, 64, 64), sizes)]
    assert [tuple(f.shape) for f in fused] == [(2, 64, *s) for s in sizes]


@pytest.mark.parametrize("size", [(64, 48), (50, 38)])
def test_teacher_outputs_have_documented_shapes(tiny_teacher, size):
    h, w = size
    with torch.no_grad():
        out = tiny_teacher.eval()(*_inputs(2, h, w))
    assert out.warped_garment.shape == (2, 3, h, w) and out.warped_mask.shape == (2, 1, h, w)
    assert out.grid.shape == (2, h, w, 2) and out.grid is out.grids[-1]
    feature_sizes = _level_sizes(h, w)[::-1]  # coarse -> fine: H/32 .. H/2
    grid_sizes = feature_sizes[1:] + [(h, w)]
    assert [tuple(g.shape) for g in out.grids] == [(2, *s, 2) for s in grid_sizes]
    assert [tuple(g.shape) for g in out.warped_garments] == [(2, 3, *s) for s in grid_sizes]
    assert [tuple(m.shape) for m in out.warped_masks] == [(2, 1, *s) for s in grid_sizes]
    assert [tuple(o.shape) for o in out.offsets] == [(2, 2, *s) for s in feature_sizes for _ in range(2)]


def test_initial_flow_is_the_identity(tiny_teacher):
    garment, mask, person = _inputs(2, 64, 48)
    tiny_teacher.train()  # batch statistics must not matter either
    with torch.no_grad():
        out = tiny_teacher(garment, mask, person)
    assert all(o.abs().max() == 0 for o in out.offsets)
    for grid in out.grids:
        torch.testing.assert_close(grid, identity_grid(2, *grid.shape[1:3]), atol=1e-6, rtol=0)
    # float32 sampling at pixel centres of noise images (neighbours differ by up to 2): errors of a few 1e-5
    torch.testing.assert_close(out.warped_garment, garment * mask, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.warped_mask, mask, atol=1e-4, rtol=0)


def test_gradients_reach_every_parameter_and_the_inputs(tiny_teacher):
    # 64 x 48: every pixel of the 2 x 2 coarsest map is on the border; composition must still pass gradients
    garment, mask, person = _inputs(2, 64, 48)
    target = torch.roll(garment * mask, shifts=3, dims=-1)  # a shifted garment: the flow has to move
    person.requires_grad_(True)

    def loss_step():
        tiny_teacher.zero_grad()
        out = tiny_teacher(garment, mask, person)
        loss = sum(
            (k + 1) * (wg - target[..., : wg.shape[-2], : wg.shape[-1]]).abs().mean()
            for k, wg in enumerate(out.warped_garments)
        )
        loss.backward()

    loss_step()  # at the identity only the zero-initialised last convs receive non-zero gradients
    assert all(p.grad is not None for p in tiny_teacher.parameters())
    for head in [*(h.out for h in tiny_teacher.style_heads), *(h[-1] for h in tiny_teacher.refine_heads)]:
        assert head.weight.grad.abs().sum() > 0
    _perturb_heads(tiny_teacher)  # off the identity: now everything learns
    person.grad = None
    loss_step()
    silent = [n for n, p in tiny_teacher.named_parameters() if p.grad.abs().sum() == 0]
    assert not silent
    assert person.grad is not None and person.grad.abs().sum() > 0


def test_same_weights_run_at_two_resolutions(tiny_teacher):
    _perturb_heads(tiny_teacher)
    tiny_teacher.eval()
    with torch.no_grad():
        for h, w in [(64, 48), (96, 72)]:
            out = tiny_teacher(*_inputs(1, h, w))
            assert out.warped_garment.shape == (1, 3, h, w) and torch.isfinite(out.grid).all()
            assert out.grid.sub(identity_grid(1, h, w)).abs().max() > 1e-4  # a real, non-identity flow


def test_modulated_conv_equals_a_per_sample_demodulated_kernel():
    torch.manual_seed(0)
    conv, x, style = ModulatedConv2d(5, 4, 3, style_dim=6), torch.randn(2, 5, 7, 6), torch.randn(2, 6)
    with torch.no_grad():
        weight = conv.conv.weight[None] * conv.affine(style)[:, None, :, None, None]
        weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        expected = torch.nn.functional.conv2d(x.reshape(1, 10, 7, 6), weight.reshape(8, 5, 3, 3), padding=1, groups=2)
        torch.testing.assert_close(conv(x, style), expected.reshape(2, 4, 7, 6) + conv.bias[:, None, None])


@pytest.mark.parametrize(
    "name, shapes",
    [
        ("garment", [(2, 4, 64, 48), (2, 1, 64, 48), (2, PERSON, 64, 48)]),
        ("garment", [(3, 64, 48), (2, 1, 64, 48), (2, PERSON, 64, 48)]),
        ("garment_mask", [(2, 3, 64, 48), (2, 1, 32, 24), (2, PERSON, 64, 48)]),
        ("person", [(2, 3, 64, 48), (2, 1, 64, 48), (2, 8, 64, 48)]),
    ],
)
def test_wrong_input_shape_names_the_tensor(tiny_teacher, name, shapes):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        tiny_teacher(*(torch.zeros(s) for s in shapes))


def test_unknown_width_is_rejected():
    with pytest.raises(ValueError, match="width"):
        FlowTeacher(PERSON, width="medium")


def test_full_width_parameter_count_is_in_the_fs_vton_range():
    n = count_parameters(FlowTeacher(PERSON, width="full"))
    print(f"FlowTeacher full: {format_count(n)} parameters (FS-VTON ~33 M)")
    assert 15e6 < n < 60e6
