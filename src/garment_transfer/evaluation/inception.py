"""The FID variant of Inception-v3 (TensorFlow's 2015-12-05 graph), as torch-fidelity and pytorch-fid run it.

Architecture. Inception-v3 with the four changes that reproduce TensorFlow's FID graph (torch-fidelity's
``feature_extractor_inceptionv3.py``, itself adapted from pytorch-fid's ``inception.py``): the average pools in the
A, C and first E blocks exclude the zero padding (``count_include_pad=False``), the second E block pools with a max
instead of an average, and the classifier has 1008 classes. Module names and shapes are those of torch-fidelity's
``FeatureExtractorInceptionV3`` (``Conv2d_1a_3x3.conv.weight``, ``Conv2d_1a_3x3.bn.running_var``, ``Mixed_5b.
branch_pool.conv.weight``, ..., ``fc.weight`` (1008, 2048), ``fc.bias``), which are also the names of torchvision's
Inception3 that pytorch-fid loads, so either project's file loads unchanged:
``weights-inception-2015-12-05-6726825d.pth`` (torch-fidelity) or ``pt_inception-2015-12-05-6726825d.pth``
(pytorch-fid). Those files have no ``num_batches_tracked`` entries; none are needed in eval mode.

Input pipeline (torch-fidelity's): uint8 RGB (B, 3, H, W) -> float32 -> resized to 299 x 299 with TensorFlow 1.x's
bilinear resize (``align_corners=False``: output pixel ``i`` samples input position ``i * in / out``, no half-pixel
offset, no antialiasing) -> ``(x - 128) / 128``. Outputs: ``pool3`` (B, 2048), the FID / KID features, and
``logits_unbiased`` (B, 1008), the classifier without its bias, which torch-fidelity feeds to the Inception Score.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.evaluation.weights import check_state_dict, read_state_dict

INPUT_SIZE = 299
MIN_INPUT_SIZE = 75  # the smallest size the strided layers accept
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
HOW_TO_GET = (
    f"download torch-fidelity's {WEIGHTS_FILE} "
    f"(https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}) or pytorch-fid's "
    "pt_inception-2015-12-05-6726825d.pth on a machine with network, and give its path"
)
RANDOM_SEED = 0


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # TensorFlow ignores the padding


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool(x)),
            ],
            1,
        )


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            double = layer(double)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
                double,
                self.branch_pool(_avg_pool(x)),
            ],
            1,
        )


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tower = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            tower = layer(tower)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), tower, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """``pool="avg"`` for ``Mixed_7b``, ``"max"`` for ``Mixed_7c`` (TensorFlow's graph max-pools there)."""

    def __init__(self, in_channels: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = _avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(single),
                self.branch3x3_2b(single),
                self.branch3x3dbl_3a(double),
                self.branch3x3dbl_3b(double),
                self.branch_pool(pooled),
            ],
            1,
        )


def resize_like_tensorflow1(images: torch.Tensor, size: int) -> torch.Tensor:
    """TensorFlow 1.x ``resize_bilinear`` with ``align_corners=False`` to ``size`` x ``size``.

    Output pixel ``i`` samples input position ``p = i * in / out`` (no half-pixel offset), interpolating between
    ``floor(p)`` and ``min(floor(p) + 1, in - 1)``, first along x, then along y (torch-fidelity's bit-exact order).

    Args:
        images: (B, C, H, W) float.

    Returns:
        (B, C, size, size), same dtype.
    """

    def axis(length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        position = torch.arange(size, dtype=torch.float32, device=images.device) * torch.tensor(
            length / size, dtype=torch.float32
        )
        low = position.long()
        return low, (low + 1).clamp(max=length - 1), (position - low).to(images.dtype)

    y_low, y_high, dy = axis(images.shape[-2])
    x_low, x_high, dx = axis(images.shape[-1])
    top, bottom = images[:, :, y_low], images[:, :, y_high]
    top = top[..., x_low] + (top[..., x_high] - top[..., x_low]) * dx
    bottom = bottom[..., x_low] + (bottom[..., x_high] - bottom[..., x_low]) * dx
    return top + (bottom - top) * dy.view(-1, 1)


class InceptionV3Features(nn.Module):
    """Frozen FID Inception-v3 returning ``pool3`` and ``logits_unbiased``; always in eval mode.

    Args:
        weights: the FID weights file (torch-fidelity / pytorch-fid format); None builds the architecture with
            seeded random weights (only for tests, and to write files in the format).
        input_size: the side the images are resized to: 299 for numbers comparable with every other FID; smaller
            (at least 75) only to make tests cheap.

    Raises:
        FileNotFoundError: ``weights`` does not exist. ValueError: it is not an FID Inception state dict, or
            ``input_size`` is below 75.
    """

    def __init__(self, weights: str | Path | None, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        if input_size < MIN_INPUT_SIZE:
            raise ValueError(f"InceptionV3Features: input_size must be at least {MIN_INPUT_SIZE}, got {input_size}")
        self.input_size = input_size
        self.weights_path = None if weights is None else str(weights)
        with torch.random.fork_rng(devices=[]):  # building must not move the global RNG
            self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
            self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
            self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
            self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
            self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
            self.Mixed_5b = InceptionA(192, pool_features=32)
            self.Mixed_5c = InceptionA(256, pool_features=64)
            self.Mixed_5d = InceptionA(288, pool_features=64)
            self.Mixed_6a = InceptionB(288)
            self.Mixed_6b = InceptionC(768, channels_7x7=128)
            self.Mixed_6c = InceptionC(768, channels_7x7=160)
            self.Mixed_6d = InceptionC(768, channels_7x7=160)
            self.Mixed_6e = InceptionC(768, channels_7x7=192)
            self.Mixed_7a = InceptionD(768)
            self.Mixed_7b = InceptionE(1280, pool="avg")
            self.Mixed_7c = InceptionE(2048, pool="max")
            self.fc = nn.Linear(2048, 1008)
        if weights is None:
            self._random_init()
        else:
            self._load(Path(weights))
        self.requires_grad_(False)
        super().train(False)

    def _random_init(self) -> None:
        generator = torch.Generator().manual_seed(RANDOM_SEED)
        for module in self.modules():  # scale-preserving, so random features are neither 0 nor huge
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.05, generator=generator)
                nn.init.zeros_(module.bias)

    def _load(self, path: Path) -> None:
        what = "Inception-v3 (FID)"
        state = read_state_dict(path, what, HOW_TO_GET)
        own = self.state_dict()
        tracked = [key for key in own if key.endswith("num_batches_tracked")]
        check_state_dict(
            state,
            {key: value.shape for key, value in own.items()},
            path,
            what,
            "the FID Inception-v3 state dict of torch-fidelity / pytorch-fid",
            optional=tracked,
        )
        self.load_state_dict({**own, **{key: state[key] for key in own if key in state}})

    def train(self, mode: bool = True) -> InceptionV3Features:
        """Stays in eval mode whatever ``mode`` is (a frozen feature extractor)."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of uint8 images.

        Args:
            images: (B, 3, H, W) uint8 RGB, any H, W.

        Returns:
            ``{"pool3": (B, 2048), "logits_unbiased": (B, 1008)}`` float32.
        """
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"InceptionV3Features: images must be (B, 3, H, W) uint8, got {tuple(images.shape)} {images.dtype}"
            )
        x = resize_like_tensorflow1(images.float(), self.input_size)
        x = (x - 128) / 128
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (
            self.Mixed_5b,
            self.Mixed_5c,
            self.Mixed_5d,
            self.Mixed_6a,
            self.Mixed_6b,
            self.Mixed_6c,
            self.Mixed_6d,
            self.Mixed_6e,
            self.Mixed_7a,
            self.Mixed_7b,
            self.Mixed_7c,
        ):
            x = block(x)
        pool3 = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return {"pool3": pool3, "logits_unbiased": pool3 @ self.fc.weight.T}
