"""LPIPS v0.1 (Zhang et al. 2018), the ``lpips`` package's metric, from two local files.

Architecture. A frozen ImageNet backbone, torchvision's ``features`` of VGG-16 (configuration "D") or AlexNet, kept as
an ``nn.Sequential`` with torchvision's indices so that ``vgg16-397923af.pth`` / ``alexnet-owt-7be5be79.pth``
(``features.0.weight`` ..., ``classifier.*`` ignored) load unchanged. The distance between images ``x`` and ``y`` in
[-1, 1] is, as in the ``lpips`` package (``lpips.py``, ``pretrained_networks.py``):

1. both are shifted and scaled, ``(x - shift) / scale`` with shift (-0.030, -0.088, -0.188), scale (0.458, 0.448,
   0.450);
2. features are taken at five taps: VGG-16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (after ``features`` index 3,
   8, 15, 22, 29; 64, 128, 256, 512, 512 channels), AlexNet relu1..relu5 (index 1, 4, 7, 9, 11; 64, 192, 384, 256,
   256 channels);
3. each tap is unit-normalised over channels, ``f / (||f||_2 + 1e-10)``, the squared difference is weighted by the
   tap's non-negative 1 x 1 "linear" layer, averaged over space, and the five values are summed.

The linear layers come from the package's ``weights/v0.1/vgg.pth`` or ``alex.pth``: keys ``lin0.model.1.weight`` ..
``lin4.model.1.weight`` of shape (1, C, 1, 1) (index 1 because a Dropout precedes the convolution); the file says
which backbone it belongs to through those channel counts.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from garment_transfer.evaluation.weights import check_state_dict, read_state_dict

# Per backbone: torchvision ``features`` layout ("M" max-pool; (out, kernel, stride, padding) for a conv), taps.
_VGG16 = [
    (64, 3, 1, 1),
    (64, 3, 1, 1),
    "M",
    (128, 3, 1, 1),
    (128, 3, 1, 1),
    "M",
    (256, 3, 1, 1),
    (256, 3, 1, 1),
    (256, 3, 1, 1),
    "M",
    (512, 3, 1, 1),
    (512, 3, 1, 1),
    (512, 3, 1, 1),
    "M",
    (512, 3, 1, 1),
    (512, 3, 1, 1),
    (512, 3, 1, 1),
    "M",
]
_ALEXNET = [(64, 11, 4, 2), "M3", (192, 5, 1, 2), "M3", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), "M3"]
NETS = {
    "vgg": {
        "layout": _VGG16,
        "taps": (3, 8, 15, 22, 29),
        "channels": (64, 128, 256, 512, 512),
        "file": "vgg16-397923af.pth",
    },
    "alex": {
        "layout": _ALEXNET,
        "taps": (1, 4, 7, 9, 11),
        "channels": (64, 192, 384, 256, 256),
        "file": "alexnet-owt-7be5be79.pth",
    },
}
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NORM_EPS = 1e-10
LINEAR_KEY = "lin{}.model.1.weight"
HOW_TO_GET = (
    "copy weights/v0.1/vgg.pth (or alex.pth) from the lpips package "
    "(https://github.com/richzhang/PerceptualSimilarity/tree/master/lpips/weights/v0.1) and the matching "
    "torchvision backbone (https://download.pytorch.org/models/vgg16-397923af.pth or "
    "alexnet-owt-7be5be79.pth) from a machine with network, and give both paths"
)
RANDOM_SEED = 0


def _make_features(layout) -> nn.Sequential:
    layers, channels = [], 3
    for item in layout:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif item == "M3":
            layers.append(nn.MaxPool2d(3, 2))
        else:
            out, kernel, stride, padding = item
            layers += [nn.Conv2d(channels, out, kernel, stride, padding), nn.ReLU()]
            channels = out
    return nn.Sequential(*layers)


class _Linear(nn.Module):
    """The ``lpips`` package's NetLinLayer naming (``model.1`` is the 1 x 1 convolution), without its Dropout."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))


def _net_of_linear_file(state: dict[str, torch.Tensor], path: Path) -> str:
    first = state.get(LINEAR_KEY.format(1))
    for name, spec in NETS.items():
        if first is not None and first.ndim == 4 and first.shape[1] == spec["channels"][1]:
            return name
    raise ValueError(
        f"LPIPS weights file {path} is not an lpips v0.1 file (vgg.pth or alex.pth): "
        f"{LINEAR_KEY.format(1)} is {None if first is None else tuple(first.shape)}, expected "
        f"(1, 128, 1, 1) for vgg or (1, 192, 1, 1) for alex"
    )


class LPIPS(nn.Module):
    """Frozen LPIPS v0.1 distance; always in eval mode.

    Args:
        weights: the linear layers (``vgg.pth`` / ``alex.pth`` of the ``lpips`` package); the backbone type follows
            from the file.
        backbone: the torchvision-format backbone file of that type (``vgg16-397923af.pth`` /
            ``alexnet-owt-7be5be79.pth``).
        net: ``vgg`` or ``alex``; None takes the file's. With no files (both None) the network gets seeded random
            weights (only for tests, and to write files in the two formats: ``features.*`` keys are the backbone
            file's, ``lin*`` keys the linear file's).

    Raises:
        FileNotFoundError: a file does not exist. ValueError: only one file is given, a file is not in its format,
            or ``net`` contradicts the linear file.
    """

    def __init__(self, weights: str | Path | None, backbone: str | Path | None, net: str | None = None) -> None:
        super().__init__()
        if (weights is None) != (backbone is None):
            raise ValueError(
                f"LPIPS needs both files, the linear layers and the backbone; got weights={weights}, "
                f"backbone={backbone}: {HOW_TO_GET}"
            )
        linear_state = None
        if weights is not None:
            linear_state = read_state_dict(weights, "LPIPS", HOW_TO_GET)
            found = _net_of_linear_file(linear_state, Path(weights))
            if net is not None and net != found:
                raise ValueError(f"LPIPS weights file {weights} is for the {found} backbone, not {net}")
            net = found
        net = net or "vgg"
        if net not in NETS:
            raise ValueError(f"LPIPS: net must be one of {list(NETS)}, got {net!r}")
        self.net = net
        spec = NETS[net]
        self.taps = spec["taps"]
        with torch.random.fork_rng(devices=[]):  # building must not move the global RNG
            self.features = _make_features(spec["layout"])
            for index, channels in enumerate(spec["channels"]):
                self.add_module(f"lin{index}", _Linear(channels))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        if linear_state is None:
            self._random_init()
        else:
            self._load(Path(weights), linear_state, Path(backbone))
        self.requires_grad_(False)
        super().train(False)

    @property
    def linears(self) -> list[nn.Conv2d]:
        return [getattr(self, f"lin{index}").model[1] for index in range(len(self.taps))]

    @torch.no_grad()
    def _random_init(self) -> None:
        generator = torch.Generator().manual_seed(RANDOM_SEED)
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                nn.init.zeros_(module.bias)
        for linear in self.linears:  # LPIPS' linear weights are non-negative
            linear.weight.copy_(torch.rand(linear.weight.shape, generator=generator) / linear.weight.shape[1])

    def _load(self, weights: Path, linear_state: dict[str, torch.Tensor], backbone: Path) -> None:
        own = self.state_dict()
        linear = {key: value.shape for key, value in own.items() if key.startswith("lin")}
        check_state_dict(
            linear_state,
            linear,
            weights,
            "LPIPS",
            f"an lpips v0.1 {self.net}.pth file",
            ignored=("net.", "scaling_layer."),
        )
        what = f"LPIPS backbone ({self.net})"
        backbone_state = read_state_dict(backbone, what, HOW_TO_GET)
        features = {key: value.shape for key, value in own.items() if key.startswith("features.")}
        check_state_dict(
            backbone_state,
            features,
            backbone,
            what,
            f"a torchvision-format {NETS[self.net]['file']} state dict",
            ignored=("classifier.",),
        )
        self.load_state_dict(
            {**{key: linear_state[key] for key in linear}, **{key: backbone_state[key] for key in features}}
        )

    def train(self, mode: bool = True) -> LPIPS:
        """Stays in eval mode whatever ``mode`` is (a frozen metric network)."""
        return super().train(False)

    def _taps(self, image: torch.Tensor) -> list[torch.Tensor]:
        x, out = (image - self.shift) / self.scale, []
        for index, layer in enumerate(self.features[: self.taps[-1] + 1]):
            x = layer(x)
            if index in self.taps:
                out.append(x / (x.square().sum(dim=1, keepdim=True).sqrt() + NORM_EPS))
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-image LPIPS distance.

        Args:
            x, y: (B, 3, H, W) in [-1, 1], H and W at least 32 for VGG (its fifth tap is at 1 / 16 scale), at
                least 64 for AlexNet.

        Returns:
            (B,) float, 0 for identical images.
        """
        if x.ndim != 4 or x.shape[1] != 3 or y.shape != x.shape:
            raise ValueError(
                f"LPIPS: x and y must be (B, 3, H, W) of one shape, got {tuple(x.shape)}, {tuple(y.shape)}"
            )
        total = x.new_zeros(x.shape[0])
        for fx, fy, linear in zip(self._taps(x), self._taps(y), self.linears):
            total = total + linear((fx - fy).square()).mean(dim=(1, 2, 3))
        return total
