"""Shared by the benchmark scripts: print a markdown report and write it atomically."""

from __future__ import annotations

from pathlib import Path

from garment_transfer.data import io


def emit(lines: list[str], out: str | Path) -> None:
    report = "\n".join(lines) + "\n"
    print(report)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    io.atomic_write_text(out, report)
