"""Evaluation results: values, skipped metrics with their reasons, and the table / JSON / CSV forms.

A skipped metric is never a number: it is absent from ``values`` and listed in ``skipped`` with its reason; the table
prints ``-`` in its column and the reasons below, the JSON lists it under ``skipped``, the CSV row has an empty
``value`` and ``status`` ``skipped``. Files are written atomically (``data/io.py``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from garment_transfer.data.io import atomic_write_json, atomic_write_text
from garment_transfer.evaluation.preprocessing import PREPROCESSING

METRICS = ("mse", "psnr", "ssim", "lpips", "fid", "kid", "is")
LABELS = {"mse": "MSE", "psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "fid": "FID", "kid": "KID", "is": "IS"}
FORMATS = {
    "mse": "{:.2f}",
    "psnr": "{:.3f}",
    "ssim": "{:.4f}",
    "lpips": "{:.4f}",
    "fid": "{:.3f}",
    "kid": "{:.5f}",
    "is": "{:.3f}",
}
CSV_COLUMNS = ("protocol", "metric", "value", "std", "images", "status", "reason")


@dataclass
class EvaluationResult:
    """What :meth:`Evaluator.compute` returns.

    Attributes:
        values: metric -> value, only for metrics that were computed (order of :data:`METRICS`).
        skipped: metric -> the reason it was not computed.
        images: number of generated images evaluated.
        std: metric -> standard deviation over KID subsets / IS splits.
    """

    values: dict[str, float]
    skipped: dict[str, str]
    images: int
    std: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        both = set(self.values) & set(self.skipped)
        if both:
            raise ValueError(f"EvaluationResult: metrics {sorted(both)} are both computed and skipped")

    @property
    def metrics(self) -> list[str]:
        """Every metric this result reports on, computed or skipped, in :data:`METRICS` order."""
        return [m for m in METRICS if m in self.values or m in self.skipped]

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self, title: str = "", protocol: str = "result") -> str:
        return format_table({protocol: self}, title)

    def to_json(self, path: str | Path, protocol: str = "result", title: str = "") -> None:
        atomic_write_json(path, results_json({protocol: self}, title))

    def to_csv(self, path: str | Path, protocol: str = "result") -> None:
        atomic_write_text(path, results_csv({protocol: self}))


def format_table(results: Mapping[str, EvaluationResult], title: str = "") -> str:
    """One row per protocol, one column per metric (``-`` where skipped), then the skip reasons."""
    metrics = [m for m in METRICS if any(m in r.metrics for r in results.values())]
    header = ["protocol", "images"] + [LABELS[m] for m in metrics]
    rows = [
        [protocol, str(result.images)]
        + [FORMATS[m].format(result.values[m]) if m in result.values else "-" for m in metrics]
        for protocol, result in results.items()
    ]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = [title] if title else []
    for row in [header] + rows:
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
            ).rstrip()
        )
    reasons = [
        (protocol, reason, [m for m in result.skipped if result.skipped[m] == reason])
        for protocol, result in results.items()
        for reason in dict.fromkeys(result.skipped.values())
    ]
    if reasons:
        lines.append("skipped:")
        lines += [
            f"  {protocol}: {', '.join(LABELS[m] for m in names)}: {reason}" for protocol, reason, names in reasons
        ]
    return "\n".join(lines)


def results_json(results: Mapping[str, EvaluationResult], title: str = "", data: Mapping | None = None) -> dict:
    """The JSON of an evaluation; ``data`` records what it was evaluated on (``root``, ``fingerprint``: the data
    set's, ``data.fingerprint.dataset_fingerprint``), so that comparisons refuse results of different data."""
    content = {
        "title": title,
        "preprocessing": PREPROCESSING,
        "protocols": {protocol: result.to_dict() for protocol, result in results.items()},
    }
    if data:
        content["data"] = dict(data)
    return content


def results_csv(results: Mapping[str, EvaluationResult]) -> str:
    """Long format: one row per protocol and metric (:data:`CSV_COLUMNS`); skipped rows have no value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for protocol, result in results.items():
        for metric in result.metrics:
            if metric in result.values:
                std = result.std.get(metric)
                writer.writerow(
                    [
                        protocol,
                        metric,
                        repr(result.values[metric]),
                        "" if std is None else repr(std),
                        result.images,
                        "ok",
                        "",
                    ]
                )
            else:
                writer.writerow([protocol, metric, "", "", result.images, "skipped", result.skipped[metric]])
    return buffer.getvalue()


def write_results(
    results: Mapping[str, EvaluationResult], stem: str | Path, title: str = "", data: Mapping | None = None
) -> str:
    """Write ``<stem>.json`` and ``<stem>.csv`` atomically (creating the folder) and return the table.

    Args:
        results: protocol -> result, in the order to report.
        stem: path without suffix, e.g. ``runs/x/results/metrics``.
        title: first line of the table, also stored in the JSON.
        data: the data set evaluated on (:func:`results_json`).
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(stem.with_name(stem.name + ".json"), results_json(results, title, data))
    atomic_write_text(stem.with_name(stem.name + ".csv"), results_csv(results))
    return format_table(results, title)
