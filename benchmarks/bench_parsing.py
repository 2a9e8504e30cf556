"""Parsing stage benchmark on the synthetic CPU preset: teacher, distilled student and the no-distillation baselines.

Trains every run with the Lightning CLI (``garment-transfer fit``) from ``conf/distilled_transfer`` into one folder
(default ``runs/bench-parsing``; finished runs are reused), then evaluates all of them with one routine on the same
evaluation pairs: the test split's true-transfer pairs of the synthetic set. Rows:

- teacher on try-on: ``T_P(M^r_t, C^m_s, P_t)`` vs the true transfer parsing (the target in the source's garment);
- each student: vs the teacher's parsing, vs the true transfer parsing, and its re-transfer vs the source's parsing.

Prints a markdown table (garment / upper-skin IoU and CPA, mean IoU) and writes it to ``--out``; also the
parameter and multiply-accumulate counts of the paper preset at 256 x 192 beside the paper's Table 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from report import CONF, emit, fit

from garment_transfer.metrics.parsing import ParsingMetrics
from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.models.u2net import U2Net
from garment_transfer.checkpoints import TRANSFER_PARSING, TRYON_PARSING
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.parsing import build_parsing_net, parsing_inputs
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingDataModule

STUDENTS = {  # row name -> overlay on transfer_parsing/cpu.yaml (None: the distilled student itself)
    "distilled (feature -> response -> self-study)": None,
    "no self-study": "no_self_study",
    "response only": "response_only",
    "cycle consistency (no teacher)": "cycle",
    "self-supervised, affine": "selfsup_affine",
    "self-supervised, affine + crop": "selfsup_affine_crop",
    "self-supervised, affine + crop + flip": "selfsup_affine_crop_flip",
}


@torch.no_grad()
def evaluate(teacher: torch.nn.Module, students: dict[str, torch.nn.Module], data: TransferParsingDataModule):
    metrics = {"teacher on try-on vs truth": ParsingMetrics()}
    for name in students:
        for comparison in ("vs teacher", "vs truth", "re-transfer vs source"):
            metrics[f"{name} | {comparison}"] = ParsingMetrics()
    for batch in data.val_dataloader():
        s, t = batch.source, batch.target
        taught = teacher(parsing_inputs(t.remaining, s.cloth_mask, t.densepose)).logits
        metrics["teacher on try-on vs truth"].update(taught, batch.truth.parsing)
        for name, net in students.items():
            out = net(parsing_inputs(t.remaining, s.garment_mask, t.densepose)).logits
            metrics[f"{name} | vs teacher"].update(out, taught.argmax(1))
            metrics[f"{name} | vs truth"].update(out, batch.truth.parsing)
            garment = out.softmax(1)[:, 4:5]
            back = net(parsing_inputs(s.remaining, garment, s.densepose)).logits
            metrics[f"{name} | re-transfer vs source"].update(back, s.parsing)
    return {name: metric.compute() for name, metric in metrics.items()}


def complexity_table() -> list[str]:
    net = U2Net(8, 7, "full")
    macs = count_macs(net, (torch.zeros(1, 8, 256, 192),))
    return ["| network | parameters | MACs at 256 x 192 | paper Table 2 |", "|---|---|---|---|",
            f"| S_P / T_P, U-2-Net full, 8 in / 7 out | {format_count(count_parameters(net))} | {format_count(macs)} "
            "| 44.10 M / 28.62 GFLOPs |",
            "", "MACs count convolutions and linear layers (what the paper's FLOPs figure matches)."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/bench-parsing", help="folder for the runs (reused when present)")
    parser.add_argument("--out", default="benchmarks/results/parsing.md")
    parser.add_argument("--quick", action="store_true", help="1 epoch of 4 batches per run: a smoke test")
    args = parser.parse_args()
    runs = Path(args.runs)
    quick = ["--trainer.max_epochs", "3", "--trainer.limit_train_batches", "4"]
    # The benchmark's schedules: longer than the CPU presets, which make train-all's 30-minute budget.
    teacher_schedule = quick if args.quick else ["--trainer.max_epochs", "8", "--trainer.limit_train_batches", "60"]
    extra = quick if args.quick else ["--trainer.max_epochs", "9", "--trainer.limit_train_batches", "40"]
    seconds = {}
    teacher_ckpt, seconds["teacher"] = fit([f"{CONF}/tryon_parsing/cpu.yaml"], runs / "tryon_parsing", teacher_schedule)
    student_ckpts = {}
    for name, overlay in STUDENTS.items():
        configs = [f"{CONF}/transfer_parsing/cpu.yaml"] + ([f"{CONF}/transfer_parsing/ablations/{overlay}.yaml"]
                                                             if overlay else [])
        folder = runs / ("transfer_parsing" + (f"_{overlay}" if overlay else ""))
        student_ckpts[name], seconds[name] = fit(
            configs, folder, [*extra, "--model.init_args.teacher_checkpoint", str(teacher_ckpt)]
            if overlay not in ("cycle", "selfsup_affine", "selfsup_affine_crop", "selfsup_affine_crop_flip") else extra)
    data = TransferParsingDataModule(size="128x96", batch_size=25)
    data.prepare_data()
    data.setup("validate")
    teacher = FrozenNet.from_checkpoint(teacher_ckpt, {TRYON_PARSING: build_parsing_net})
    students = {name: FrozenNet.from_checkpoint(path, {TRANSFER_PARSING: build_parsing_net})
                for name, path in student_ckpts.items()}
    results = evaluate(teacher, students, data)
    pairs = len(data.datasets["test"])
    lines = [f"# Parsing stage, synthetic CPU preset (128 x 96, tiny U-2-Net), {pairs} evaluation pairs\n",
             f"Runs in `{runs}`; training seconds: " + ", ".join(f"{k}: {v:.0f}" for k, v in seconds.items()) + "\n",
             "| model | comparison | garment IoU | garment CPA | skin IoU | skin CPA | mean IoU |",
             "|---|---|---|---|---|---|---|"]
    for key, values in results.items():
        model, _, comparison = key.partition(" | ")
        if not comparison:
            model, comparison = "teacher T_P", "try-on vs truth"
        cells = [values[k].item() for k in ("garment_iou", "garment_cpa", "skin_iou", "skin_cpa", "iou/mean")]
        lines.append(f"| {model} | {comparison} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    lines += ["", *complexity_table()]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
