"""VGG-19 features (torchvision-format weights from a local file) and the warping losses
(docs/methods/distilled-transfer.md, "Warping losses and weights")."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.losses.warping import (
    CHARBONNIER_ALPHA,
    CHARBONNIER_EPS,
    VGG_LAYERS,
    VGG_WEIGHTS,
    VGGLoss,
    aligning_loss,
    multiscale_loss,
    second_order_smoothness,
    total_variation,
)
from garment_transfer.models.vgg import VGG19Features

FLOOR = CHARBONNIER_EPS**CHARBONNIER_ALPHA


def torchvision_vgg19_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """The key and shape layout of torchvision's ``vgg19-dcbb9e9d.pth``, built from configuration E, random values."""
    generator = torch.Generator().manual_seed(seed)
    state, index, channels = {}, 0, 3
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"):
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(item, channels, 3, 3, generator=generator) * 0.05
        state[f"features.{index}.bias"] = torch.randn(item, generator=generator) * 0.01
        index, channels = index + 2, item
    for i, shape in ((0, (8, 16)), (3, (8, 8)), (6, (4, 8))):  # dummies: the classifier is ignored
        state[f"classifier.{i}.weight"], state[f"classifier.{i}.bias"] = torch.zeros(shape), torch.zeros(shape[0])
    return state


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vgg") / "vgg19-dcbb9e9d.pth"
    torch.save(torchvision_vgg19_state_dict(), path)
    return path


def random_vgg(**kwargs) -> VGG19Features:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return VGG19Features(None, allow_random=True, **kwargs)


def test_loads_torchvision_format_file_and_ignores_classifier(vgg_file):
    vgg = VGG19Features(vgg_file)
    expected = torchvision_vgg19_state_dict()
    assert not vgg.random
    assert set(vgg.state_dict()) == {key for key in expected if key.startswith("features.")}
    assert max(int(key.split(".")[1]) for key in vgg.state_dict()) == 34
    for key, value in vgg.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


@pytest.mark.parametrize(
    "corrupt, words",
    [
        (lambda state: state.update({"features.10.weight": torch.zeros(256, 128, 1, 1)}), "features.10.weight"),
        (lambda state: state.pop("features.34.bias"), "features.34.bias"),
    ],
)
def test_malformed_weights_file_fails_naming_the_file(tmp_path, corrupt, words):
    state = torchvision_vgg19_state_dict()
    corrupt(state)
    path = tmp_path / "bad_vgg19.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match="bad_vgg19.pth") as error:
        VGG19Features(path)
    assert words in str(error.value)


def test_missing_weights_fail_naming_path_and_allow_random(tmp_path):
    path = tmp_path / "nowhere" / "vgg19-dcbb9e9d.pth"
    with pytest.raises(FileNotFoundError) as error:
        VGG19Features(path)
    assert str(path) in str(error.value) and "allow_random_vgg" in str(error.value)
    with pytest.raises(ValueError, match="allow_random_vgg"):
        VGG19Features(None)


def test_allow_random_warns_once_is_seeded_and_leaves_global_rng(tmp_path):
    state = torch.random.get_rng_state()
    with pytest.warns(UserWarning, match="RANDOM VGG-19 features") as record:
        vgg = VGG19Features(tmp_path / "missing.pth", allow_random=True, layers=("relu1_1",))
    assert len(record) == 1 and vgg.random
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(random_vgg().features[0].weight, vgg.features[0].weight, rtol=0, atol=0)


def test_taps_have_documented_channels_and_ceil_mode_sizes():
    vgg = random_vgg()
    features = vgg(torch.rand(2, 3, 20, 15) * 2 - 1)
    assert list(features) == list(VGG_LAYERS)
    sizes = {name: tuple(f.shape[1:]) for name, f in features.items()}
    assert sizes == {
        "relu1_1": (64, 20, 15),
        "relu2_1": (128, 10, 8),
        "relu3_1": (256, 5, 4),
        "relu4_1": (512, 3, 2),
        "relu5_1": (512, math.ceil(20 / 16), math.ceil(15 / 16)),
    }
    assert all((f >= 0).all() for f in features.values())


def test_input_is_mapped_from_minus_one_one_to_imagenet_normalisation():
    vgg = random_vgg(layers=("relu1_1",))
    image = torch.rand(1, 3, 8, 6) * 2 - 1
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    normalised = ((image + 1) / 2 - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    torch.testing.assert_close(vgg(image)["relu1_1"], vgg.features[:2](normalised))


def test_only_layers_up_to_the_deepest_tap_run():
    vgg = random_vgg(layers=("relu3_1", "relu1_1"))
    calls = []
    for index, layer in enumerate(vgg.features):
        layer.register_forward_hook(lambda module, args, out, index=index: calls.append(index))
    assert set(vgg(torch.zeros(1, 3, 16, 16))) == {"relu1_1", "relu3_1"}
    assert calls == list(range(12))
    with pytest.raises(ValueError, match="relu9_9"):
        random_vgg(layers=("relu9_9",))


def test_vgg_is_frozen_and_stays_in_eval_mode():
    vgg = random_vgg()
    holder = nn.Sequential(vgg).train()
    assert not vgg.training and not any(m.training for m in vgg.modules())
    assert not any(p.requires_grad for p in vgg.parameters())
    assert holder.training


def test_vgg_loss_zero_for_equal_positive_for_different_gradient_to_prediction_only():
    with pytest.warns(UserWarning, match="RANDOM"):
        loss_fn = VGGLoss(None, allow_random=True)
    assert loss_fn.random and loss_fn.layer_weights == dict(zip(VGG_LAYERS, VGG_WEIGHTS))
    target = (torch.rand(1, 3, 20, 15) * 2 - 1).requires_grad_(True)
    assert loss_fn(target.detach(), target.detach()).item() == 0.0
    pred = (torch.rand(1, 3, 20, 15) * 2 - 1).requires_grad_(True)
    loss = loss_fn(pred, target)
    loss.backward()
    assert loss.item() > 0 and pred.grad.abs().sum() > 0
    assert target.grad is None and all(p.grad is None for p in loss_fn.parameters())


def test_student_vgg_loss_uses_four_taps_and_checkpoints_reference_the_vgg_file(vgg_file):
    student = nn.ModuleDict({"vgg_loss": VGGLoss(vgg_file, layers=VGG_LAYERS[:4], weights=VGG_WEIGHTS[:4])})
    assert student["vgg_loss"].vgg.depth == 21 and not student["vgg_loss"].random
    assert not any("vgg" in key for key in student.state_dict())
    before = student["vgg_loss"].vgg.features[0].weight.clone()
    assert student.load_state_dict({}, strict=True) is not None
    torch.testing.assert_close(student["vgg_loss"].vgg.features[0].weight, before, rtol=0, atol=0)
    with pytest.raises(ValueError, match="4 layers but 5 weights"):
        VGGLoss(vgg_file, layers=VGG_LAYERS[:4])


def test_total_variation_constant_is_zero_and_matches_hand_computation():
    assert total_variation(torch.full((2, 2, 5, 4), 0.3)).item() == 0.0
    flow = torch.zeros(1, 2, 2, 3)
    flow[0, 0] = torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    # vertical: |2|, |1|, |-1| over 2 * 1 * 3 entries; horizontal: |1|, |2|, 0, 0 over 2 * 2 * 2 entries
    assert total_variation(flow).item() == pytest.approx(4 / 6 + 3 / 8)
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        total_variation(torch.zeros(1, 3, 4, 4))


def test_second_order_floor_for_affine_field_larger_for_quadratic_and_hand_value():
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 9), torch.linspace(-1, 1, 7), indexing="ij")
    affine = torch.stack([0.8 * xs + 0.1 * ys + 0.05, -0.2 * xs + 0.9 * ys])[None]
    assert second_order_smoothness(affine).item() == pytest.approx(FLOOR, rel=1e-3)
    quadratic = torch.stack([xs**2, ys**2])[None]
    assert second_order_smoothness(quadratic).item() > 10 * FLOOR
    bump = torch.zeros(1, 2, 3, 3)
    bump[0, 0, 1, 1] = 1.0  # every stencil gives -2 on channel x, 0 on channel y: 8 values in all
    expected = (4 * (4 + CHARBONNIER_EPS) ** CHARBONNIER_ALPHA + 4 * FLOOR) / 8
    assert second_order_smoothness(bump).item() == pytest.approx(expected, rel=1e-5)
    pixel_quadratic = torch.arange(5.0).pow(2).expand(1, 2, 4, 5)  # second difference 2 along x only
    horizontal, vertical = (4 + CHARBONNIER_EPS) ** CHARBONNIER_ALPHA, FLOOR
    diagonal = horizontal  # a diagonal step moves x by one pixel too
    assert second_order_smoothness(pixel_quadratic).item() == pytest.approx(
        (horizontal + vertical + 2 * diagonal) / 4, rel=1e-5
    )
    assert second_order_smoothness(torch.ones(1, 2, 2, 8, requires_grad=True)).item() == 0.0


def test_aligning_loss_zero_for_equal_and_ratio_term_tracks_area():
    target = torch.zeros(2, 1, 8, 6)
    target[:, :, 2:6, 1:4] = 1.0
    assert aligning_loss(target, target.clone(), w_ratio=5.0).item() == 0.0
    shifted = torch.roll(target, 1, dims=-1)  # same area: only the L1 term
    assert aligning_loss(shifted, target, 5.0).item() == pytest.approx(aligning_loss(shifted, target, 0.0).item())
    grown = target.clone()
    grown[0, :, 6:8, 1:4] = 1.0  # sample 0 gains 6 pixels of 48, sample 1 unchanged
    ratio_gap = (6 / 48 + 0) / 2
    gap = aligning_loss(grown, target, 2.0) - aligning_loss(grown, target, 0.0)
    assert gap.item() == pytest.approx(2.0 * ratio_gap)


def test_multiscale_loss_weights_levels_coarse_to_fine_and_resizes_target():
    target = torch.rand(1, 1, 16, 24)
    preds = [torch.zeros(1, 1, 16 // 2 ** (3 - k), 24 // 2 ** (3 - k)) for k in range(4)]  # 2x3 .. 16x24
    seen = []

    def level_loss(pred, resized):
        assert resized.shape == pred.shape
        seen.append(resized)
        return pred.new_tensor(float(pred.shape[-1]))  # 3, 6, 12, 24: identifies the level

    assert multiscale_loss(preds, target, level_loss).item() == pytest.approx(1 * 3 + 2 * 6 + 3 * 12 + 4 * 24)
    assert multiscale_loss(preds, target, level_loss, [0, 0, 0, 2]).item() == pytest.approx(2 * 24)
    torch.testing.assert_close(seen[0], F.avg_pool2d(target, 8))  # area resize of the image
    assert seen[3] is target
    mask = (torch.rand(1, 1, 16, 24) > 0.5).float()
    seen.clear()
    multiscale_loss(preds, mask, level_loss, mode="area", threshold=0.5)
    assert all(set(t.unique().tolist()) <= {0.0, 1.0} for t in seen)
    with pytest.raises(ValueError, match="4 levels but 2 weights"):
        multiscale_loss(preds, target, level_loss, [1, 2])


def test_multiscale_loss_finest_keeps_only_the_last_levels_with_their_weights():
    target = torch.rand(1, 1, 16, 24)
    preds = [torch.zeros(1, 1, 16 // 2 ** (3 - k), 24 // 2 ** (3 - k)) for k in range(4)]

    def level_loss(pred, resized):
        return pred.new_tensor(float(pred.shape[-1]))  # 3, 6, 12, 24

    assert multiscale_loss(preds, target, level_loss, finest=1).item() == pytest.approx(4 * 24)
    assert multiscale_loss(preds, target, level_loss, finest=2).item() == pytest.approx(3 * 12 + 4 * 24)
    assert multiscale_loss(preds, target, level_loss, finest=4) == multiscale_loss(preds, target, level_loss)
    with pytest.raises(ValueError, match="finest must be in 1..4"):
        multiscale_loss(preds, target, level_loss, finest=5)
