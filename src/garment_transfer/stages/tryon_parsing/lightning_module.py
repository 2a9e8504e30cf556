"""The try-on parsing teacher ``T_P``: ``T_P(M^r, C^m, P) -> M``, self-supervised on paired samples.

Input channels: the remaining parsing ``M^r`` (4), the in-shop garment mask ``C^m`` (1), DensePose ``P``
(``pose_channels``); output: 7-class logits. Loss ``w_l1 * L1(softmax, one-hot) + w_ce * CE`` on the fused and
(by default) the side outputs. Teaching use: ``M^T_{t<-s} = T_P(M^r_t, C^m_s, P_t)``.
"""

from __future__ import annotations

from collections import OrderedDict

import pytorch_lightning as pl
import torch

from garment_transfer.callbacks.image_logger import image_to_rgb, mask_to_rgb, parsing_to_rgb
from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import PairSample
from garment_transfer.losses.parsing import deep_parsing_loss
from garment_transfer.metrics.parsing import ParsingMetrics
from garment_transfer.models.u2net import U2Net

REMAINING_CHANNELS = 4


def build_parsing_net(hparams: dict) -> U2Net:
    """The U-2-Net of a parsing stage from its hyper-parameters (``width``, ``pose_channels``)."""
    return U2Net(REMAINING_CHANNELS + 1 + hparams["pose_channels"], NUM_CLASSES, hparams["width"])


def parsing_inputs(remaining: torch.Tensor, shape: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    """Concatenate ``M^r`` (B, 4, H, W), a garment shape (B, 1, H, W) and DensePose (B, C, H, W)."""
    return torch.cat([remaining, shape, pose], dim=1)


def check_pose_channels(pose: torch.Tensor, expected: int) -> None:
    if pose.shape[1] != expected:
        raise ValueError(f"DensePose input has {pose.shape[1]} channels but the model was built for "
                         f"pose_channels={expected}: match the data module's densepose encoding")


def log_metrics(module: pl.LightningModule, metrics: torch.nn.ModuleDict, split: str) -> None:
    """Compute, log as ``split/<comparison>/<name>`` (NaN entries, for classes absent everywhere, left out), reset."""
    for comparison, metric in metrics.items():
        if metric.update_called:
            values = {f"{split}/{comparison}/{k}": v for k, v in metric.compute().items() if not torch.isnan(v)}
            module.log_dict(values, sync_dist=False)
        metric.reset()


class TryOnParsingModule(pl.LightningModule):
    """Args:
        width: U-2-Net width, ``full`` (paper, 44.1 M parameters) or ``small`` (1.1 M).
        pose_channels: channels of the DensePose encoding the data module gives.
        lr, betas: Adam.
        w_l1, w_ce: loss weights; side_outputs: supervise the six side outputs too.
    """

    def __init__(self, width: str = "small", pose_channels: int = 3, lr: float = 1e-4,
                 betas: tuple[float, float] = (0.5, 0.999), w_l1: float = 2.0, w_ce: float = 0.2,
                 side_outputs: bool = True):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_parsing_net(self.hparams)
        self.metrics = torch.nn.ModuleDict({"tryon": ParsingMetrics()})

    def forward(self, remaining, cloth_mask, pose, return_features: bool = False):
        check_pose_channels(pose, self.hparams.pose_channels)
        return self.net(parsing_inputs(remaining, cloth_mask, pose), return_features=return_features)

    def _shared_step(self, batch: PairSample, split: str) -> torch.Tensor:
        source, target = batch.source, batch.target
        out = self(target.remaining, source.cloth_mask, target.densepose)
        if split == "train":
            reference = target.parsing  # paired: the source is the target
        else:
            reference = batch.truth.parsing if batch.truth is not None else (
                target.parsing if source.id == target.id else None)
        if reference is None:
            return None
        hp = self.hparams
        loss = deep_parsing_loss(out.logits, out.side_logits, reference, hp.w_l1, hp.w_ce, hp.side_outputs)
        self.log(f"{split}/loss", loss, prog_bar=split == "train", batch_size=reference.shape[0])
        if split != "train":
            self.metrics["tryon"].update(out.logits, reference)
        return loss

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: PairSample, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: PairSample, batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        log_metrics(self, self.metrics, "val")

    def on_test_epoch_end(self) -> None:
        log_metrics(self, self.metrics, "test")

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        source, target = batch.source, batch.target
        out = self(target.remaining, source.cloth_mask, target.densepose)
        views = OrderedDict(target=image_to_rgb(target.image), cloth=image_to_rgb(source.cloth),
                            cloth_mask=mask_to_rgb(source.cloth_mask), prediction=parsing_to_rgb(out.logits))
        if batch.truth is not None:
            views["truth"] = parsing_to_rgb(batch.truth.parsing)
        return views

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.hparams.lr, betas=tuple(self.hparams.betas))
