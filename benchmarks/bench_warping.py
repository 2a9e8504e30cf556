"""Warping stage benchmark on the synthetic CPU preset: the try-on teacher, the distilled student and its ablations.

Trains every run with the Lightning CLI (``garment-transfer fit``) from ``conf/distilled_transfer`` into one folder (default
``runs/bench-warping``; finished runs are reused): ``T_W``, then each student on top of it and of a transfer parsing
student ``S_P`` (``--parsing-checkpoint``; by default ``runs/cpu/transfer_parsing`` when that run is complete, else
``conf/distilled_transfer/*_parsing/cpu.yaml`` trained into the benchmark folder). All of them are then evaluated by one routine on the
test split's true-transfer pairs of the synthetic set, through the inference API (:func:`warp_garment` on ``S_P``'s
target shape), as MSE (0-255) / PSNR / SSIM inside the garment mask, and mask IoU:

- ``T_W``, try-on: the source's in-shop garment on the true transfer's parsing vs the true worn garment;
- ``T_W`` on ``S_P``'s shape: the content target the students are distilled from, vs the true worn garment;
- each student: ``W`` vs the true worn garment, ``W`` vs ``T_W`` on the same shape, and the re-transfer (``W`` warped
  back onto the source) vs ``G_s``.

Prints a markdown table and writes it to ``--out``, with the parameter and multiply-accumulate counts of the paper
presets at 256 x 192 beside the paper's Table 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from report import CONF, emit, fit

from garment_transfer.data.label_maps import NUM_CLASSES, UPPER_GARMENT
from garment_transfer.data.samples import one_hot
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.models.flow_teacher import FlowTeacher
from garment_transfer.models.scaw import SCAWStudent, TPSStudent
from garment_transfer.checkpoints import TRANSFER_PARSING, TRANSFER_WARPING, TRYON_WARPING, read_checkpoint
from garment_transfer.metrics.image import mask_iou
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.warping import (build_warping_student, build_warping_teacher, person_representation,
                                             warp_garment)
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule

STUDENTS = {  # row name -> overlay in transfer_warping/ablations (None: the paper's student)
    "S_W: SCAW, shape + content (paper)": None,
    "shape-only supervision": "shape_only",
    "no initial aligning": "no_align",
    "TPS instead of flow": "tps",
    "FSV flow instead of SCAW": "fsv",
    "cycle consistency (no teacher)": "cycle",
}
DEFAULT_PARSING = Path("runs/cpu/transfer_parsing/checkpoints")


def parsing_student(runs: Path, given: str | None, extra: list[str], threads: int | None) -> Path:
    if given:
        return Path(given)
    if (DEFAULT_PARSING / "complete").is_file():
        return DEFAULT_PARSING / "last.ckpt"
    teacher, _ = fit([f"{CONF}/tryon_parsing/cpu.yaml"], runs / "tryon_parsing", extra, threads)
    student, _ = fit([f"{CONF}/transfer_parsing/cpu.yaml"], runs / "transfer_parsing",
                     [*extra, "--model.init_args.teacher_checkpoint", str(teacher)], threads)
    return student


@torch.no_grad()
def evaluate(parser, teacher, students: dict, data: TransferWarpingDataModule) -> dict:
    """``{(model, comparison): {"mse", "psnr", "ssim", "mask_iou"}}`` over the evaluation pairs."""
    images, ious = {}, {}

    def record(key, pred, pred_mask, reference, reference_mask):
        images.setdefault(key, ImageMetrics()).update(pred, reference, mask=reference_mask)
        ious.setdefault(key, []).append(mask_iou(pred_mask, reference_mask) * len(pred))

    pairs = 0
    for batch in data.val_dataloader():
        s, t, truth = batch.source, batch.target, batch.truth
        pairs += len(s.image)
        truth_mask = (truth.parsing == UPPER_GARMENT)[:, None].float()
        true_garment = truth.image * truth_mask
        shape = one_hot(parser(parsing_inputs(t.remaining, s.garment_mask, t.densepose)).logits.argmax(1), NUM_CLASSES)
        target_mask = shape[:, UPPER_GARMENT:UPPER_GARMENT + 1]
        tryon = teacher(s.cloth, s.cloth_mask, person_representation(one_hot(truth.parsing, NUM_CLASSES), t.densepose))
        record(("T_W", "try-on on the true shape vs truth"), tryon.warped_garment, tryon.warped_mask, true_garment,
               truth_mask)
        taught = teacher(s.cloth, s.cloth_mask, person_representation(shape, t.densepose))
        record(("T_W", "on S_P's shape vs truth"), taught.warped_garment, taught.warped_mask, true_garment, truth_mask)
        for name, net in students.items():
            out = warp_garment(net, s, t.densepose, target_mask)
            record((name, "vs truth"), out.warped_garment, out.warped_mask, true_garment, truth_mask)
            record((name, "vs teacher"), out.warped_garment, out.warped_mask, taught.warped_garment, target_mask)
            back = net(out.warped_garment, out.warped_mask, t.densepose, s.densepose, s.garment_mask)
            record((name, "re-transfer vs source"), back.warped_garment, back.warped_mask, s.garment, s.garment_mask)
    return {key: {**{k: v.item() for k, v in metric.compute().items()},
                  "mask_iou": (sum(ious[key]) / pairs).item()} for key, metric in images.items()}


def complexity_table() -> list[str]:
    inputs = (torch.zeros(1, 3, 256, 192), torch.zeros(1, 1, 256, 192), torch.zeros(1, 3, 256, 192),
              torch.zeros(1, 3, 256, 192), torch.zeros(1, 1, 256, 192))
    rows = [("S_W, SCAW student (paper preset)", SCAWStudent(3, "full"), inputs, "26.66 M / 55.05 GFLOPs"),
            ("S_W, FSV-flow ablation", SCAWStudent(3, "full", mode="fsv"), inputs, "-"),
            ("S_W, no-aligning ablation", SCAWStudent(3, "full", initial_align=False), inputs, "-"),
            ("S_W, TPS baseline (5 x 5 spline)", TPSStudent(3, "full"), inputs, "-"),
            ("T_W, flow teacher (FS-VTON style, 7 + 3 person channels)", FlowTeacher(NUM_CLASSES + 3, "full"),
             (torch.zeros(1, 3, 256, 192), torch.zeros(1, 1, 256, 192), torch.zeros(1, NUM_CLASSES + 3, 256, 192)),
             "no figure (FS-VTON ~33 M)")]
    lines = ["| network | parameters | MACs at 256 x 192 | paper Table 2 |", "|---|---|---|---|"]
    for name, net, args, paper in rows:
        lines.append(f"| {name} | {format_count(count_parameters(net))} | {format_count(count_macs(net, args))} "
                     f"| {paper} |")
    return lines + ["", "MACs count convolutions and linear layers (what the paper's FLOPs figure matches); the "
                    "correlation, grid sampling and the spline solve are not counted."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/bench-warping", help="folder for the runs (reused when present)")
    parser.add_argument("--out", default="benchmarks/results/warping.md")
    parser.add_argument("--parsing-checkpoint", help="a TransferParsingModule checkpoint (default: see above)")
    parser.add_argument("--skip", nargs="*", default=[], choices=[o for o in STUDENTS.values() if o],
                        help="ablations not to train")
    parser.add_argument("--threads", type=int, help="torch threads per run (OMP_NUM_THREADS); 1 is much faster on "
                        "cores shared with other jobs, where spinning threads waste them; default: torch's")
    parser.add_argument("--quick", action="store_true", help="1 epoch of 2 batches per run: a smoke test")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    extra = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2"] if args.quick else []
    parsing_ckpt = parsing_student(runs, args.parsing_checkpoint, extra, args.threads)
    seconds = {}
    teacher_ckpt, seconds["T_W"] = fit([f"{CONF}/tryon_warping/cpu.yaml"], runs / "tryon_warping", extra, args.threads)
    student_ckpts = {}
    for name, overlay in STUDENTS.items():
        if overlay in args.skip:
            continue
        configs = [f"{CONF}/transfer_warping/cpu.yaml"] + ([f"{CONF}/transfer_warping/ablations/{overlay}.yaml"]
                                                             if overlay else [])
        folder = runs / ("transfer_warping" + (f"_{overlay}" if overlay else ""))
        student_ckpts[name], seconds[name] = fit(configs, folder, [
            *extra, "--model.init_args.teacher_checkpoint", str(teacher_ckpt),
            "--model.init_args.parsing_checkpoint", str(parsing_ckpt)], args.threads)
    steps = {name: read_checkpoint(path)["global_step"] for name, path in
             {"T_W": teacher_ckpt, **student_ckpts}.items()}
    data = TransferWarpingDataModule(size="128x96", batch_size=25)
    data.prepare_data()
    data.setup("validate")
    results = evaluate(FrozenNet.from_checkpoint(parsing_ckpt, {TRANSFER_PARSING: build_parsing_net}),
                       FrozenNet.from_checkpoint(teacher_ckpt, {TRYON_WARPING: build_warping_teacher}),
                       {name: FrozenNet.from_checkpoint(path, {TRANSFER_WARPING: build_warping_student})
                        for name, path in student_ckpts.items()}, data)
    pairs = len(data.datasets["test"])
    timing = ", ".join(f"{k}: {steps[k]} steps" + ("" if seconds[k] != seconds[k] else
                                                  f" in {seconds[k]:.0f} s ({seconds[k] / steps[k]:.1f} s/step)")
                       for k in steps)
    lines = [f"# Warping stage, synthetic CPU preset (128 x 96, tiny nets), {pairs} evaluation pairs\n",
             f"Runs in `{runs}`, target shapes from `{parsing_ckpt}`. Training (wall clock, including validation "
             f"and start-up; reused runs show no time; torch threads: {args.threads or 'default'}): {timing}\n",
             "Images: MSE on 0-255, PSNR (dB), SSIM inside the reference garment mask; mask IoU of the warped mask "
             "against the reference mask (the true worn garment, S_P's target shape, or the source's garment).\n",
             "| model | comparison | MSE | PSNR | SSIM | mask IoU |", "|---|---|---|---|---|---|"]
    for (model, comparison), values in results.items():
        lines.append(f"| {model} | {comparison} | {values['mse']:.1f} | {values['psnr']:.2f} | {values['ssim']:.3f} "
                     f"| {values['mask_iou']:.3f} |")
    lines += ["", *complexity_table()]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
