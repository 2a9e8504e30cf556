"""VGG-19 convolutional features for perceptual losses (``docs/methods/distilled-transfer.md``,
"Warping losses and weights").

Architecture. The conv part of torchvision's VGG-19 (configuration "E": sixteen 3x3 convs with ReLU, five 2x2
max-pools), kept as an ``nn.Sequential`` named ``features`` with torchvision's indices so that a torchvision-format
file (``vgg19-dcbb9e9d.pth``: ``features.0.weight`` .. ``features.34.bias``, plus ``classifier.*``, which is ignored)
loads unchanged. One deliberate difference: the max-pools use ``ceil_mode=True`` so tiny pyramid levels do not vanish
(this changes output sizes, not weights). Inputs are images in [-1, 1], mapped to ImageNet normalisation inside.

Weights come from a local file named in the config and are never downloaded. Without the file the constructor fails,
unless random features were asked for explicitly (``allow_random``), in which case it warns once and sets ``random``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from garment_transfer.checkpoints import safe_load

CFG_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
# Named taps: index in torchvision's ``features`` and channel count.
TAPS = {"relu1_1": (1, 64), "relu2_1": (6, 128), "relu3_1": (11, 256), "relu4_1": (20, 512), "relu5_1": (29, 512)}
WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"
RANDOM_SEED = 0
_HOW_TO_GET = (
    f"download {WEIGHTS_FILE} from the torchvision model zoo "
    f"(https://download.pytorch.org/models/{WEIGHTS_FILE}) on a machine with network and point the config "
    "at it, or set allow_random_vgg: true to train with a perceptual loss on random features (logged)"
)


def _make_features() -> nn.Sequential:
    layers, channels = [], 3
    for item in CFG_E:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
            channels = item
    return nn.Sequential(*layers)


class VGG19Features(nn.Module):
    """Frozen VGG-19 feature extractor returning activations by name; always in eval mode.

    Args:
        weights: path to a torchvision-format VGG-19 state dict (``vgg19-dcbb9e9d.pth``), or None.
        allow_random: when the file is not given or absent, use seeded random weights (``self.random = True``, one
            warning) instead of failing.
        layers: taps to return, a subset of ``TAPS``; only the layers up to the deepest one are run.

    Raises:
        ValueError: ``weights`` is None (without ``allow_random``), a tap is unknown, or the file is not a
            torchvision-format VGG-19 state dict (missing keys, wrong shapes).
        FileNotFoundError: ``weights`` does not exist (without ``allow_random``).
    """

    def __init__(
        self, weights: str | Path | None, allow_random: bool = False, layers: Iterable[str] = tuple(TAPS)
    ) -> None:
        super().__init__()
        self.layers = tuple(layers)
        unknown = [name for name in self.layers if name not in TAPS]
        if unknown or not self.layers:
            raise ValueError(f"VGG19Features: unknown or no layers {unknown or self.layers}; choose from {list(TAPS)}")
        self.depth = max(TAPS[name][0] for name in self.layers) + 1
        self.weights_path = None if weights is None else str(weights)
        path = None if weights is None else Path(weights)
        self.random = path is None or not path.is_file()
        where = "no VGG-19 weights path was given" if path is None else f"VGG-19 weights file {path} not found"
        if self.random and not allow_random:
            raise (ValueError if path is None else FileNotFoundError)(f"{where}: {_HOW_TO_GET}")
        with torch.random.fork_rng(devices=[]):  # building must not move the global RNG
            self.features = _make_features()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        if self.random:
            warnings.warn(
                f"{where}: allow_random_vgg is set, so the perceptual loss uses RANDOM VGG-19 features "
                f"(seed {RANDOM_SEED}), not ImageNet ones",
                stacklevel=2,
            )
            self._random_init()
        else:
            self._load(path)
        self.requires_grad_(False)
        super().train(False)

    def _random_init(self) -> None:
        generator = torch.Generator().manual_seed(RANDOM_SEED)
        for module in self.features:
            if isinstance(module, nn.Conv2d):  # torchvision's VGG initialisation
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                nn.init.zeros_(module.bias)

    def _load(self, path: Path) -> None:
        state = safe_load(path, "VGG-19 weights file")
        if not isinstance(state, dict):
            raise ValueError(f"VGG-19 weights file {path} holds a {type(state).__name__}, not a torchvision state dict")
        own = self.state_dict()
        missing = [key for key in own if key not in state]
        unexpected = [key for key in state if key not in own and not key.startswith("classifier.")]
        shapes = [
            f"{key}: file {tuple(getattr(state[key], 'shape', ()))}, expected {tuple(value.shape)}"
            for key, value in own.items()
            if key in state and getattr(state[key], "shape", None) != value.shape
        ]
        if missing or unexpected or shapes:
            raise ValueError(
                f"VGG-19 weights file {path} is not a torchvision-format VGG-19 state dict: "
                f"missing {missing}, unexpected {unexpected}, wrong shapes {shapes}"
            )
        self.load_state_dict({key: state[key] for key in own})

    def train(self, mode: bool = True) -> VGG19Features:
        """Stays in eval mode whatever ``mode`` is (a frozen feature extractor)."""
        return super().train(False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features at ``self.layers``.

        Args:
            image: (B, 3, H, W) in [-1, 1].

        Returns:
            ``{name: (B, C, h, w)}`` with C = 64, 128, 256, 512, 512 for relu1_1 .. relu5_1 and h = ceil(H / 2^k)
            after k pools (relu1_1 at H, relu5_1 at ceil(H / 16)).
        """
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"VGG19Features: image must be (B, 3, H, W), got {tuple(image.shape)}")
        x = ((image + 1) / 2 - self.mean) / self.std
        wanted = {TAPS[name][0]: name for name in self.layers}
        out = {}
        for index, layer in enumerate(self.features[: self.depth]):
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
        return out
