"""WUTON: the matcher's exact parameter counts (CP-VTON's GMM), the thin-plate spline of known control points, the
cloth skips warped by the matcher's grid, the losses, the adversarial gradient reaching the matcher, the teacher on
``p*`` and the student on the whole person with its teacher frozen, the ablation without the adversarial term, and the
errors a user meets. Sizes 64 x 48, tiny widths."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from conftest import quiet_trainer

from garment_transfer.data.agnostic import wuton_person
from garment_transfer.geometry import control_points, identity_grid, tps_grid, warp
from garment_transfer.losses import wuton as losses
from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pipeline import GarmentTransfer
from garment_transfer.models.wuton import WUTON_STUDENT, WUTON_TEACHER
from garment_transfer.models.wuton.networks import (
    FeatureExtractor,
    GeometricMatcher,
    build_discriminator,
    build_generator,
    build_wuton,
    masked_person,
)
from garment_transfer.preflight import check_run
from garment_transfer.stages.pipeline import PipelineDataModule
from garment_transfer.stages.wuton.student import WUTONStudentDataModule, WUTONStudentModule
from garment_transfer.stages.wuton.teacher import WUTONTeacherDataModule, WUTONTeacherModule
from garment_transfer.tools.sizes import size_rows

SIZE = "64x48"
NO_VGG = {"warp": 1.0, "l1": 1.0, "vgg": 0.0}
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*(random|RANDOM).*:UserWarning"),
    pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`"),
]


def teacher(**kwargs) -> WUTONTeacherModule:
    return WUTONTeacherModule(**{"size": SIZE, "width": "tiny", "weights": NO_VGG, "lr": 1e-3, **kwargs})


def data(cls, root, **kwargs):
    return cls(root=str(root), size=SIZE, batch_size=2, eval_batch_size=2, **kwargs)


def a_batch(cls, root):
    module = data(cls, root)
    module.setup("fit")
    return next(iter(module.train_dataloader()))


@pytest.fixture(scope="module")
def teacher_checkpoint(synthetic_root, tmp_path_factory) -> str:
    torch.manual_seed(0)
    module = teacher()
    path = tmp_path_factory.mktemp("wuton") / "teacher.ckpt"
    run = quiet_trainer(path.parent, max_steps=2, limit_val_batches=0)
    run.fit(module, data(WUTONTeacherDataModule, synthetic_root))
    run.save_checkpoint(path)
    return str(path)


# ---------------------------------------------------------------------------------------------------------- sizes
def test_the_matcher_has_cp_vtons_exact_parameter_counts():
    matcher = GeometricMatcher((256, 192), 3)
    assert count_parameters(matcher.person_features) == count_parameters(matcher.cloth_features) == 7_479_104
    assert count_parameters(matcher.regressor) == 4_079_986
    assert count_parameters(matcher) == 19_038_194
    assert count_parameters(GeometricMatcher((256, 192), 22)) == 19_057_650
    assert count_parameters(FeatureExtractor(22, 64, 512, 4)) == 7_498_560
    # the correlation has one channel per feature position: the regressor's first conv grows with the size
    assert count_parameters(GeometricMatcher((512, 384), 3)) > 19_038_194


def test_sizes_prints_the_matcher_count_and_ours_beside_it():
    rows = {name: params for method, name, params, _, _ in size_rows(256, 192, "full", methods=("wuton",))}
    assert rows["WUTON matcher, p* (3 channels)"] == 19_038_194
    assert rows["WUTON matcher, CP-VTON agnostic (22 channels)"] == 19_057_650
    assert rows["WUTON U-Net (two encoders, 3 -> 3)"] == count_parameters(build_generator({"width": "full"}))
    assert rows["WUTON discriminator (PatchGAN, 3 channels)"] == count_parameters(build_discriminator({}))
    assert rows["inference WUTON matcher + U-Net"] == 19_038_194 + rows["WUTON U-Net (two encoders, 3 -> 3)"]


# -------------------------------------------------------------------------------------------------------- geometry
def shifted(net, dx: float = 0.0, dy: float = 0.0, point: int | None = None):
    """Make the matcher predict displacement (dx, dy) of every control point (or of one): its last layer's bias."""
    points = net.matcher.points**2
    bias = torch.zeros(2, points)
    bias[0, slice(None) if point is None else point] = dx
    bias[1, slice(None) if point is None else point] = dy
    with torch.no_grad():
        net.matcher.regressor.linear.weight.zero_()
        net.matcher.regressor.linear.bias.copy_(torch.atanh(bias).flatten())  # tanh follows the linear layer


def test_a_zero_initialised_matcher_gives_the_identity_grid():
    torch.manual_seed(0)
    net = build_wuton({"size": SIZE, "width": "tiny"}).eval()
    out = net(torch.randn(2, 3, 64, 48), torch.rand(2, 3, 64, 48), torch.ones(2, 1, 64, 48))
    assert torch.allclose(out.warp.grid, identity_grid(2, 64, 48), atol=1e-5)


def test_the_tps_of_known_control_points_moves_them_where_they_should_go():
    torch.manual_seed(0)
    net = build_wuton({"size": "64x48", "width": "tiny"}).eval()
    shifted(net, dx=0.25, dy=-0.125)  # every point: a translation
    cloth = torch.rand(1, 3, 64, 48)
    out = net(torch.randn(1, 3, 64, 48), cloth, torch.ones(1, 1, 64, 48))
    expected = identity_grid(1, 64, 48) + torch.tensor([0.25, -0.125])
    assert torch.allclose(out.warp.grid, expected, atol=1e-4)
    shifted(net, dx=0.3, dy=0.2, point=12)  # only the centre point of the 5 x 5 lattice
    grid = net(torch.randn(1, 3, 64, 48), cloth, torch.ones(1, 1, 64, 48)).warp.grid
    centre = (grid[0, 31, 23] + grid[0, 32, 24]) / 2  # the lattice centre lies between pixels 31/32 and 23/24
    assert torch.allclose(centre, torch.tensor([0.3, 0.2]), atol=0.02), centre
    assert torch.allclose(grid[0, 0, 0], torch.tensor([-1.0, -1.0]), atol=1e-4), "the corner point stays"


def test_every_cloth_skip_is_warped_by_the_matchers_grid(monkeypatch):
    torch.manual_seed(0)
    net = build_wuton({"size": SIZE, "width": "tiny"}).eval()
    shifted(net, dx=0.2, dy=0.1)
    seen = []
    forward = net.generator.forward

    def recording(x, second=None, skip_transform=None):
        def transform(y):
            out = skip_transform(y)
            seen.append((y, out))
            return out

        return forward(x, second, transform)

    monkeypatch.setattr(net.generator, "forward", recording)
    cloth, mask = torch.rand(2, 3, 64, 48), torch.ones(2, 1, 64, 48)
    out = net(torch.randn(2, 3, 64, 48), cloth, mask)
    match = net.matcher(torch.randn(2, 3, 64, 48), cloth)  # the matcher's output only depends on its weights here
    assert len(seen) == net.generator.num_downs, "each skip below the first level and the bottleneck"
    for before, after in seen:
        grid = tps_grid(match.source_points, match.target_points, tuple(before.shape[-2:]))
        assert not torch.allclose(grid, identity_grid(2, *before.shape[-2:]), atol=1e-3)
        assert torch.allclose(after, warp(before, grid, "mask"), atol=1e-5)
    grid = tps_grid(match.source_points, match.target_points, (64, 48))
    assert torch.allclose(out.warp.warped_garment, warp(cloth, grid, "mask"), atol=1e-5), "the cloth: the same spline"


# ---------------------------------------------------------------------------------------------------------- losses
def test_the_loss_terms_equal_their_formulas():
    torch.manual_seed(0)
    net = build_wuton({"size": SIZE, "width": "tiny"})
    out = net(torch.randn(2, 3, 64, 48), torch.rand(2, 3, 64, 48), torch.ones(2, 1, 64, 48))
    cloth_target, image_target = torch.rand(2, 3, 64, 48), torch.rand(2, 3, 64, 48)
    target_mask = (torch.rand(2, 1, 64, 48) > 0.5).float()
    terms = losses.terms(out, cloth_target, target_mask, image_target, lambda a, b: (a - b).square().mean())
    white = torch.ones(2, 3, 64, 48)
    warped = torch.where(out.warp.warped_mask > 0, out.warp.warped_garment * out.warp.warped_mask, 0) + white * (
        1 - out.warp.warped_mask
    )
    target = torch.where(target_mask > 0, cloth_target, white)
    assert torch.isclose(terms["warp"], (warped - target).abs().mean())
    assert torch.isclose(terms["l1"], (out.tryon.image - image_target).abs().mean())
    assert torch.isclose(terms["vgg"], (out.tryon.image - image_target).square().mean())
    assert losses.VGG_LAYER_WEIGHTS == (1.0,) * 5, "Eq. 5 sums the five layers unweighted"
    with pytest.raises(ValueError, match="model.init_args.weights"):
        losses.check_weights({"warp": 1.0, "perceptual": 1.0})


# ---------------------------------------------------------------------------------------------------------- stages
def test_the_teachers_person_input_is_p_star(synthetic_root):
    batch = a_batch(WUTONTeacherDataModule, synthetic_root)
    given = masked_person(batch.target)
    assert torch.equal(given, batch.target.inputs["wuton_person"])
    computed = masked_person(dataclasses.replace(batch.target, inputs={}))
    assert torch.allclose(computed, given)
    assert not torch.equal(given, batch.target.image), "the upper body is masked"


def test_the_adversarial_gradient_reaches_the_matcher_in_the_teacher(synthetic_root):
    torch.manual_seed(0)
    module = teacher()
    batch = a_batch(WUTONTeacherDataModule, synthetic_root)
    step = module.generator_step(batch)
    adversarial = module.adversarial.generator(module.discriminator, step.fake, step.real)
    adversarial.backward()
    matcher_grads = [p.grad for p in module.net.matcher.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in matcher_grads)
    assert module.net.matcher.regressor.linear.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("w_adv", [0.1, 0.0])
def test_the_teacher_trains_and_w_adv_zero_leaves_no_discriminator(w_adv, synthetic_root, tmp_path):
    torch.manual_seed(0)
    module = teacher(w_adv=w_adv)
    net_before = copy.deepcopy(module.net.state_dict())
    disc_before = copy.deepcopy(module.discriminator.state_dict())
    run = quiet_trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    run.fit(module, data(WUTONTeacherDataModule, synthetic_root))
    assert any(not torch.equal(net_before[k], v) for k, v in module.net.state_dict().items())
    disc_moved = any(not torch.equal(disc_before[k], v) for k, v in module.discriminator.state_dict().items())
    assert disc_moved == (w_adv > 0)
    assert run.global_step == (4 if w_adv > 0 else 2), "two optimizers step per batch, one without the adversary"
    logged = run.callback_metrics
    assert "val/tryon/psnr" in logged and ("train/adversarial" in logged) == (w_adv > 0)


def test_the_student_reads_the_whole_person_and_its_teacher_stays_frozen(teacher_checkpoint, synthetic_root, tmp_path):
    torch.manual_seed(0)
    module = WUTONStudentModule(teacher_checkpoint=teacher_checkpoint, size=SIZE, width="tiny", weights=NO_VGG)
    teacher_before = copy.deepcopy(module.teacher.net.state_dict())
    assert all(torch.equal(v, teacher_before[k]) for k, v in module.net.state_dict().items()), "init_from_teacher"
    batch = a_batch(WUTONStudentDataModule, synthetic_root)
    inputs = []
    forward = module.net.forward
    module.net.forward = lambda person, *rest: inputs.append(person) or forward(person, *rest)
    step = module.generator_step(batch)
    module.net.forward = forward
    assert torch.equal(inputs[0], batch.target.image), "the student sees the unmasked person"
    guide = module.teacher(masked_person(batch.target), batch.source.cloth, batch.source.cloth_mask)
    assert torch.isclose(step.values["l1"], (step.fake - guide.tryon.image).abs().mean())

    run = quiet_trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    run.fit(module, data(WUTONStudentDataModule, synthetic_root))
    assert all(torch.equal(v, teacher_before[k]) for k, v in module.teacher.net.state_dict().items())
    assert not module.teacher.net.training
    optimized = {id(p) for opt in run.optimizers for group in opt.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in module.teacher.net.parameters()}
    assert not any(k.startswith("teacher") for k in module.state_dict())
    assert any(not torch.equal(teacher_before[k], v) for k, v in module.net.state_dict().items())


def test_the_students_errors_name_their_argument(teacher_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="teacher_checkpoint"):
        WUTONStudentModule(size=SIZE, width="tiny", weights=NO_VGG)
    with pytest.raises(ValueError, match="has size '64x48', this student '128x96'"):
        WUTONStudentModule(teacher_checkpoint=teacher_checkpoint, size="128x96", width="tiny", weights=NO_VGG)
    student = WUTONStudentModule(teacher_checkpoint=teacher_checkpoint, size=SIZE, width="tiny", weights=NO_VGG)
    path = tmp_path / "student.ckpt"
    torch.save({"state_dict": student.state_dict(), "hyper_parameters": dict(student.hparams)}, path)
    with pytest.raises(ValueError, match="records no stage|must be a checkpoint of"):
        WUTONStudentModule(teacher_checkpoint=str(path), size=SIZE, width="tiny", weights=NO_VGG)


def test_a_model_built_for_another_size_than_the_data_is_refused_before_training(synthetic_root):
    module = teacher(size="128x96")
    with pytest.raises(ValueError, match="model.init_args.size 128x96 differs from data.init_args.size 64x48"):
        check_run("fit", module, data(WUTONTeacherDataModule, synthetic_root))
    with pytest.raises(ValueError, match="w_adv"):
        teacher(w_adv=-1)
    with pytest.raises(ValueError, match="matcher_lr_scale"):
        teacher(matcher_lr_scale=0)


def test_the_matcher_trains_at_its_scale_of_the_rate():
    generator, discriminator = teacher(lr=1e-3, matcher_lr_scale=0.1).configure_optimizers()[0]
    rates = {group["name"]: group["lr"] for group in generator.param_groups}
    assert rates == {"matcher": pytest.approx(1e-4), "generator": pytest.approx(1e-3)}
    assert discriminator.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_p_star_of_the_loader_equals_the_agnostic_function(synthetic_root):
    module = data(WUTONTeacherDataModule, synthetic_root)
    module.setup("fit")
    pair = module.datasets["train"][0]
    assert torch.equal(pair.target.inputs["wuton_person"], wuton_person(pair.target))
    assert control_points(5).shape == (1, 25, 2)


# -------------------------------------------------------------------------------------------------------- pipeline
@pytest.fixture(scope="module")
def student_checkpoint(teacher_checkpoint, synthetic_root, tmp_path_factory) -> str:
    torch.manual_seed(0)
    module = WUTONStudentModule(teacher_checkpoint=teacher_checkpoint, size=SIZE, width="tiny", weights=NO_VGG)
    path = tmp_path_factory.mktemp("wuton_student") / "student.ckpt"
    run = quiet_trainer(path.parent, max_steps=2, limit_val_batches=0)
    run.fit(module, data(WUTONStudentDataModule, synthetic_root))
    run.save_checkpoint(path)
    return str(path)


@pytest.mark.parametrize("method", ["wuton", "wuton_teacher"])
def test_wuton_dresses_the_target_in_the_worn_or_the_in_shop_garment(
    method, teacher_checkpoint, student_checkpoint, synthetic_root
):
    role, path, stage = (
        ("student", student_checkpoint, WUTON_STUDENT)
        if method == "wuton"
        else ("teacher", teacher_checkpoint, WUTON_TEACHER)
    )
    test_data = PipelineDataModule(root=str(synthetic_root), size=SIZE, eval_batch_size=4)
    test_data.setup("test")
    batch = next(iter(test_data.test_dataloader()))
    source, target = batch.source, batch.target
    pipeline = GarmentTransfer(method, {role: path})
    net = FrozenNet.from_checkpoint(path, {stage: build_wuton})
    person = target.image if method == "wuton" else masked_person(target)
    for garment, image, mask in (
        ("worn", source.garment, source.garment_mask),
        ("in_shop", source.cloth, source.cloth_mask),
    ):
        out = pipeline(source, target, garment)
        expected = net(person, image, mask)
        torch.testing.assert_close(out.image, expected.tryon.image)
        assert torch.equal(out.parsing == 4, expected.warp.warped_mask[:, 0] > 0.5)
    with pytest.raises(ValueError, match=f"checkpoints.{role} must be a checkpoint of"):
        GarmentTransfer(method, {role: student_checkpoint if method != "wuton" else teacher_checkpoint})
