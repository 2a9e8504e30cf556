"""What the stages of try-on methods share (not a stage itself): the evaluation reference of a pair, the evaluation
of a warp against it, and the test-time try-on's evaluation and pictures.

Evaluation reference (:func:`reference`) of a pair (source ``s``, target ``t``): the try-on of ``t`` in ``s``'s
in-shop garment. Where the pair carries the true transfer ``I_{t<-s}`` (synthetic data), that image is the truth of
the unpaired try-on, and its upper-garment pixels the truth of the warp; where ``s`` is ``t`` (paired), the person
image and their worn garment; otherwise there is nothing to compare with and the pair is skipped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch

from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.samples import PairSample
from garment_transfer.metrics.image import mask_iou
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.tryon import TryOnOutput
from garment_transfer.stages.base import StageModule
from garment_transfer.visuals import image_to_rgb, mask_to_rgb


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


class WarpStage(StageModule):
    """A stage that trains a garment warp; its ``self.metrics["warp"]`` is an ``ImageMetrics``."""

    def evaluate_warp(self, out: FlowOutput, truth: Reference, loss: torch.Tensor, split: str) -> None:
        """Log a warp of the evaluation pairs against the true worn garment of their try-on: ``loss``, the warped
        mask's IoU, and ``self.metrics["warp"]`` inside the true garment mask."""
        self.log_eval(
            {f"{split}/loss": loss, f"{split}/warp/mask_iou": mask_iou(out.warped_mask, truth.garment_mask)},
            batch_size=truth.image.shape[0],
        )
        self.metrics["warp"].update(out.warped_garment, truth.garment, mask=truth.garment_mask)


class TryOnStage(WarpStage):
    """An end-to-end try-on stage (a warp and its generator): subclasses give the test-time :meth:`tryon`; this
    evaluates it against the true try-on and draws its pictures. ``self.metrics`` has ``tryon`` and ``warp``."""

    def tryon(self, batch: PairSample) -> TryOnOutput:
        """Test-time try-on: the target dressed in the source's in-shop garment."""
        raise NotImplementedError

    def evaluate(self, batch: PairSample, split: str) -> None:
        """L1 and the warped mask's IoU against the true try-on, and ``self.metrics`` ``tryon`` (the image) and
        ``warp`` (inside the true garment mask); pairs without a reference are skipped."""
        truth = reference(batch)
        if truth is None:
            return
        out = self.tryon(batch)
        self.evaluate_warp(out.warp, truth, (out.tryon.image - truth.image).abs().mean(), split)
        self.metrics["tryon"].update(out.tryon.image, truth.image)

    def input_views(self, batch: PairSample) -> dict:
        """Pictures of what the net reads beyond the garment and the target (none by default)."""
        return {}

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        out, truth = self.tryon(batch), reference(batch)
        views = OrderedDict(
            cloth=image_to_rgb(batch.source.cloth),
            target=image_to_rgb(batch.target.image),
            **self.input_views(batch),
            warped=image_to_rgb(out.warp.warped_garment),
            rendered=image_to_rgb(out.tryon.rendered),
            composition=mask_to_rgb(out.tryon.mask),
            tryon=image_to_rgb(out.tryon.image),
        )
        if truth is not None:
            views["truth"] = image_to_rgb(truth.image)
        return views
