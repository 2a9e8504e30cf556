"""The transfer warping student ``S_W``: the source's worn garment warped to the target shape (arXiv 2401.12433,
Sec. 3.3; ``docs/methods/distilled-transfer.md``, "Transfer warping student").

Per pair (source ``s``, target ``t``, two people) the net sees ``G_s``, ``M^g_s``, ``P_s``, ``P_t`` and the target
shape ``M^g_{t<-s}``, which comes from the frozen transfer parsing student ``S_P`` (``target_shape="student"``:
``M_{t<-s} = argmax S_P(M^r_t, M^g_s, P_t)``, ``M^g_{t<-s} = (M_{t<-s} == upper garment)``, as at inference) or from
the true transfer's parsing (``"truth"``, synthetic data only: every batch must carry it). The content target is the
frozen try-on warping teacher's ``C^T_{t<-s} = T_W(repr(M_{t<-s}, P_t), C_s, C^m_s)``.

Loss ``L = w_align L_align + L_sc + L_reg``, the multi-scale terms as ``T_W``'s: level ``k = 0..4`` uses the net's
level-``k`` grid upsampled to the next level's size (the last one to ``H x W``: the output), applied to the aligned
garment and mask resized to that size, weighted ``k + 1`` (``multiscale: false``: the full-size output alone):

- ``L_align = |theta(M^g_s) - M^g_{t<-s}|_1 + w_ratio |ratio - ratio|`` (0 without the STN);
- ``L_sc = w_mask L1(masks, M^g_{t<-s}) + w_l1 L1(garments, C^T) + w_vgg VGG(garments, C^T)``, VGG-19 at relu1_1 ..
  relu4_1 on the finest ``vgg_levels`` levels;
- ``L_reg = w_smooth sum_k (k + 1) second_order(grid_k) + w_tv sum TV(offsets)``.

``supervision`` picks the references: ``shape_content`` (paper) as above; ``shape`` drops ``T_W`` (mask, aligning and
regularisers only); ``cycle`` drops ``T_W`` and dresses the result back, ``S_W(W, W^m, P_t, P_s, M^g_s)``, all terms of
that second pass against ``G_s`` and ``M^g_s`` plus the regularisers of the first: the intermediate ``W_{t<-s}`` is
not supervised (the paper's case III, which can shortcut). ``method`` picks the net
(``models.distilled_transfer.warping.build_warping_student``).

Evaluation (``<split>/<comparison>/<metric>``): ``teacher`` (``W`` vs ``C^T`` inside ``M^g_{t<-s}``; whenever a
``T_W`` checkpoint is given), ``truth`` (``W`` vs the true worn garment inside its mask) and ``retransfer`` (``W``
warped back to ``M^g_s`` on ``P_s``, vs ``G_s`` inside ``M^g_s``) as MSE / PSNR / SSIM; ``shape/mask_iou`` and
``truth/mask_iou`` of the warped mask. With ``target_shape="student"`` every comparison includes ``S_P``'s errors.

The try-on warping teacher is ``T_W`` by default; a checkpoint of any stage that offers the ``tryon_warp`` capability
in the method registry is accepted, each fed through its own input adapter: PF-AFN's parser-based warp
(``PBWarpingModule``, or the warp of a ``PBTryOnModule``) makes PB-AFWM the teacher, fed its own person input
(preserve masks of ``M_{t<-s}``, the target's DensePose parts and keypoints). ``T_W`` and ``S_P`` come as checkpoint
paths, held as :class:`~garment_transfer.models.frozen.FrozenNet` (rebuilt from their hyper-parameters, checked for
stage and DensePose encoding, frozen, kept in eval mode, called under ``no_grad``,
never in the optimizer, and not saved in this module's checkpoints).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer import registry
from garment_transfer.data.label_maps import NUM_CLASSES, UPPER_GARMENT
from garment_transfer.data.samples import PairSample, one_hot
from garment_transfer.geometry import resize_for_level, upsample_grid, warp
from garment_transfer.losses.warping import (
    VGG_LAYERS,
    VGG_WEIGHTS,
    aligning_loss,
    multiscale_loss,
    second_order_smoothness,
    total_variation,
)
from garment_transfer.metrics.image import ImageMetrics, mask_iou
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.distilled_transfer import TRANSFER_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.distilled_transfer.warping import build_warping_student
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.base import StageModule
from garment_transfer.visuals import image_to_rgb, mask_to_rgb

SUPERVISIONS = ("shape_content", "shape", "cycle")
TARGET_SHAPES = ("student", "truth")
TERMS = ("align", "mask", "l1", "vgg", "smooth", "tv")
TRYON_WARP = "tryon_warp"  # the registry capability of the try-on warps this student distils


def level_grids(out: FlowOutput) -> list[torch.Tensor]:
    """The multi-scale levels' grids (module docstring): level ``k``'s grid upsampled to level ``k + 1``'s size, the
    last one to H x W (the output's); ``(B, h, w, 2)`` each, coarse to fine."""
    sizes = [tuple(g.shape[1:3]) for g in out.grids[1:]] + [tuple(out.grid.shape[1:3])]
    return [upsample_grid(g, size) for g, size in zip(out.grids, sizes)]


def level_warps(grids: list[torch.Tensor], out: FlowOutput) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``(garments, masks)``: the aligned garment and mask resized to each grid's size and warped by it."""
    sizes = [tuple(g.shape[1:3]) for g in grids]
    return (
        [warp(resize_for_level(out.aligned_garment, s), g, "image") for g, s in zip(grids, sizes)],
        [warp(resize_for_level(out.aligned_mask, s), g, "mask") for g, s in zip(grids, sizes)],
    )


class Step(NamedTuple):
    """One pass of :meth:`TransferWarpingModule.objective`."""

    parsing: torch.Tensor  # M_{t<-s} (B, 7, H, W) one-hot
    shape: torch.Tensor  # M^g_{t<-s} (B, 1, H, W)
    out: FlowOutput  # S_W's warp of G_s to the shape
    content: torch.Tensor | None  # C^T_{t<-s} (B, 3, H, W) when the supervision used it
    terms: dict  # loss terms and the weighted "total"


class TransferWarpingModule(StageModule):
    """The transfer warping student ``S_W`` (module docstring).

    Args:
        teacher_checkpoint: a :class:`TryOnWarpingModule` checkpoint (``T_W``), or PF-AFN's ``PBWarpingModule`` /
            ``PBTryOnModule`` (its parser-based warp as the teacher); needed by ``shape_content``, optional otherwise
            (then used for the ``teacher`` comparison only).
        parsing_checkpoint: a :class:`TransferParsingModule` checkpoint (``S_P``); needed by ``target_shape="student"``.
        target_shape: "student" (``S_P``) or "truth" (the true transfer's parsing; batches must carry it).
        width: "full" (paper) or "tiny" (CPU). pose_channels: the data module's DensePose channels (linked by the CLI).
        method: "scaw" (paper), "fsv" (content-aware stage only) or "tps" (thin-plate-spline baseline).
        initial_align: the aligning STN (False: the "no initial aligning" ablation).
        supervision: "shape_content" (paper), "shape" or "cycle" (module docstring).
        lr, betas: Adam (lr 5e-5: our choice, the paper's rates were lost).
        w_align, w_ratio, w_mask, w_l1, w_vgg, w_smooth, w_tv: loss weights (the paper's were lost; these are the
            reference implementations' warping weights: ``docs/methods/distilled-transfer.md``, "The student's loss").
        multiscale: sum the terms over the five levels (False: the full-size output alone).
        vgg_levels: the VGG term on the finest ``vgg_levels`` levels only; None: all.
        vgg_weights, allow_random_vgg: as :class:`TryOnWarpingModule` (random features: warned, ``train/vgg_random``).
        channels_last, compile: speed switches of the net, the frozen nets it reads and the VGG loss network
            (:func:`~garment_transfer.models.acceleration.accelerate`; off: the eager reference); bf16 autocast is the
            trainer's ``precision: bf16-mixed``.
    """

    def __init__(
        self,
        teacher_checkpoint: str | None = None,
        parsing_checkpoint: str | None = None,
        target_shape: str = "student",
        width: str = "full",
        pose_channels: int = 3,
        method: str = "scaw",
        initial_align: bool = True,
        supervision: str = "shape_content",
        lr: float = 5e-5,
        betas: tuple[float, float] = (0.5, 0.999),
        w_align: float = 1.0,
        w_ratio: float = 1.0,
        w_mask: float = 2.0,
        w_l1: float = 1.0,
        w_vgg: float = 0.2,
        w_smooth: float = 6.0,
        w_tv: float = 0.01,
        multiscale: bool = True,
        vgg_levels: int | None = None,
        vgg_weights: str | None = None,
        allow_random_vgg: bool = False,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        for name, value, choices in (
            ("supervision", supervision, SUPERVISIONS),
            ("target_shape", target_shape, TARGET_SHAPES),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")
        if vgg_levels is not None and not 1 <= vgg_levels <= 5:
            raise ValueError(f"vgg_levels must be 1..5 or None, got {vgg_levels}")
        self.net = build_warping_student(self.hparams)
        if supervision == "shape_content" and teacher_checkpoint is None:
            raise ValueError(
                "teacher_checkpoint: supervision 'shape_content' distils the try-on warping teacher T_W; "
                "give its checkpoint (runs/<preset>/tryon_warping/checkpoints/last.ckpt)"
            )
        if target_shape == "student" and parsing_checkpoint is None:
            raise ValueError(
                "parsing_checkpoint: target_shape 'student' takes the target shape from the transfer "
                "parsing student S_P; give its checkpoint (runs/<preset>/transfer_parsing/checkpoints/"
                "last.ckpt), or set target_shape: truth on data with true transfers"
            )
        self.teacher = (
            None
            if teacher_checkpoint is None
            else FrozenNet.from_checkpoint(
                teacher_checkpoint,
                {stage_id: stage.build for stage_id, stage in registry.offering(TRYON_WARP).items()},
                pose_channels,
                "teacher_checkpoint",
            )
        )
        self.transfer_parser = (
            None
            if target_shape == "truth"
            else FrozenNet.from_checkpoint(
                parsing_checkpoint, {TRANSFER_PARSING: build_parsing_net}, pose_channels, "parsing_checkpoint"
            )
        )
        self.setup_vgg(
            vgg_weights, allow_random_vgg, w_vgg > 0 and supervision != "shape", VGG_LAYERS[:4], VGG_WEIGHTS[:4]
        )
        self.metrics = nn.ModuleDict({name: ImageMetrics() for name in ("teacher", "truth", "retransfer")})
        self.accelerate_nets(channels_last, compile)

    # -- computation
    def forward(self, garment, garment_mask, source_pose, target_pose, target_mask) -> FlowOutput:
        check_pose_channels(target_pose, self.hparams.pose_channels)
        return self.net(garment, garment_mask, source_pose, target_pose, target_mask)

    def transfer_shape(self, batch: PairSample) -> tuple[torch.Tensor, torch.Tensor]:
        """``(M_{t<-s}`` one-hot (B, 7, H, W), ``M^g_{t<-s}`` (B, 1, H, W)) from ``S_P`` or the true transfer."""
        source, target = batch.source, batch.target
        if self.hparams.target_shape == "truth":
            if batch.truth is None:
                raise ValueError(
                    "target_shape 'truth' needs the true transfer in every batch: train on data with "
                    "true transfers in its train split (data train_truth: true; synthetic sets made with "
                    "`garment-transfer synth --train-transfers N`), or use target_shape: student"
                )
            parsing = batch.truth.parsing
        else:
            check_pose_channels(target.densepose, self.hparams.pose_channels)
            inputs = parsing_inputs(target.remaining, source.garment_mask, target.densepose)
            parsing = self.transfer_parser(inputs).logits.argmax(1)
        shape = one_hot(parsing, NUM_CLASSES, dtype=target.image.dtype)
        return shape, shape[:, UPPER_GARMENT : UPPER_GARMENT + 1]

    def teacher_warp(self, batch: PairSample, parsing_one_hot: torch.Tensor) -> torch.Tensor:
        """``C^T_{t<-s} = T_W(repr(M_{t<-s}, P_t), C_s, C^m_s)`` (B, 3, H, W) for the shape (B, 7, H, W), through the
        teacher stage's input adapter."""
        source = batch.source
        teach = registry.stage(self.teacher.stage).offers[TRYON_WARP]
        return teach(self.teacher, source.cloth, source.cloth_mask, parsing_one_hot, batch.target)

    def regularisers(self, out: FlowOutput, grids: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unweighted ``smooth`` (over the level grids, :func:`level_grids`) and ``tv`` (over the offsets) terms."""
        weights = range(1, len(grids) + 1) if self.hparams.multiscale else [1.0]
        grids = grids if self.hparams.multiscale else grids[-1:]
        return {
            "smooth": sum(w * second_order_smoothness(g.permute(0, 3, 1, 2)) for w, g in zip(weights, grids)),
            "tv": sum(total_variation(o) for o in out.offsets),
        }

    def losses(self, out: FlowOutput, garment: torch.Tensor | None, mask: torch.Tensor) -> dict:
        """Unweighted terms and the weighted ``total`` of one pass (module docstring).

        Args:
            out: the net's output. garment: the content reference (B, 3, H, W) in [-1, 1], or None (shape only).
            mask: the shape reference (B, 1, H, W) in [0, 1].
        """
        hp = self.hparams
        grids = level_grids(out)
        garments, masks = level_warps(grids if hp.multiscale else grids[-1:], out)
        weights = [k + 1.0 for k in range(len(masks))]
        zero = mask.new_zeros(())
        terms = {
            "align": zero if self.net.stn is None else aligning_loss(out.aligned_mask, mask, hp.w_ratio),
            "mask": multiscale_loss(masks, mask, F.l1_loss, weights),
            **self.regularisers(out, grids),
        }
        content = garment is not None
        terms["l1"] = multiscale_loss(garments, garment, F.l1_loss, weights) if content else zero
        terms["vgg"] = (
            multiscale_loss(
                garments, garment, self.vgg, weights, finest=min(hp.vgg_levels or len(garments), len(garments))
            )
            if content and self.vgg is not None
            else zero
        )
        terms["total"] = sum(hp[f"w_{name}"] * terms[name] for name in TERMS)
        return terms

    def retransfer(self, batch: PairSample, out: FlowOutput) -> FlowOutput:
        """``W`` dressed back onto the source: ``S_W(W, W^m, P_t, P_s, M^g_s)``."""
        source, target = batch.source, batch.target
        return self(out.warped_garment, out.warped_mask, target.densepose, source.densepose, source.garment_mask)

    def objective(self, batch: PairSample) -> Step:
        """The student's pass and its loss terms under the configured supervision."""
        source, target = batch.source, batch.target
        parsing, shape = self.transfer_shape(batch)
        out = self(source.garment, source.garment_mask, source.densepose, target.densepose, shape)
        supervision, content = self.hparams.supervision, None
        if supervision == "cycle":
            terms = self.losses(self.retransfer(batch, out), source.garment, source.garment_mask)
            first = self.regularisers(out, level_grids(out))
            for name, value in first.items():
                terms[name] = terms[name] + value
                terms["total"] = terms["total"] + self.hparams[f"w_{name}"] * value
        else:
            content = self.teacher_warp(batch, parsing) if supervision == "shape_content" else None
            terms = self.losses(out, content, shape)
        return Step(parsing, shape, out, content, terms)

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        terms = self.objective(batch).terms
        self.log_train(
            {
                "train/loss": terms["total"],
                **{f"train/{name}": terms[name] for name in TERMS},
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=batch.target.image.shape[0],
        )
        return terms["total"]

    def evaluate(self, batch: PairSample, split: str) -> None:
        source = batch.source
        step = self.objective(batch)
        out, shape, size = step.out, step.shape, step.shape.shape[0]
        self.log_eval(
            {f"{split}/loss": step.terms["total"], f"{split}/shape/mask_iou": mask_iou(out.warped_mask, shape)},
            batch_size=size,
        )
        if self.teacher is not None:
            content = step.content if step.content is not None else self.teacher_warp(batch, step.parsing)
            self.metrics["teacher"].update(out.warped_garment, content, mask=shape)
        if batch.truth is not None:
            truth_mask = (batch.truth.parsing == UPPER_GARMENT)[:, None].to(shape.dtype)
            self.metrics["truth"].update(out.warped_garment, batch.truth.image * truth_mask, mask=truth_mask)
            self.log_eval({f"{split}/truth/mask_iou": mask_iou(out.warped_mask, truth_mask)}, batch_size=size)
        back = self.retransfer(batch, out)
        self.metrics["retransfer"].update(back.warped_garment, source.garment, mask=source.garment_mask)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        parsing, shape = self.transfer_shape(batch)
        source, target = batch.source, batch.target
        out = self(source.garment, source.garment_mask, source.densepose, target.densepose, shape)
        views = OrderedDict(
            source_garment=image_to_rgb(source.garment),
            aligned=image_to_rgb(out.aligned_garment),
            warped=image_to_rgb(out.warped_garment),
        )
        if self.teacher is not None:
            views["teacher"] = image_to_rgb(self.teacher_warp(batch, parsing))
        views["target_mask"] = mask_to_rgb(shape)
        if batch.truth is not None:
            mask = (batch.truth.parsing == UPPER_GARMENT)[:, None].to(shape.dtype)
            views["truth"] = image_to_rgb(batch.truth.image * mask)
        return views
