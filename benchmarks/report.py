"""Shared by the benchmark scripts: train a run through the CLI, print a markdown report and write it atomically."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from garment_transfer.data import io


def emit(lines: list[str], out: str | Path) -> None:
    report = "\n".join(lines) + "\n"
    print(report)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    io.atomic_write_text(out, report)


CONF = "conf/distilled_transfer"
TRAINER = "conf/trainer/cpu.yaml"  # the CPU preset's shared trainer settings, read before every stage config


def fit(configs: list[str], root_dir: Path, extra: list[str], threads: int | None = None) -> tuple[Path, float]:
    """Train one run (``configs`` on top of the CPU preset's trainer settings) unless its ``last.ckpt`` exists;
    returns the checkpoint and the seconds it took. ``threads`` sets ``OMP_NUM_THREADS`` (torch's intra-op threads)
    for the run."""
    checkpoint = root_dir / "checkpoints" / "last.ckpt"
    if checkpoint.is_file():
        return checkpoint, float("nan")
    command = [sys.executable, "-m", "garment_transfer", "fit"]
    for config in [TRAINER, *configs]:
        command += ["-c", config]
    command += ["--trainer.default_root_dir", str(root_dir), "--trainer.enable_progress_bar", "false", *extra]
    env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "disabled")}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return checkpoint, time.perf_counter() - start
