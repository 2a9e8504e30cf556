"""The warping nets: the try-on warping teacher ``T_W`` (:class:`~garment_transfer.models.flow_teacher.FlowTeacher`,
``METHOD.md`` 4.3) and the transfer warping student ``S_W`` (:class:`~garment_transfer.models.scaw.SCAWStudent`, or
the TPS baseline :class:`~garment_transfer.models.scaw.TPSStudent`, 4.4), with their builders and input adapters.

``T_W`` reads the person representation ``repr(M, P)`` (parsing one-hot 7 + DensePose) and an in-shop garment;
``S_W`` reads the source's worn garment ``G_s``, ``M^g_s``, both poses and the target shape ``M^g_{t<-s}``.

Try-on warping teachers of the transfer warping student (:data:`WARPING_TEACHERS`, keyed by the stage class path of
their checkpoint): ``T_W`` (the paper's), or PF-AFN's parser-based warp PB-AFWM (from a ``PBWarpingModule``
checkpoint, or the warp of a ``PBTryOnModule`` one), each with the input adapter that dresses the target, shaped
``M_{t<-s}``, in an in-shop garment (:func:`teach_with_tryon_teacher`, :func:`teach_with_pb_afwm`).
"""

from __future__ import annotations

import torch
from torch import nn

from collections.abc import Callable

from garment_transfer.checkpoints import PB_TRYON, PB_WARPING, TRYON_WARPING
from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import PersonSample
from garment_transfer.models.flow_teacher import FlowTeacher
from garment_transfer.models.pfafn import (PFAFNOutput, build_pb_afwm, build_pb_tryon, densepose_parts,
                                           keypoint_heatmaps, pb_person_representation)
from garment_transfer.models.scaw import SCAWStudent, FlowOutput, TPSStudent

STUDENT_METHODS = ("scaw", "fsv", "tps")


def build_warping_teacher(hparams: dict) -> FlowTeacher:
    """The :class:`FlowTeacher` of a warping teacher from its hyper-parameters (``width``, ``pose_channels``)."""
    return FlowTeacher(NUM_CLASSES + hparams["pose_channels"], hparams["width"])


def person_representation(parsing_one_hot: torch.Tensor, densepose: torch.Tensor) -> torch.Tensor:
    """``repr(M, P)``: parsing one-hot (B, 7, H, W) and DensePose (B, C, H, W) -> (B, 7 + C, H, W)."""
    return torch.cat([parsing_one_hot, densepose], dim=1)


def build_warping_student(hparams: dict) -> nn.Module:
    """The net of a transfer warping student from its hyper-parameters (``method``, ``width``, ``pose_channels``,
    ``initial_align``): :class:`SCAWStudent` (``scaw``, ``fsv``) or :class:`TPSStudent` (``tps``)."""
    method = hparams.get("method", "scaw")
    if method not in STUDENT_METHODS:
        raise ValueError(f"method must be one of {STUDENT_METHODS}, got {method!r}")
    common = dict(pose_channels=hparams["pose_channels"], width=hparams["width"],
                  initial_align=hparams.get("initial_align", True))
    return TPSStudent(**common) if method == "tps" else SCAWStudent(mode=method, **common)


def warp_garment(net: nn.Module, source: PersonSample, target_pose: torch.Tensor,
                 target_garment_mask: torch.Tensor) -> FlowOutput:
    """``S_W``: the source's worn garment ``G_s`` warped to the target shape (what the inference pipeline calls).

    Args:
        net: from :func:`build_warping_student` (or a frozen one).
        source: a batch of source persons (``G_s``, ``M^g_s``, ``P_s`` are read).
        target_pose: ``P_t`` (B, pose_channels, H, W).
        target_garment_mask: ``M^g_{t<-s}`` (B, 1, H, W) in [0, 1].

    Returns:
        :class:`FlowOutput`; ``warped_garment`` (B, 3, H, W) in [-1, 1] and ``warped_mask`` (B, 1, H, W).
    """
    return net(source.garment, source.garment_mask, source.densepose, target_pose, target_garment_mask)


def teach_with_tryon_teacher(teacher: nn.Module, garment: torch.Tensor, garment_mask: torch.Tensor,
                             parsing_one_hot: torch.Tensor, target: PersonSample) -> torch.Tensor:
    """``T_W(repr(M, P_t), C, C^m)``: the garment (B, 3, H, W) / mask (B, 1, H, W) warped to the shape ``M``
    (B, 7, H, W one-hot) on the target's DensePose; (B, 3, H, W) in [-1, 1]."""
    return teacher(garment, garment_mask, person_representation(parsing_one_hot, target.densepose)).warped_garment


def teach_with_pb_afwm(teacher: nn.Module, garment: torch.Tensor, garment_mask: torch.Tensor,
                       parsing_one_hot: torch.Tensor, target: PersonSample) -> torch.Tensor:
    """PF-AFN's parser-based warp as the try-on teacher: its 45-channel person input from the shape ``M`` (B, 7, H, W
    one-hot; PB-AFWM reads its face and other-clothes preserve masks, not the garment's shape), the target's DensePose
    parts and keypoints; the garment warped onto it, (B, 3, H, W). ``teacher``: an AFWM, or a ``PFAFNTryOn`` whose
    warp runs alone."""
    size = tuple(garment.shape[-2:])
    person = pb_person_representation(parsing_one_hot.argmax(1), densepose_parts(target.densepose),
                                      keypoint_heatmaps(target.keypoints, size).to(garment.dtype))
    out = teacher(garment, garment_mask, person)
    return (out.warp if isinstance(out, PFAFNOutput) else out).warped_garment


Teach = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, PersonSample], torch.Tensor]
WARPING_TEACHERS: dict[str, tuple[Callable[[dict], nn.Module], Teach]] = {  # stage -> (builder, input adapter)
    TRYON_WARPING: (build_warping_teacher, teach_with_tryon_teacher),
    PB_WARPING: (build_pb_afwm, teach_with_pb_afwm),
    PB_TRYON: (build_pb_tryon, teach_with_pb_afwm),
}
