"""PF-AFN's parser-free try-on model trained end to end through the tutor (``docs/methods/pfafn.md``,
"Parser-free try-on"; PF-AFN's ``train_PFAFN_e2e.py``).

The net (``models.pfafn.PFAFNTryOn``, variant "parser_free") is PF-AFWM, initialised from a :class:`PFWarpingModule`
checkpoint (``warp_checkpoint``), and the 7 -> 4 ResUNet generator reading the person image, the warped garment and
its mask. Per training pair, as in :class:`PFWarpingModule`: the frozen tutor (``tutor_checkpoint``, a
:class:`PBTryOnModule`) dresses the real person ``t`` in a random other garment ``C_s``; the student warps ``t``'s own
``C_t`` onto that fake image and its generator renders ``t`` back, supervised by the real ``I_t``:

- warp: the multi-scale warping terms against ``G_t`` with feature and flow KD from the teacher (the tutor's warp on
  ``t``'s parser-based inputs with ``C_t``) under the adjustable gate, weighted ``w_warp`` (PF-AFN 0.25) in the total;
- generator: ``5 L1 + VGG`` of the try-on and of the rendered image against ``I_t``, ``1 mean |1 - m|``, with
  ``m = sigmoid(out[3]) * warped mask * M^g_t``;
- skin: ``L1`` and ``VGG`` of the rendered image against ``I_t`` on the skin the fake image exposes (the tutor's
  warped mask outside ``M^g_t``), weighted 30 and 2 in phase ``before_niter`` and 60 and 4 in phase ``after_niter``:
  :class:`~garment_transfer.callbacks.phases.PhaseSchedule` switches at epoch ``niter`` (0-based; PF-AFN's 1-based
  loop switches one epoch earlier, so its schedule is ``after_niter: niter - 1``). The weights in use are logged as
  ``train/skin_weight``.

Adam: the generator at ``lr`` (5e-5), the warp at ``warp_lr_scale * lr`` (0.2). Test time (evaluation, the
pipeline): the real person image, the source's in-shop garment, no garment region:
``<split>/tryon/*`` against the truth of the unpaired try-on (or the person on paired pairs), ``<split>/warp/*``.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.data.samples import PairSample
from garment_transfer.losses.pfafn import (
    E2E_WARP_WEIGHT,
    GENERATOR_WEIGHTS,
    SKIN_WEIGHTS,
    SKIN_WEIGHTS_AFTER_NITER,
    WARP_WEIGHTS,
    distillation_terms,
    generator_terms,
    skin_mask,
    skin_terms,
    stage_warping_terms,
    uses_vgg,
)
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pfafn import PF_WARPING
from garment_transfer.models.pfafn.distillation import distil, load_tutor
from garment_transfer.models.pfafn.networks import build_pf_afwm, build_pf_tryon, dress
from garment_transfer.models.tryon import TryOnOutput
from garment_transfer.stages.base import Phased
from garment_transfer.stages.tryon import TryOnStage
from garment_transfer.visuals import image_to_rgb

PHASES = {"before_niter": SKIN_WEIGHTS, "after_niter": SKIN_WEIGHTS_AFTER_NITER}  # phase -> skin weights
KD_WEIGHTS = {"feature_kd": 1.0, "flow_kd": 1.0}


class PFTryOnModule(Phased, TryOnStage):
    """PF-AFN's parser-free try-on model, trained end to end through the tutor (module docstring).

    Args:
        tutor_checkpoint: a :class:`PBTryOnModule` checkpoint (the frozen tutor and teacher).
        warp_checkpoint: a :class:`PFWarpingModule` checkpoint whose warp starts this one; None: from scratch.
        width: "full" or "tiny" (warp and generator; the tutor's must be the same).
        pose_channels: the data module's DensePose channels (linked by the CLI; read by the tutor only).
        flow_convention, zero_init_heads, adjustable: as :class:`PFWarpingModule`.
        lr, warp_lr_scale, betas, lr_decay_start, lr_decay_epochs: as :class:`PBTryOnModule`.
        w_warp: weight of the warping loss (with its distillation terms) in the total (PF-AFN 0.25).
        warp_weights, kd_weights: as :class:`PFWarpingModule`. generator_weights: as :class:`PBTryOnModule`.
        skin_phases: ``{phase: {skin_l1, skin_vgg}}`` (default 30, 2 before ``niter``, 60, 4 after).
        vgg_weights, allow_random_vgg, vgg_levels, resize_mode, smooth_reduction: as :class:`PBWarpingModule`.
        channels_last, compile: speed switches of the net, the frozen nets and the VGG loss net (docs/speed.md).
    """

    def __init__(
        self,
        tutor_checkpoint: str | None = None,
        warp_checkpoint: str | None = None,
        width: str = "full",
        pose_channels: int = 3,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        adjustable: bool = True,
        lr: float = 5e-5,
        warp_lr_scale: float = 0.2,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        lr_decay_epochs: int = 1,
        w_warp: float = E2E_WARP_WEIGHT["parser_free"],
        warp_weights: dict | None = None,
        kd_weights: dict | None = None,
        generator_weights: dict | None = None,
        skin_phases: dict | None = None,
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
        self.warp_weights = {
            **(WARP_WEIGHTS if warp_weights is None else warp_weights),
            **(KD_WEIGHTS if kd_weights is None else kd_weights),
        }
        self.generator_weights = dict(GENERATOR_WEIGHTS if generator_weights is None else generator_weights)
        self.skin_phases = {name: dict(weights) for name, weights in (skin_phases or PHASES).items()}
        self.net = build_pf_tryon(self.hparams)
        self.tutor = load_tutor(tutor_checkpoint, pose_channels, width)
        if warp_checkpoint is not None:
            warp = FrozenNet.from_checkpoint(
                warp_checkpoint, {PF_WARPING: build_pf_afwm}, pose_channels, "warp_checkpoint"
            )
            self.start_from(self.net.warp, warp, "warp_checkpoint")
        self.setup_vgg(
            vgg_weights,
            allow_random_vgg,
            uses_vgg(self.warp_weights, self.generator_weights, *self.skin_phases.values()),
        )
        self.phase = next(iter(self.skin_phases))
        self.metrics = nn.ModuleDict({"tryon": ImageMetrics(), "warp": ImageMetrics()})
        self.accelerate_nets(channels_last, compile)

    # -- phases
    @property
    def phase_table(self) -> dict:
        return self.skin_phases

    @property
    def skin_weights(self) -> dict[str, float]:
        """The skin terms' weights of the current phase."""
        return self.skin_phases[self.phase]

    def parameter_groups(self):
        return [
            ("warp", list(self.net.warp.parameters()), self.hparams.warp_lr_scale),
            ("generator", list(self.net.generator.parameters()), 1.0),
        ]

    # -- computation
    def losses(self, batch: PairSample) -> tuple[TryOnOutput, dict[str, dict], torch.Tensor]:
        """The student's pass through the tutor, its unweighted terms ``{"warp", "generator", "skin"}`` and the
        distillation gate (B,)."""
        target = batch.target
        check_pose_channels(target.densepose, self.hparams.pose_channels)
        guide = distil(self.tutor, batch)
        out = self.net(target.cloth, target.cloth_mask, guide.fake, guide.fake, garment_region=target.garment_mask)
        warp = stage_warping_terms(
            out.warp, target.garment, target.garment_mask, self.warp_weights, self.vgg, self.hparams
        )
        kd, gate = distillation_terms(out.warp, guide.teacher, target.garment, self.hparams.adjustable)
        skin = skin_mask(guide.tutor.warp.warped_mask, target.garment_mask)
        return (
            out,
            {
                "warp": {**warp, **kd},
                "generator": generator_terms(out.tryon, target.image, self.vgg, self.generator_weights),
                "skin": skin_terms(out.tryon.rendered, target.image, skin, self.vgg, self.skin_weights),
            },
            gate,
        )

    def total(self, terms: dict[str, dict]) -> torch.Tensor:
        """``w_warp * warp + generator + skin``, each table weighted (skin by the current phase)."""
        return (
            self.hparams.w_warp * weighted_sum(terms["warp"], self.warp_weights)
            + weighted_sum(terms["generator"], self.generator_weights)
            + weighted_sum(terms["skin"], self.skin_weights)
        )

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        _, terms, gate = self.losses(batch)
        loss = self.total(terms)
        self.log_train(
            {
                "train/loss": loss,
                **{f"train/{part}/{name}": value for part, table in terms.items() for name, value in table.items()},
                "train/gate": gate.mean(),
                "train/skin_weight": self.skin_weights["skin_l1"],
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=batch.target.image.shape[0],
        )
        return loss

    def tryon(self, batch: PairSample) -> TryOnOutput:
        """Test-time try-on: the real target image and the source's in-shop garment, no garment region."""
        return dress(self.net, batch.target, batch.source.cloth, batch.source.cloth_mask)

    def input_views(self, batch: PairSample) -> dict:
        return {"fake": image_to_rgb(distil(self.tutor, batch).fake)}  # the tutor's try-on of the training pair
