"""The arm regrowth net ``R`` (arXiv 2401.12433, Sec. 3.4): a
:class:`~garment_transfer.models.resunet.ResUnetGenerator` on ``cat(I * mask, shape, P_t)`` whose output is ``tanh``
times the shape (zero outside).

Inputs: source skin content (3), the target skin shape (1) and, by default, the target's DensePose ``P_t``
(``pose_channels``). :func:`build_regrowth_net` builds it from a stage's hyper-parameters, :func:`regrow` runs it.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.models.resunet import ResUnetGenerator, width_ngf

CONTENT_CHANNELS = 4  # skin content (3) + target shape (1)


def build_regrowth_net(hparams: dict) -> ResUnetGenerator:
    """The ResUNet of a regrowth stage from its hyper-parameters (``width``, ``num_downs``, ``pose_channels``,
    ``use_pose``)."""
    pose = hparams["pose_channels"] if hparams.get("use_pose", True) else 0
    return ResUnetGenerator(CONTENT_CHANNELS + pose, 3, hparams.get("num_downs", 5), width_ngf(hparams["width"]))


def regrow(
    net: nn.Module, source_content: torch.Tensor, target_skin_mask: torch.Tensor, target_pose: torch.Tensor | None
) -> torch.Tensor:
    """``R(I * mask, M^s, P_t)``: the skin image, zero outside ``target_skin_mask``.

    Args:
        net: from :func:`build_regrowth_net` (or a frozen one); it reads the pose when it has more than 4 input
            channels.
        source_content: skin pixels to propagate (B, 3, H, W) in [-1, 1], zero elsewhere.
        target_skin_mask: the skin shape to fill (B, 1, H, W) in {0, 1}.
        target_pose: ``P_t`` (B, C, H, W), or None for a net built without pose.

    Returns:
        (B, 3, H, W) in [-1, 1].
    """
    if source_content.ndim != 4 or source_content.shape[1] != 3:
        raise ValueError(f"source_content: expected (B, 3, H, W), got {tuple(source_content.shape)}")
    b, _, h, w = source_content.shape
    if target_skin_mask.shape != (b, 1, h, w):
        raise ValueError(f"target_skin_mask: expected {(b, 1, h, w)}, got {tuple(target_skin_mask.shape)}")
    inputs = [source_content, target_skin_mask]
    pose_channels = net.in_channels - CONTENT_CHANNELS
    if pose_channels:
        if target_pose is None or target_pose.shape != (b, pose_channels, h, w):
            got = None if target_pose is None else tuple(target_pose.shape)
            raise ValueError(
                f"target_pose: the regrowth net reads a (B, {pose_channels}, H, W) pose = "
                f"{(b, pose_channels, h, w)}, got {got}: match the data module's densepose encoding"
            )
        inputs.append(target_pose)
    return torch.tanh(net(torch.cat(inputs, dim=1))) * target_skin_mask
