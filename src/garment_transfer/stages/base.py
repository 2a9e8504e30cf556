"""What every stage's LightningModule shares: evaluation hooks feeding ``self.metrics``, metric logging at epoch
end as ``<split>/<comparison>/<name>``, and Adam on ``self.net`` (the teacher, if any, is never optimised).

Multi-process runs (DDP): torchmetrics objects sum their states over processes, and values logged outside
training (validation, test, sanity check) are reduced over processes by default (``sync_dist=True`` unless the
call says otherwise), so a stage's evaluation metrics are those of the whole evaluation set. Values logged in
training are kept, per step, in ``logged_train_values`` (name -> value), where
:class:`~garment_transfer.callbacks.guard.FiniteLossGuard` finds the loss terms to name when a loss is not finite.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch

SYNC_DIST_POSITION = 6  # index of sync_dist among LightningModule.log's arguments after ``value``


class StageModule(pl.LightningModule):
    """Subclasses set ``self.net`` and ``self.metrics`` (an ``nn.ModuleDict`` of torchmetrics) and implement
    :meth:`evaluate`; their hyper-parameters include ``lr`` and ``betas``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logged_train_values: dict[str, torch.Tensor | float] = {}

    def log(self, name: str, value, *args, **kwargs) -> None:
        """``LightningModule.log``; remembers training values, syncs evaluation values across processes."""
        if self._trainer is not None and self._trainer.training:
            if isinstance(value, (torch.Tensor, int, float)):
                self.logged_train_values[name] = value.detach() if isinstance(value, torch.Tensor) else value
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
