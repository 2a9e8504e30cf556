"""The parsing net of the try-on parsing teacher ``T_P`` and the transfer parsing student ``S_P`` (arXiv 2401.12433,
Sec. 3.2): a :class:`~garment_transfer.models.u2net.U2Net` on ``cat(M^r, shape, P)`` with 7-class outputs.

Inputs: the remaining parsing ``M^r`` (4 channels), a garment shape (1: the in-shop mask ``C^m`` for the teacher,
the worn garment ``M^g`` for the student) and DensePose ``P`` (``pose_channels``, as the data module encodes it).
Every user of a parsing net (a stage, a student's frozen teacher, the pipeline, a tool, a benchmark) builds and
feeds it through :func:`build_parsing_net` and :func:`parsing_inputs`.
"""

from __future__ import annotations

import torch

from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.models.u2net import U2Net

REMAINING_CHANNELS = 4


def build_parsing_net(hparams: dict) -> U2Net:
    """The U-2-Net of a parsing stage from its hyper-parameters (``width``, ``pose_channels``)."""
    return U2Net(REMAINING_CHANNELS + 1 + hparams["pose_channels"], NUM_CLASSES, hparams["width"])


def parsing_inputs(remaining: torch.Tensor, shape: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    """Concatenate ``M^r`` (B, 4, H, W), a garment shape (B, 1, H, W) and DensePose (B, C, H, W)."""
    return torch.cat([remaining, shape, pose], dim=1)
