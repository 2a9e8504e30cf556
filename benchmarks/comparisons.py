"""Comparisons with several training seeds, spreads and paired intervals (``make bench-parsing``,
``make bench-warping``, ``make bench-e2e``): the parsing, warping and end-to-end tables of the synthetic CPU preset.

Every method is trained with each of ``--seeds`` (``--seed_everything``; the data set and its pairs stay the same)
into ``<runs>/s<seed>/<run>`` by the Lightning CLI on the CPU preset's configs (finished runs are reused), then
scored per evaluation pair on one split: ``val`` (the synthetic set's validation split: where settings are chosen)
or ``test`` (read once per reported number). A cell is the metric over all seeds and pairs, ± the standard deviation
of the per-seed values, and for every method beside ours the paired bootstrap interval of ours minus it over the
pairs and seeds (``garment_transfer.evaluation.comparison``), "n.s." where it holds 0. IoU cells are set-level
(intersections over unions summed over the pairs); image cells are per-pair means.

- parsing: garment and upper-skin IoU against the true transfer parsing, and the re-transfer's mean IoU against the
  source's parsing, for the distilled student, its self-study variants and the no-distillation baselines;
- warping: PSNR / SSIM of the warp against the true worn garment (inside its mask) and the warped mask's IoU, for
  ``S_W`` and its comparison cases, all on the same seed's ``S_P`` shapes;
- e2e: the pipeline (``S_P -> S_W -> R``), the try-on teachers used for transfer and the affine paste, MSE / PSNR /
  SSIM against the true transfer, on the default data and (``--shifted ROOT``) on a set rendered from other
  parameter ranges (``conf/data/engine_shifted.yaml``), with the stage-level scores that locate a loss there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from report import CONF, emit, fit

from garment_transfer.data.label_maps import NUM_CLASSES, UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.samples import one_hot
from garment_transfer.evaluation.comparison import cell
from garment_transfer.evaluation.preprocessing import from_uint8, to_uint8
from garment_transfer.metrics.image import mse_255, psnr_255, ssim_255
from garment_transfer.models.distilled_transfer import TRANSFER_PARSING, TRANSFER_WARPING, TRYON_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.distilled_transfer.warping import build_warping_student, warp_garment
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pipeline import GarmentTransfer
from garment_transfer.stages.pipeline import PipelineDataModule

SIZE = "128x96"
LONG = ("--trainer.max_epochs", "18")  # twice the CPU preset's budget; phase starts are fractions of the run


@dataclass(frozen=True)
class Run:
    """One trained network per seed: ``configs`` on top of the stage's cpu.yaml, checkpoints of other runs by name."""

    stage: str
    overlays: tuple[str, ...] = ()
    reads: dict = field(default_factory=dict)  # init_args name -> run name
    extra: tuple[str, ...] = ()

    def configs(self) -> list[str]:
        return [f"{CONF}/{self.stage}/cpu.yaml", *(f"{CONF}/{self.stage}/{o}.yaml" for o in self.overlays)]


RUNS = {
    "T_P": Run("tryon_parsing"),
    "S_P": Run("transfer_parsing", reads={"teacher_checkpoint": "T_P"}),
    "S_P self-study + response": Run(
        "transfer_parsing", ("ablations/self_study_response",), {"teacher_checkpoint": "T_P"}
    ),
    "S_P no self-study": Run("transfer_parsing", ("ablations/no_self_study",), {"teacher_checkpoint": "T_P"}),
    "S_P self-study detached": Run(
        "transfer_parsing", reads={"teacher_checkpoint": "T_P"}, extra=("--model.init_args.detach_first_pass", "true")
    ),
    "S_P long": Run("transfer_parsing", reads={"teacher_checkpoint": "T_P"}, extra=LONG),
    "S_P self-study + response long": Run(
        "transfer_parsing", ("ablations/self_study_response",), {"teacher_checkpoint": "T_P"}, LONG
    ),
    "S_P no self-study long": Run(
        "transfer_parsing", ("ablations/no_self_study",), {"teacher_checkpoint": "T_P"}, LONG
    ),
    "S_P cycle": Run("transfer_parsing", ("ablations/cycle",)),
    "S_P self-supervised affine+crop+flip": Run("transfer_parsing", ("ablations/selfsup_affine_crop_flip",)),
    "T_W": Run("tryon_warping"),
    "S_W": Run("transfer_warping", reads={"teacher_checkpoint": "T_W", "parsing_checkpoint": "S_P"}),
    "S_W shape only": Run(
        "transfer_warping", ("ablations/shape_only",), {"teacher_checkpoint": "T_W", "parsing_checkpoint": "S_P"}
    ),
    "S_W no aligning": Run(
        "transfer_warping", ("ablations/no_align",), {"teacher_checkpoint": "T_W", "parsing_checkpoint": "S_P"}
    ),
    "S_W TPS": Run("transfer_warping", ("ablations/tps",), {"teacher_checkpoint": "T_W", "parsing_checkpoint": "S_P"}),
    "R": Run("arm_regrowth", reads={"parsing_checkpoint": "S_P"}),
}
PARSING = ["S_P", "S_P self-study + response", "S_P no self-study", "S_P cycle", "S_P self-supervised affine+crop+flip"]
SELF_STUDY = ["S_P", "S_P self-study + response", "S_P self-study detached", "S_P no self-study"]
SELF_STUDY_LONG = ["S_P long", "S_P no self-study long", "S_P self-study + response long"]
WARPING = ["S_W", "S_W shape only", "S_W no aligning", "S_W TPS"]
TABLES = {
    "parsing": ["T_P", *PARSING],
    "selfstudy": ["T_P", *SELF_STUDY],
    "selfstudy_long": ["T_P", *SELF_STUDY_LONG],
    "warping": ["T_P", "S_P", "T_W", *WARPING],
    "e2e": ["T_P", "S_P", "T_W", "S_W", "R"],
}


def train(name: str, seed: int, runs: Path, threads: int | None) -> Path:
    """The checkpoint of run ``name`` for ``seed`` (trained, with what it reads, unless it is there)."""
    run = RUNS[name]
    extra = ["--seed_everything", str(seed)]
    for argument, other in run.reads.items():
        extra += [f"--model.init_args.{argument}", str(train(other, seed, runs, threads))]
    checkpoint, _ = fit(run.configs(), run_folder(runs, seed, name), [*extra, *run.extra], threads)
    return checkpoint


def run_folder(runs: Path, seed: int, name: str) -> Path:
    return runs / f"s{seed}" / name.replace(" ", "_").replace("+", "")


def phase_curves(runs: Path, seeds: list[int], names: list[str], metric: str = "val/truth/garment_iou") -> list[str]:
    """Per-epoch validation ``metric`` of each S_P variant, mean over the seeds (from the runs' CSV logs)."""
    import csv

    curves = {}
    for name in names:
        per_seed = []
        for seed in seeds:
            files = sorted(run_folder(runs, seed, name).glob("csv/version_*/metrics.csv"))
            if not files:
                continue
            rows = [row for row in csv.DictReader(files[-1].open()) if row.get(metric)]
            per_seed.append({int(row["epoch"]): float(row[metric]) for row in rows})
        if per_seed:
            epochs = sorted(set.intersection(*(set(c) for c in per_seed)))
            curves[name] = {e: float(np.mean([c[e] for c in per_seed])) for e in epochs}
    if not curves:
        return []
    epochs = sorted({e for c in curves.values() for e in c})
    lines = [
        f"### Validation {metric} by epoch (mean over seeds {', '.join(map(str, seeds))})",
        "",
        "| epoch | " + " | ".join(curves) + " |",
        "|---" * (len(curves) + 1) + "|",
    ]
    for epoch in epochs:
        lines.append(
            f"| {epoch} | " + " | ".join(f"{c[epoch]:.3f}" if epoch in c else "-" for c in curves.values()) + " |"
        )
    return lines + [""]


def phase_figure(
    runs: Path,
    seed: int,
    names: list[str],
    epochs: list[int],
    out: Path,
    size: tuple[int, int] = (128, 96),
    padding: int = 2,
) -> Path | None:
    """The students' transfer parsing and its re-transfer onto the source at the end of ``epochs``, side by side for
    the S_P variants ``names`` of ``seed``, on the first validation pairs: tiles cut from the validation grids the
    runs saved (``csv/version_*/images/val_epochNNN.png``: source, target, student, teacher, truth, re-transfer).
    Columns: source, target, truth, then for each variant and epoch the student and its re-transfer."""
    from PIL import Image, ImageDraw

    h, w = size
    grids = {}
    for name in names:
        for epoch in epochs:
            files = sorted(run_folder(runs, seed, name).glob(f"csv/version_*/images/val_epoch{epoch:03d}.png"))
            if not files:
                return None
            grids[name, epoch] = np.asarray(Image.open(files[-1]).convert("RGB"))

    def tile(grid: np.ndarray, row: int, column: int) -> np.ndarray:
        top, left = padding + row * (h + padding), padding + column * (w + padding)
        return grid[top : top + h, left : left + w]

    first = grids[names[0], epochs[0]]
    rows = (first.shape[0] - padding) // (h + padding)
    columns = [("source", first, 0), ("target", first, 1), ("truth", first, 4)]
    for name in names:
        for epoch in epochs:
            label = name.removeprefix("S_P").strip() or "default"
            columns += [
                (f"{label}, e{epoch}: S_P", grids[name, epoch], 2),
                (f"{label}, e{epoch}: back", grids[name, epoch], 5),
            ]
    header = 28
    canvas = np.full(
        (header + rows * (h + padding) + padding, len(columns) * (w + padding) + padding, 3), 255, np.uint8
    )
    for j, (_, grid, column) in enumerate(columns):
        for i in range(rows):
            top, left = header + padding + i * (h + padding), padding + j * (w + padding)
            canvas[top : top + h, left : left + w] = tile(grid, i, column)
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for j, (label, _, _) in enumerate(columns):
        for k, line in enumerate(label.split(": ")):
            draw.text((padding + j * (w + padding) + 2, 2 + 12 * k), line[:17], fill=(0, 0, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    return out


def data_module(root: str | None, split: str) -> tuple[PipelineDataModule, Callable]:
    data = PipelineDataModule(root=root, size=SIZE, eval_batch_size=25)
    data.prepare_data()
    data.setup("validate" if split == "val" else "test")
    return data, data.val_dataloader if split == "val" else data.test_dataloader


def _counts(pred: torch.Tensor, truth: torch.Tensor, cls: int) -> np.ndarray:
    """Per pair (intersection, union) pixel counts of class ``cls``: (B, 2)."""
    p, t = pred == cls, truth == cls
    return torch.stack([(p & t).flatten(1).sum(1), (p | t).flatten(1).sum(1)], 1).double().numpy()


def _mean_iou_counts(pred: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """Per pair (sum over classes of per-class IoU over present classes, number of present classes): (B, 2)."""
    ious, present = [], []
    for c in range(NUM_CLASSES):
        inter, union = _counts(pred, truth, c).T
        ious.append(np.where(union > 0, inter / np.maximum(union, 1), 0.0))
        present.append(union > 0)
    return np.stack([np.sum(ious, 0), np.sum(present, 0)], 1)


def _quantised(images: torch.Tensor) -> torch.Tensor:
    return from_uint8(to_uint8(images))  # the evaluator's pre-processing: what a saved PNG holds


@torch.no_grad()
def score_seed(
    seed: int,
    runs: Path,
    tables: list[str],
    root: str | None,
    split: str,
    threads: int | None,
    skip: frozenset = frozenset(),
) -> dict[tuple[str, str], np.ndarray]:
    """``{(row, metric): per-pair values (pairs,) or (pairs, 2) counts}`` of one seed (rows in ``skip`` left out)."""
    names = sorted({n for t in tables for n in TABLES[t] if n not in skip}, key=list(RUNS).index)
    paths = {name: train(name, seed, runs, threads) for name in names}
    nets = {}
    for name in names:
        stage = RUNS[name].stage
        if stage in ("tryon_parsing", "transfer_parsing"):
            nets[name] = FrozenNet.from_checkpoint(
                paths[name], {TRYON_PARSING if stage == "tryon_parsing" else TRANSFER_PARSING: build_parsing_net}
            )
        elif stage == "transfer_warping":
            nets[name] = FrozenNet.from_checkpoint(paths[name], {TRANSFER_WARPING: build_warping_student})
    methods = {}
    if "e2e" in tables:
        methods = {
            "ours (S_P -> S_W -> R)": GarmentTransfer(
                "ours", {"parsing": paths["S_P"], "warping": paths["S_W"], "regrowth": paths["R"]}
            ),
            "try-on teachers used for transfer": GarmentTransfer(
                "teacher", {"regrowth": paths["R"], "tryon_parsing": paths["T_P"], "tryon_warping": str(paths["T_W"])}
            ),
            "naive affine paste": GarmentTransfer("affine"),
        }
    _, loader = data_module(root, split)
    scores: dict[tuple[str, str], list] = {}

    def add(row: str, metric: str, values) -> None:
        scores.setdefault((row, metric), []).append(np.asarray(values, dtype=np.float64))

    for batch in loader():
        s, t, truth = batch.source, batch.target, batch.truth
        truth_mask = (truth.parsing == UPPER_GARMENT)[:, None].float()
        true_garment = truth.image * truth_mask
        if "T_P" in nets:
            tryon = nets["T_P"](parsing_inputs(t.remaining, s.cloth_mask, t.densepose)).logits.argmax(1)
            add("T_P (try-on, the source's in-shop mask)", "garment IoU", _counts(tryon, truth.parsing, UPPER_GARMENT))
            add("T_P (try-on, the source's in-shop mask)", "skin IoU", _counts(tryon, truth.parsing, UPPER_SKIN))
        for name in (n for n in dict.fromkeys(PARSING + SELF_STUDY + SELF_STUDY_LONG) if n in nets):
            logits = nets[name](parsing_inputs(t.remaining, s.garment_mask, t.densepose)).logits
            pred = logits.argmax(1)
            add(name, "garment IoU", _counts(pred, truth.parsing, UPPER_GARMENT))
            add(name, "skin IoU", _counts(pred, truth.parsing, UPPER_SKIN))
            back = nets[name](
                parsing_inputs(s.remaining, logits.softmax(1)[:, UPPER_GARMENT : UPPER_GARMENT + 1], s.densepose)
            ).logits.argmax(1)
            add(name, "re-transfer mean IoU", _mean_iou_counts(back, s.parsing))
        if "S_P" in nets and any(n in nets for n in WARPING):
            shape = one_hot(
                nets["S_P"](parsing_inputs(t.remaining, s.garment_mask, t.densepose)).logits.argmax(1), NUM_CLASSES
            )[:, UPPER_GARMENT : UPPER_GARMENT + 1]
            for name in (n for n in WARPING if n in nets):
                out = warp_garment(nets[name], s, t.densepose, shape)
                add(name, "PSNR vs true garment", psnr_255(out.warped_garment, true_garment, truth_mask).numpy())
                add(name, "SSIM vs true garment", ssim_255(out.warped_garment, true_garment, truth_mask).numpy())
                warped = out.warped_mask > 0.5
                add(
                    name,
                    "mask IoU vs truth",
                    torch.stack(
                        [
                            (warped & (truth_mask > 0.5)).flatten(1).sum(1),
                            (warped | (truth_mask > 0.5)).flatten(1).sum(1),
                        ],
                        1,
                    )
                    .double()
                    .numpy(),
                )
        for name, model in methods.items():
            out = model(s, t)
            image, reference = _quantised(out.image), _quantised(truth.image)
            add(name, "MSE", mse_255(image, reference).numpy())
            add(name, "PSNR", psnr_255(image, reference).numpy())
            add(name, "SSIM", ssim_255(image, reference).numpy())
            if name.startswith(("ours", "try-on")):
                add(name, "parsing garment IoU", _counts(out.parsing, truth.parsing, UPPER_GARMENT))
                add(name, "warp PSNR vs true garment", psnr_255(out.warped_garment, true_garment, truth_mask).numpy())
    return {key: np.concatenate(values) for key, values in scores.items()}


def collect(
    seeds: list[int],
    runs: Path,
    tables: list[str],
    root: str | None,
    split: str,
    threads: int | None,
    skip: frozenset = frozenset(),
) -> dict[tuple[str, str], np.ndarray]:
    """``{(row, metric): (seeds, pairs) or (seeds, pairs, 2)}`` over the seeds (deterministic rows keep one)."""
    per_seed = [score_seed(seed, runs, tables, root, split, threads, skip) for seed in seeds]
    out = {}
    for key in per_seed[0]:
        stacked = np.stack([scores[key] for scores in per_seed])
        out[key] = stacked[:1] if key[0] == "naive affine paste" else stacked  # no training: one value per pair
    return out


def table(scores: dict, rows: list[str], metrics: list[str], ours: str, title: str) -> list[str]:
    lines = [f"### {title}", "", "| method | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for row in (r for r in rows if any((r, metric) in scores for metric in metrics)):  # rows not run: left out
        cells = []
        for metric in metrics:
            key = (row, metric)
            if key not in scores:
                cells.append("-")
                continue
            reference = scores.get((ours, metric)) if row != ours else None
            digits = 3 if "IoU" in metric or "SSIM" in metric else 2
            cells.append(cell(scores[key], reference, digits=digits))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines + [""]


def report(scores: dict, tables: list[str], seeds: list[int], split: str, where: str) -> list[str]:
    pairs = next(iter(scores.values())).shape[1]
    lines = [
        f"## {where}, {split} split: {pairs} true-transfer pairs, seeds {', '.join(map(str, seeds))}",
        "",
        "Cells: metric over all seeds and pairs ± standard deviation of the per-seed values; (ours - this: "
        "difference [95% paired bootstrap interval over pairs and seeds]), n.s. where it holds 0.",
        "",
    ]
    if "parsing" in tables:
        lines += table(
            scores,
            ["T_P (try-on, the source's in-shop mask)", *PARSING],
            ["garment IoU", "skin IoU", "re-transfer mean IoU"],
            "S_P",
            "Transfer parsing vs the truth",
        )
    if "selfstudy" in tables:
        lines += table(
            scores,
            SELF_STUDY,
            ["garment IoU", "skin IoU", "re-transfer mean IoU"],
            "S_P",
            "The self-study phase at the CPU preset (ours = S_P, the default schedule)",
        )
    if "selfstudy_long" in tables:
        lines += table(
            scores,
            SELF_STUDY_LONG,
            ["garment IoU", "skin IoU", "re-transfer mean IoU"],
            "S_P long",
            "The self-study phase at twice the budget (ours = the default schedule)",
        )
    if "warping" in tables:
        lines += table(
            scores,
            WARPING,
            ["PSNR vs true garment", "SSIM vs true garment", "mask IoU vs truth"],
            "S_W",
            "Transfer warping vs the true worn garment (on the seed's S_P shapes)",
        )
    if "e2e" in tables:
        rows = ["ours (S_P -> S_W -> R)", "try-on teachers used for transfer", "naive affine paste"]
        lines += table(
            scores,
            rows,
            ["MSE", "PSNR", "SSIM", "parsing garment IoU", "warp PSNR vs true garment"],
            rows[0],
            "End to end vs the true transfer",
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--splits",
        nargs="+",
        default=["val", "test"],
        choices=("val", "test"),
        help="evaluation splits, in order (choices are made on val; test is read once per number)",
    )
    parser.add_argument("--runs", default="runs/seeds", help="folder of the seeded runs (reused when present)")
    parser.add_argument("--data", help="data set to evaluate on (default: the built-in synthetic set)")
    parser.add_argument("--shifted", help="also evaluate on this data set (e.g. rendered with engine_shifted.yaml)")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the training runs")
    parser.add_argument("--out", default="benchmarks/results/comparisons.md")
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=list(RUNS),
        metavar="RUN",
        help="leave these rows out of the tables (not trained, not scored)",
    )
    parser.add_argument(
        "--train_only",
        nargs="+",
        choices=list(RUNS),
        metavar="RUN",
        help="only train these runs (and what they read) for every seed, then stop: to fill "
        "<runs> in parallel lanes before one scoring call",
    )
    parser.add_argument(
        "--figure",
        help="with the selfstudy table: write the re-transfer picture at the phase ends "
        "(epochs 5 and 8 of the CPU preset) of the first seed here (PNG)",
    )
    args = parser.parse_args()
    runs = Path(args.runs)
    if args.train_only:
        for seed in args.seeds:
            for name in args.train_only:
                train(name, seed, runs, args.threads)
        return
    lines = [f"# Comparisons with seeds ({', '.join(args.tables)})", ""]
    where = [("built-in synthetic set" if args.data is None else args.data, args.data)]
    if args.shifted:
        where.append((f"shifted set {args.shifted}", args.shifted))
    for split in args.splits:
        for label, root in where:
            scores = collect(args.seeds, runs, args.tables, root, split, args.threads, frozenset(args.skip))
            lines += report(scores, args.tables, args.seeds, split, label)
    curved = [
        n for t in ("selfstudy", "selfstudy_long") if t in args.tables for n in TABLES[t][1:] if n not in args.skip
    ]
    if curved:
        lines += phase_curves(runs, args.seeds, curved)
        lines += phase_curves(runs, args.seeds, curved, "val/truth/skin_iou")
    if args.figure and "selfstudy" in args.tables:
        figure = phase_figure(
            runs, args.seeds[0], [n for n in TABLES["selfstudy"][1:] if n not in args.skip], [5, 8], Path(args.figure)
        )
        lines += [
            f"Re-transfer picture at the ends of the response (epoch 5) and self-study (epoch 8) phases, seed "
            f"{args.seeds[0]}: `{figure}`"
            if figure
            else "(No re-transfer picture: a run has no saved grid.)",
            "",
        ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
