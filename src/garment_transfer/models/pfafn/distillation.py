"""PF-AFN's teacher-tutor-student distillation (the parser-free stages): the frozen tutor, loaded from a parser-based
try-on checkpoint, dresses a real person in another garment, and the tutor's warp on the real person's own inputs is
the teacher (Ge et al., CVPR 2021, Sec. 3)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from garment_transfer.data.samples import PairSample
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pfafn import PB_TRYON
from garment_transfer.models.pfafn.networks import build_pb_tryon, dress, pb_person
from garment_transfer.models.tryon import TryOnOutput


class Distillation(NamedTuple):
    """One pass through the tutor and the teacher (:func:`distil`)."""

    tutor: TryOnOutput  # the parser-based model dressing the real person in another garment
    fake: torch.Tensor  # its try-on, the student's person input (B, 3, H, W) in [-1, 1]
    teacher: FlowOutput  # the parser-based warp on the real person with their own garment


def load_tutor(path: str | None, pose_channels: int, width: str, argument: str = "tutor_checkpoint") -> FrozenNet:
    """The frozen parser-based try-on model (warp + generator) of a ``pfafn/pb_tryon`` checkpoint, of the student's
    ``width`` (the feature distillation compares maps of equal channels)."""
    if path is None:
        raise ValueError(
            f"{argument}: the parser-free stages distil through the parser-based try-on model; give "
            "its checkpoint (runs/<preset>/pfafn/pb_tryon/checkpoints/last.ckpt)"
        )
    tutor = FrozenNet.from_checkpoint(path, {PB_TRYON: build_pb_tryon}, pose_channels, argument)
    if tutor.net.warp.width != width:
        raise ValueError(
            f"{path}: the tutor has width {tutor.net.warp.width!r}, this stage {width!r}: the feature "
            "distillation needs equal widths"
        )
    return tutor


def distil(tutor: FrozenNet, batch: PairSample) -> Distillation:
    """PF-AFN's tutor and teacher on a training pair: the target ``t`` is the real person, the source ``s`` lends a
    random other in-shop garment. The tutor dresses ``t`` in ``C_s`` (its fake image becomes the student's input);
    the teacher is the tutor's warp of ``t``'s own ``C_t`` onto ``t``'s parser-based inputs."""
    source, target = batch.source, batch.target
    tutor_out = dress(tutor, target, source.cloth, source.cloth_mask)
    teacher = tutor(target.cloth, target.cloth_mask, pb_person(target)).warp
    return Distillation(tutor_out, tutor_out.tryon.image, teacher)
