"""The registry is the only list of methods: a toy method in the test folder (``tests/toy_method``), registered
through ``GARMENT_TRANSFER_METHODS``, is listed, trained, evaluated, compared and sized through the CLI without any
file of the package naming it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import subprocess_env

from garment_transfer import registry
from garment_transfer.checkpoints import STAGE_ID_KEY
from garment_transfer.data.formats import canonical

ROOT = Path(__file__).parents[1]
TOY = Path(__file__).parent / "toy_method"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**subprocess_env(), "GARMENT_TRANSFER_METHODS": "toy_method.method"}
    return subprocess.run(
        [sys.executable, "-m", "garment_transfer", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_a_toy_method_registered_from_outside_trains_evaluates_and_compares(synthetic_root, tmp_path):
    assert "toy" not in registry.methods(), "nothing in the package names the toy method"
    assert "toy_method" not in " ".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    listing = ok(cli("methods", cwd=tmp_path))
    assert "toy: a toy method registered from the test folder" in listing and "toy/blend" in listing
    data = ["--data.init_args.root", str(synthetic_root)]
    ok(
        cli(
            "fit",
            "-c",
            str(ROOT / "conf/trainer/cpu.yaml"),
            "-c",
            str(TOY / "conf/cpu.yaml"),
            *data,
            "--trainer.logger",
            "false",
            "--trainer.accelerator",
            "cpu",
            cwd=tmp_path,
        )
    )
    checkpoint = torch.load(tmp_path / "runs/cpu/toy/blend/checkpoints/last.ckpt", weights_only=True)
    assert checkpoint[STAGE_ID_KEY] == "toy/blend"
    assert (tmp_path / "runs/cpu/toy/blend/checkpoints/complete").is_file()

    ok(
        cli(
            "test",
            "-c",
            str(ROOT / "conf/trainer/cpu.yaml"),
            "-c",
            str(ROOT / "conf/pipeline/cpu.yaml"),
            "-c",
            str(TOY / "conf/evaluate.yaml"),
            *data,
            "--data.init_args.size",
            "64x48",
            "--data.init_args.eval_batch_size",
            "4",
            "--trainer.logger",
            "false",
            "--trainer.accelerator",
            "cpu",
            cwd=tmp_path,
        )
    )
    metrics = json.loads((tmp_path / "runs/cpu/baselines/toy/results/metrics.json").read_text())
    assert set(metrics["protocols"]) == {"transfer", "tryon"}

    ok(
        cli(
            "compare",
            "--runs",
            "runs/cpu",
            "--data",
            str(synthetic_root),
            "--out",
            "compare.md",
            "--pairs",
            "2",
            cwd=tmp_path,
        )
    )
    report = (tmp_path / "compare.md").read_text()
    assert "toy blend" in report and "runs/cpu/baselines/toy/results" in report
    assert "| toy | blend | 21 (21) |" in ok(cli("sizes", "--size", "64x48", "--method", "toy", cwd=tmp_path))
    rules = ok(cli("methods", "--makefile", cwd=tmp_path))
    assert "train-toy: $(RUNS)/toy/blend/checkpoints/complete" in rules
    assert f"-c {TOY / 'conf'}/$(PRESET).yaml --ckpt_path last" in rules


def test_a_checkpoint_of_the_toy_stage_is_refused_where_another_stage_is_expected(synthetic_root, tmp_path):
    config = yaml.safe_load((TOY / "conf/cpu.yaml").read_text())
    assert config["model"]["class_path"] == "toy_method.stage.BlendModule"
    ok(
        cli(
            "fit",
            "-c",
            str(ROOT / "conf/trainer/cpu.yaml"),
            "-c",
            str(TOY / "conf/cpu.yaml"),
            "--data.init_args.root",
            str(synthetic_root),
            "--trainer.logger",
            "false",
            "--trainer.accelerator",
            "cpu",
            cwd=tmp_path,
        )
    )
    toy = tmp_path / "runs/cpu/toy/blend/checkpoints/last.ckpt"
    files = []
    for side, sample in (("source", "test_000000"), ("target", "test_000001")):
        paths = canonical.sample_paths(synthetic_root, "test", sample)
        files += [
            f"--{side}",
            str(paths["image"]),
            f"--{side}-parsing",
            str(paths["parse"]),
            f"--{side}-densepose",
            str(paths["densepose"]),
        ]
    roles = [x for role in ("parsing", "warping", "regrowth") for x in ("--checkpoint", f"{role}={toy}")]
    done = cli("transfer", *files, *roles, "--out", "out.png", cwd=tmp_path)
    assert done.returncode == 2
    assert "must be a checkpoint of TransferParsingModule" in done.stderr
    assert "this is BlendModule (toy/blend)" in done.stderr


@pytest.mark.parametrize("entry", ["no_such_module.method", "toy_method.stage"])
def test_a_broken_plugin_entry_is_one_line_naming_it(entry, tmp_path):
    env = {**subprocess_env(), "GARMENT_TRANSFER_METHODS": entry}
    done = subprocess.run(
        [sys.executable, "-m", "garment_transfer", "methods"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and entry in done.stderr and "Traceback" not in done.stderr, done.stderr
