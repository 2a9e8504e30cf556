"""PF-AFN's parser-based warp PB-AFWM (``docs/methods/pfafn.md``, "Parser-based warp"; PF-AFN's
``train_PBAFN_stage1.py``).

``PB-AFWM(C_t, C^m_t, p_t) -> C_t`` warped onto the person, self-supervised on paired samples (a person with their own
in-shop garment). The person input ``p_t`` has 45 channels (``models.pfafn.pb_person``): the face and other-clothes
preserve masks of the person's parsing, 25 one-hot DensePose parts, 18 COCO keypoint maps.

Loss (``losses.pfafn.warping_terms``): per level ``k = 0`` (coarsest) .. 4, weighted ``k + 1``, ``1 L1 + 0.2 VGG +
2 mask L1 + 6 second-order smoothness`` against the worn garment ``G_t = I_t * M^g_t`` and its mask, plus ``0.01 TV``
over the ten offset fields (``warp_weights``).

Evaluation warps the SOURCE's in-shop garment onto the TARGET and compares it with the truth's worn garment (the
true unpaired try-on on synthetic data) or, on paired pairs, with the target's own (``stages.tryon.reference``):
``<split>/warp/{mse,psnr,ssim}`` inside the reference mask, ``<split>/warp/mask_iou`` and ``<split>/loss``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from garment_transfer.data.samples import PairSample, PersonSample
from garment_transfer.losses.pfafn import WARP_WEIGHTS, stage_warping_terms, uses_vgg
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.pfafn.networks import build_pb_afwm, pb_person
from garment_transfer.stages.tryon import WarpStage, reference
from garment_transfer.visuals import image_to_rgb


class PBWarpingModule(WarpStage):
    """PF-AFN's parser-based warp PB-AFWM, self-supervised on paired samples (module docstring).

    Args:
        width: AFWM width, "full" (PF-AFN, 29.3 M parameters) or "tiny" (CPU).
        pose_channels: the data module's DensePose channels (linked by the CLI): ``iuv`` (3), ``parts`` (25) or
            ``parts_uv`` (27); the 25 parts are derived from it.
        flow_convention, zero_init_heads: :class:`~garment_transfer.models.afwm.AFWM` options ("ours" and True by
            default; PF-AFN's own code: "pfafn" and False).
        lr, betas: Adam (PF-AFN: 5e-5, (0.5, 0.999)); lr_decay_start, lr_decay_epochs: its linear decay
            (``stages.base``; None: constant).
        warp_weights: ``{l1, vgg, mask, smooth, tv}`` (default PF-AFN's 1, 0.2, 2, 6, 0.01).
        vgg_weights, allow_random_vgg: torchvision-format ``vgg19-dcbb9e9d.pth``, or random features by explicit
            choice (warned; ``train/vgg_random``). vgg_levels: the VGG term on the finest levels only (None: all).
        resize_mode, smooth_reduction: ``losses.pfafn.warping_terms`` options ("area" and PF-AFN's "sum").
        channels_last, compile: speed switches of the net, the frozen nets and the VGG loss net (docs/speed.md).
    """

    def __init__(
        self,
        width: str = "full",
        pose_channels: int = 3,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        lr: float = 5e-5,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        lr_decay_epochs: int = 1,
        warp_weights: dict | None = None,
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
        self.net = build_pb_afwm(self.hparams)
        self.setup_vgg(vgg_weights, allow_random_vgg, uses_vgg(self.warp_weights))
        self.metrics = nn.ModuleDict({"warp": ImageMetrics()})
        self.accelerate_nets(channels_last, compile)

    def forward(self, garment: torch.Tensor, garment_mask: torch.Tensor, person: PersonSample) -> FlowOutput:
        """Warp ``garment`` (B, 3, H, W) / ``garment_mask`` (B, 1, H, W) onto a batch of persons."""
        check_pose_channels(person.densepose, self.hparams.pose_channels)
        return self.net(garment, garment_mask, pb_person(person))

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        target = batch.target  # paired: the person with their own garment
        terms = stage_warping_terms(
            self(target.cloth, target.cloth_mask, target),
            target.garment,
            target.garment_mask,
            self.warp_weights,
            self.vgg,
            self.hparams,
        )
        loss = weighted_sum(terms, self.warp_weights)
        self.log_train(
            {
                "train/loss": loss,
                **{f"train/{name}": value for name, value in terms.items()},
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=target.image.shape[0],
        )
        return loss

    def evaluate(self, batch: PairSample, split: str) -> None:
        truth = reference(batch)
        if truth is None:
            return
        out = self(batch.source.cloth, batch.source.cloth_mask, batch.target)
        terms = stage_warping_terms(out, truth.garment, truth.garment_mask, self.warp_weights, self.vgg, self.hparams)
        self.evaluate_warp(out, truth, weighted_sum(terms, self.warp_weights), split)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        source, target = batch.source, batch.target
        out = self(source.cloth, source.cloth_mask, target)
        truth = reference(batch)
        views = OrderedDict(
            cloth=image_to_rgb(source.cloth), target=image_to_rgb(target.image), warped=image_to_rgb(out.warped_garment)
        )
        if truth is not None:
            views["truth_garment"] = image_to_rgb(truth.garment)
        return views
