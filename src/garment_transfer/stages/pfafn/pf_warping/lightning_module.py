"""PF-AFN's parser-free warp PF-AFWM, distilled through the parser-based tutor (``docs/methods/pfafn.md``,
"Parser-free warp, distilled"; PF-AFN's ``train_PFAFN_stage1.py``, supplementary Alg. 2).

Per training pair (the real person ``t`` with their own in-shop garment ``C_t``; a random other person ``s`` lending
``C_s``), with the frozen parser-based try-on model of ``tutor_checkpoint`` (a :class:`PBTryOnModule`):

- tutor: the parser-based model dresses ``t`` in ``C_s``; its try-on ``I~_t`` (a "fake" image of the real person in
  another garment) is the student's person input;
- teacher: the parser-based warp on ``t``'s own parser-based inputs with ``C_t``;
- student: ``PF-AFWM(C_t, C^m_t, I~_t)``, supervised by the real worn garment ``G_t`` (the warp's multi-scale terms),
  plus feature KD on the five person-branch FPN maps (weights ``(5 - k) * 0.04``) and flow KD on the three finest
  grids (weights ``k + 1``) against the teacher, applied per sample only where the teacher's warped garment is closer
  to ``G_t`` than the student's (``adjustable``; the gate is logged as ``train/gate``).

Initialisation: every weight of the tutor's warp except the person branch and the refine heads
(``models.pfafn.init_pf_from_pb``). Staged unfreezing: in phase ``own`` only the person branch and the refine heads
train (the others keep ``requires_grad`` off, so Adam leaves them unchanged); in phase ``all`` everything trains.
:class:`~garment_transfer.callbacks.phases.PhaseSchedule` picks the phase by epoch (PF-AFN: ``own`` while its
1-based epoch is below ``niter``, i.e. for the first ``niter - 1`` epochs). The tutor is a
:class:`~garment_transfer.models.frozen.FrozenNet`: frozen, in eval mode, outside the optimizer and the checkpoints.

Evaluation: the student at test time reads the real target image and the SOURCE's in-shop garment; metrics as
:class:`PBWarpingModule` (``<split>/warp/*`` against the true worn garment of the unpaired try-on).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from garment_transfer.data.samples import PairSample
from garment_transfer.losses.pfafn import WARP_WEIGHTS, distillation_terms, stage_warping_terms, uses_vgg
from garment_transfer.losses.weighting import weighted_sum
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.pfafn.distillation import Distillation, distil, load_tutor
from garment_transfer.models.pfafn.networks import PF_OWN_PREFIXES, build_pf_afwm, init_pf_from_pb
from garment_transfer.stages.base import Phased
from garment_transfer.stages.tryon import WarpStage, reference
from garment_transfer.visuals import image_to_rgb

PHASES = {"own": PF_OWN_PREFIXES, "all": ("",)}  # phase -> prefixes of the parameters that train
KD_WEIGHTS = {"feature_kd": 1.0, "flow_kd": 1.0}


class PFWarpingModule(Phased, WarpStage):
    """PF-AFN's parser-free warp PF-AFWM, distilled through the tutor (module docstring).

    Args:
        tutor_checkpoint: a :class:`PBTryOnModule` checkpoint (tutor, teacher and initialisation).
        width: AFWM width ("full" or "tiny"); the tutor's must be the same.
        pose_channels: the data module's DensePose channels (linked by the CLI; the tutor's must be the same).
        flow_convention, zero_init_heads: as :class:`PBWarpingModule` (the copied weights overwrite the heads that
            are copied).
        init_from_tutor: PF-AFN's partial initialisation (False: the whole student starts fresh).
        adjustable: the per-sample gate of the distillation terms (False: every sample is distilled).
        lr, betas, lr_decay_start, lr_decay_epochs: Adam and its decay (PF-AFN: 3e-5; decay from epoch 100 of 200).
        warp_weights: the warping terms' weights (PF-AFN's 1, 0.2, 2, 6, 0.01). kd_weights: ``{feature_kd, flow_kd}``
            (1, 1: the level weights are inside the terms).
        vgg_weights, allow_random_vgg, vgg_levels, resize_mode, smooth_reduction: as :class:`PBWarpingModule`.
        channels_last, compile: speed switches of the net, the frozen nets and the VGG loss net (docs/speed.md).
    """

    def __init__(
        self,
        tutor_checkpoint: str | None = None,
        width: str = "full",
        pose_channels: int = 3,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        init_from_tutor: bool = True,
        adjustable: bool = True,
        lr: float = 3e-5,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        lr_decay_epochs: int = 1,
        warp_weights: dict | None = None,
        kd_weights: dict | None = None,
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
        self.weights = {
            **(WARP_WEIGHTS if warp_weights is None else warp_weights),
            **(KD_WEIGHTS if kd_weights is None else kd_weights),
        }
        self.net = build_pf_afwm(self.hparams)
        self.tutor = load_tutor(tutor_checkpoint, pose_channels, width)
        if init_from_tutor:
            init_pf_from_pb(self.net, self.tutor.net.warp)
        self.setup_vgg(vgg_weights, allow_random_vgg, uses_vgg(self.weights))
        self.phase = "all"
        self.metrics = nn.ModuleDict({"warp": ImageMetrics()})
        self.accelerate_nets(channels_last, compile)

    # -- phases
    @property
    def phase_table(self) -> dict:
        return PHASES

    def on_phase(self, name: str) -> None:
        """Train only the parameters of the phase (``own``: person branch and refine heads; ``all``)."""
        for key, parameter in self.net.named_parameters():
            parameter.requires_grad_(key.startswith(PHASES[name]))

    # -- computation
    def forward(self, garment: torch.Tensor, garment_mask: torch.Tensor, person_image: torch.Tensor) -> FlowOutput:
        """Warp ``garment`` (B, 3, H, W) / ``garment_mask`` (B, 1, H, W) onto the person image (B, 3, H, W)."""
        return self.net(garment, garment_mask, person_image)

    def objective(self, batch: PairSample) -> tuple[Distillation, FlowOutput, dict, torch.Tensor]:
        """``(tutor and teacher, student output, unweighted terms, gate)`` of a training pair (module docstring)."""
        target = batch.target
        check_pose_channels(target.densepose, self.hparams.pose_channels)
        guide = distil(self.tutor, batch)
        out = self(target.cloth, target.cloth_mask, guide.fake)
        terms = stage_warping_terms(out, target.garment, target.garment_mask, self.weights, self.vgg, self.hparams)
        kd, gate = distillation_terms(out, guide.teacher, target.garment, self.hparams.adjustable)
        return guide, out, {**terms, **kd}, gate

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        _, _, terms, gate = self.objective(batch)
        loss = weighted_sum(terms, self.weights)
        self.log_train(
            {
                "train/loss": loss,
                **{f"train/{name}": value for name, value in terms.items()},
                "train/gate": gate.mean(),
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=batch.target.image.shape[0],
        )
        return loss

    def evaluate(self, batch: PairSample, split: str) -> None:
        truth = reference(batch)
        if truth is None:
            return
        out = self(batch.source.cloth, batch.source.cloth_mask, batch.target.image)
        weights = {k: v for k, v in self.weights.items() if k not in KD_WEIGHTS}
        terms = stage_warping_terms(out, truth.garment, truth.garment_mask, weights, self.vgg, self.hparams)
        self.evaluate_warp(out, truth, weighted_sum(terms, weights), split)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        source, target = batch.source, batch.target
        guide = distil(self.tutor, batch)
        student = self(target.cloth, target.cloth_mask, guide.fake)
        test = self(source.cloth, source.cloth_mask, target.image)
        views = OrderedDict(
            target=image_to_rgb(target.image),
            fake=image_to_rgb(guide.fake),
            teacher=image_to_rgb(guide.teacher.warped_garment),
            student=image_to_rgb(student.warped_garment),
            cloth=image_to_rgb(source.cloth),
            tryon_warp=image_to_rgb(test.warped_garment),
        )
        truth = reference(batch)
        if truth is not None:
            views["truth_garment"] = image_to_rgb(truth.garment)
        return views
