"""The warping nets: the try-on warping teacher ``T_W`` (:class:`~garment_transfer.models.flow_teacher.FlowTeacher`,
``METHOD.md`` 4.3) and the transfer warping student ``S_W`` (:class:`~garment_transfer.models.scaw.SCAWStudent`, or
the TPS baseline :class:`~garment_transfer.models.scaw.TPSStudent`, 4.4), with their builders and input adapters.

``T_W`` reads the person representation ``repr(M, P)`` (parsing one-hot 7 + DensePose) and an in-shop garment;
``S_W`` reads the source's worn garment ``G_s``, ``M^g_s``, both poses and the target shape ``M^g_{t<-s}``.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import PersonSample
from garment_transfer.models.flow_teacher import FlowTeacher
from garment_transfer.models.scaw import SCAWStudent, StudentOutput, TPSStudent

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
                 target_garment_mask: torch.Tensor) -> StudentOutput:
    """``S_W``: the source's worn garment ``G_s`` warped to the target shape (what the inference pipeline calls).

    Args:
        net: from :func:`build_warping_student` (or a frozen one).
        source: a batch of source persons (``G_s``, ``M^g_s``, ``P_s`` are read).
        target_pose: ``P_t`` (B, pose_channels, H, W).
        target_garment_mask: ``M^g_{t<-s}`` (B, 1, H, W) in [0, 1].

    Returns:
        :class:`StudentOutput`; ``warped_garment`` (B, 3, H, W) in [-1, 1] and ``warped_mask`` (B, 1, H, W).
    """
    return net(source.garment, source.garment_mask, source.densepose, target_pose, target_garment_mask)
