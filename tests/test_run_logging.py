"""Every run logs its resolved config, git commit, data set fingerprint and phases; W&B runs are offline by default,
grouped by preset and named by stage and ablation."""

from __future__ import annotations

import csv
import shutil

import pytest
import yaml
from conftest import tiny_parsing_config
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger

from garment_transfer.callbacks.run import git_state, run_names, stage_loggers
from garment_transfer.cli import lightning_cli
from garment_transfer.data.fingerprint import dataset_fingerprint


def student_config(data_root, run) -> dict:
    """The transfer parsing student without a teacher: a supervised phase, then self-study."""
    config = tiny_parsing_config(
        data_root,
        run,
        max_epochs=2,
        limit_train_batches=2,
        limit_val_batches=2,
        callbacks=[
            {
                "class_path": "garment_transfer.callbacks.phases.PhaseSchedule",
                "init_args": {"phases": {"supervised": 0, "self_study": 1}},
            }
        ],
    )
    config["model"] = {
        "class_path": ("garment_transfer.stages.distilled_transfer.transfer_parsing.TransferParsingModule"),
        "init_args": {"width": "tiny", "phases": {"supervised": {"supervised": 1.0}, "self_study": {"self": 1.0}}},
    }
    config["data"]["class_path"] = (
        "garment_transfer.stages.distilled_transfer.transfer_parsing.TransferParsingDataModule"
    )
    return config


def test_every_run_logs_config_commit_data_fingerprint_and_phase(synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    run = tmp_path / "runs" / "test" / "transfer_parsing_selfstudy"
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(student_config(synthetic_root, run), sort_keys=False))
    lightning_cli(["fit", "-c", str(path)])

    logs = run / "csv" / "version_0"
    saved = yaml.safe_load((logs / "config.yaml").read_text())
    assert saved["model"]["init_args"]["phases"]["self_study"] == {"self": 1.0}
    for hparams_file in (logs / "hparams.yaml", run / "tensorboard" / "version_0" / "hparams.yaml"):
        hparams = yaml.safe_load(hparams_file.read_text())
        assert hparams["config"]["model"] == saved["model"]  # the full resolved config
        assert hparams["config"]["trainer"]["max_epochs"] == 2
        record = hparams["run"]
        assert (record["git_commit"], record["git_dirty"]) == git_state()
        assert record["data_fingerprint"] == dataset_fingerprint(synthetic_root)
        assert (record["stage"], record["preset"], record["name"], record["ablation"]) == (
            "transfer_parsing",
            "test",
            "transfer_parsing_selfstudy",
            "selfstudy",
        )
        assert hparams["phase_schedule"] == {
            "0": {"name": "supervised", "start_epoch": 0},
            "1": {"name": "self_study", "start_epoch": 1},
        }
    with open(logs / "metrics.csv", newline="") as f:
        phases = [(int(row["epoch"]), float(row["train/phase"])) for row in csv.DictReader(f) if row["train/phase"]]
    assert phases == [(0, 0.0), (1, 1.0)]


def test_wandb_run_is_offline_grouped_by_preset_and_named_by_stage(synthetic_root, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)  # the default: offline
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    run = tmp_path / "runs" / "cpu" / "tryon_parsing_small"
    path = tmp_path / "teacher.yaml"
    config = tiny_parsing_config(synthetic_root, run, max_steps=1, limit_val_batches=1)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    wandb.finish()  # a run left open by an earlier test in this process would be reused
    try:
        lightning_cli(["fit", "-c", str(path)])
        online = wandb.run
        assert online.settings.mode in ("offline", "dryrun")
        assert (online.project, online.group, online.name, online.job_type) == (
            "garment-transfer",
            "cpu",
            "tryon_parsing_small",
            "tryon_parsing",
        )
        assert set(online.tags) == {"cpu", "tryon_parsing", "small"}
        assert online.config["run"]["data_fingerprint"] == dataset_fingerprint(synthetic_root)
        assert online.config["config"]["model"]["init_args"]["width"] == "tiny"
    finally:
        wandb.finish()
        wandb.teardown()  # stop this process's W&B service: later tests start their own
    assert list((run / "wandb").glob("offline-run-*"))


def test_wandb_mode_selects_offline_online_or_no_wandb(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert [type(x) for x in stage_loggers(tmp_path)] == [CSVLogger, TensorBoardLogger]
    for mode, offline in (("offline", True), ("online", False)):
        monkeypatch.setenv("WANDB_MODE", mode)
        wandb_logger = stage_loggers(tmp_path)[-1]
        assert isinstance(wandb_logger, WandbLogger) and wandb_logger._offline is offline


def test_run_names_group_by_preset_and_name_stages_and_ablations():
    assert run_names("runs/cpu/transfer_parsing_cycle", "transfer_parsing") == {
        "group": "cpu",
        "name": "transfer_parsing_cycle",
        "job_type": "transfer_parsing",
        "ablation": "cycle",
        "tags": ["cpu", "transfer_parsing", "cycle"],
    }
    assert run_names("/x/runs/paper/tryon_parsing", "tryon_parsing")["ablation"] is None
    assert run_names("runs/cpu/baselines/teacher", "pipeline")["name"] == "baselines/teacher"
    assert run_names("experiments/mine")["group"] == "experiments"


def test_git_state_outside_a_checkout_is_unknown(tmp_path, monkeypatch):
    assert git_state(tmp_path) == ("unknown", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert git_state() == ("unknown", None)


def test_dataset_fingerprint_follows_the_files_not_the_location(synthetic_root, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_root, copy)
    fingerprint = dataset_fingerprint(synthetic_root)
    assert dataset_fingerprint(copy) == fingerprint and len(fingerprint) == 16
    (copy / "test" / ".image.png.tmp-1").write_bytes(b"x")  # an atomic writer's temporary file
    assert dataset_fingerprint(copy) == fingerprint
    image = next((copy / "train" / "image").iterdir())
    image.write_bytes(image.read_bytes()[:-1])
    assert dataset_fingerprint(copy) != fingerprint
    with pytest.raises(FileNotFoundError, match="missing: data set folder not found"):
        dataset_fingerprint(tmp_path / "missing")
