"""The seeded comparison benchmark's scoring and tables (benchmarks/comparisons.py), on hand-made inputs: training
is what the CLI tests cover; what matters here is that per-pair scores and cells are what they say."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import comparisons  # noqa: E402


def test_per_pair_iou_counts_add_up_to_the_set_iou():
    pred = torch.tensor([[[4, 4], [0, 3]], [[4, 0], [0, 0]]])
    truth = torch.tensor([[[4, 0], [0, 3]], [[4, 4], [4, 0]]])
    counts = comparisons._counts(pred, truth, 4)
    assert counts.tolist() == [[1, 2], [1, 3]]
    means = comparisons._mean_iou_counts(pred, truth)
    assert means[0].tolist() == pytest.approx([0.5 + 1 + 1 / 2, 3])  # garment 1/2, skin 1/1, background 1/2


def test_table_cells_compare_every_row_with_ours():
    rng = np.random.default_rng(0)
    ours = rng.normal(20, 1, size=(3, 50))
    scores = {
        ("S_W", "PSNR vs true garment"): ours,
        ("S_W TPS", "PSNR vs true garment"): ours - 2 + rng.normal(0, 0.1, size=(3, 50)),
    }
    lines = comparisons.table(
        scores, ["S_W", "S_W TPS"], ["PSNR vs true garment", "SSIM vs true garment"], "S_W", "warping"
    )
    assert lines[2] == "| method | PSNR vs true garment | SSIM vs true garment |"
    assert lines[4].startswith("| S_W | 20.") and lines[4].endswith("| - |") and "ours - this" not in lines[4]
    assert "(ours - this: +2" in lines[5] and "n.s." not in lines[5]


def test_phase_curves_average_the_seeds_validation_logs(tmp_path):
    for seed, values in ((0, (0.5, 0.6)), (1, (0.7, 0.8))):
        folder = comparisons.run_folder(tmp_path, seed, "S_P") / "csv" / "version_0"
        folder.mkdir(parents=True)
        rows = ["epoch,step,val/truth/garment_iou,train/loss"] + [f"{e},{e},{v}," for e, v in enumerate(values)]
        (folder / "metrics.csv").write_text("\n".join(rows + ["0,5,,1.0"]) + "\n")
    lines = comparisons.phase_curves(tmp_path, [0, 1], ["S_P", "S_P long"])
    assert lines[2] == "| epoch | S_P |" and lines[4] == "| 0 | 0.600 |" and lines[5] == "| 1 | 0.700 |"


def test_every_run_reads_runs_that_exist_and_the_tables_name_known_runs():
    for run in comparisons.RUNS.values():
        assert set(run.reads.values()) <= set(comparisons.RUNS)
        assert all(Path(config).is_file() for config in run.configs()), run
    assert all(set(names) <= set(comparisons.RUNS) for names in comparisons.TABLES.values())


def test_phase_figure_puts_each_variants_student_and_re_transfer_beside_the_truth(tmp_path):
    """The figure's tiles are the runs' saved validation tiles: source, target and truth of the first variant, then
    student and re-transfer of each variant at each epoch."""
    from PIL import Image

    from garment_transfer.visuals import make_grid

    h, w, pad, header = 16, 12, 2, 28
    names, epochs = ["S_P", "S_P no self-study"], [5, 8]
    tiles = {}
    for v, name in enumerate(names):
        for e, epoch in enumerate(epochs):
            columns = [torch.full((2, 3, h, w), (10 * v + 3 * e + c) / 64) for c in range(6)]
            tiles[name, epoch] = columns
            folder = comparisons.run_folder(tmp_path, 0, name) / "csv" / "version_0" / "images"
            folder.mkdir(parents=True, exist_ok=True)
            grid = (make_grid(columns, padding=pad) * 255).round().byte().permute(1, 2, 0).numpy()
            Image.fromarray(grid).save(folder / f"val_epoch{epoch:03d}.png")
    out = comparisons.phase_figure(tmp_path, 0, names, epochs, tmp_path / "f.png", size=(h, w), padding=pad)
    picture = np.asarray(Image.open(out))
    assert picture.shape == (header + 2 * (h + pad) + pad, 11 * (w + pad) + pad, 3)
    expected = [tiles["S_P", 5][c] for c in (0, 1, 4)]
    expected += [tiles[name, epoch][c] for name in names for epoch in epochs for c in (2, 5)]
    for j, tile in enumerate(expected):
        top, left = header + pad + (h + pad), pad + j * (w + pad)  # the second row
        assert np.all(picture[top : top + h, left : left + w] == round(float(tile[1, 0, 0, 0]) * 255)), j
    assert comparisons.phase_figure(tmp_path, 0, names, [7], tmp_path / "g.png", size=(h, w)) is None
