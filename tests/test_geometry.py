"""Geometry: identity round trips, known shifts, composition, padding, gradcheck in float64, correlation, TPS."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
from torch.autograd import gradcheck

from garment_transfer.geometry import (
    affine_grid,
    compose,
    correlation,
    denormalise_points,
    grid_to_offsets,
    identity_grid,
    identity_theta,
    normalise_points,
    offsets_to_grid,
    tps_grid,
    upsample_grid,
    warp,
)
from garment_transfer.geometry.correlation import correlation_reference

CORRELATION = importlib.import_module("garment_transfer.geometry.correlation")  # the package exports the function
F64 = torch.float64


def _smooth_image(height: int, width: int, channels: int = 3) -> torch.Tensor:
    """(1, C, H, W) smooth pattern on the normalised frame, float64."""
    grid = identity_grid(1, height, width, dtype=F64)
    x, y = grid[..., 0], grid[..., 1]
    maps = [torch.sin(1.3 * x + 0.5 * c) * torch.cos(1.1 * y - 0.3 * c) for c in range(channels)]
    return torch.stack(maps, dim=1)


def _smooth_grid(height: int, width: int, amplitude: float, phase: float) -> torch.Tensor:
    """Identity plus a small smooth normalised displacement, (1, H, W, 2) float64."""
    grid = identity_grid(1, height, width, dtype=F64)
    x, y = grid[..., 0], grid[..., 1]
    dx = amplitude * torch.sin(math.pi * y + phase)
    dy = amplitude * torch.cos(math.pi * x - phase)
    return grid + torch.stack([dx, dy], dim=-1)


def _interior(t: torch.Tensor, margin: int) -> torch.Tensor:
    """Crop ``margin`` pixels from the spatial border of a (B, H, W, 2) grid."""
    return t[:, margin:-margin, margin:-margin]


# --- grids, offsets, warping -----------------------------------------------------------------------------------------


def test_identity_grid_matches_pixel_centres_with_align_corners_true():
    grid = identity_grid(2, 5, 4, dtype=F64)
    assert grid.shape == (2, 5, 4, 2)
    assert torch.allclose(grid[0, 0, 0], torch.tensor([-1.0, -1.0], dtype=F64))
    assert torch.allclose(grid[0, -1, -1], torch.tensor([1.0, 1.0], dtype=F64))
    assert torch.allclose(grid[0, 2, 1], torch.tensor([2 * 1 / 3 - 1, 0.0], dtype=F64))  # (x, y) order


@pytest.mark.parametrize("kind", ["image", "feature", "mask"])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_warp_by_identity_grid_is_identity(kind, dtype):
    x = torch.rand(2, 3, 7, 5, dtype=dtype)
    out = warp(x, identity_grid(2, 7, 5, dtype=dtype), kind=kind)
    assert out.dtype == dtype
    assert torch.allclose(out, x, atol=1e-6, rtol=0)


def test_positive_x_offsets_read_the_source_k_pixels_to_the_right():
    height, width, k = 9, 12, 3
    delta = torch.zeros(1, 1, height, width, dtype=F64)
    delta[0, 0, 4, 8] = 1.0
    offsets = torch.zeros(1, 2, height, width, dtype=F64)
    offsets[:, 0] = k  # dx = +k pixels: out(i, j) = src(i, j + k), so content moves k pixels to the left
    out = warp(delta, offsets_to_grid(offsets))
    expected = torch.zeros_like(delta)
    expected[0, 0, 4, 8 - k] = 1.0
    assert torch.allclose(out, expected, atol=1e-9)


def test_fractional_y_offsets_interpolate_a_ramp_linearly():
    height, width = 10, 6
    ramp = torch.arange(height, dtype=F64).view(1, 1, height, 1).expand(1, 1, height, width).contiguous()
    offsets = torch.zeros(1, 2, height, width, dtype=F64)
    offsets[:, 1] = 1.25
    out = warp(ramp, offsets_to_grid(offsets))
    assert torch.allclose(out[..., :-2, :], ramp[..., :-2, :] + 1.25, atol=1e-9)  # away from the bottom border


def test_offsets_to_grid_and_grid_to_offsets_are_inverse():
    offsets = torch.randn(2, 2, 6, 5, dtype=F64) * 2.0
    assert torch.allclose(grid_to_offsets(offsets_to_grid(offsets)), offsets, atol=1e-12)
    grid = identity_grid(2, 6, 5, dtype=F64) + 0.1 * torch.randn(2, 6, 5, 2, dtype=F64)
    assert torch.allclose(offsets_to_grid(grid_to_offsets(grid)), grid, atol=1e-12)


def test_offsets_to_grid_converts_pixels_per_axis_and_adds_to_base_grid():
    offsets = torch.zeros(1, 2, 5, 9, dtype=F64)
    offsets[:, 0], offsets[:, 1] = 2.0, 1.0
    base = identity_grid(1, 5, 9, dtype=F64) + 0.3
    delta = offsets_to_grid(offsets, base_grid=base) - base
    assert torch.allclose(delta[..., 0], torch.full_like(delta[..., 0], 2.0 * 2 / 8))
    assert torch.allclose(delta[..., 1], torch.full_like(delta[..., 1], 1.0 * 2 / 4))


def test_points_normalisation_round_trip_and_corners():
    corners = torch.tensor([[0.0, 0.0], [8.0, 4.0]], dtype=F64)
    assert torch.allclose(normalise_points(corners, 5, 9), torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=F64))
    points = torch.rand(3, 2, dtype=F64) * 8
    assert torch.allclose(denormalise_points(normalise_points(points, 5, 9), 5, 9), points)


def test_mask_warp_pads_with_zeros_and_image_warp_with_border_values():
    x = torch.rand(1, 2, 6, 5, dtype=F64) + 0.5
    offsets = torch.zeros(1, 2, 6, 5, dtype=F64)
    offsets[:, 0] = 20.0  # every sample far to the right of the map
    grid = offsets_to_grid(offsets)
    assert torch.equal(warp(x, grid, kind="mask"), torch.zeros_like(x))
    border = x[..., -1:].expand_as(x)
    assert torch.allclose(warp(x, grid, kind="image"), border)
    assert torch.allclose(warp(x, grid, kind="feature"), border)


def test_warp_output_takes_the_grid_size():
    out = warp(torch.rand(2, 3, 8, 6), identity_grid(2, 4, 3))
    assert out.shape == (2, 3, 4, 3)


def test_affine_grid_of_identity_theta_is_identity_and_translation_matches_offsets():
    assert torch.allclose(affine_grid(identity_theta(2, dtype=F64), (5, 4)), identity_grid(2, 5, 4, dtype=F64))
    theta = identity_theta(1, dtype=F64)
    theta[0, 0, 2] = 2 * 2.0 / 3  # +2 pixels in x at width 4
    offsets = torch.zeros(1, 2, 5, 4, dtype=F64)
    offsets[:, 0] = 2.0
    assert torch.allclose(affine_grid(theta, (5, 4)), offsets_to_grid(offsets))


# --- composition and upsampling --------------------------------------------------------------------------------------


def test_compose_matches_warping_twice_on_smooth_fields():
    image = _smooth_image(48, 40)
    g1 = _smooth_grid(48, 40, amplitude=0.05, phase=0.3)
    g2 = _smooth_grid(48, 40, amplitude=0.04, phase=1.1)
    twice = warp(warp(image, g1), g2)
    once = warp(image, compose(g1, g2))
    assert torch.allclose(once[..., 4:-4, 4:-4], twice[..., 4:-4, 4:-4], atol=2e-3)
    assert not torch.allclose(once, warp(image, compose(g2, g1)), atol=2e-3)  # the order matters


def test_compose_translation_with_its_inverse_is_identity():
    offsets = torch.zeros(1, 2, 12, 10, dtype=F64)
    offsets[:, 0], offsets[:, 1] = 2.0, -1.5
    forward, backward = offsets_to_grid(offsets), offsets_to_grid(-offsets)
    identity = identity_grid(1, 12, 10, dtype=F64)
    assert torch.allclose(_interior(compose(forward, backward), 3), _interior(identity, 3), atol=1e-9)
    assert torch.allclose(_interior(compose(backward, forward), 3), _interior(identity, 3), atol=1e-9)


def _tanh_shear(grid: torch.Tensor, inverse: bool = False, c: float = 0.8, a: float = 0.05) -> torch.Tensor:
    """phi(x, y) = (u(x), u(y) + a sin(pi x)) with u(t) = tanh(c t) / tanh(c); its analytic inverse if ``inverse``.

    The shear leaves [-1, 1] by at most ``a`` (1.6 pixels at H = 64), so comparisons skip a 4-pixel border.
    """
    x, y, s = grid[..., 0], grid[..., 1], math.tanh(c)
    if not inverse:
        return torch.stack([torch.tanh(c * x) / s, torch.tanh(c * y) / s + a * torch.sin(math.pi * x)], dim=-1)
    x0 = torch.atanh(x * s) / c
    return torch.stack([x0, torch.atanh((y - a * torch.sin(math.pi * x0)) * s) / c], dim=-1)


def test_compose_smooth_warp_with_its_analytic_inverse_is_identity():
    identity = identity_grid(1, 64, 48, dtype=F64)
    phi, phi_inv = _tanh_shear(identity), _tanh_shear(identity, inverse=True)
    assert torch.allclose(_tanh_shear(phi_inv), identity, atol=1e-12)  # the inverse is right analytically
    assert (phi - identity).abs().max() > 0.05  # and the warp is far from the identity (several pixels)
    assert torch.allclose(_interior(compose(phi, phi_inv), 4), _interior(identity, 4), atol=1e-3)
    assert torch.allclose(_interior(compose(phi_inv, phi), 4), _interior(identity, 4), atol=1e-3)


def test_upsample_identity_grid_gives_identity_grid_at_new_size():
    up = upsample_grid(identity_grid(2, 8, 6, dtype=F64), (32, 24))
    assert up.shape == (2, 32, 24, 2)
    assert torch.allclose(up, identity_grid(2, 32, 24, dtype=F64), atol=1e-12)
    assert torch.allclose(upsample_grid(identity_grid(1, 5, 5, dtype=F64), 9), identity_grid(1, 9, 9, dtype=F64))


def test_upsample_grid_keeps_values_unscaled():
    constant = torch.full((1, 4, 3, 2), 0.25, dtype=F64)
    assert torch.allclose(upsample_grid(constant, (16, 12)), torch.full((1, 16, 12, 2), 0.25, dtype=F64))
    offsets = torch.zeros(1, 2, 8, 6, dtype=F64)
    offsets[:, 0] = 1.0  # one pixel at 8 x 6 is two pixels at 16 x 12 (approximately: (W - 1) ratios)
    up_offsets = grid_to_offsets(upsample_grid(offsets_to_grid(offsets), (16, 12)))
    assert torch.allclose(up_offsets[:, 0], torch.full_like(up_offsets[:, 0], 11 / 5))


# --- gradcheck (float64) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["image", "mask"])
def test_warp_gradcheck_wrt_input_and_grid(kind):
    torch.manual_seed(0)
    x = torch.rand(1, 2, 5, 4, dtype=F64, requires_grad=True)
    grid = (torch.rand(1, 3, 4, 2, dtype=F64) * 1.6 - 0.8).requires_grad_()  # inside, off the pixel lattice
    assert gradcheck(lambda a, g: warp(a, g, kind=kind), (x, grid), eps=1e-6, atol=1e-6)


def test_compose_gradcheck_wrt_both_grids():
    torch.manual_seed(1)
    g1 = (identity_grid(1, 4, 5, dtype=F64) + 0.05 * torch.randn(1, 4, 5, 2, dtype=F64)).requires_grad_()
    g2 = (torch.rand(1, 3, 3, 2, dtype=F64) * 1.6 - 0.8).requires_grad_()
    assert gradcheck(compose, (g1, g2), eps=1e-6, atol=1e-6)


def test_correlation_gradcheck():
    torch.manual_seed(2)
    f1 = torch.randn(1, 3, 4, 5, dtype=F64, requires_grad=True)
    f2 = torch.randn(1, 3, 4, 5, dtype=F64, requires_grad=True)
    assert gradcheck(lambda a, b: correlation(a, b, max_displacement=2), (f1, f2), eps=1e-6, atol=1e-6)


# --- correlation -----------------------------------------------------------------------------------------------------


def _correlation_loops(f1: torch.Tensor, f2: torch.Tensor, d: int) -> torch.Tensor:
    batch, channels, height, width = f1.shape
    out = torch.zeros(batch, (2 * d + 1) ** 2, height, width, dtype=f1.dtype)
    for b in range(batch):
        for k, (dy, dx) in enumerate((dy, dx) for dy in range(-d, d + 1) for dx in range(-d, d + 1)):
            for y in range(height):
                for x in range(width):
                    if 0 <= y + dy < height and 0 <= x + dx < width:
                        out[b, k, y, x] = (f1[b, :, y, x] * f2[b, :, y + dy, x + dx]).sum() / channels
    return out


def test_correlation_equals_direct_loops_with_zero_padding_and_row_major_displacements():
    torch.manual_seed(3)
    f1, f2 = torch.randn(2, 3, 5, 4, dtype=F64), torch.randn(2, 3, 5, 4, dtype=F64)
    cost = correlation(f1, f2, max_displacement=2)
    assert cost.shape == (2, 25, 5, 4)
    assert torch.allclose(cost, _correlation_loops(f1, f2, 2), atol=1e-12)
    assert torch.allclose(cost[:, 12], (f1 * f2).mean(1))  # centre channel = zero displacement
    assert torch.equal(cost[:, 0, 0, :], torch.zeros(2, 4, dtype=F64))  # dy = -2 reads above the top row


def test_reference_correlation_equals_direct_loops():
    torch.manual_seed(3)
    f1, f2 = torch.randn(2, 3, 5, 4, dtype=F64), torch.randn(2, 3, 5, 4, dtype=F64)
    assert torch.allclose(correlation_reference(f1, f2, 2), _correlation_loops(f1, f2, 2), atol=1e-12)


@pytest.fixture(params=["merged", "per_dy"])
def product_mode(request, monkeypatch):
    """Force one window per tile (every dy in one product) or one window per dy, whatever the map's width."""
    monkeypatch.setattr(CORRELATION, "MERGE_LIMIT", 1e9 if request.param == "merged" else 0.0)
    return request.param


@pytest.mark.parametrize("shape, d", [((2, 8, 7, 5), 3), ((3, 4, 1, 2), 3), ((1, 5, 9, 21), 1), ((2, 3, 4, 6), 0)])
def test_correlation_and_its_gradients_equal_the_reference_in_float32(product_mode, shape, d):
    """Odd sizes, maps smaller than the neighbourhood, more pixels than a tile: forward and both gradients."""
    torch.manual_seed(4)
    f1, f2 = torch.randn(*shape, requires_grad=True), torch.randn(*shape, requires_grad=True)
    fast, reference = correlation(f1, f2, d), correlation_reference(f1, f2, d)
    weights = torch.randn_like(reference)
    grads = torch.autograd.grad((fast * weights).sum(), (f1, f2))
    expected = torch.autograd.grad((reference * weights).sum(), (f1, f2))
    assert fast.shape == reference.shape and fast.is_contiguous()
    assert torch.allclose(fast, reference, atol=1e-6, rtol=1e-5)
    for grad, want in zip(grads, expected):
        assert torch.allclose(grad, want, atol=1e-5, rtol=1e-5)


def test_correlation_gradcheck_in_both_product_modes_at_d3(product_mode):
    torch.manual_seed(5)
    f1 = torch.randn(2, 2, 3, 4, dtype=F64, requires_grad=True)
    f2 = torch.randn(2, 2, 3, 4, dtype=F64, requires_grad=True)
    assert gradcheck(lambda a, b: correlation(a, b, max_displacement=3), (f1, f2), eps=1e-6, atol=1e-6, fast_mode=True)


def test_correlation_keeps_channels_last_and_equals_the_reference():
    torch.manual_seed(6)
    f1, f2 = (torch.randn(2, 6, 5, 7).contiguous(memory_format=torch.channels_last) for _ in range(2))
    cost = correlation(f1, f2)
    assert cost.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(cost, correlation_reference(f1, f2), atol=1e-6)


def test_correlation_is_a_few_operators_whatever_the_displacement(product_mode):
    """The reference makes a product and a mean per displacement; the fast one a fixed handful of calls (one matrix
    product per window) forward and backward."""
    f1, f2 = torch.randn(1, 4, 6, 5, requires_grad=True), torch.randn(1, 4, 6, 5, requires_grad=True)

    def calls(d: int) -> int:
        with torch.profiler.profile() as profile:
            correlation(f1, f2, d).sum().backward()
        return sum(
            1
            for e in profile.events()
            if e.name.startswith("aten::") and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
        )

    if product_mode == "merged":  # 3 matrix products (forward, two gradients) whatever the displacement
        assert calls(3) == calls(1) < 60
    else:  # 3 per displacement row
        assert calls(3) < 60 + 3 * 3 * 7 and calls(3) - calls(1) == 3 * 3 * 4


def test_correlation_under_bf16_autocast_computes_in_bf16_close_to_float32():
    torch.manual_seed(7)
    f1, f2 = torch.randn(2, 16, 6, 5, requires_grad=True), torch.randn(2, 16, 6, 5, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cost = correlation(f1, f2)
    assert cost.dtype == torch.bfloat16
    assert torch.allclose(cost.float(), correlation_reference(f1, f2), atol=0.05)
    cost.float().sum().backward()
    assert f1.grad.dtype == torch.float32 and f2.grad.dtype == torch.float32


def test_correlation_has_49_channels_for_d3_and_keeps_dtype_and_device():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for dtype in (torch.float32, F64):
            f = torch.randn(2, 8, 6, 5, dtype=dtype, device=device)
            cost = correlation(f, f)
            assert cost.shape == (2, 49, 6, 5) and cost.dtype == dtype and cost.device.type == device


# --- thin-plate spline -----------------------------------------------------------------------------------------------


def _control_points() -> torch.Tensor:
    """(1, 9, 2) normalised 3 x 3 lattice."""
    lattice = torch.tensor([-0.8, 0.0, 0.8], dtype=F64)
    ys, xs = torch.meshgrid(lattice, lattice, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=-1).unsqueeze(0)


def test_tps_identical_control_points_give_identity_grid():
    points = _control_points()
    assert torch.allclose(tps_grid(points, points, (9, 7)), identity_grid(1, 9, 7, dtype=F64), atol=1e-9)


def test_tps_translated_control_points_give_translation_grid():
    source = _control_points()
    shift = torch.tensor([0.2, -0.1], dtype=F64)
    grid = tps_grid(source, source + shift, (9, 7))
    assert torch.allclose(grid, identity_grid(1, 9, 7, dtype=F64) - shift, atol=1e-9)  # backward: read at p - shift


def test_tps_moves_content_at_source_points_to_target_points():
    height, width = 21, 17
    source_px = torch.tensor([[[0, 0], [16, 0], [0, 20], [16, 20], [8, 10]]], dtype=F64)
    target_px = source_px.clone()
    target_px[0, 4] = torch.tensor([11.0, 7.0], dtype=F64)  # the centre moves by (+3, -3) pixels
    grid = tps_grid(
        normalise_points(source_px, height, width), normalise_points(target_px, height, width), (height, width)
    )
    delta = torch.zeros(1, 1, height, width, dtype=F64)
    delta[0, 0, 10, 8] = 1.0  # at the moving source point (x = 8, y = 10)
    out = warp(delta, grid)
    assert out[0, 0, 7, 11] == pytest.approx(1.0, abs=1e-6)
    assert divmod(int(out.argmax()), width) == (7, 11)
    assert torch.allclose(grid[0, 0, 0], torch.tensor([-1.0, -1.0], dtype=F64), atol=1e-9)  # fixed corner


# --- validation ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: warp(torch.rand(3, 4, 4), identity_grid(1, 4, 4)), "x"),
        (lambda: warp(torch.rand(1, 3, 4, 4), torch.rand(1, 4, 4, 3)), "grid"),
        (lambda: warp(torch.rand(2, 3, 4, 4), identity_grid(1, 4, 4)), "grid"),
        (lambda: warp(torch.rand(1, 3, 4, 4), identity_grid(1, 4, 4), kind="depth"), "kind"),
        (lambda: offsets_to_grid(torch.rand(1, 3, 4, 4)), "offsets"),
        (lambda: offsets_to_grid(torch.rand(1, 2, 4, 4), identity_grid(1, 5, 4)), "base_grid"),
        (lambda: grid_to_offsets(torch.rand(1, 2, 4, 4)), "grid"),
        (lambda: compose(torch.rand(1, 4, 4), identity_grid(1, 4, 4)), "grid_first"),
        (lambda: compose(identity_grid(1, 4, 4), identity_grid(2, 4, 4)), "grid_second"),
        (lambda: upsample_grid(torch.rand(1, 2, 4, 4), 8), "grid"),
        (lambda: affine_grid(torch.rand(1, 3, 3), (4, 4)), "theta"),
        (lambda: correlation(torch.rand(1, 3, 4), torch.rand(1, 3, 4)), "f1"),
        (lambda: correlation(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5)), "f2"),
        (lambda: tps_grid(torch.rand(1, 4, 3), torch.rand(1, 4, 2), (4, 4)), "source_points"),
        (lambda: tps_grid(torch.rand(1, 4, 2), torch.rand(1, 5, 2), (4, 4)), "target_points"),
    ],
)
def test_shape_errors_name_the_tensor(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call()


def test_upsampling_a_one_pixel_axis_keeps_the_identity():
    """A coarse level with a single column (its identity sits at x = -1) must upsample to the identity."""
    from garment_transfer.geometry.grids import identity_grid, upsample_grid

    coarse = identity_grid(1, 2, 1, dtype=torch.float64)
    assert torch.allclose(upsample_grid(coarse, (4, 3)), identity_grid(1, 4, 3, dtype=torch.float64))
