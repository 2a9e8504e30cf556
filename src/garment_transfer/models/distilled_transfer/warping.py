"""The warping nets: the try-on warping teacher ``T_W``
(:class:`~garment_transfer.models.distilled_transfer.flow_teacher.FlowTeacher`, the paper's Sec. 3.3) and the transfer
warping student ``S_W`` (:class:`~garment_transfer.models.distilled_transfer.scaw.SCAWStudent`, or the TPS baseline
:class:`~garment_transfer.models.distilled_transfer.scaw.TPSStudent`, Sec. 3.3), with their builders and input adapters.

``T_W`` reads the person representation ``repr(M, P)`` (parsing one-hot 7 + DensePose) and an in-shop garment;
``S_W`` reads the source's worn garment ``G_s``, ``M^g_s``, both poses and the target shape ``M^g_{t<-s}``.

The transfer warping student distils any try-on warp whose stage offers the ``tryon_warp`` capability in the
registry (``garment_transfer.registry.offering``): ``T_W`` (the paper's, adapter :func:`teach_with_tryon_teacher`)
or another method's (PF-AFN's parser-based warp offers its own adapter). An adapter is
``(net, garment, garment_mask, parsing_one_hot, target) -> warped garment``: it dresses the target, shaped
``M_{t<-s}`` (B, 7, H, W one-hot), in an in-shop garment (B, 3, H, W) / mask (B, 1, H, W).
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import PersonSample
from garment_transfer.models.distilled_transfer.flow_teacher import FlowTeacher
from garment_transfer.models.distilled_transfer.scaw import SCAWStudent, TPSStudent
from garment_transfer.models.flow import FlowOutput

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
    common = dict(
        pose_channels=hparams["pose_channels"], width=hparams["width"], initial_align=hparams.get("initial_align", True)
    )
    return TPSStudent(**common) if method == "tps" else SCAWStudent(mode=method, **common)


def warp_garment(
    net: nn.Module, source: PersonSample, target_pose: torch.Tensor, target_garment_mask: torch.Tensor
) -> FlowOutput:
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


def teach_with_tryon_teacher(
    teacher: nn.Module,
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    parsing_one_hot: torch.Tensor,
    target: PersonSample,
) -> torch.Tensor:
    """``T_W(repr(M, P_t), C, C^m)``: the garment (B, 3, H, W) / mask (B, 1, H, W) warped to the shape ``M``
    (B, 7, H, W one-hot) on the target's DensePose; (B, 3, H, W) in [-1, 1]."""
    return teacher(garment, garment_mask, person_representation(parsing_one_hot, target.densepose)).warped_garment
