"""The benchmark report (``benchmarks/bench_all.py``) in its quick mode at 64 x 48: every section is there and every
figure is a positive number. Speeds are never asserted."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_all  # noqa: E402
from report import emit  # noqa: E402

from garment_transfer.checkpoints import read_checkpoint  # noqa: E402

CPU = torch.device("cpu")
NUMBER = re.compile(r"^-?\d+(\.\d+)?( [KMGT])?$")


def table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows (cells) of the first table after ``heading``."""
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # after the header and the separator


def numbers(row: list[str]) -> list[float]:
    return [float(cell.split()[0]) for cell in row if NUMBER.match(cell)]


@pytest.fixture(scope="module")
def quick_report(synthetic_root, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("bench") / "report.md"
    emit(bench_all.build_report(bench_all.quick_plan(str(synthetic_root)), device=CPU), out)
    return out.read_text()


def test_report_has_every_section_with_positive_figures(quick_report):
    assert quick_report.startswith("# Benchmarks")
    assert re.search(r"machine: \d+ CPU cores .* torch .*, \d+ threads; no GPU", quick_report)
    expected_rows = {"## Synthetic engine": 1, "## Data loading": 1, "## Training step time\n": 5,
                     "## Pipeline inference\n": 1, "## Model size": 6}
    for heading, count in expected_rows.items():
        rows = table_rows(quick_report, heading)
        assert len(rows) == count, heading
        for row in rows:
            values = numbers(row[:2] + row[3:]) if heading == "## Data loading" else numbers(row)  # not "workers"
            assert values and all(v > 0 for v in values), (heading, row)
    stages = [row[0] for row in table_rows(quick_report, "## Training step time\n")]
    assert stages == ["T_P tryon_parsing", "S_P transfer_parsing", "T_W tryon_warping", "S_W transfer_warping",
                      "R arm_regrowth"]
    assert "Not measured: no GPU was present" in quick_report


def test_model_size_rows_put_paper_preset_beside_table_2(quick_report):
    rows = {row[0]: row for row in table_rows(quick_report, "## Model size")}
    assert rows["S_P"][1] == "44.10 M" and rows["S_P"][3] == "44.10 M / 28.62 GFLOPs"
    assert rows["R"][1] == "43.90 M" and rows["S_W"][1] == "26.66 M"
    parts = [float(rows[s][1].split()[0]) for s in ("S_P", "S_W", "R")]
    assert float(rows["all"][1].split()[0]) == pytest.approx(sum(parts), abs=0.02)
    assert rows["T_W"][3] == "-"


def test_gpu_rows_run_with_bf16_autocast_and_channels_last(synthetic_root):
    """The GPU section's code path (bf16 autocast, channels-last module and batches), exercised on the CPU."""
    lines = bench_all.build_report(bench_all.quick_plan(str(synthetic_root)), sections=("gpu",), device=CPU,
                                   accelerated=True)
    text = "\n".join(lines)
    training = table_rows(text, "## Training step time with bf16 autocast and channels-last")
    pipeline = table_rows(text, "## Pipeline inference with bf16 autocast and channels-last")
    assert len(training) == 5 and len(pipeline) == 1
    assert all(v > 0 for row in training + pipeline for v in numbers(row))


def test_students_read_their_teachers_from_untrained_checkpoints(tmp_path):
    paths = bench_all.write_checkpoints("cpu", tmp_path)
    assert list(paths) == list(bench_all.STAGES)
    student = read_checkpoint(paths["transfer_warping"])
    assert student["hyper_parameters"]["teacher_checkpoint"] == paths["tryon_warping"]
    assert student["hyper_parameters"]["parsing_checkpoint"] == paths["transfer_parsing"]
    assert not any(k.startswith(("teacher.", "parser.")) for k in student["state_dict"])  # referenced, not copied
    assert student["datamodule_hyper_parameters"] == {"size": "128x96", "densepose": "iuv"}


def test_paper_preset_without_vgg_file_uses_random_features_and_says_so():
    config = bench_all.stage_config("paper", "transfer_warping")
    args, notes = bench_all.model_args(config, {"tryon_warping": "t.ckpt", "transfer_parsing": "p.ckpt"})
    assert args["teacher_checkpoint"] == "t.ckpt" and args["parsing_checkpoint"] == "p.ckpt"
    assert args["pose_channels"] == 3 and args["width"] == "full"
    if not Path(config["model"]["init_args"]["vgg_weights"]).is_file():
        assert args["vgg_weights"] is None and args["allow_random_vgg"] and "random VGG features" in notes[0]
