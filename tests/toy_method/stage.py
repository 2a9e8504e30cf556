"""The toy method's one stage: the blend network trained to give back the person in their own in-shop garment."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.stages.base import StageModule
from toy_method.method import build_blend


class BlendModule(StageModule):
    def __init__(
        self,
        width: str = "tiny",
        pose_channels: int = 3,
        lr: float = 1e-2,
        betas: tuple[float, float] = (0.5, 0.999),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.net = build_blend(self.hparams)
        self.metrics = torch.nn.ModuleDict({"tryon": ImageMetrics()})

    def forward(self, person, garment):
        return torch.tanh(self.net(torch.cat([person, garment], 1)))

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        target = batch.target
        loss = F.l1_loss(self(target.image, target.cloth), target.image)
        self.log_train({"train/loss": loss}, batch_size=target.image.shape[0])
        return loss

    def evaluate(self, batch, split: str) -> None:
        if batch.truth is not None:
            self.metrics["tryon"].update(self(batch.target.image, batch.source.cloth), batch.truth.image)


class BlendDataModule(GarmentDataModule):
    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
