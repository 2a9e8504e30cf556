"""What every stage's LightningModule shares: evaluation hooks feeding ``self.metrics``, metric logging at epoch
end as ``<split>/<comparison>/<name>``, and Adam on ``self.net`` (the teacher, if any, is never optimised).

Multi-process runs (DDP): torchmetrics objects sum their states over processes, and a value that an evaluation
step logs (validation, test, sanity check) goes into a torchmetrics ``MeanMetric`` of its name, weighted by the
call's ``batch_size``, so it is the mean over the whole evaluation set even when the processes hold unequal shares
(Lightning's own ``sync_dist`` reduction is not weighted by each process's count). Other values logged outside
training are reduced over processes (``sync_dist=True`` unless the call says otherwise). Values logged in
training are kept, per step, in ``logged_train_values`` (name -> value), where
:class:`~garment_transfer.callbacks.guard.FiniteLossGuard` finds the loss terms to name when a loss is not finite.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics.aggregation import MeanMetric

SYNC_DIST_POSITION = 6  # index of sync_dist among LightningModule.log's arguments after ``value``
EVALUATION_STEPS = ("validation_step", "test_step")


class StageModule(pl.LightningModule):
    """Subclasses set ``self.net`` and ``self.metrics`` (an ``nn.ModuleDict`` of torchmetrics) and implement
    :meth:`evaluate`; their hyper-parameters include ``lr`` and ``betas``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logged_train_values: dict[str, torch.Tensor | float] = {}
        self.evaluation_means = nn.ModuleDict()  # name (slashes as "__") -> MeanMetric; states not checkpointed

    def log(self, name: str, value, *args, **kwargs) -> None:
        """``LightningModule.log``; remembers training values, averages evaluation-step values over the whole
        evaluation set, syncs other evaluation values across processes."""
        if self._trainer is not None and self._trainer.training:
            if isinstance(value, (torch.Tensor, int, float)):
                self.logged_train_values[name] = value.detach() if isinstance(value, torch.Tensor) else value
        elif (self._current_fx_name in EVALUATION_STEPS and isinstance(value, (torch.Tensor, int, float)) and not args
              and kwargs.get("reduce_fx", "mean") == "mean"):
            key = name.replace("/", "__").replace(".", "_")
            if key not in self.evaluation_means:
                self.evaluation_means[key] = MeanMetric(nan_strategy="disable").to(self.device)  # NaN shows
            mean = self.evaluation_means[key]
            mean.update(torch.as_tensor(value, dtype=torch.float32, device=self.device).mean(),
                        weight=kwargs.get("batch_size") or 1)
            value = mean
            kwargs.setdefault("metric_attribute", f"evaluation_means.{key}")
        elif len(args) <= SYNC_DIST_POSITION:
            kwargs.setdefault("sync_dist", True)
        super().log(name, value, *args, **kwargs)

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
