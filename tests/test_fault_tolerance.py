"""Fault tolerance: a killed stage resumes from its last checkpoint and ends at the same optimizer step, a checkpoint
is never half-written, and a NaN loss stops the run naming stage, step and loss term."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml
from conftest import differing_tensors, subprocess_env, tiny_parsing_config

from garment_transfer.callbacks.checkpointing import COMPLETE, PARTIAL, AtomicCheckpointIO, StageCheckpoint
from garment_transfer.callbacks.guard import FiniteLossGuard, NonFiniteLossError
from garment_transfer.callbacks.image_logger import ImageLogger
from garment_transfer.callbacks.run import stage_callbacks
from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.cli import lightning_cli
from garment_transfer.errors import UserError
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingModule
from garment_transfer.stages.distilled_transfer.tryon_parsing import TryOnParsingDataModule, TryOnParsingModule

STEPS_PER_EPOCH, EPOCHS, SAVE_EVERY, KILL_AT = 6, 2, 2, 9


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    """These runs need CSV logs only (W&B is tested in test_run_logging.py)."""
    monkeypatch.setenv("WANDB_MODE", "disabled")


class KillAtStep(pl.Callback):
    """SIGKILLs its own process when a training batch starts at global step ``step`` (no cleanup of any kind)."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class NaNSelfStudyAtStep2(TransferParsingModule):
    """A student whose self-study term turns NaN at global step 2."""

    def losses(self, batch, weights):
        terms = super().losses(batch, weights)
        if self.trainer.global_step == 2:
            terms["self"] = terms["self"] * float("nan")
        return terms


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class NoisyTeacher(TryOnParsingModule):
    """A training step that draws from the global torch generator (as arm regrowth's case choice does)."""

    def loss(self, out, reference):
        return super().loss(out, reference) * (1 + 0.1 * torch.rand(()))


class RecordBatches(pl.Callback):
    """Appends ``<global step> <target ids>`` of every trained batch to ``path`` (flushed: survives a SIGKILL)."""

    def __init__(self, path: str):
        self.path = path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        with open(self.path, "a") as f:
            f.write(f"{trainer.global_step} {' '.join(batch.target.id)}\n")


def batches_by_step(path: Path) -> dict[int, str]:
    """The recorded batches, the last record of a step winning (a resumed run retrains the unsaved steps)."""
    return {int(step): ids for step, ids in (line.split(" ", 1) for line in path.read_text().splitlines())}


def resumable_config(
    synthetic_root,
    run: Path,
    record: Path,
    *extra_callbacks: dict,
    model: str | None = None,
    limits: dict | None = None,
) -> dict:
    """Random partners and augmentation on, so the resumed batches must repeat the draws, not only the order."""
    checkpoint = {
        "class_path": "garment_transfer.callbacks.checkpointing.StageCheckpoint",
        "init_args": {"last_every_n_steps": SAVE_EVERY},
    }
    recorder = {"class_path": "test_fault_tolerance.RecordBatches", "init_args": {"path": str(record)}}
    config = tiny_parsing_config(
        synthetic_root,
        run,
        max_epochs=EPOCHS,
        limit_train_batches=STEPS_PER_EPOCH,
        limit_val_batches=2,
        callbacks=[checkpoint, recorder, *extra_callbacks],
    )
    config["data"]["init_args"].update(train_pairs="unpaired", augment_target="affine")
    if model is not None:
        config["model"]["class_path"] = model
    config["trainer"].update(limits or {})
    return config


def train_steps_logged(run: Path, version: int) -> list[int]:
    with open(run / "csv" / f"version_{version}" / "metrics.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get("train/loss")]


def uninterrupted_run(synthetic_root, tmp_path, model: str | None = None, limits: dict | None = None):
    """The whole run, recorded to ``whole.txt``: its CLI (trainer and model at the end)."""
    config = resumable_config(
        synthetic_root, tmp_path / "runs" / "test" / "whole", tmp_path / "whole.txt", model=model, limits=limits
    )
    cli = lightning_cli(["fit", "-c", str(write_config(tmp_path / "whole.yaml", config))])
    assert cli.trainer.global_step == (limits or {}).get("max_steps", EPOCHS * STEPS_PER_EPOCH)
    return cli


def killed_run(
    synthetic_root, tmp_path, kill_at: int, *callbacks: dict, model: str | None = None, limits: dict | None = None
) -> Path:
    """The same run in a subprocess, recorded to ``killed.txt`` and SIGKILLed when step ``kill_at`` starts; its
    run folder."""
    run = tmp_path / "runs" / "test" / "killed"
    killer = {"class_path": "test_fault_tolerance.KillAtStep", "init_args": {"step": kill_at}}
    config = resumable_config(
        synthetic_root, run, tmp_path / "killed.txt", *callbacks, killer, model=model, limits=limits
    )
    done = subprocess.run(
        [sys.executable, "-m", "garment_transfer", "fit", "-c", str(write_config(tmp_path / "killed.yaml", config))],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    return run


def resumed_run(
    synthetic_root, tmp_path, run: Path, checkpoint: str, model: str | None = None, limits: dict | None = None
):
    """The killed run again, without the killer, from ``checkpoint``; its CLI."""
    config = resumable_config(synthetic_root, run, tmp_path / "killed.txt", model=model, limits=limits)
    return lightning_cli(["fit", "-c", str(write_config(tmp_path / "rerun.yaml", config)), "--ckpt_path", checkpoint])


def assert_same_training(tmp_path, whole, resumed) -> None:
    """The killed and resumed run trained the whole run's batches (by step) and ends with bit-identical weights."""
    assert batches_by_step(tmp_path / "killed.txt") == batches_by_step(tmp_path / "whole.txt")
    assert differing_tensors(whole.model.state_dict(), resumed.model.state_dict()) == []


# A max_steps run (no epoch limit) killed in its second epoch, where the issue saw a resume stop at once.
MAX_STEPS = {"max_epochs": -1, "max_steps": STEPS_PER_EPOCH + 4}


@pytest.mark.parametrize(
    "kill_at, model, limits",
    [
        (KILL_AT, None, None),
        (STEPS_PER_EPOCH + 1, None, None),
        (KILL_AT, "test_fault_tolerance.NoisyTeacher", None),
        (STEPS_PER_EPOCH + 1, None, MAX_STEPS),
    ],
    ids=["mid_epoch", "after_epoch_end", "global_generator_in_training_step", "max_steps_second_epoch"],
)
def test_killed_stage_resumes_from_last_checkpoint_to_the_same_step_and_weights(
    synthetic_root, tmp_path, kill_at, model, limits
):
    whole = uninterrupted_run(synthetic_root, tmp_path, model, limits)
    uninterrupted = whole.trainer.global_step

    run = killed_run(synthetic_root, tmp_path, kill_at, model=model, limits=limits)
    last = run / "checkpoints" / "last.ckpt"
    saved = (kill_at - 1) // SAVE_EVERY * SAVE_EVERY  # every SAVE_EVERY steps and at epoch ends (a multiple)
    assert read_checkpoint(last)["global_step"] == saved
    assert not (run / "checkpoints" / COMPLETE).exists()

    cli = resumed_run(synthetic_root, tmp_path, run, "last", model, limits)
    assert Path(cli.trainer.ckpt_path) == last.resolve()
    assert cli.trainer.global_step == uninterrupted
    logged = train_steps_logged(run, 1)
    if limits is None:
        assert logged == list(range(saved, uninterrupted))  # only the missing steps ran
    else:  # without an epoch limit Lightning labels the resumed logs one step later (its restart bookkeeping);
        assert len(logged) == uninterrupted - saved  # the steps, batches and weights are still exact (below)
    assert (run / "checkpoints" / COMPLETE).read_text() == f"global_step {uninterrupted}\n"
    assert read_checkpoint(last)["global_step"] == uninterrupted
    assert_same_training(tmp_path, whole, cli)


def test_resume_from_a_checkpoint_written_at_an_epochs_last_batch_continues_with_the_next_epoch(
    synthetic_root, tmp_path
):
    """A user's ModelCheckpoint saving every epoch's worth of steps writes at the last batch, before the epoch-end
    hooks: the resumed run must go on with the next epoch's batches, not repeat or skip any."""
    whole = uninterrupted_run(synthetic_root, tmp_path)
    steps = tmp_path / "steps"
    every_epoch = {
        "class_path": "pytorch_lightning.callbacks.ModelCheckpoint",
        "init_args": {
            "dirpath": str(steps),
            "every_n_train_steps": STEPS_PER_EPOCH,
            "save_top_k": -1,
            "filename": "at-{step}",
        },
    }
    run = killed_run(synthetic_root, tmp_path, STEPS_PER_EPOCH + 1, every_epoch)
    saved = steps / f"at-step={STEPS_PER_EPOCH}.ckpt"
    progress = read_checkpoint(saved)["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]
    assert progress["ready"] == STEPS_PER_EPOCH  # written at the epoch's last batch, before the epoch ended

    cli = resumed_run(synthetic_root, tmp_path, run, str(saved))
    assert cli.trainer.global_step == EPOCHS * STEPS_PER_EPOCH
    assert_same_training(tmp_path, whole, cli)


def test_nan_loss_stops_the_run_naming_stage_step_and_term(synthetic_root, tmp_path):
    run = tmp_path / "runs" / "test" / "transfer_parsing_nan"
    config = tiny_parsing_config(
        synthetic_root,
        run,
        max_epochs=1,
        limit_train_batches=5,
        callbacks=[
            {
                "class_path": "garment_transfer.callbacks.checkpointing.StageCheckpoint",
                "init_args": {"last_every_n_steps": 1},
            }
        ],
    )
    config["model"] = {
        "class_path": "test_fault_tolerance.NaNSelfStudyAtStep2",
        "init_args": {"width": "tiny", "phases": {"self_study": {"self": 1.0}}},
    }
    config["data"]["class_path"] = (
        "garment_transfer.stages.distilled_transfer.transfer_parsing.TransferParsingDataModule"
    )
    path = write_config(tmp_path / "nan.yaml", config)
    cli = lightning_cli(["-c", str(path)], run=False)  # the guard comes from GarmentCLI, not the config
    assert any(isinstance(c, FiniteLossGuard) for c in cli.trainer.callbacks)
    with pytest.raises(NonFiniteLossError) as raised:
        cli.trainer.fit(cli.model, cli.datamodule)
    message = str(raised.value)
    assert f"stage NaNSelfStudyAtStep2 (run folder {run}), phase self_study, epoch 0, batch 2, global step 2" in message
    assert "non-finite terms: train/loss_self = nan, train/loss = nan" in message
    assert all(torch.isfinite(p).all() for p in cli.model.net.parameters())  # stopped before the backward pass
    saved = read_checkpoint(run / "checkpoints" / "last.ckpt")
    assert saved["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point())
    assert not (run / "checkpoints" / COMPLETE).exists()
    assert not list((run / "checkpoints").glob(f".*{PARTIAL}"))


def test_failing_checkpoint_write_leaves_the_previous_checkpoint(synthetic_root, tmp_path, monkeypatch):
    config = tiny_parsing_config(synthetic_root, tmp_path, max_steps=1)
    trainer = pl.Trainer(
        **{k: v for k, v in config["trainer"].items() if k != "devices"}, logger=False, callbacks=[StageCheckpoint()]
    )
    trainer.fit(TryOnParsingModule(width="tiny"), TryOnParsingDataModule(**config["data"]["init_args"]))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    last = tmp_path / "checkpoints" / "last.ckpt"
    before = last.read_bytes()

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(UserError, match=r"last.ckpt: cannot write the checkpoint \(disk full\)"):
        trainer.save_checkpoint(last)  # one line naming the file, not a torch traceback
    monkeypatch.undo()
    assert last.read_bytes() == before
    assert read_checkpoint(last)["global_step"] == 1
    assert sorted(p.name for p in last.parent.iterdir()) == sorted(["last.ckpt", "epoch=0-step=1.ckpt", COMPLETE])


KILLED_WRITER = """
import os, signal, sys, torch
from garment_transfer.callbacks.checkpointing import AtomicCheckpointIO
io = AtomicCheckpointIO()
io.save_checkpoint({"step": 1}, sys.argv[1])
def killed_midway(obj, f, *args, **kwargs):
    f.write(b"half a checkpoint"); f.flush(); os.kill(os.getpid(), signal.SIGKILL)
torch.save = killed_midway
io.save_checkpoint({"step": 2}, sys.argv[1])
"""


def test_writer_killed_midway_leaves_the_previous_checkpoint_and_setup_clears_the_partial(tmp_path):
    folder = tmp_path / "checkpoints"
    last = folder / "last.ckpt"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(last)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert torch.load(last) == {"step": 1}
    partial = list(folder.glob(f".*{PARTIAL}"))
    assert len(partial) == 1 and partial[0].read_bytes() == b"half a checkpoint"
    assert not StageCheckpoint(dirpath=str(folder))._find_last_checkpoints(pl.Trainer(logger=False)) - {str(last)}
    StageCheckpoint(dirpath=str(folder)).setup(pl.Trainer(logger=False, default_root_dir=tmp_path), None, "fit")
    assert [p.name for p in folder.iterdir()] == ["last.ckpt"]


def test_every_run_gets_a_stage_checkpoint_the_image_logger_and_the_guard_once():
    defaults = stage_callbacks(None)
    assert [type(c) for c in defaults] == [StageCheckpoint, FiniteLossGuard]
    assert [type(c) for c in stage_callbacks(None, images=True)] == [StageCheckpoint, ImageLogger, FiniteLossGuard]
    own = [StageCheckpoint(last_every_n_steps=7), ImageLogger(every_n_epochs=2), FiniteLossGuard()]
    assert stage_callbacks(own, images=True) == own
    assert [type(c) for c in stage_callbacks(None, checkpointing=False)] == [FiniteLossGuard]
    with pytest.raises(ValueError, match="last_every_n_steps must be >= 0"):
        StageCheckpoint(last_every_n_steps=-1)
