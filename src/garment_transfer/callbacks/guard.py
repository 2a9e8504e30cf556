"""Stop a run whose training loss is not finite, before the bad step touches the weights or a checkpoint.

:class:`FiniteLossGuard` looks at the loss in ``on_before_backward``: a NaN or infinite loss raises
:class:`NonFiniteLossError` before the backward pass and the optimizer step, so the weights in memory are still
those of the previous step and no checkpoint is written from the failed one (``last.ckpt`` stays the one saved
before). The message names the stage (module class and run folder), the phase where the module has one, the epoch,
the global step (optimizer steps done before the failing batch) and the training values logged at this step that are
not finite: :class:`~garment_transfer.stages.base.StageModule` keeps what it logged in training in
``logged_train_values``, so every stage's loss terms (``train/<term>``) are named without stage code. Under DDP the
decision is reduced over processes, so all of them stop at the same step; a process whose own loss is finite says
the loss failed on another process. ``GarmentCLI`` adds the guard to every run.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch


class NonFiniteLossError(RuntimeError):
    """A training loss was NaN or infinite; the message names stage, step and terms."""


def _finite(value) -> bool:
    """Tensors and numbers are checked; anything else a module logs (a torchmetrics object) counts as finite."""
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.detach()).all())
    return math.isfinite(value) if isinstance(value, (int, float)) else True


def _show(value) -> str:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    return f"{value}" if not isinstance(value, float) else f"{value:.6g}"


class FiniteLossGuard(pl.Callback):
    """Raise :class:`NonFiniteLossError` when the training loss is NaN or infinite (checked every step: one host
    synchronisation of a scalar, and under DDP one all-reduce of a flag)."""

    def __init__(self):
        self._batch_idx = 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        self._batch_idx = batch_idx
        getattr(pl_module, "logged_train_values", {}).clear()

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        finite = _finite(loss)
        everywhere = trainer.strategy.reduce_boolean_decision(finite, all=True)
        if not everywhere:
            raise NonFiniteLossError(self.message(trainer, pl_module, loss, finite))

    def message(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor, finite: bool) -> str:
        phase = getattr(pl_module, "phase", None)
        where = (
            f"stage {type(pl_module).__name__} (run folder {trainer.default_root_dir})"
            f"{f', phase {phase}' if phase is not None else ''}, epoch {trainer.current_epoch}, "
            f"batch {self._batch_idx}, global step {trainer.global_step}"
        )
        if finite:
            return (
                f"{where}: the training loss is not finite on another process (rank {trainer.global_rank} had "
                f"{_show(loss)}); that process names the terms."
            )
        values = getattr(pl_module, "logged_train_values", {})
        bad = [f"{name} = {_show(value)}" for name, value in values.items() if not _finite(value)]
        terms = (
            f"non-finite terms: {', '.join(bad)}"
            if bad
            else f"no logged value is non-finite (logged: {', '.join(values) or 'nothing'})"
        )
        saved = (
            "the last one saved is intact (--ckpt_path last resumes from it)"
            if trainer.global_step > 0
            else "none was saved yet"
        )
        return (
            f"{where}: the training loss is {_show(loss)}; {terms}. Stopped before the backward pass: no "
            f"checkpoint holds this step; {saved}."
        )
