"""The try-on parsing teacher ``T_P``: ``T_P(M^r, C^m, P) -> M``, self-supervised on paired samples.

Input channels: the remaining parsing ``M^r`` (4), the in-shop garment mask ``C^m`` (1), DensePose ``P``
(``pose_channels``); output: 7-class logits. Loss ``w_l1 * L1(softmax, one-hot) + w_ce * CE`` on the fused and
(by default) the side outputs. Teaching use: ``M^T_{t<-s} = T_P(M^r_t, C^m_s, P_t)``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from garment_transfer.data.samples import PairSample
from garment_transfer.losses.parsing import deep_parsing_loss
from garment_transfer.metrics.parsing import ParsingMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net, parsing_inputs
from garment_transfer.stages.base import StageModule
from garment_transfer.visuals import image_to_rgb, mask_to_rgb, parsing_to_rgb


class TryOnParsingModule(StageModule):
    """The try-on parsing teacher ``T_P``, supervised by each person's own parsing (module docstring).

    Args:
        width: U-2-Net width, ``full`` (paper, 44.1 M parameters) or ``small`` (1.1 M).
        pose_channels: channels of the DensePose encoding the data module gives.
        lr, betas: Adam.
        w_l1, w_ce: loss weights; side_outputs: supervise the six side outputs too.
        channels_last, compile: speed switches of the net
            (:func:`~garment_transfer.models.acceleration.accelerate`; off: the eager reference); bf16 autocast is the
            trainer's ``precision: bf16-mixed``.
    """

    def __init__(
        self,
        width: str = "small",
        pose_channels: int = 3,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        w_l1: float = 2.0,
        w_ce: float = 0.2,
        side_outputs: bool = True,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.net = build_parsing_net(self.hparams)
        self.metrics = torch.nn.ModuleDict({"tryon": ParsingMetrics()})
        self.accelerate_nets(channels_last, compile)

    def forward(self, remaining, cloth_mask, pose, return_features: bool = False):
        check_pose_channels(pose, self.hparams.pose_channels)
        return self.net(parsing_inputs(remaining, cloth_mask, pose), return_features=return_features)

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        target = batch.target  # paired: the source is the target
        out = self(target.remaining, batch.source.cloth_mask, target.densepose)
        loss = self.loss(out, target.parsing)
        self.log_train({"train/loss": loss}, batch_size=target.parsing.shape[0])
        return loss

    def loss(self, out, reference: torch.Tensor) -> torch.Tensor:
        hp = self.hparams
        return deep_parsing_loss(out.logits, out.side_logits, reference, hp.w_l1, hp.w_ce, hp.side_outputs)

    def evaluate(self, batch: PairSample, split: str) -> None:
        """Try-on against the truth where the data set has it (synthetic: the target in the source's garment), or
        against the target's own parsing on paired pairs; unpaired real pairs have no reference."""
        source, target = batch.source, batch.target
        if batch.truth is not None:
            reference = batch.truth.parsing
        elif source.id == target.id:
            reference = target.parsing
        else:
            return
        out = self(target.remaining, source.cloth_mask, target.densepose)
        self.log_eval({f"{split}/loss": self.loss(out, reference)}, batch_size=reference.shape[0])
        self.metrics["tryon"].update(out.logits, reference)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        source, target = batch.source, batch.target
        out = self(target.remaining, source.cloth_mask, target.densepose)
        views = OrderedDict(
            target=image_to_rgb(target.image),
            cloth=image_to_rgb(source.cloth),
            cloth_mask=mask_to_rgb(source.cloth_mask),
            prediction=parsing_to_rgb(out.logits),
        )
        if batch.truth is not None:
            views["truth"] = parsing_to_rgb(batch.truth.parsing)
        return views
