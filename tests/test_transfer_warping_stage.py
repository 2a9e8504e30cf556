"""Transfer warping student: the frozen T_W and S_P never change, never train, stay in eval mode and stay out of its
checkpoints; every method and supervision trains with finite losses; each loss term reads its input; evaluation logs
the teacher / truth / re-transfer comparisons; missing checkpoints and missing truth are explained."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from conftest import one_step_checkpoint, tiny_settings, training_losses
from conftest import quiet_trainer as trainer

from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.synth import generate
from garment_transfer.models.distilled_transfer import TRANSFER_WARPING
from garment_transfer.models.distilled_transfer.warping import build_warping_student, warp_garment
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingDataModule, TransferParsingModule
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule, TransferWarpingModule
from garment_transfer.stages.distilled_transfer.tryon_warping import TryOnWarpingDataModule, TryOnWarpingModule

SIZE = "64x48"
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*(random|RANDOM).*:UserWarning"),
    pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`"),
]


@pytest.fixture(scope="module")
def checkpoints(synthetic_root, tmp_path_factory):
    """``(T_W, S_P)`` checkpoints of tiny try-on warping and transfer parsing modules after one step each."""
    folder = tmp_path_factory.mktemp("warping_teachers")
    pl.seed_everything(0)
    teacher = one_step_checkpoint(
        TryOnWarpingModule(width="tiny", allow_random_vgg=True, lr=1e-3),
        TryOnWarpingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2),
        folder / "tryon_warping.ckpt",
    )
    parser = one_step_checkpoint(
        TransferParsingModule(width="tiny", phases={"self_study": {"self": 1.0}}),
        TransferParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2),
        folder / "transfer_parsing.ckpt",
    )
    return teacher, parser


def student(checkpoints, **kwargs) -> TransferWarpingModule:
    teacher, parser = checkpoints
    options = dict(teacher_checkpoint=str(teacher), parsing_checkpoint=str(parser), width="tiny", allow_random_vgg=True)
    return TransferWarpingModule(**{**options, **kwargs})


def data(root, **kwargs) -> TransferWarpingDataModule:
    return TransferWarpingDataModule(root=str(root), size=SIZE, batch_size=2, eval_batch_size=2, **kwargs)


def a_batch(root, split="val"):
    module = data(root)
    module.setup("fit")
    return next(iter(module.val_dataloader() if split == "val" else module.train_dataloader()))


FROZEN = ("teacher", "transfer_parser")


class ModeSpy(pl.Callback):
    def __init__(self):
        self.modes = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.modes.append(
            (pl_module.net.training, pl_module.teacher.net.training, pl_module.transfer_parser.net.training)
        )


@pytest.fixture(scope="module")
def fitted(checkpoints, synthetic_root, tmp_path_factory):
    """A student after two training steps and one validation under Lightning, with what was seen on the way."""
    folder = tmp_path_factory.mktemp("transfer_warping")
    torch.manual_seed(0)
    module = student(checkpoints, lr=1e-3)
    before = {name: copy.deepcopy(getattr(module, name).net.state_dict()) for name in FROZEN}
    spy = ModeSpy()
    run = trainer(folder, max_epochs=1, limit_train_batches=2, callbacks=[spy])
    run.fit(module, data(synthetic_root))
    path = folder / "student.ckpt"
    run.save_checkpoint(path)
    return dict(module=module, run=run, before=before, modes=spy.modes, path=path, metrics=dict(run.callback_metrics))


def test_frozen_nets_are_unchanged_untrainable_and_absent_from_the_optimizer(fitted):
    module, run = fitted["module"], fitted["run"]
    optimised = {id(p) for group in run.optimizers[0].param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.net.parameters()}
    for name in FROZEN:
        frozen = getattr(module, name).net
        after = frozen.state_dict()  # includes BatchNorm running statistics
        assert after and all(torch.equal(fitted["before"][name][k], after[k]) for k in after), name
        assert not any(p.requires_grad for p in frozen.parameters()), name
        assert not optimised & {id(p) for p in frozen.parameters()}, name
    assert len(fitted["modes"]) == 2 and all(net and not t and not p for net, t, p in fitted["modes"])


def test_checkpoint_references_the_frozen_nets_and_reloads(fitted, checkpoints):
    saved = read_checkpoint(fitted["path"])
    assert not [k for k in saved["state_dict"] if not k.startswith("net.")]
    assert (saved["hyper_parameters"]["teacher_checkpoint"], saved["hyper_parameters"]["parsing_checkpoint"]) == tuple(
        map(str, checkpoints)
    )
    reloaded = TransferWarpingModule.load_from_checkpoint(fitted["path"])
    trained = fitted["module"].net.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in reloaded.net.state_dict().items())
    net = FrozenNet.from_checkpoint(fitted["path"], {TRANSFER_WARPING: build_warping_student})  # as the pipeline
    assert all(torch.equal(v, trained[k]) for k, v in net.state_dict().items())


def test_evaluation_logs_every_comparison_and_the_random_vgg_choice(fitted, checkpoints, synthetic_root, tmp_path):
    assert fitted["metrics"]["train/vgg_random"] == 1.0
    assert {"val/loss", "val/shape/mask_iou", "val/retransfer/mse"} <= set(fitted["metrics"])
    # The one-step S_P may predict no garment (an empty shape skips the teacher comparison): use the true shape.
    module = student(checkpoints, target_shape="truth", parsing_checkpoint=None)
    metrics = trainer(tmp_path).validate(module, data(synthetic_root), verbose=False)[0]
    expected = {f"val/{c}/{m}" for c in ("teacher", "truth", "retransfer") for m in ("mse", "psnr", "ssim")}
    assert expected | {"val/loss", "val/shape/mask_iou", "val/truth/mask_iou"} <= set(metrics)
    assert metrics["val/shape/mask_iou"] == metrics["val/truth/mask_iou"]  # the target shape is the truth's
    assert all(metrics[k] == metrics[k] for k in expected)  # not NaN
    visuals = module.visuals(a_batch(synthetic_root))
    assert list(visuals) == ["source_garment", "aligned", "warped", "teacher", "target_mask", "truth"]
    assert all(v.shape == (2, 3, 64, 48) and 0 <= v.min() and v.max() <= 1 for v in visuals.values())


@pytest.mark.parametrize(
    "options, zero_terms",
    [
        ({}, set()),
        ({"method": "fsv"}, set()),
        ({"method": "tps"}, set()),
        ({"initial_align": False}, {"align"}),
        ({"supervision": "shape", "teacher_checkpoint": None}, {"l1", "vgg"}),
        ({"supervision": "cycle", "teacher_checkpoint": None}, set()),
    ],
    ids=["scaw", "fsv", "tps", "no_align", "shape_only", "cycle"],
)
def test_every_method_and_supervision_trains_with_finite_losses(checkpoints, synthetic_root, options, zero_terms):
    torch.manual_seed(0)
    module = student(checkpoints, lr=1e-3, **options)
    batch = a_batch(synthetic_root, "train")
    start = copy.deepcopy(module.net.state_dict())
    losses = training_losses(module, batch, 3)
    assert all(torch.isfinite(torch.tensor(losses))) and losses[0] > 0
    assert any(not torch.equal(start[k], v) for k, v in module.net.state_dict().items())
    terms = module.objective(batch).terms
    assert {name for name in ("align", "mask", "l1", "vgg") if terms[name] == 0} == zero_terms


def test_initial_warp_is_the_identity_and_the_api_takes_a_person_batch(checkpoints, synthetic_root):
    module = student(checkpoints)
    batch = a_batch(synthetic_root)
    source = batch.source
    out = warp_garment(module.net, source, batch.target.densepose, module.transfer_shape(batch)[1])
    torch.testing.assert_close(out.warped_garment, source.garment, atol=1e-4, rtol=0)  # two bilinear samplings
    torch.testing.assert_close(out.warped_mask, source.garment_mask, atol=1e-4, rtol=0)


def test_each_loss_term_responds_to_its_input(checkpoints, synthetic_root):
    module = student(checkpoints)
    batch = a_batch(synthetic_root)
    step = module.objective(batch)
    out, shape, content = step.out, step.shape, step.content
    base = module.losses(out, content, shape)
    other_content = module.losses(out, torch.roll(content, 5, dims=-1), shape)
    assert other_content["l1"] != base["l1"] and other_content["vgg"] != base["vgg"]
    assert other_content["mask"] == base["mask"] and other_content["align"] == base["align"]
    other_shape = module.losses(out, content, 1 - shape)
    assert other_shape["mask"] != base["mask"] and other_shape["align"] != base["align"]
    bent = out._replace(
        grids=[g + 0.05 * torch.randn_like(g) for g in out.grids],
        offsets=[o + torch.randn_like(o) for o in out.offsets],
    )
    bent_terms = module.losses(bent, content, shape)
    assert bent_terms["smooth"] > base["smooth"] and bent_terms["tv"] > base["tv"] == 0
    hp = module.hparams
    weighted = sum(hp[f"w_{k}"] * base[k] for k in ("align", "mask", "l1", "vgg", "smooth", "tv"))
    assert torch.isclose(base["total"], weighted)


def test_target_shape_comes_from_the_parsing_student_or_the_truth(checkpoints, synthetic_root):
    batch = a_batch(synthetic_root)
    truth = student(checkpoints, target_shape="truth", parsing_checkpoint=None)
    assert truth.transfer_parser is None
    parsing, mask = truth.transfer_shape(batch)
    assert torch.equal(mask[:, 0], (batch.truth.parsing == UPPER_GARMENT).float())
    assert torch.equal(parsing.argmax(1), batch.truth.parsing)
    learned = student(checkpoints)
    inputs = torch.cat([batch.target.remaining, batch.source.garment_mask, batch.target.densepose], 1)
    logits = learned.transfer_parser(inputs)
    assert torch.equal(learned.transfer_shape(batch)[1][:, 0], (logits.logits.argmax(1) == UPPER_GARMENT).float())
    without_truth = copy.copy(batch)
    without_truth.truth = None
    with pytest.raises(ValueError, match="target_shape 'truth' needs the true transfer"):
        truth.training_step(without_truth, 0)


def test_training_on_true_transfers_with_the_true_target_shape(checkpoints, tmp_path):
    root = tmp_path / "with_train_truth"
    generate(
        root, tiny_settings(train=4, test=2, transfers_per_target={"train": 1, "test": 1}), workers=1, progress=False
    )
    module = data(root, train_truth=True)
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert batch.truth is not None and batch.source.id != batch.target.id
    losses = training_losses(student(checkpoints, target_shape="truth", parsing_checkpoint=None), batch, 2)
    assert all(torch.isfinite(torch.tensor(losses)))


def test_missing_checkpoints_and_truth_are_explained(checkpoints, synthetic_root, tmp_path):
    teacher, parser = checkpoints
    with pytest.raises(FileNotFoundError, match="missing.ckpt: checkpoint not found"):
        TransferWarpingModule(str(tmp_path / "missing.ckpt"), str(parser), width="tiny", allow_random_vgg=True)
    with pytest.raises(ValueError, match="teacher_checkpoint: supervision 'shape_content' distils"):
        TransferWarpingModule(None, str(parser), width="tiny", allow_random_vgg=True)
    with pytest.raises(ValueError, match="parsing_checkpoint: target_shape 'student'"):
        TransferWarpingModule(str(teacher), None, width="tiny", allow_random_vgg=True)
    with pytest.raises(ValueError, match="pose_channels=3, this stage has pose_channels=25"):
        TransferWarpingModule(str(teacher), str(parser), width="tiny", pose_channels=25, allow_random_vgg=True)
    with pytest.raises(ValueError, match="method must be one of"):
        TransferWarpingModule(str(teacher), str(parser), width="tiny", method="flow", allow_random_vgg=True)
    with pytest.raises(ValueError, match="train_truth needs true transfers in the train split"):
        data(synthetic_root, train_truth=True).setup("fit")
