"""WUTON at the CPU preset over training seeds (``make bench-wuton``): the student, the teacher and the student without
its adversarial loss beside PF-AFN and our try-on teachers, on the test split's true try-on, paired try-on and true
transfer, with paired intervals; and every stage's validation curve.

Seed ``s`` of WUTON is trained into ``<runs>`` (seed 0: ``make train-wuton``) or ``<runs>-seed<s>`` (``train``
below), the ablation into ``<runs>-seed<s>-noadv`` (the student of the same seed's teacher with ``w_adv 0``), and each
is evaluated through the pipeline (``conf/wuton/evaluate/*.yaml``). PF-AFN and the try-on teachers are read, one
seed, from ``<runs>/baselines`` (``make evaluate-pfafn``, ``make evaluate-distilled_transfer``). A cell is the metric
over all seeds and pairs, ± the standard deviation of the per-seed values, and the paired bootstrap interval of the
student minus the row over the pairs and seeds (``garment_transfer.evaluation.comparison``), "n.s." where it holds 0.
Images are scored from the saved results against the data set's references (``evaluation.folder.per_pair_scores``).

  python benchmarks/bench_wuton.py --seeds 0 1 2 --out benchmarks/results/wuton.md          # reads finished runs
  python benchmarks/bench_wuton.py --seeds 1 2 --train                                       # trains them first
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from garment_transfer.evaluation.comparison import cell
from garment_transfer.evaluation.folder import per_pair_scores

PROTOCOLS = {
    "tryon": "True try-on (the target in the source's in-shop garment)",
    "tryon_paired": "Paired try-on",
    "transfer": "True transfer (the source's worn garment)",
}
METRICS = ("psnr", "ssim")
CLI = [sys.executable, "-m", "garment_transfer"]
TRAINER = ["-c", "conf/trainer/cpu.yaml"]


def roots(runs: Path, seed: int) -> tuple[Path, Path]:
    """(teacher and student root, ablation root) of a seed."""
    main = runs if seed == 0 else runs.with_name(f"{runs.name}-seed{seed}")
    return main, runs.with_name(f"{runs.name}-seed{seed}-noadv")


def train(runs: Path, seed: int) -> None:
    """Fit the teacher, the student and the ablation of ``seed`` and evaluate them (finished runs resume / return)."""
    main, noadv = roots(runs, seed)
    teacher = main / "wuton/teacher/checkpoints/last.ckpt"
    fits = [
        (main / "wuton/teacher", ["-c", "conf/wuton/teacher/cpu.yaml"]),
        (
            main / "wuton/student",
            ["-c", "conf/wuton/student/cpu.yaml", "--model.init_args.teacher_checkpoint", str(teacher)],
        ),
        (
            noadv / "wuton/student",
            [
                "-c",
                "conf/wuton/student/cpu.yaml",
                "--model.init_args.teacher_checkpoint",
                str(teacher),
                "--model.init_args.w_adv",
                "0",
            ],
        ),
    ]
    for folder, config in fits:
        if not (folder / "checkpoints/complete").exists():
            subprocess.run(
                [
                    *CLI,
                    "fit",
                    *TRAINER,
                    *config,
                    "--seed_everything",
                    str(seed),
                    "--trainer.default_root_dir",
                    str(folder),
                    "--ckpt_path",
                    "last",
                ],
                check=True,
            )
    for root, evaluation in ((main, "wuton"), (main, "wuton_teacher"), (noadv, "wuton")):
        folder = root / "baselines" / evaluation
        if not (folder / "results/metrics.json").exists():
            subprocess.run(
                [
                    *CLI,
                    "test",
                    *TRAINER,
                    "-c",
                    "conf/pipeline/cpu.yaml",
                    "-c",
                    f"conf/wuton/evaluate/{evaluation}.yaml",
                    "--model.init_args.runs",
                    str(root),
                    "--trainer.default_root_dir",
                    str(folder),
                ],
                check=True,
            )


def scores(folders: list[Path], protocol: str, data: str) -> tuple[list, dict[str, np.ndarray]] | None:
    """Per-pair scores ``{metric: (seeds, pairs)}`` of the evaluations in ``folders`` (one per seed) that exist, or
    None (a row says how many seeds it has)."""
    found = [folder / "results" / protocol for folder in folders if (folder / "results" / protocol).is_dir()]
    if not found:
        return None
    listed, per_seed = None, {m: [] for m in METRICS}
    for path in found:
        pairs, values = per_pair_scores(path, protocol, data)
        if listed is not None and pairs != listed:
            raise ValueError(f"{path}: scored on other pairs than the first seed's")
        listed = pairs
        for m in METRICS:
            per_seed[m].append(np.asarray(values[m]))
    return listed, {m: np.stack(v) for m, v in per_seed.items()}


def curve(folder: Path, metric: str = "val/tryon/psnr") -> list[float]:
    """``metric`` per epoch from the run's CSV log (the last version)."""
    logs = sorted((folder / "csv").glob("version_*/metrics.csv"))
    if not logs:
        return []
    values = {}
    with open(logs[-1]) as handle:
        for row in csv.DictReader(handle):
            if row.get(metric):
                values[int(row["epoch"])] = float(row[metric])
    return [values[e] for e in sorted(values)]


def report(runs: Path, seeds: list[int], data: str) -> list[str]:
    rows = {
        "WUTON student": [roots(runs, s)[0] / "baselines/wuton" for s in seeds],
        "WUTON teacher (on p*)": [roots(runs, s)[0] / "baselines/wuton_teacher" for s in seeds],
        "WUTON student without its adversarial loss": [roots(runs, s)[1] / "baselines/wuton" for s in seeds],
        "PF-AFN": [runs / "baselines/pfafn"],
        "try-on teachers T_P -> T_W -> R": [runs / "baselines/teacher_tryon"],
    }
    lines = [
        f"# WUTON at the CPU preset, seeds {', '.join(map(str, seeds))}",
        "",
        "Produced by `python benchmarks/bench_wuton.py` (its docstring says how). Test split of the synthetic CPU "
        "set (128 x 96), 200 pairs; mean over seeds and pairs ± the standard deviation of the per-seed means; in "
        "brackets the paired bootstrap 95 % interval of the WUTON student minus the row, over pairs and seeds "
        "(n.s.: it holds 0). PSNR in dB on 0..255; SSIM.",
    ]
    for protocol, title in PROTOCOLS.items():
        scored = {name: scores(folders, protocol, data) for name, folders in rows.items()}
        reference = scored["WUTON student"]
        lines += [
            "",
            f"## {title}",
            "",
            "| method | " + " | ".join(m.upper() for m in METRICS) + " |",
            "|---|" + "---|" * len(METRICS),
        ]
        for name, result in scored.items():
            if result is None:
                continue
            if reference is not None and result[0] != reference[0]:
                raise ValueError(f"{name}: {protocol} scored on other pairs than the WUTON student's")
            ref = None if name == "WUTON student" or reference is None else reference[1]
            cells = [
                cell(result[1][m], None if ref is None else ref[m], digits=3 if m == "ssim" else 2) for m in METRICS
            ]
            lines.append(f"| {name} ({result[1][METRICS[0]].shape[0]} seeds) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Validation curves",
        "",
        "`val/tryon/psnr` per epoch (the validation split's first 25 true try-on pairs, one batch), per seed.",
        "",
    ]
    for name, part in (("teacher", "wuton/teacher"), ("student", "wuton/student")):
        for s in seeds:
            values = curve(roots(runs, s)[0] / part)
            lines.append(f"- {name}, seed {s}: " + ", ".join(f"{v:.2f}" for v in values))
        for s in seeds:
            values = curve(roots(runs, s)[1] / "wuton/student") if name == "student" else []
            if values:
                lines.append(f"- student without adversarial loss, seed {s}: " + ", ".join(f"{v:.2f}" for v in values))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/cpu", help="the CPU preset's run folder (seed 0)")
    parser.add_argument("--data", default="data/synthetic-128x96")
    parser.add_argument("--train", action="store_true", help="train and evaluate missing seeds first")
    parser.add_argument("--out", default=None, help="markdown file (default: print)")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    runs = Path(args.runs)
    if args.train:
        for seed in args.seeds:
            train(runs, seed)
    text = "\n".join(report(runs, args.seeds, args.data)) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
