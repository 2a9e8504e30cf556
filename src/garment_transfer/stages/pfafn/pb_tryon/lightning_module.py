"""PF-AFN's parser-based try-on model trained end to end (``docs/methods/pfafn.md``, "Parser-based try-on: the
tutor"; PF-AFN's ``train_PBAFN_e2e.py``).

The net (``models.pfafn.PFAFNTryOn``, variant "parser_based") is PB-AFWM, initialised from a :class:`PBWarpingModule`
checkpoint (``warp_checkpoint``), and the 8 -> 4 ResUNet generator. On a paired sample (person ``t`` with their own
in-shop garment ``C_t``) the warp dresses ``t`` in ``C_t``; the generator reads the preserve-region image (face,
other clothes, hands), the warped garment and mask, and the DensePose arm mask minus ``t``'s garment mask; the try-on
is ``warped * m + rendered * (1 - m)``, ``m = sigmoid(out[3]) * warped mask * M^g_t``.

Loss: ``w_warp * warp + generator`` (PF-AFN ``0.5`` and 1): the warp's multi-scale terms (as :class:`PBWarpingModule`)
and ``5 L1 + VGG`` of the try-on and of the rendered image against ``I_t`` plus ``1 mean |1 - m|``
(``generator_weights``). Adam with the warp at ``warp_lr_scale`` (PF-AFN 0.2) of the generator's ``lr``.

The checkpoint holds the whole try-on model: the parser-free stages load it as their frozen tutor (and its warp as
the teacher). Evaluation dresses the TARGET in the SOURCE's in-shop garment as at test time (arm mask minus the
warped mask, no garment region) and compares the try-on with the truth of the unpaired try-on (synthetic data) or,
paired, with the person (``<split>/tryon/*``), the warped garment with the true worn one (``<split>/warp/*``).
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.data.samples import PairSample
from garment_transfer.losses.pfafn import (
    E2E_WARP_WEIGHT,
    GENERATOR_WEIGHTS,
    WARP_WEIGHTS,
    generator_terms,
    stage_warping_terms,
    uses_vgg,
)
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pfafn import PB_WARPING
from garment_transfer.models.pfafn.networks import build_pb_afwm, build_pb_tryon, dress, pb_context, pb_person
from garment_transfer.models.tryon import TryOnOutput
from garment_transfer.stages.tryon import TryOnStage


class PBTryOnModule(TryOnStage):
    """PF-AFN's parser-based try-on model, the tutor, trained end to end (module docstring).

    Args:
        warp_checkpoint: a :class:`PBWarpingModule` checkpoint whose warp starts this one (PF-AFN's); None starts
            from scratch.
        width: "full" (PF-AFN) or "tiny" (CPU), for the warp and the generator (ResUNet ngf 64 / 16).
        pose_channels, flow_convention, zero_init_heads: as :class:`PBWarpingModule`.
        lr: the generator's Adam rate (PF-AFN 5e-5); warp_lr_scale: the warp's rate is ``warp_lr_scale * lr`` (0.2).
        betas, lr_decay_start, lr_decay_epochs: as :class:`PBWarpingModule`.
        w_warp: weight of the warping loss in the total (PF-AFN 0.5).
        warp_weights: as :class:`PBWarpingModule`. generator_weights: ``{l1, vgg, rendered_l1, rendered_vgg,
            mask}`` (default 5, 1, 5, 1, 1).
        vgg_weights, allow_random_vgg, vgg_levels, resize_mode, smooth_reduction: as :class:`PBWarpingModule`
            (``vgg_levels`` applies to the warping terms).
        channels_last, compile: speed switches of the net, the frozen nets and the VGG loss net (docs/speed.md).
    """

    def __init__(
        self,
        warp_checkpoint: str | None = None,
        width: str = "full",
        pose_channels: int = 3,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        lr: float = 5e-5,
        warp_lr_scale: float = 0.2,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        lr_decay_epochs: int = 1,
        w_warp: float = E2E_WARP_WEIGHT["parser_based"],
        warp_weights: dict | None = None,
        generator_weights: dict | None = None,
        vgg_weights: str | None = None,
        allow_random_vgg: bool = False,
        vgg_levels: int | None = None,
        resize_mode: str = "area",
        smooth_reduction: str = "sum",
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.warp_weights = dict(WARP_WEIGHTS if warp_weights is None else warp_weights)
        self.generator_weights = dict(GENERATOR_WEIGHTS if generator_weights is None else generator_weights)
        self.net = build_pb_tryon(self.hparams)
        if warp_checkpoint is not None:
            warp = FrozenNet.from_checkpoint(
                warp_checkpoint, {PB_WARPING: build_pb_afwm}, pose_channels, "warp_checkpoint"
            )
            self.start_from(self.net.warp, warp, "warp_checkpoint")
        self.setup_vgg(vgg_weights, allow_random_vgg, uses_vgg(self.warp_weights, self.generator_weights))
        self.metrics = nn.ModuleDict({"tryon": ImageMetrics(), "warp": ImageMetrics()})
        self.accelerate_nets(channels_last, compile)

    def parameter_groups(self):
        return [
            ("warp", list(self.net.warp.parameters()), self.hparams.warp_lr_scale),
            ("generator", list(self.net.generator.parameters()), 1.0),
        ]

    def losses(self, batch: PairSample) -> tuple[TryOnOutput, dict[str, dict]]:
        """The paired pass and its unweighted terms, ``{"warp": ..., "generator": ...}``."""
        target = batch.target
        check_pose_channels(target.densepose, self.hparams.pose_channels)
        out = self.net(
            target.cloth,
            target.cloth_mask,
            pb_person(target),
            pb_context(target),
            covered_mask=target.garment_mask,
            garment_region=target.garment_mask,
        )
        return out, {
            "warp": stage_warping_terms(
                out.warp, target.garment, target.garment_mask, self.warp_weights, self.vgg, self.hparams
            ),
            "generator": generator_terms(out.tryon, target.image, self.vgg, self.generator_weights),
        }

    def total(self, terms: dict[str, dict]) -> torch.Tensor:
        """``w_warp * warp + generator``, each table weighted."""
        return self.hparams.w_warp * weighted_sum(terms["warp"], self.warp_weights) + weighted_sum(
            terms["generator"], self.generator_weights
        )

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        _, terms = self.losses(batch)
        loss = self.total(terms)
        self.log_train(
            {
                "train/loss": loss,
                **{f"train/{part}/{name}": value for part, table in terms.items() for name, value in table.items()},
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=batch.target.image.shape[0],
        )
        return loss

    def tryon(self, batch: PairSample) -> TryOnOutput:
        """Test-time try-on: the target dressed in the source's in-shop garment."""
        check_pose_channels(batch.target.densepose, self.hparams.pose_channels)
        return dress(self.net, batch.target, batch.source.cloth, batch.source.cloth_mask)
