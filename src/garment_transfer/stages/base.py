"""What every stage's LightningModule shares: its identity in checkpoints, logging of training and evaluation values,
evaluation hooks feeding ``self.metrics``, metric logging at epoch end as ``<split>/<comparison>/<name>``, and Adam on
``self.net`` (frozen networks, :class:`~garment_transfer.models.frozen.FrozenNet`, hold no parameters of the module).

Logging goes through Lightning's public ``self.log`` and torchmetrics objects:

- :meth:`StageModule.log_train` logs per-step training values and keeps them, per step, in ``logged_train_values``
  (name -> value), where :class:`~garment_transfer.callbacks.guard.FiniteLossGuard` finds the loss terms to name when
  a loss is not finite;
- :meth:`StageModule.log_eval` puts each evaluation-step value into a torchmetrics ``MeanMetric`` of its name,
  weighted by the batch size, so it is the mean over the whole evaluation set, also under DDP with unequal shares
  (Lightning's own ``sync_dist`` reduction is not weighted by each process's count);
- the ``self.metrics`` torchmetrics objects sum their states over processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics.aggregation import MeanMetric

from garment_transfer.checkpoints import STAGE_KEY, class_path


class StageModule(pl.LightningModule):
    """Subclasses set ``self.net`` and ``self.metrics`` (an ``nn.ModuleDict`` of torchmetrics) and implement
    :meth:`evaluate`; their hyper-parameters include ``lr`` and ``betas``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logged_train_values: dict[str, torch.Tensor | float] = {}
        self.evaluation_means = nn.ModuleDict()  # name (slashes as "__") -> MeanMetric; states not checkpointed

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[STAGE_KEY] = class_path(type(self))

    def log_train(self, values: Mapping[str, torch.Tensor | float], batch_size: int) -> None:
        """Log training values of this step by full name (``train/loss`` also on the progress bar)."""
        for name, value in values.items():
            self.logged_train_values[name] = value.detach() if isinstance(value, torch.Tensor) else value
            self.log(name, value, prog_bar=name == "train/loss", batch_size=batch_size)

    def log_eval(self, values: Mapping[str, torch.Tensor | float], batch_size: int) -> None:
        """Log evaluation-step values by full name as means over the whole evaluation set, weighted by batch size."""
        for name, value in values.items():
            key = name.replace("/", "__").replace(".", "_")
            if key not in self.evaluation_means:
                self.evaluation_means[key] = MeanMetric(nan_strategy="disable").to(self.device)  # NaN shows
            mean = self.evaluation_means[key]
            mean.update(torch.as_tensor(value, dtype=torch.float32, device=self.device).mean(), weight=batch_size)
            self.log(name, mean, batch_size=batch_size, metric_attribute=f"evaluation_means.{key}")

    def evaluate(self, batch, split: str) -> None:
        raise NotImplementedError

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluate(batch, "test")

    def _log_metrics(self, split: str) -> None:
        """Compute, log (NaN entries, for classes absent everywhere, left out) and reset every metric."""
        for comparison, metric in self.metrics.items():
            if metric.update_called:
                values = {f"{split}/{comparison}/{k}": v for k, v in metric.compute().items() if not torch.isnan(v)}
                self.log_dict(values, sync_dist=True)  # already reduced by torchmetrics: the mean of equal values
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr, betas=tuple(self.hparams.betas))


class Phased:
    """A stage whose training changes by phase: the ``PhaseSchedule`` callback checks the names against
    :attr:`phase_names` and calls :meth:`enter_phase` at epoch starts. Subclasses give their phases in
    :attr:`phase_table` (name -> what the phase sets) and may act on entering one in :meth:`on_phase`."""

    phase: str

    @property
    def phase_table(self) -> Mapping[str, Any]:
        raise NotImplementedError

    @property
    def phase_names(self) -> tuple[str, ...]:
        return tuple(self.phase_table)

    def enter_phase(self, name: str) -> None:
        if name not in self.phase_table:
            raise ValueError(f"unknown phase {name!r}; this module defines {list(self.phase_table)}")
        self.phase = name
        self.on_phase(name)

    def on_phase(self, name: str) -> None:
        """What entering phase ``name`` changes besides :attr:`phase` (nothing by default)."""
