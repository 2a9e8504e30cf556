"""The reports ``make train-all`` and ``make compare`` write, from the pipeline's evaluations.

One evaluation (a method on a data set's fixed pairs) is ``<run>/results/metrics.json``, written by the evaluator
(``evaluation.results.write_results``: per protocol the computed ``values`` and the ``skipped`` metrics with their
reasons). :func:`build_report` collects the evaluations under a preset's run folder
(``runs/cpu``: ``pipeline/`` and ``baselines/*/``) into ``report.md``: one table per protocol, the skipped metrics
with their reasons, and an image grid (source, target, each method, truth) saved beside it as ``report.png``.

:func:`build_comparison` (``garment-transfer compare``, ``make compare``) puts named methods side by side, each from
one or more evaluation folders: a table per protocol (true try-on, paired try-on, true transfer, re-transfer, ...)
with the methods evaluated on it, and one image grid on the same true-transfer pairs (source, in-shop garment,
target, every try-on, every transfer, truth: a true transfer is also the true try-on of the target in the source's
in-shop garment).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from garment_transfer.data.fingerprint import dataset_fingerprint
from garment_transfer.data.formats import canonical
from garment_transfer.data.io import atomic_write_text, read_image, resize, write_png
from garment_transfer.evaluation.comparison import RESAMPLES, Difference, bootstrap_difference
from garment_transfer.evaluation.folder import per_pair_scores
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
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not an evaluation result (not JSON: {err})") from None
    if not isinstance(content, dict) or not isinstance(content.get("protocols"), dict):
        raise ValueError(f"{path}: not an evaluation result (no 'protocols' mapping)")
    return content


def check_same_data(results: Mapping[Path, dict], data_root: str | Path | None = None) -> None:
    """Results set side by side must come from one data set: the fingerprints their ``metrics.json`` record
    (``data.fingerprint``) must agree with each other and with ``data_root``'s (the set whose pictures are shown);
    results that record none must have scored the same number of images as the others on each protocol.

    Args:
        results: ``{results folder: its metrics.json content}``. data_root: the data set given as ``--data``.

    Raises:
        ValueError: naming the two results folders (or the folder and ``--data``) that differ.
    """
    recorded = {folder: (content.get("data") or {}).get("fingerprint") for folder, content in results.items()}
    known = {folder: fp for folder, fp in recorded.items() if fp}
    if data_root is not None and known:
        ours = dataset_fingerprint(data_root)
        for folder, fp in known.items():
            if fp != ours:
                root = (results[folder].get("data") or {}).get("root")
                raise ValueError(
                    f"{folder}/metrics.json: evaluated on another data set ({root}, fingerprint {fp}) "
                    f"than --data {data_root} (fingerprint {ours})"
                )
    if len(set(known.values())) > 1:
        (first, a), (second, b) = _two_that_differ(known)
        raise ValueError(f"{first} and {second}: evaluated on different data sets (fingerprints {a} and {b})")
    counts: dict[str, dict[Path, int]] = {}
    for folder, content in results.items():
        for protocol, result in content["protocols"].items():
            if result.get("images") is not None:
                counts.setdefault(protocol, {})[folder] = result["images"]
    for protocol, found in counts.items():
        if len(set(found.values())) > 1:
            (first, a), (second, b) = _two_that_differ(found)
            raise ValueError(
                f"{first} and {second}: protocol {protocol!r} scored {a} and {b} images: results of "
                "different pairs or data sets cannot be set side by side"
            )


def _two_that_differ(values: Mapping) -> tuple[tuple, tuple]:
    """The first item of ``values`` and the first whose value differs from it."""
    first = next(iter(values.items()))
    return first, next(item for item in values.items() if item[1] != first[1])


def find_evaluations(runs: str | Path) -> dict[str, Path]:
    """``{method name: results folder}`` under a preset's run folder: ``ours`` first, then the baselines."""
    runs = Path(runs)
    found = {"ours": runs / "pipeline" / "results"}
    for folder in sorted((runs / "baselines").glob("*/results")):
        found[f"baseline: {folder.parent.name}"] = folder
    return {name: folder for name, folder in found.items() if (folder / "metrics.json").is_file()}


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return image if image.shape[:2] == size else resize(image, size, nearest=False)


def paste_tiles(rows: list[list[np.ndarray]], padding: int = 2) -> np.ndarray:
    """Rows of equally sized (H, W, 3) uint8 tiles -> one uint8 grid on white, ``padding`` pixels apart."""
    height, width = rows[0][0].shape[:2]
    grid = np.full(
        (len(rows) * (height + padding) + padding, len(rows[0]) * (width + padding) + padding, 3), 255, np.uint8
    )
    for i, tiles in enumerate(rows):
        for j, tile in enumerate(tiles):
            top, left = padding + i * (height + padding), padding + j * (width + padding)
            grid[top : top + height, left : left + width] = tile
    return grid


def image_grid(
    data_root: str | Path, evaluations: Mapping[str, Path], pairs: int = 6, padding: int = 2
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
        references = [
            canonical.sample_paths(data_root, "test", source)["image"],
            canonical.sample_paths(data_root, "test", target)["image"],
            truth if truth.is_file() else None,
        ]
        source_tile, target_tile, truth_tile = (
            np.full_like(results[0], 255) if path is None else _fit(read_image(path, "RGB"), size)
            for path in references
        )
        rows.append([source_tile, target_tile, *results, truth_tile])
    return paste_tiles(rows, padding), ["source", "target", *evaluations, "truth"]


def build_report(runs: str | Path, data_root: str | Path, out: str | Path, pairs: int = 6, notes: str = "") -> str:
    """Write ``out`` (markdown) and ``<out>.png`` (the image grid) for the evaluations under ``runs``."""
    runs, out = Path(runs), Path(out)
    evaluations = find_evaluations(runs)
    if "ours" not in evaluations:
        raise FileNotFoundError(f"{runs}/pipeline/results/metrics.json: the pipeline has not been evaluated")
    results = {name: read_results(folder / "metrics.json") for name, folder in evaluations.items()}
    check_same_data({evaluations[name]: content for name, content in results.items()}, data_root)
    protocols = sorted({p for r in results.values() for p in r["protocols"]})
    lines = (
        [f"# Garment transfer: {runs.name} preset", "", notes, ""]
        if notes
        else [f"# Garment transfer: {runs.name} preset", ""]
    )
    for protocol in protocols:
        lines += [
            f"## Protocol: {protocol}",
            "",
            markdown_table(
                {name: r["protocols"][protocol]["values"] for name, r in results.items() if protocol in r["protocols"]},
                first="method",
            ),
            "",
        ]
    skipped = {f"{n}/{p}": v for n, r in results.items() for p, v in r["protocols"].items()}
    shown = {name: folder for name, folder in evaluations.items() if "transfer" in results[name]["protocols"]}
    return write_report(out, lines, skipped, *image_grid(data_root, shown, pairs))  # try-on-only runs: tables only


def write_report(out: Path, lines: list[str], results: Mapping[str, dict], grid: np.ndarray, columns: list[str]) -> str:
    """Finish a report: the metrics ``results`` (``{label: protocol result}``) skipped with their reasons, ``grid``
    saved as ``<out>.png`` and shown with its ``columns``; ``out`` written atomically. Returns the markdown."""
    skipped = skipped_lines(results)
    if skipped:
        lines = [*lines, "Metrics not computed:", "", *skipped, ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    picture = out.with_suffix(".png")
    write_png(picture, grid)
    lines = [*lines, "## Examples", "", f"Columns: {', '.join(columns)}.", "", f"![examples]({picture.name})", ""]
    text = "\n".join(lines)
    atomic_write_text(out, text)
    return text


# ------------------------------------------------------------------------------------------------ comparison
COMPARISON = {  # protocol -> section title, in report order
    "tryon": "True try-on: the target in the source's in-shop garment, against the true image",
    "tryon_paired": "Paired try-on: each person in their own in-shop garment, against the person",
    "tryon_unpaired": "Unpaired try-on (no reference)",
    "transfer": "True transfer: the target in the garment the source wears, against the true image",
    "retransfer": "Re-transfer: the result dressed back onto the source, against the source",
    "unpaired": "Unpaired transfer (no reference)",
}
GRID_PROTOCOLS = {"tryon": "try-on", "transfer": "transfer"}  # protocols shown in the grid, with column prefixes
PAIRED = ("tryon", "transfer", "retransfer")  # protocols scored per pair on the true-transfer pairs
INTERVAL_METRICS = ("psnr", "ssim")


def parse_method(spec: str) -> tuple[str, Path]:
    """``"NAME=FOLDER"`` -> (name, results folder)."""
    name, sep, folder = spec.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise ValueError(f"--method {spec!r}: expected NAME=RESULTS_FOLDER, e.g. 'ours=runs/cpu/pipeline/results'")
    return name.strip(), Path(folder.strip())


def collect_methods(methods: Mapping[str, list[Path]]) -> dict[str, dict[str, tuple[dict, Path]]]:
    """``{method: {protocol: (result, results folder)}}`` from each method's evaluations (a method may list several
    folders, e.g. its transfer and its try-on runs; one protocol evaluated twice is an error naming both)."""
    collected = {}
    for name, folders in methods.items():
        protocols = {}
        for folder in folders:
            for protocol, result in read_results(folder / "metrics.json")["protocols"].items():
                if protocol in protocols:
                    raise ValueError(
                        f"method {name!r}: protocol {protocol!r} is in {protocols[protocol][1]} and in "
                        f"{folder}; give each protocol once"
                    )
                protocols[protocol] = (result, folder)
        collected[name] = protocols
    return collected


def _tile(path: Path | None, size: tuple[int, int]) -> np.ndarray:
    if path is None or not path.is_file():
        return np.full((*size, 3), 255, np.uint8)
    return _fit(read_image(path, "RGB"), size)


def comparison_grid(
    data_root: str | Path, collected: Mapping[str, Mapping[str, tuple[dict, Path]]], pairs: int = 6, padding: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Rows of (source, its in-shop garment, target, each method's try-on, each method's transfer, truth) on the
    first ``pairs`` true-transfer pairs of the test split (the truth is that of both the transfer and the unpaired
    try-on); a result a method lacks is a white tile. Returns (uint8 image, column names)."""
    listed = canonical.read_pairs(canonical.transfer_pairs_path(data_root, "test"))[:pairs]
    if not listed:
        raise ValueError(f"{data_root}: no true-transfer pairs in the test split to show")
    columns = [
        (f"{prefix}: {name}", protocols[protocol][1] / protocol)
        for protocol, prefix in GRID_PROTOCOLS.items()
        for name, protocols in collected.items()
        if protocol in protocols
    ]
    first = canonical.sample_paths(data_root, "test", listed[0][0])["image"]
    size = read_image(first, "RGB").shape[:2]
    for _, folder in columns:
        found = sorted(folder.glob("*.png"))
        if found:
            size = read_image(found[0], "RGB").shape[:2]
            break
    rows = []
    for source, target in listed:
        people = canonical.sample_paths(data_root, "test", source), canonical.sample_paths(data_root, "test", target)
        tiles = [_tile(people[0]["image"], size), _tile(people[0]["cloth"], size), _tile(people[1]["image"], size)]
        tiles += [_tile(folder / f"{source}__{target}.png", size) for _, folder in columns]
        tiles.append(_tile(canonical.transfer_paths(data_root, "test", source, target)["image"], size))
        rows.append(tiles)
    return paste_tiles(rows, padding), ["source", "in-shop garment", "target", *(name for name, _ in columns), "truth"]


def paired_differences(
    data_root: str | Path,
    collected: Mapping[str, Mapping[str, tuple[dict, Path]]],
    reference: str,
    resamples: int = RESAMPLES,
) -> dict[str, dict[str, dict[str, Difference]]]:
    """``{protocol: {method: {metric: reference - method}}}``: for each of :data:`PAIRED` that ``reference`` and
    other methods were evaluated on, the paired bootstrap interval (``evaluation.comparison``, one training seed a
    method: the interval covers the choice of pairs) of the per-pair PSNR / SSIM differences, scored from the saved
    result images against the data set's references (``evaluation.folder.per_pair_scores``)."""
    differences = {}
    for protocol in PAIRED:
        others = [name for name, protocols in collected.items() if name != reference and protocol in protocols]
        if protocol not in collected.get(reference, {}) or not others:
            continue
        scores = {
            name: per_pair_scores(collected[name][protocol][1] / protocol, protocol, data_root)
            for name in (reference, *others)
        }
        listed, ours = scores[reference]
        differences[protocol] = {}
        for name in others:
            if scores[name][0] != listed:
                raise ValueError(
                    f"{collected[name][protocol][1]}: protocol {protocol!r} was scored on other pairs "
                    f"than {reference!r}'s; evaluate every method on the same data set"
                )
            differences[protocol][name] = {
                metric: bootstrap_difference(ours[metric][None], scores[name][1][metric][None], resamples)
                for metric in INTERVAL_METRICS
            }
    return differences


def _difference_lines(reference: str, differences: Mapping[str, Mapping[str, Difference]]) -> list[str]:
    lines = [
        f"{reference} minus each method, paired bootstrap 95% interval over the pairs (one training seed each; "
        "n.s.: the interval holds 0):",
        "",
        "| method | "
        + " | ".join(f"{reference} - method: {metric} (higher: {reference} better)" for metric in INTERVAL_METRICS)
        + " |",
        "|---" * (len(INTERVAL_METRICS) + 1) + "|",
    ]
    lines += [
        f"| {name} | " + " | ".join(str(by_metric[metric]) for metric in INTERVAL_METRICS) + " |"
        for name, by_metric in differences.items()
    ]
    return lines + [""]


def build_comparison(
    methods: Mapping[str, list[Path]],
    data_root: str | Path,
    out: str | Path,
    pairs: int = 6,
    title: str = "Try-on and transfer, every method on the same pairs",
    notes: str = "",
    reference: str | None = "ours",
    resamples: int = RESAMPLES,
) -> str:
    """Write ``out`` (markdown: one table per protocol, rows the methods that were evaluated on it, the skipped
    metrics with their reasons) and ``<out>.png`` (:func:`comparison_grid`).

    Args:
        methods: ``{method name: [results folders]}`` (each holding ``metrics.json`` and a folder of images per
            protocol, as ``garment-transfer test`` writes them).
        data_root: the canonical data set that was evaluated (synthetic: with its true transfers).
        reference: the method every other is set against with paired bootstrap intervals on the protocols of
            :data:`PAIRED` it was evaluated on (:func:`paired_differences`; None or absent: no intervals).
    """
    out = Path(out)
    check_same_data(
        {folder: read_results(folder / "metrics.json") for folders in methods.values() for folder in folders}, data_root
    )
    collected = collect_methods(methods)
    differences = paired_differences(data_root, collected, reference, resamples) if reference in collected else {}
    lines = [f"# {title}", ""] + ([notes, ""] if notes else [])
    lines += [f"Data: {data_root}. Methods and their evaluations:", ""]
    lines += [f"- {name}: {', '.join(str(folder) for folder in methods[name])}" for name in collected] + [""]
    for protocol, heading in COMPARISON.items():
        rows = {
            name: protocols[protocol][0]["values"] for name, protocols in collected.items() if protocol in protocols
        }
        if rows:
            images = {protocols[protocol][0].get("images") for protocols in collected.values() if protocol in protocols}
            count = f" ({', '.join(str(n) for n in sorted(images))} images)" if images != {None} else ""
            lines += [f"## {heading}{count}", "", markdown_table(rows, first="method"), ""]
            if protocol in differences:
                lines += _difference_lines(reference, differences[protocol])
    skipped = {f"{n}/{p}": r for n, protocols in collected.items() for p, (r, _) in protocols.items()}
    return write_report(out, lines, skipped, *comparison_grid(data_root, collected, pairs))
