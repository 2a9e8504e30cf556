"""The toy method's network and registry entry: a 1 x 1 convolution from the target image and a garment to an image."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from garment_transfer.models.transfer import TransferOutput
from garment_transfer.registry import Dresser, Evaluation, Method, Network, Stage

HERE = Path(__file__).parent
STAGE = "toy/blend"


def build_blend(hparams: dict) -> nn.Module:
    """(B, 6, H, W) target image and garment -> (B, 3, H, W); ``width`` is read and ignored (one size)."""
    return nn.Conv2d(6, 3, 1)


def dress_toy(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
    image = torch.tanh(nets["blend"](torch.cat([target.image, garment], 1)))
    return TransferOutput(image, target.parsing, garment, garment, garment_mask, torch.zeros_like(image), {})


METHOD = Method(
    name="toy",
    title="a toy method registered from the test folder",
    stages=(
        Stage(
            STAGE,
            "toy_method.stage.BlendModule",
            "toy_method.stage.BlendDataModule",
            build_blend,
            "toy/blend",
            title="the blend network",
            configs=str(HERE / "conf"),
        ),
    ),
    dressers=(Dresser("toy", {"blend": STAGE}, ("worn", "in_shop"), dress_toy, title="toy"),),
    evaluations=(Evaluation("toy", "toy", "toy blend", "baselines/toy", str(HERE / "conf" / "evaluate.yaml")),),
    networks=(
        Network("blend", lambda width, pose: build_blend({}), lambda pose: (6,), "21 (6 x 3 weights, 3 biases)"),
    ),
)
