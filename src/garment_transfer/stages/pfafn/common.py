"""What PF-AFN's four stages share (not a stage itself): the perceptual loss and its CPU choices, the warping terms,
Adam with per-part learning rates and PF-AFN's linear decay, the evaluation reference of a pair, and the helpers of
the stages that distil through the tutor.

Learning rates (PF-AFN's scripts): Adam (``betas``, PF-AFN 0.5, 0.999); each part of ``self.net`` named by
:meth:`PFAFNStage.parameter_groups` gets ``lr * scale`` (the end-to-end stages train the warp at 0.2 lr). With
``lr_decay_start`` set, the rate stays until that epoch (0-based) and then falls linearly, reaching
``1 / lr_decay_epochs`` of it at the last epoch (PF-AFN: ``niter`` epochs constant, ``niter_decay`` decaying, its
update after every epoch past ``niter``).

Evaluation reference (:func:`reference`) of a pair (source ``s``, target ``t``): the try-on of ``t`` in ``s``'s
in-shop garment. Where the pair carries the true transfer ``I_{t<-s}`` (synthetic data), that image is the truth of
the unpaired try-on, and its upper-garment pixels the truth of the warp; where ``s`` is ``t`` (paired), the person
image and their worn garment; otherwise there is nothing to compare with and the pair is skipped.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import nn

from garment_transfer.checkpoints import PB_TRYON
from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.samples import PairSample
from garment_transfer.losses.pfafn import (FEATURE_KD_WEIGHTS, FLOW_KD_LEVELS, distillation_gate,
                                           feature_distillation, flow_distillation, warping_terms, weighted_sum)
from garment_transfer.losses.warping import VGGLoss
from garment_transfer.metrics.image import mask_iou
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.acceleration import accelerate
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pfafn import PFAFNOutput, build_pb_tryon, dress, pb_person
from garment_transfer.stages.base import StageModule
from garment_transfer.visuals import image_to_rgb, mask_to_rgb

VGG_TERMS = ("vgg", "rendered_vgg", "skin_vgg")


class Reference(NamedTuple):
    """A pair's evaluation reference: ``image`` (B, 3, H, W) in [-1, 1], ``garment`` (B, 3, H, W) (the worn
    garment, zeros elsewhere) and ``garment_mask`` (B, 1, H, W) in {0, 1}."""

    image: torch.Tensor
    garment: torch.Tensor
    garment_mask: torch.Tensor


def reference(batch: PairSample) -> Reference | None:
    """The truth of the target dressed in the source's in-shop garment (module docstring), or None."""
    source, target, truth = batch.source, batch.target, batch.truth
    if truth is not None:
        mask = (truth.parsing == UPPER_GARMENT)[:, None].to(truth.image.dtype)
        return Reference(truth.image, truth.image * mask, mask)
    if source.id == target.id:
        return Reference(target.image, target.garment, target.garment_mask)
    return None


class Distillation(NamedTuple):
    """One pass through the tutor and the teacher (:func:`distil`)."""

    tutor: PFAFNOutput  # the parser-based model dressing the real person in another garment
    fake: torch.Tensor  # its try-on, the student's person input (B, 3, H, W)
    teacher: FlowOutput  # the parser-based warp on the real person with their own garment


def load_weights(net: nn.Module, frozen: FrozenNet, argument: str) -> None:
    """Start a trained part of this stage (``net``) from another stage's network: its weights and buffers copied
    (the file stays unchanged, ``frozen`` holds its own copy); a network of another width is refused."""
    try:
        net.load_state_dict(frozen.net.state_dict())
    except RuntimeError as err:
        raise ValueError(f"{frozen.source}: {argument} holds a network that does not fit this stage's (width "
                         f"{frozen.hparams.get('width')!r} there; {str(err).splitlines()[0]})") from err


def load_tutor(path: str | None, pose_channels: int, width: str, argument: str = "tutor_checkpoint") -> FrozenNet:
    """The frozen parser-based try-on model (warp + generator) of a :class:`PBTryOnModule` checkpoint, of the
    student's ``width`` (the feature distillation compares maps of equal channels)."""
    if path is None:
        raise ValueError(f"{argument}: the parser-free stages distil through the parser-based try-on model; give "
                         "its checkpoint (runs/<preset>/pfafn/pb_tryon/checkpoints/last.ckpt)")
    tutor = FrozenNet.from_checkpoint(path, {PB_TRYON: build_pb_tryon}, pose_channels, argument)
    if tutor.net.warp.width != width:
        raise ValueError(f"{path}: the tutor has width {tutor.net.warp.width!r}, this stage {width!r}: the feature "
                         "distillation needs equal widths")
    return tutor


def distil(tutor: FrozenNet, batch: PairSample) -> Distillation:
    """PF-AFN's tutor and teacher on a training pair: the target ``t`` is the real person, the source ``s`` lends a
    random other in-shop garment. The tutor dresses ``t`` in ``C_s`` (its fake image becomes the student's input);
    the teacher is the tutor's warp of ``t``'s own ``C_t`` onto ``t``'s parser-based inputs."""
    source, target = batch.source, batch.target
    tutor_out = dress(tutor, target, source.cloth, source.cloth_mask)
    teacher = tutor(target.cloth, target.cloth_mask, pb_person(target)).warp
    return Distillation(tutor_out, tutor_out.tryon.image, teacher)


def distillation_terms(student: FlowOutput, teacher: FlowOutput, target_garment: torch.Tensor, adjustable: bool
                       ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``({"feature_kd", "flow_kd"}, gate)``: feature KD on the five person-branch FPN maps (weights
    ``(5 - k) * 0.04``) and flow KD on the three finest grids (weights ``k + 1``), both over the samples the
    adjustable gate lets through (``losses.pfafn``)."""
    gate = distillation_gate(teacher.warped_garment, student.warped_garment, target_garment, adjustable)
    return {"feature_kd": feature_distillation(student.person_features, teacher.person_features, gate,
                                               FEATURE_KD_WEIGHTS),
            "flow_kd": flow_distillation(student.grids, teacher.grids, gate, FLOW_KD_LEVELS)}, gate


class PFAFNStage(StageModule):
    """A PF-AFN stage: subclasses set ``self.net`` and call :meth:`setup_vgg`; their hyper-parameters include
    ``lr``, ``betas``, ``lr_decay_start``, ``lr_decay_epochs``, ``vgg_levels``, ``resize_mode`` and
    ``smooth_reduction``; they end their ``__init__`` with :meth:`accelerate_nets`."""

    def setup_vgg(self, vgg_weights: str | None, allow_random_vgg: bool, *weights: dict) -> None:
        """``self.vgg``: VGG-19 (relu1_1 .. relu5_1, weights 1/32 .. 1) when any of the weight tables gives a VGG
        term a non-zero weight, else None; random features (``allow_random_vgg``) are warned and logged."""
        used = any(table.get(name, 0) for table in weights for name in VGG_TERMS)
        self.vgg = VGGLoss(vgg_weights, allow_random_vgg) if used else None
        self.vgg_random = self.vgg is not None and self.vgg.random
        if self.vgg_random:
            warnings.warn(f"{type(self).__name__}: the VGG terms use random features (allow_random_vgg); logged as "
                          "train/vgg_random = 1", stacklevel=3)

    def accelerate_nets(self, channels_last: bool = False, compile: bool | str = False) -> None:
        """The speed switches (``models.acceleration``, README "Speed") on the trained net, every frozen net this
        stage holds and the VGG loss net; both off leave them untouched."""
        frozen = [module.net for module in self.children() if isinstance(module, FrozenNet)]
        for net in (self.net, *frozen, *([self.vgg] if self.vgg is not None else [])):
            accelerate(net, channels_last, compile)

    def evaluate_warp(self, out: FlowOutput, truth: Reference, weights: dict, split: str) -> None:
        """Log a warp of the evaluation pairs against the true worn garment of their try-on: the warping loss under
        ``weights``, the warped mask's IoU, and ``self.metrics["warp"]`` inside the true garment mask."""
        loss = weighted_sum(self.warp_terms(out, truth.garment, truth.garment_mask, weights), weights)
        self.log_eval({f"{split}/loss": loss, f"{split}/warp/mask_iou": mask_iou(out.warped_mask, truth.garment_mask)},
                      batch_size=truth.image.shape[0])
        self.metrics["warp"].update(out.warped_garment, truth.garment, mask=truth.garment_mask)

    def warp_terms(self, out: FlowOutput, garment: torch.Tensor, garment_mask: torch.Tensor,
                   weights: dict) -> dict:
        """The multi-scale warping terms (``losses.pfafn.warping_terms``) with this stage's VGG choices; the VGG
        network runs only where ``weights`` (the table the terms are summed with) gives ``vgg`` a weight."""
        hp = self.hparams
        vgg = self.vgg if weights.get("vgg", 0) else None
        return warping_terms(out, garment, garment_mask, vgg, hp.vgg_levels, hp.resize_mode, hp.smooth_reduction)

    def parameter_groups(self) -> Iterable[tuple[str, list[nn.Parameter], float]]:
        """``(name, parameters, learning-rate scale)`` of the trained parts; default the whole net at scale 1."""
        return [("net", list(self.net.parameters()), 1.0)]

    def configure_optimizers(self):
        hp = self.hparams
        groups = [{"params": params, "lr": hp.lr * scale, "name": name}
                  for name, params, scale in self.parameter_groups()]
        optimizer = torch.optim.Adam(groups, lr=hp.lr, betas=tuple(hp.betas))
        if hp.lr_decay_start is None:
            return optimizer
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_decay(hp.lr_decay_start, hp.lr_decay_epochs))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}



class TryOnStage(PFAFNStage):
    """An end-to-end PF-AFN stage (``self.net`` a :class:`~garment_transfer.models.pfafn.PFAFNTryOn`): its test-time
    try-on, evaluation against the true try-on and the pictures it logs."""

    def tryon(self, batch: PairSample) -> PFAFNOutput:
        """Test-time try-on: the target dressed in the source's in-shop garment."""
        return dress(self.net, batch.target, batch.source.cloth, batch.source.cloth_mask)

    def evaluate(self, batch: PairSample, split: str) -> None:
        """L1 and the warped mask's IoU against the true try-on, and ``self.metrics`` ``tryon`` (the image) and
        ``warp`` (inside the true garment mask); pairs without a reference are skipped."""
        truth = reference(batch)
        if truth is None:
            return
        out = self.tryon(batch)
        self.log_eval({f"{split}/loss": (out.tryon.image - truth.image).abs().mean(),
                       f"{split}/warp/mask_iou": mask_iou(out.warp.warped_mask, truth.garment_mask)},
                      batch_size=truth.image.shape[0])
        self.metrics["tryon"].update(out.tryon.image, truth.image)
        self.metrics["warp"].update(out.warp.warped_garment, truth.garment, mask=truth.garment_mask)

    def input_views(self, batch: PairSample) -> dict:
        """Pictures of what the net reads beyond the garment and the target (none by default)."""
        return {}

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        out, truth = self.tryon(batch), reference(batch)
        views = OrderedDict(cloth=image_to_rgb(batch.source.cloth), target=image_to_rgb(batch.target.image),
                            **self.input_views(batch), warped=image_to_rgb(out.warp.warped_garment),
                            rendered=image_to_rgb(out.tryon.rendered), composition=mask_to_rgb(out.tryon.mask),
                            tryon=image_to_rgb(out.tryon.image))
        if truth is not None:
            views["truth"] = image_to_rgb(truth.image)
        return views


class ParserBasedData(GarmentDataModule):
    """:class:`GarmentDataModule` with PF-AFN's parser-based defaults: paired training (``C_t`` onto ``I_t``, PF-AFN's
    self-supervision); evaluation on transfer pairs, whose synthetic truth ``I_{t<-s}`` is the true try-on of ``t`` in
    ``s``'s in-shop garment (a data set without truth: its own unpaired list, scored without reference). The
    parser-based inputs need keypoints: leave augmentation off (augmented samples carry none)."""

    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)


class ParserFreeData(GarmentDataModule):
    """:class:`GarmentDataModule` with PF-AFN's parser-free defaults: ``unpaired`` training pairs, the target ``t`` the
    real person (their own in-shop garment ``C_t`` and image ``I_t`` supervise the student) and the source ``s`` a
    random other person lending ``C_s`` to the tutor (PF-AFN draws it from every garment); evaluation on transfer
    pairs, whose synthetic truth is the true try-on of ``t`` in ``C_s``. The tutor's parser-based inputs need
    keypoints: leave augmentation off."""

    def __init__(self, train_pairs: str = "unpaired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)


def linear_decay(start: int, epochs: int):
    """The learning-rate factor of 0-based epoch ``e``: 1 until ``start``, then ``1 - (e - start) / epochs``."""
    if start < 0 or epochs < 1:
        raise ValueError(f"lr_decay_start must be >= 0 and lr_decay_epochs >= 1, got {start} and {epochs}")
    return lambda epoch: max(0.0, 1.0 - max(0, epoch - start) / epochs)
