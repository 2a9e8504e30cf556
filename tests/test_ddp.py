"""Multi-process correctness: a two-process DDP fit (CPU, gloo) through the real CLI logs the validation metrics that
one process computes from the same weights on the same evaluation pairs, and the processes train on disjoint
shares of the training set."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import yaml
from conftest import subprocess_env, tiny_parsing_config

from garment_transfer.cli import lightning_cli


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    """These runs need CSV logs only (W&B is tested in test_run_logging.py)."""
    monkeypatch.setenv("WANDB_MODE", "disabled")


class RecordTargets(pl.Callback):
    """Appends the target ids of every trained batch to ``<folder>/rank<global rank>.txt``."""

    def __init__(self, folder: str):
        self.folder = folder

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        with open(Path(self.folder) / f"rank{trainer.global_rank}.txt", "a") as f:
            f.write("".join(f"{name}\n" for name in batch.target.id))


def last_validation_row(metrics_csv: Path) -> dict[str, float]:
    with open(metrics_csv, newline="") as f:
        rows = [row for row in csv.DictReader(f) if row.get("val/loss")]
    assert rows, f"{metrics_csv}: no validation row"
    return {k: float(v) for k, v in rows[-1].items() if k.startswith("val/") and v != ""}


def test_two_process_fit_logs_the_single_process_validation_metrics(synthetic_root, tmp_path):
    run = tmp_path / "runs" / "test" / "tryon_parsing"
    # 3 evaluation pairs, batch 1: 2 on one process, 1 on the other (padding would count one twice), and BatchNorm
    # statistics differ between processes after training. Training: the 6 train samples, 3 per process, must be
    # dealt out without overlap.
    recorder = {"class_path": "test_ddp.RecordTargets", "init_args": {"folder": str(tmp_path)}}
    config = tiny_parsing_config(synthetic_root, run, max_epochs=1, limit_train_batches=3, callbacks=[recorder])
    config["data"]["init_args"]["eval_limit"] = 3
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        sys.executable,
        "-m",
        "garment_transfer",
        "fit",
        "-c",
        str(path),
        "--trainer.accelerator",
        "cpu",
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
    ]
    done = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    hparams = yaml.safe_load((run / "csv" / "version_0" / "hparams.yaml").read_text())
    assert hparams["run"]["world_size"] == 2
    two_processes = last_validation_row(run / "csv" / "version_0" / "metrics.csv")
    trained = [(tmp_path / f"rank{rank}.txt").read_text().split() for rank in (0, 1)]
    assert [len(ids) for ids in trained] == [3, 3]
    assert sorted(trained[0] + trained[1]) == sorted(f.stem for f in (synthetic_root / "train" / "image").iterdir())

    single = lightning_cli(
        [
            "validate",
            "-c",
            str(path),
            "--ckpt_path",
            str(run / "checkpoints" / "last.ckpt"),
            "--trainer.default_root_dir",
            str(tmp_path / "single"),
            "--trainer.logger",
            "false",
        ]
    )
    one_process = {k: float(v) for k, v in single.trainer.callback_metrics.items() if k.startswith("val/")}

    assert {"val/loss", "val/tryon/garment_iou", "val/tryon/pixel_accuracy"} <= set(one_process)
    assert set(two_processes) == set(one_process)
    for name, value in one_process.items():
        assert two_processes[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
