"""The make rules generated from the registry (``garment-transfer methods --makefile``, included by the Makefile): every
stage after the stages it reads, every evaluation after the stages its method runs, and ``make -n`` plans them in
that order."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from garment_transfer import registry
from garment_transfer.tools.methods import makefile


def plan(tmp_path, goal: str) -> list[str]:
    """The commands ``make -n goal`` prints with the generated rules over stand-in variables."""
    (tmp_path / "methods.mk").write_text(makefile())
    (tmp_path / "Makefile").write_text(
        "RUNS := runs/cpu\nPRESET := cpu\nCLI := gt\nTRAINER := -c t.yaml\nSTAMP :=\n"
        "PRESET_DATA := data.done\ninclude methods.mk\ndata.done:\n\techo data\n"
    )
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", goal], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_every_stage_and_evaluation_has_a_rule_after_what_it_reads():
    rules = makefile()
    for stage in registry.stages().values():
        reads = " ".join(f"$(RUNS)/{registry.stage(s).run_folder}/checkpoints/complete" for s in stage.reads)
        assert f"$(RUNS)/{stage.run_folder}/checkpoints/complete: {reads or '| $(PRESET_DATA)'}" in rules
        assert f"$(CLI) fit $(TRAINER) -c {stage.config}/$(PRESET).yaml --ckpt_path last" in rules
    for evaluation in registry.evaluations().values():
        assert f"-c {evaluation.config} --model.init_args.runs $(RUNS) " in rules
        assert f"$(RUNS)/{evaluation.run_folder}/results/metrics.json:" in rules


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_plans_a_method_in_training_order(tmp_path):
    commands = plan(tmp_path, "train-pfafn")
    fits = [c.split(" -c ")[-1].split("/")[2] for c in commands if " fit " in c]
    assert fits == ["pb_warping", "pb_tryon", "pf_warping", "pf_tryon"]
    assert commands.index("echo data") < next(i for i, c in enumerate(commands) if " fit " in c)
    evaluation = plan(tmp_path, "runs/cpu/pipeline/results/metrics.json")
    fits = [c.split(" -c ")[-1].split("/")[2] for c in evaluation if " fit " in c]
    assert fits == ["tryon_parsing", "transfer_parsing", "tryon_warping", "transfer_warping", "arm_regrowth"]
    assert " test " in evaluation[-1] and "conf/distilled_transfer/evaluate/ours.yaml" in evaluation[-1]
