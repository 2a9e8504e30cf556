"""Parsing stage: the try-on teacher learns, the frozen teacher never changes and is never optimised, phases follow
the epoch (also after resuming), and each phase's loss really depends on its inputs."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
from conftest import quiet_trainer as trainer
from conftest import training_losses

from garment_transfer.callbacks.checkpointing import StageCheckpoint
from garment_transfer.callbacks.phases import PhaseSchedule
from garment_transfer.checkpoints import STAGE_ID_KEY, STAGE_KEY, read_checkpoint
from garment_transfer.data.samples import collate
from garment_transfer.models.distilled_transfer import TRYON_PARSING
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingDataModule, TransferParsingModule
from garment_transfer.stages.distilled_transfer.tryon_parsing import TryOnParsingDataModule, TryOnParsingModule

SIZE = "64x48"
PHASES = {"feature": 0, "feature_response": 2, "self_study": 4}


@pytest.fixture(scope="session")
def teacher_checkpoint(synthetic_root, tmp_path_factory):
    """A tiny try-on parsing teacher, trained for two steps."""
    folder = tmp_path_factory.mktemp("teacher")
    pl.seed_everything(0)
    module = TryOnParsingModule(width="tiny")
    data = TryOnParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2)
    run = trainer(folder, max_steps=2)
    run.fit(module, data)
    path = folder / "teacher.ckpt"
    run.save_checkpoint(path)
    return path


def student(teacher_checkpoint, **kwargs) -> TransferParsingModule:
    return TransferParsingModule(teacher_checkpoint=str(teacher_checkpoint), width="tiny", **kwargs)


def a_batch(synthetic_root, size=2):
    data = TransferParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=size)
    data.setup("fit")
    return next(iter(data.val_dataloader()))


def test_tryon_teacher_fits_a_batch(synthetic_root):
    torch.manual_seed(0)
    module = TryOnParsingModule(width="tiny", lr=1e-2)
    losses = training_losses(module, a_batch(synthetic_root, 4), 15)
    assert losses[-1] < 0.6 * losses[0]


def test_frozen_teacher_is_unchanged_and_absent_from_the_optimizer(teacher_checkpoint, synthetic_root, tmp_path):
    module = student(
        teacher_checkpoint,
        phases={"feature_response": {"feature": 1.0, "response": 1.0, "feature_layers": ["hx6", "hx2d"]}},
    )
    before = copy.deepcopy(module.teacher.net.state_dict())  # includes BatchNorm running statistics
    assert before
    seen_modes = []

    class Spy(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen_modes.append((pl_module.net.training, pl_module.teacher.net.training))

    data = TransferParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2)
    run = trainer(tmp_path, max_steps=3, callbacks=[Spy()])
    run.fit(module, data)
    after = module.teacher.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad for p in module.teacher.net.parameters())
    optimised = {id(p) for group in run.optimizers[0].param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.net.parameters()}
    assert not optimised & {id(p) for p in module.teacher.net.parameters()}
    assert seen_modes and all(net and not teacher for net, teacher in seen_modes)


def test_student_checkpoint_references_the_teacher_and_reloads(teacher_checkpoint, synthetic_root, tmp_path):
    module = student(teacher_checkpoint)
    run = trainer(tmp_path, max_steps=1)
    run.fit(module, TransferParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2))
    path = tmp_path / "student.ckpt"
    run.save_checkpoint(path)
    saved = read_checkpoint(path)
    assert not [k for k in saved["state_dict"] if k.startswith("teacher.")]
    checkpoint = read_checkpoint(teacher_checkpoint)
    assert checkpoint[STAGE_ID_KEY] == TRYON_PARSING
    assert checkpoint[STAGE_KEY] == f"{TryOnParsingModule.__module__}.TryOnParsingModule"
    assert saved["hyper_parameters"]["teacher_checkpoint"] == str(teacher_checkpoint)
    reloaded = TransferParsingModule.load_from_checkpoint(path)
    assert all(torch.equal(a, b) for a, b in zip(reloaded.net.state_dict().values(), module.net.state_dict().values()))


class PhaseRecorder(pl.Callback):
    def __init__(self):
        self.phases = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.phases[trainer.current_epoch] = pl_module.phase


def test_phase_sequence_follows_the_epochs_and_survives_resume(teacher_checkpoint, synthetic_root, tmp_path):
    data = lambda: TransferParsingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2)  # noqa: E731
    recorder = PhaseRecorder()
    checkpoints = StageCheckpoint(dirpath=str(tmp_path / "ckpt"), save_top_k=-1, filename="{epoch}")
    run = trainer(
        tmp_path,
        max_epochs=6,
        limit_train_batches=1,
        enable_checkpointing=True,
        callbacks=[PhaseSchedule(PHASES), recorder, checkpoints],
    )
    run.fit(student(teacher_checkpoint), data())
    expected = ["feature"] * 2 + ["feature_response"] * 2 + ["self_study"] * 2
    assert [recorder.phases[e] for e in range(6)] == expected
    resumed = PhaseRecorder()
    run = trainer(tmp_path, max_epochs=6, limit_train_batches=1, callbacks=[PhaseSchedule(PHASES), resumed])
    run.fit(student(teacher_checkpoint), data(), ckpt_path=str(tmp_path / "ckpt" / "epoch=2.ckpt"))
    assert resumed.phases == {3: "feature_response", 4: "self_study", 5: "self_study"}


def test_phase_schedule_is_a_pure_function_of_the_epoch():
    schedule = PhaseSchedule({"feature": 0, "feature_response": 0.3333, "self_study": 0.6667})
    assert [schedule.phase_at(e, 9) for e in range(9)] == ["feature"] * 3 + ["feature_response"] * 3 + [
        "self_study"
    ] * 3
    assert schedule.start_epochs(2) == {"feature": 0, "feature_response": 1, "self_study": 2}
    with pytest.raises(ValueError, match="must increase"):
        PhaseSchedule({"a": 0, "b": 3, "c": 2})
    with pytest.raises(ValueError, match="must start at 0"):
        PhaseSchedule({"a": 1})


def test_schedule_naming_an_undefined_phase_is_refused(teacher_checkpoint, synthetic_root, tmp_path):
    run = trainer(tmp_path, max_steps=1, callbacks=[PhaseSchedule({"feature": 0, "warmup": 1})])
    with pytest.raises(ValueError, match=r"phases \['warmup'\] are not defined"):
        run.fit(student(teacher_checkpoint), TransferParsingDataModule(root=str(synthetic_root), size=SIZE))


def _loss(module, batch, weights, name):
    torch.manual_seed(0)
    return module.losses(batch, weights)[name].item()


def test_each_phase_loss_uses_its_inputs(teacher_checkpoint, synthetic_root):
    module = student(teacher_checkpoint).eval()
    batch = a_batch(synthetic_root)
    changed_source = copy.deepcopy(batch)
    changed_source.source.parsing = torch.roll(batch.source.parsing, 7, dims=-1)
    self_study = {"self": 1.0}
    assert _loss(module, batch, self_study, "self") != _loss(module, changed_source, self_study, "self")
    other_cloth = copy.deepcopy(batch)
    other_cloth.source.cloth_mask = torch.zeros_like(batch.source.cloth_mask)
    feature = {"feature": 1.0, "feature_layers": ["hx6", "hx5d"]}
    response = {"response": 1.0}
    assert _loss(module, batch, feature, "feature") != _loss(module, other_cloth, feature, "feature")
    assert _loss(module, batch, response, "response") != _loss(module, other_cloth, response, "response")
    assert _loss(module, batch, feature, "feature") == _loss(module, changed_source, feature, "feature")
    other_target = copy.deepcopy(batch)
    other_target.target.parsing = torch.zeros_like(batch.target.parsing)
    supervised = {"supervised": 1.0}
    assert _loss(module, batch, supervised, "supervised") != _loss(module, other_target, supervised, "supervised")
    assert set(module.losses(batch, {"feature": 1.0, "response": 0.5, "feature_layers": ["hx1d"]})) == {
        "feature",
        "response",
    }


def test_distillation_phases_need_a_teacher_of_the_same_width(teacher_checkpoint):
    with pytest.raises(ValueError, match="teacher_checkpoint: the feature and response phases need"):
        TransferParsingModule(width="tiny")
    with pytest.raises(ValueError, match="feature distillation needs equal widths"):
        TransferParsingModule(str(teacher_checkpoint), width="small")
    TransferParsingModule(width="small", phases={"self_study": {"self": 1.0}})  # no teacher needed
    with pytest.raises(ValueError, match="unknown keys"):
        TransferParsingModule(width="tiny", phases={"p": {"selfstudy": 1.0}})
    with pytest.raises(FileNotFoundError, match="missing.ckpt: checkpoint not found"):
        TransferParsingModule("missing.ckpt", width="tiny")


def test_pose_channel_mismatch_is_explained(synthetic_root):
    batch = a_batch(synthetic_root)
    module = TryOnParsingModule(width="tiny", pose_channels=25)
    with pytest.raises(ValueError, match="pose_channels=25"):
        module.training_step(batch, 0)
    assert collate([batch.target]) is not None
