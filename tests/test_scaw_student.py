"""Transfer warping student S_W (arXiv 2401.12433, Sec. 3.3): STN + shared shape encoder + SCAW flow, on tiny CPU
inputs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from garment_transfer.geometry import control_points, grid_to_offsets, identity_grid, identity_theta
from garment_transfer.models.complexity import count_parameters, format_count
from garment_transfer.models.distilled_transfer.scaw import SCAWStudent, TPSStudent
from garment_transfer.models.stn import AligningSTN, TPSRegressor, align


def _soft_square(batch: int, height: int, width: int) -> torch.Tensor:
    """A square mask with blurred edges (soft edges give L1 a gradient at integer shifts)."""
    mask = torch.zeros(batch, 1, height, width)
    mask[:, :, height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 1
    return F.avg_pool2d(mask, 5, stride=1, padding=2)


def _inputs(batch: int = 2, height: int = 64, width: int = 48, shift: int = 3, seed: int = 0):
    """(garment, garment_mask, source_pose, target_pose, target_mask); the target is the square moved right."""
    generator = torch.Generator().manual_seed(seed)
    mask = _soft_square(batch, height, width)
    target = torch.roll(mask, shift, dims=3)
    garment = mask * (torch.rand(batch, 3, 1, 1, generator=generator) * 2 - 1)
    return garment, mask, mask.repeat(1, 3, 1, 1), target.repeat(1, 3, 1, 1), target


def _level_sizes(height: int, width: int, levels: int = 5) -> list[tuple[int, int]]:
    sizes = []
    for _ in range(levels):  # stride-2, padding-1 3x3 convs: ceil halving
        height, width = math.ceil(height / 2), math.ceil(width / 2)
        sizes.append((height, width))
    return sizes[::-1]


@pytest.mark.parametrize("mode", ["scaw", "fsv"])
@pytest.mark.parametrize("initial_align", [True, False])
@pytest.mark.parametrize("size", [(64, 48), (37, 29)])
def test_outputs_have_documented_shapes_and_start_at_identity(mode, initial_align, size):
    torch.manual_seed(0)
    height, width = size
    student = SCAWStudent(pose_channels=3, width="tiny", mode=mode, initial_align=initial_align)
    garment, mask, source_pose, target_pose, target = _inputs(2, height, width)
    out = student(garment, mask, source_pose, target_pose, target)

    assert out.theta.shape == (2, 2, 3)
    for name in ("aligned_garment", "warped_garment"):
        assert getattr(out, name).shape == (2, 3, height, width)
    for name in ("aligned_mask", "warped_mask"):
        assert getattr(out, name).shape == (2, 1, height, width)
    assert out.grid.shape == (2, height, width, 2)
    sizes = _level_sizes(height, width)
    assert [tuple(g.shape[1:3]) for g in out.grids] == sizes
    assert [tuple(m.shape[-2:]) for m in out.warped_masks] == sizes
    per_level = 2 if mode == "scaw" else 1
    assert [tuple(o.shape[-2:]) for o in out.offsets] == [s for s in sizes for _ in range(per_level)]

    # Zero-initialised regressors: theta and every flow are the identity, so nothing moves.
    torch.testing.assert_close(out.theta, identity_theta(2), atol=0, rtol=0)
    torch.testing.assert_close(out.grid, identity_grid(2, height, width), atol=1e-5, rtol=0)
    for grid in out.grids:
        torch.testing.assert_close(grid, identity_grid(*grid.shape[:3]), atol=1e-5, rtol=0)
    for offsets in out.offsets:
        assert offsets.abs().max() == 0
    for name, reference in (
        ("aligned_garment", garment),
        ("warped_garment", garment),
        ("aligned_mask", mask),
        ("warped_mask", mask),
    ):
        torch.testing.assert_close(getattr(out, name), reference, atol=1e-5, rtol=0, msg=name)


def _zero_initialised_layers(student: SCAWStudent) -> dict:
    layers = {f"content_heads.{k}": head[-1] for k, head in enumerate(student.content_heads)}
    layers.update({f"shape_heads.{k}": head[-1] for k, head in enumerate(student.shape_heads)})
    if student.stn is not None:
        layers["stn"] = student.stn.regressor[-1]
    return layers


def _mask_loss(student: SCAWStudent) -> torch.Tensor:
    garment, mask, source_pose, target_pose, target = _inputs()
    return (student(garment, mask, source_pose, target_pose, target).warped_mask - target).abs().mean()


@pytest.mark.parametrize("mode", ["scaw", "fsv"])
def test_zero_initialised_last_layers_receive_gradients(mode):
    torch.manual_seed(0)
    student = SCAWStudent(pose_channels=3, width="tiny", mode=mode)
    _mask_loss(student).backward()
    layers = _zero_initialised_layers(student)
    assert len(layers) == (11 if mode == "scaw" else 6)
    for name, layer in layers.items():
        assert layer.weight.grad.abs().sum() > 0, name
        assert layer.bias.grad.abs().sum() > 0, name


def test_gradients_reach_every_parameter_once_the_regressors_move():
    torch.manual_seed(0)
    student = SCAWStudent(pose_channels=3, width="tiny", content_mask=True)
    with torch.no_grad():  # what the first optimiser steps do: the zero-initialised layers leave zero
        for layer in _zero_initialised_layers(student).values():
            layer.weight.normal_(std=1e-3)
    _mask_loss(student).backward()
    for name, parameter in student.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("mode, shape_calls", [("scaw", 2), ("fsv", 1)])
def test_shape_encoder_is_shared_and_content_encoder_separate(mode, shape_calls):
    student = SCAWStudent(pose_channels=3, width="tiny", mode=mode)
    calls = {"shape": 0, "content": 0}
    student.shape_encoder.register_forward_hook(lambda *_: calls.__setitem__("shape", calls["shape"] + 1))
    student.content_encoder.register_forward_hook(lambda *_: calls.__setitem__("content", calls["content"] + 1))
    student(*_inputs())
    assert calls == {"shape": shape_calls, "content": 1}
    shape_ids = {id(p) for p in student.shape_encoder.parameters()}
    assert not shape_ids & {id(p) for p in student.content_encoder.parameters()}
    assert student.content_encoder.pyramid.in_channels == 3  # the garment image
    assert student.shape_encoder.pyramid.in_channels == 1 + 3  # mask + DensePose


def test_a_few_adam_steps_of_the_flow_learn_a_three_pixel_shift():
    torch.manual_seed(0)
    student = SCAWStudent(pose_channels=3, width="tiny", initial_align=False)  # the flow alone must move it
    optimiser = torch.optim.Adam(student.parameters(), lr=1e-3)
    garment, mask, source_pose, target_pose, target = _inputs(2, 32, 32, shift=3)
    losses = []
    for _ in range(30):
        out = student(garment, mask, source_pose, target_pose, target)
        loss = (out.warped_mask - target).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        out = student(garment, mask, source_pose, target_pose, target)
    final = (out.warped_mask - target).abs().mean().item()
    assert final < 0.3 * losses[0], losses
    # Backward warping: the output pixel x reads the source at x - 3, so the garment's total dx is about -3 px.
    total = grid_to_offsets(out.grid)[:, :, target[0, 0] > 0.5]
    assert -4.0 < total[:, 0].mean() < -1.5 and total[:, 1].abs().mean() < 1.0


@pytest.mark.parametrize("name", ["garment", "garment_mask", "source_pose", "target_pose", "target_mask"])
def test_bad_input_shapes_name_the_tensor(name):
    student = SCAWStudent(pose_channels=3, width="tiny")
    inputs = dict(zip(("garment", "garment_mask", "source_pose", "target_pose", "target_mask"), _inputs()))
    wrong_channels = dict(inputs, **{name: torch.zeros(2, 2, 64, 48)})
    with pytest.raises(ValueError, match=name):
        student(**wrong_channels)
    if name != "garment":  # the others are compared with the garment's batch and size
        wrong_size = dict(inputs, **{name: inputs[name][..., :40]})
        with pytest.raises(ValueError, match=name):
            student(**wrong_size)


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="width"):
        SCAWStudent(width="huge")
    with pytest.raises(ValueError, match="mode"):
        SCAWStudent(mode="tps")
    with pytest.raises(ValueError, match="x must be"):
        AligningSTN(8, 4)(torch.zeros(1, 5, 16, 16))


def test_stn_starts_at_identity_and_align_applies_theta():
    stn = AligningSTN(in_channels=8, width=4)
    torch.testing.assert_close(stn(torch.rand(2, 8, 37, 29)), identity_theta(2), atol=0, rtol=0)
    garment, mask, *_ = _inputs(1, 32, 32)
    shift = identity_theta(1)
    shift[0, 0, 2] = -2 * 2 / 31  # read 2 px to the left: the content moves 2 px right
    aligned_garment, aligned_mask = align(shift, garment, mask)
    torch.testing.assert_close(aligned_mask[..., 2:], mask[..., :-2], atol=1e-5, rtol=0)
    torch.testing.assert_close(aligned_garment[..., 2:], garment[..., :-2], atol=1e-5, rtol=0)


def test_paper_preset_size_is_near_table_2():
    counts = {
        (mode, aligning): count_parameters(SCAWStudent(3, "full", mode, aligning))
        for mode in ("scaw", "fsv")
        for aligning in (True, False)
    }
    print(
        {key: format_count(n) for key, n in counts.items()},
        "tiny:",
        format_count(count_parameters(SCAWStudent(3, "tiny"))),
    )
    assert 20e6 < counts["scaw", True] < 35e6
    assert abs(counts["scaw", True] - 26.66e6) / 26.66e6 < 0.01  # paper Table 2
    assert counts["fsv", True] < counts["scaw", True]


@pytest.mark.parametrize("initial_align", [True, False])
def test_tps_student_starts_at_identity_with_the_flow_students_fields(initial_align):
    torch.manual_seed(0)
    student = TPSStudent(pose_channels=3, width="tiny", initial_align=initial_align)
    garment, mask, source_pose, target_pose, target = _inputs(2, 37, 29)
    out = student(garment, mask, source_pose, target_pose, target)
    assert [tuple(g.shape[1:3]) for g in out.grids] == _level_sizes(37, 29)
    assert out.grid.shape == (2, 37, 29, 2) and out.offsets[0].shape == (2, 2, 5, 5)
    torch.testing.assert_close(out.grid, identity_grid(2, 37, 29), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.warped_garment, garment, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.warped_mask, mask, atol=1e-4, rtol=0)
    assert (student.stn is None) != initial_align


def test_tps_lattice_order_and_regressor_shape():
    lattice = control_points(3)
    assert lattice.shape == (1, 9, 2)
    torch.testing.assert_close(lattice[0, 1], torch.tensor([0.0, -1.0]))  # x moves fastest
    assert TPSRegressor(8, 4, points=3)(torch.rand(2, 8, 20, 16)).shape == (2, 9, 2)
    with pytest.raises(ValueError, match="points must be >= 2"):
        TPSRegressor(8, 4, points=1)


def test_a_few_adam_steps_of_the_tps_student_learn_a_three_pixel_shift():
    torch.manual_seed(0)
    student = TPSStudent(pose_channels=3, width="tiny", initial_align=False)
    optimiser = torch.optim.Adam(student.parameters(), lr=1e-3)
    garment, mask, source_pose, target_pose, target = _inputs(2, 32, 32, shift=3)
    losses = []
    for _ in range(30):
        loss = (student(garment, mask, source_pose, target_pose, target).warped_mask - target).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    total = grid_to_offsets(student(garment, mask, source_pose, target_pose, target).grid)[:, :, target[0, 0] > 0.5]
    assert -4.0 < total[:, 0].mean().item() < -1.5
