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
    expected_rows = {
        "## Synthetic engine": 1,
        "## Data loading": 1,
        "## Training step time\n": 5,
        "## Pipeline inference\n": 1,
        "## Operator calls and CPU latency": 8,  # five stage networks, S-WUTON, the pipeline twice
        "## Model size": 6,
    }
    for heading, count in expected_rows.items():
        rows = table_rows(quick_report, heading)
        assert len(rows) == count, heading
        for row in rows:
            values = numbers(row[:2] + row[3:]) if heading == "## Data loading" else numbers(row)  # not "workers"
            assert values and all(v > 0 for v in values), (heading, row)
    stages = [row[0] for row in table_rows(quick_report, "## Training step time\n")]
    assert stages == [
        "T_P tryon_parsing",
        "S_P transfer_parsing",
        "T_W tryon_warping",
        "S_W transfer_warping",
        "R arm_regrowth",
    ]
    assert "Not measured: no GPU was present" in quick_report


def test_operator_rows_count_calls_kernels_and_nested_events_of_each_network_and_the_pipeline(quick_report):
    rows = {row[0]: row for row in table_rows(quick_report, "## Operator calls and CPU latency")}
    wuton = "S-WUTON (WUTON's student; published 13 ms on a V100 at 256 x 192)"
    assert list(rows) == ["T_P", "S_P", "T_W", "S_W", "R", wuton, "pipeline", "pipeline, norms not folded"]
    for row in rows.values():
        calls, kernels, events = (int(cell) for cell in row[3:6])
        assert 0 < calls < events and 0 < kernels < events
    parts = sum(int(rows[symbol][3]) for symbol in ("S_P", "S_W", "R"))
    plain = rows["pipeline, norms not folded"]
    assert parts < int(plain[3]) < parts + 600  # the pipeline: its three networks plus composition
    # folded: fewer calls and events (a folded convolution's bias is added inside it: kernels about the same)
    assert int(rows["pipeline"][3]) < int(plain[3]) and int(rows["pipeline"][5]) < int(plain[5])


def test_count_operators_tells_calls_from_nested_events_and_views_from_kernels():
    x = torch.randn(4, 3, 8, 8)
    count = bench_all.count_operators(lambda: (x.permute(0, 2, 3, 1).reshape(-1, 3) * 2).sum())
    assert count.calls == 4  # permute, reshape, mul, sum
    assert count.kernels == 3  # the reshape's copy, mul, sum; not the permute view
    assert count.events > count.calls


def test_compiled_code_counts_as_operators_its_generated_kernels_and_onednn_calls():
    class Event:
        def __init__(self, name):
            self.name = name

    operators = [
        "graph_0_cpp_fused__native_batch_norm_legit_no_training_relu_115",
        "triton_poi_fused_add_0",
        "mkldnn::_convolution_pointwise",
        "aten::addmm",
        "garment_transfer::correlation",
    ]
    others = ["Torch-Compiled Region: 0/0", "## Call CompiledFxGraph fxyz ##", "TorchDynamo Cache Lookup"]
    assert all(bench_all.is_operator(Event(name)) for name in operators)
    assert not any(bench_all.is_operator(Event(name)) for name in others) and not bench_all.is_operator(None)
    assert bench_all.Plan().compiled_operators == ("cpu",) and bench_all.quick_plan("data").compiled_operators == ()


def test_a_convolution_whose_only_inner_operators_allocate_is_one_kernel():
    x, weight = torch.randn(2, 8, 32, 32), torch.randn(8, 8, 3, 3)  # batch 2, 8 K values: oneDNN's path
    count = bench_all.count_operators(lambda: torch.nn.functional.conv2d(x, weight, padding=1))
    assert count.calls == 1 and count.kernels == 1 and count.events > 2


def test_model_size_rows_put_paper_preset_beside_table_2(quick_report):
    rows = {row[0]: row for row in table_rows(quick_report, "## Model size")}
    assert rows["S_P"][1] == "44.10 M" and rows["S_P"][3] == "44.10 M / 28.62 GFLOPs"
    assert rows["R"][1] == "43.90 M" and rows["S_W"][1] == "26.66 M"
    parts = [float(rows[s][1].split()[0]) for s in ("S_P", "S_W", "R")]
    assert float(rows["all"][1].split()[0]) == pytest.approx(sum(parts), abs=0.02)
    assert rows["T_W"][3] == "-"


def test_gpu_rows_run_with_bf16_autocast_and_channels_last(synthetic_root):
    """The GPU section's code path (bf16 autocast, channels-last networks and batches), exercised on the CPU; the
    compiled modes are left out on a CPU."""
    lines = bench_all.build_report(
        bench_all.quick_plan(str(synthetic_root)), sections=("gpu",), device=CPU, accelerated=True
    )
    text = "\n".join(lines)
    pipeline = table_rows(text, "## GPU: pipeline inference")
    training = table_rows(text, "## GPU: training step")
    assert [row[1] for row in pipeline] == ["fp32", "fp32, channels-last", "bf16", "bf16, channels-last"]
    assert len(training) == 5 and {row[2] for row in training} == {"bf16, channels-last"}
    assert all(v > 0 for row in training + pipeline for v in numbers(row))


def test_without_a_gpu_the_gpu_section_says_what_it_would_measure():
    text = "\n".join(bench_all.gpu_rows_missing(bench_all.Plan()))
    assert "Not measured: no GPU was present" in text
    assert "`compiled bf16, CUDA graphs`" in text and "--presets paper" in text


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
