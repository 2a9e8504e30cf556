"""What every stage's LightningModule shares: evaluation hooks feeding ``self.metrics``, metric logging at epoch
end as ``<split>/<comparison>/<name>``, and Adam on ``self.net`` (the teacher, if any, is never optimised)."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


class StageModule(pl.LightningModule):
    """Subclasses set ``self.net`` and ``self.metrics`` (an ``nn.ModuleDict`` of torchmetrics) and implement
    :meth:`evaluate`; their hyper-parameters include ``lr`` and ``betas``."""

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
                self.log_dict(values)
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr, betas=tuple(self.hparams.betas))
