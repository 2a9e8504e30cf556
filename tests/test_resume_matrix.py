"""Resume is exact whatever the trainer's limits: for every combination of ``max_steps``, ``max_epochs`` and
``limit_train_batches``, a run interrupted mid-epoch, at an epoch's end or before its first checkpoint (by Ctrl-C or
by a crash), then resumed with ``--ckpt_path last``, ends at the uninterrupted run's optimizer step with the same
weights, and ``checkpoints/complete`` is written only when the run's own limits are reached. (A SIGKILL of the
process is in ``test_fault_tolerance.py``; the state it leaves on disk is a crash's.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import yaml
from conftest import differing_tensors, tiny_parsing_config

from garment_transfer.callbacks.checkpointing import COMPLETE
from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.cli import lightning_cli

SAVE_EVERY = 2  # last.ckpt every 2 optimizer steps, and at every epoch end

LIMITS = {  # name -> trainer limits and the optimizer steps the run ends at (6 training samples, batch 1)
    "max_epochs": ({"max_epochs": 3, "limit_train_batches": 4}, 12),
    "max_steps": ({"max_epochs": -1, "max_steps": 7, "limit_train_batches": 4}, 7),
    "epochs_first": ({"max_epochs": 1, "max_steps": 7, "limit_train_batches": 4}, 4),
    "steps_first": ({"max_epochs": 3, "max_steps": 5, "limit_train_batches": 4}, 5),
    "one_batch": ({"max_epochs": 3, "limit_train_batches": 1}, 3),
    "whole_epochs": ({"max_epochs": 2}, 12),
}


class Interrupt(pl.Callback):
    """Ctrl-C (``KeyboardInterrupt``) or a crash (``RuntimeError``) when a training batch starts at global step
    ``step``, or at the end of epoch ``epoch`` before the epoch's checkpoint is written."""

    def __init__(self, how: str, step: int | None = None, epoch: int | None = None):
        self.how, self.step, self.epoch = how, step, epoch

    def _stop(self):
        raise KeyboardInterrupt if self.how == "ctrl_c" else RuntimeError("the process died here")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            self._stop()

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            self._stop()


def config(synthetic_root, run: Path, limits: dict, *callbacks: dict) -> dict:
    checkpoint = {
        "class_path": "garment_transfer.callbacks.checkpointing.StageCheckpoint",
        "init_args": {"last_every_n_steps": SAVE_EVERY},
    }
    built = tiny_parsing_config(
        synthetic_root, run, limit_val_batches=1, logger=False, callbacks=[*callbacks, checkpoint]
    )
    built["trainer"].update({"max_epochs": None, **limits})
    built["data"]["init_args"].update(train_pairs="unpaired", augment_target="affine")  # draws per batch
    return built


def fit(tmp_path: Path, name: str, built: dict, *args: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(built, sort_keys=False))
    return lightning_cli(["fit", "-c", str(path), *args])


@pytest.fixture(scope="module")
def uninterrupted(synthetic_root, tmp_path_factory) -> dict:
    """Each combination's uninterrupted run: ``{name: (state_dict, global_step)}``."""
    folder = tmp_path_factory.mktemp("whole")
    runs = {}
    for name, (limits, steps) in LIMITS.items():
        cli = fit(folder, name, config(synthetic_root, folder / name, limits))
        assert cli.trainer.global_step == steps, name
        assert (folder / name / "checkpoints" / COMPLETE).read_text() == f"global_step {steps}\n"
        runs[name] = ({k: v.clone() for k, v in cli.model.state_dict().items()}, steps)
    return runs


def points(name: str) -> list[tuple[str, dict]]:
    steps_per_epoch = LIMITS[name][0].get("limit_train_batches", 6)
    mid = 3 if steps_per_epoch > 3 else None
    found = [("before_first_checkpoint", {"step": 1}), ("at_epoch_end", {"epoch": 0})]
    if mid is not None:
        found.append(("mid_epoch", {"step": mid}))
    return found


CASES = [
    (name, point, how)
    for name in LIMITS
    for point, _ in points(name)
    for how in ("ctrl_c", "crash")
    if how == "ctrl_c" or point == "mid_epoch"
]


@pytest.mark.parametrize("name, point, how", CASES, ids=["-".join(case) for case in CASES])
def test_an_interrupted_run_resumes_to_the_same_step_and_weights(
    name, point, how, synthetic_root, tmp_path, uninterrupted
):
    limits, steps = LIMITS[name]
    where = dict(points(name))[point]
    run = tmp_path / "run"
    stopper = {"class_path": "test_resume_matrix.Interrupt", "init_args": {"how": how, **where}}
    with pytest.raises((SystemExit, RuntimeError)):  # Lightning ends an interrupted fit with exit(1)
        fit(tmp_path, "interrupted", config(synthetic_root, run, limits, stopper))
    complete = run / "checkpoints" / COMPLETE
    assert not complete.exists(), "an interrupted run is not complete"
    last = run / "checkpoints" / "last.ckpt"
    saved = read_checkpoint(last)["global_step"] if last.exists() else 0
    assert saved < steps

    resumed = fit(tmp_path, "resumed", config(synthetic_root, run, limits), "--ckpt_path", "last")
    weights, expected = uninterrupted[name]
    assert resumed.trainer.global_step == expected == steps
    assert complete.read_text() == f"global_step {steps}\n"
    assert differing_tensors(weights, resumed.model.state_dict()) == []
    assert read_checkpoint(last)["global_step"] == steps
