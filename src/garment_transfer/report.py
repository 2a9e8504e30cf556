"""The report ``make train-all`` writes, from the pipeline's evaluations.

One evaluation (a method on a data set's fixed pairs) is ``<run>/results/metrics.json``, written by the evaluator
(``evaluation.results.write_results``: per protocol the computed ``values`` and the ``skipped`` metrics with their
reasons). :func:`build_report` collects the evaluations under a preset's run folder
(``runs/cpu``: ``pipeline/`` and ``baselines/*/``) into ``report.md``: one table per protocol, the skipped metrics
with their reasons, and an image grid (source, target, each method, truth) saved beside it as ``report.png``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from garment_transfer.data.formats import canonical
from garment_transfer.data.io import resize
from garment_transfer.data.io import atomic_write_text, read_image, write_png
from garment_transfer.evaluation.results import METRICS

LOWER_IS_BETTER = {"mse", "lpips", "fid", "kid"}


def _sorted_metrics(names) -> list[str]:
    return sorted(names, key=lambda n: (METRICS.index(n) if n in METRICS else len(METRICS), n))


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


def markdown_table(rows: Mapping[str, Mapping[str, float]], first: str = "protocol") -> str:
    """A markdown table, one row per key, one column per metric (``-`` where a row lacks it)."""
    metrics = _sorted_metrics({m for values in rows.values() for m in values})
    arrows = [f"{m} {'(lower better)' if m in LOWER_IS_BETTER else '(higher better)'}" for m in metrics]
    lines = [f"| {first} | " + " | ".join(arrows) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, values in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(values[m]) if m in values else "-" for m in metrics) + " |")
    return "\n".join(lines)


def skipped_lines(protocols: Mapping) -> list[str]:
    reasons = {}
    for result in protocols.values():
        reasons.update(result["skipped"])
    return [f"- {metric}: skipped ({reason})" for metric, reason in sorted(reasons.items())]


def read_results(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no evaluation results (run `garment-transfer test` on that config first)")
    content = json.loads(path.read_text())
    if "protocols" not in content:
        raise ValueError(f"{path}: not an evaluation result (no 'protocols')")
    return content


def find_evaluations(runs: str | Path) -> dict[str, Path]:
    """``{method name: results folder}`` under a preset's run folder: ``ours`` first, then the baselines."""
    runs = Path(runs)
    found = {"ours": runs / "pipeline" / "results"}
    for folder in sorted((runs / "baselines").glob("*/results")):
        found[f"baseline: {folder.parent.name}"] = folder
    return {name: folder for name, folder in found.items() if (folder / "metrics.json").is_file()}


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return image if image.shape[:2] == size else resize(image, size, nearest=False)


def image_grid(data_root: str | Path, evaluations: Mapping[str, Path], pairs: int = 6, padding: int = 2
               ) -> tuple[np.ndarray, list[str]]:
    """Rows of (source, target, each method's result, truth) for the first ``pairs`` results of the first method,
    from the saved PNGs and the canonical data set's test split. Returns (uint8 image, column names)."""
    first = next(iter(evaluations.values())) / "transfer"
    names = sorted(p.stem for p in first.glob("*.png"))[:pairs]
    if not names:
        raise ValueError(f"{first}: no result images to show")
    rows = []
    for name in names:
        source, _, target = name.partition("__")
        results = [read_image(folder / "transfer" / f"{name}.png", "RGB") for folder in evaluations.values()]
        size = results[0].shape[:2]
        truth = canonical.transfer_paths(data_root, "test", source, target)["image"]
        references = [canonical.sample_paths(data_root, "test", source)["image"],
                      canonical.sample_paths(data_root, "test", target)["image"], truth if truth.is_file() else None]
        source_tile, target_tile, truth_tile = (
            np.full_like(results[0], 255) if path is None else _fit(read_image(path, "RGB"), size)
            for path in references)
        rows.append([source_tile, target_tile, *results, truth_tile])
    height, width = rows[0][0].shape[:2]
    grid = np.full((len(rows) * (height + padding) + padding, len(rows[0]) * (width + padding) + padding, 3), 255,
                   np.uint8)
    for i, tiles in enumerate(rows):
        for j, tile in enumerate(tiles):
            top, left = padding + i * (height + padding), padding + j * (width + padding)
            grid[top:top + height, left:left + width] = tile
    return grid, ["source", "target", *evaluations, "truth"]


def build_report(runs: str | Path, data_root: str | Path, out: str | Path, pairs: int = 6,
                 notes: str = "") -> str:
    """Write ``out`` (markdown) and ``<out>.png`` (the image grid) for the evaluations under ``runs``."""
    runs, out = Path(runs), Path(out)
    evaluations = find_evaluations(runs)
    if "ours" not in evaluations:
        raise FileNotFoundError(f"{runs}/pipeline/results/metrics.json: the pipeline has not been evaluated")
    results = {name: read_results(folder / "metrics.json") for name, folder in evaluations.items()}
    protocols = sorted({p for r in results.values() for p in r["protocols"]})
    lines = [f"# Garment transfer: {runs.name} preset", "", notes, ""] if notes else [
        f"# Garment transfer: {runs.name} preset", ""]
    for protocol in protocols:
        lines += [f"## Protocol: {protocol}", "",
                  markdown_table({name: r["protocols"][protocol]["values"] for name, r in results.items()
                                if protocol in r["protocols"]}, first="method"), ""]
    skipped = skipped_lines({f"{n}/{p}": v for n, r in results.items() for p, v in r["protocols"].items()})
    if skipped:
        lines += ["Metrics not computed:", "", *skipped, ""]
    grid, columns = image_grid(data_root, evaluations, pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture = out.with_suffix(".png")
    write_png(picture, grid)
    lines += ["## Examples", "", f"Columns: {', '.join(columns)}.", "", f"![examples]({picture.name})", ""]
    text = "\n".join(lines)
    atomic_write_text(out, text)
    return text
