"""WUTON's networks (Issenhuth et al., ECCV 2020, Sec. 3.1; ``docs/methods/wuton.md``): the geometric matcher, the
warping U-Net it drives, and the discriminator.

**Matcher** (:class:`GeometricMatcher`), CP-VTON's geometric matching module (Wang et al., ECCV 2018), which WUTON
takes as it is. Two feature extractors with non-shared weights read the cloth ``c`` and the person (``p*`` for the
teacher, the unmasked ``p`` for the student). Each is ``downs`` stride-2 4x4 convolutions, each followed by ReLU and
BatchNorm (in that order, as CP-VTON), widths ``min(ngf * 2^k, cap)``, then two 3x3 convolutions at the last width
(ReLU-BatchNorm after the first, ReLU after the second). Their maps are L2-normalised per position and correlated
all-pairs (:func:`~garment_transfer.geometry.global_correlation`, WUTON's Eq. 3: the map is indexed by the cloth's
positions, the channels by the person's, row-major), so the correlation has ``h * w`` channels and the matcher depends
on the input size. The regressor is two stride-2 4x4 convolutions and two 3x3 ones, each with BatchNorm and ReLU,
then a linear layer and ``tanh``: ``2 * points^2`` values, the displacements of a ``points x points`` control lattice
(:func:`~garment_transfer.geometry.control_points`; the x displacements of all points, then the y ones, as CP-VTON
orders them). The thin-plate spline through the displaced points (:func:`~garment_transfer.geometry.tps_grid`) is the
sampling grid: the output at lattice point ``P_i`` reads the cloth at ``P_i + theta_i``.

Widths (:data:`MATCHER_WIDTHS`): "full" is CP-VTON's (``ngf`` 64, cap 512, 4 downsamplings, regressor 512, 256, 128,
64): 19,038,194 parameters at 256 x 192 with the 3-channel ``p*`` (two extractors of 7,479,104, regressor 4,079,986)
and 19,057,650 with CP-VTON's 22-channel agnostic input, as CP-VTON's ``GMM`` builds them. "tiny" (ours, for the CPU)
has ``ngf`` 16, cap 128, 3 downsamplings and regressor 128, 64, 32, 16: at 128 x 96 its correlation has the 16 x 12
positions of the full matcher at 256 x 192. ``zero_init`` (ours, default on) starts the linear layer at zero, so
the first grid is the identity; CP-VTON keeps PyTorch's default initialisation (``False``).

**Warping U-Net** (:class:`WarpingUNet`): the ResUNet layout of
:class:`~garment_transfer.models.resunet.ResUnetGenerator` with instance norm throughout and two non-shared
encoders, ``E2`` for the person and ``E1`` for the cloth. Every map of the cloth encoder that the decoder reads (the
skips, from half the input size down, and the bottleneck; in this layout no skip carries the raw input) is warped
by the matcher's spline evaluated at that map's size, then concatenated with the person encoder's map into the
decoder (WUTON: "each scale of the U-net is transformed with the same parameters
theta"). Feature maps are warped with zero padding (outside the cloth there is nothing to read). The last conv gives
RGB, ``tanh``: the try-on ``p~`` itself (WUTON renders the whole person; there is no composition mask). WUTON does
not publish its widths; ours (:data:`GENERATOR_WIDTHS`): 5 levels, ``ngf`` 64 ("full") or 16 ("tiny").

The cloth read by the matcher, the U-Net and the warp loss is the in-shop garment on a zero background
(``C * C^m``).

**Discriminator** (:func:`build_discriminator`): not published either; ours is the spectral-norm PatchGAN of
:mod:`~garment_transfer.models.discriminator` on RGB people (``ndf`` 64 / 16, 3 layers), judged with the relativistic
loss and a gradient penalty (:mod:`~garment_transfer.losses.adversarial`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.data.agnostic import GREY, wuton_mask
from garment_transfer.data.samples import PersonSample, parse_size
from garment_transfer.geometry import control_points, global_correlation, tps_grid, warp
from garment_transfer.models.discriminator import PatchDiscriminator
from garment_transfer.models.flow import FlowOutput
from garment_transfer.models.resunet import ResUnetGenerator, width_ngf
from garment_transfer.models.tryon import TryOn, TryOnOutput

PERSON_CHANNELS = 3  # p* or p, RGB
CLOTH_CHANNELS = 3
CPVTON_AGNOSTIC_CHANNELS = 22  # CP-VTON's agnostic person (shape 1, head 3, 18 pose maps): for its published count
GRID_POINTS = 5  # CP-VTON's and WUTON's 5 x 5 lattice
MATCHER_WIDTHS = {
    "full": dict(ngf=64, cap=512, downs=4, regressor=(512, 256, 128, 64)),
    "tiny": dict(ngf=16, cap=128, downs=3, regressor=(128, 64, 32, 16)),
}
GENERATOR_WIDTHS = ("full", "tiny")
GENERATOR_LEVELS = 5
DISCRIMINATOR_NDF = {"full": 64, "tiny": 16}
EPSILON = 1e-6


def _matcher_width(width: str) -> dict:
    if width not in MATCHER_WIDTHS:
        raise ValueError(f"WUTON matcher: width must be one of {tuple(MATCHER_WIDTHS)}, got {width!r}")
    return MATCHER_WIDTHS[width]


class FeatureExtractor(nn.Module):
    """CP-VTON's feature extractor (module docstring): (B, in, H, W) -> (B, width, H / 2^downs, W / 2^downs)."""

    def __init__(self, in_channels: int, ngf: int, cap: int, downs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_channels
        for k in range(downs):
            width = min(ngf * 2**k, cap)
            layers += [nn.Conv2d(previous, width, 4, 2, 1), nn.ReLU(True), nn.BatchNorm2d(width)]
            previous = width
        layers += [
            nn.Conv2d(previous, previous, 3, 1, 1),
            nn.ReLU(True),
            nn.BatchNorm2d(previous),
            nn.Conv2d(previous, previous, 3, 1, 1),
            nn.ReLU(True),
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def l2_normalise(features: torch.Tensor) -> torch.Tensor:
    """Every position's feature vector divided by its L2 norm (``+ 1e-6`` inside the root, as CP-VTON)."""
    return features / (features.square().sum(1, keepdim=True) + EPSILON).sqrt()


class TPSRegressor(nn.Module):
    """The matcher's regressor (module docstring): the (B, h w, h, w) correlation -> (B, points^2, 2) control-point
    displacements in ``[-1, 1]`` (normalised units), in the order of :func:`control_points`."""

    def __init__(
        self, feature_size: tuple[int, int], widths: tuple[int, ...], points: int = GRID_POINTS, zero_init: bool = True
    ) -> None:
        super().__init__()
        height, width = feature_size
        reduced = (height // 4, width // 4)  # two stride-2 4x4 convolutions with padding 1 halve, rounding down
        if min(reduced) < 1:
            raise ValueError(
                f"WUTON matcher: its features of {height} x {width} are too small for the regressor's two "
                "stride-2 convolutions; use a larger image or the tiny width (fewer downsamplings)"
            )
        a, b, c, d = widths
        self.conv = nn.Sequential(
            nn.Conv2d(height * width, a, 4, 2, 1),
            nn.BatchNorm2d(a),
            nn.ReLU(True),
            nn.Conv2d(a, b, 4, 2, 1),
            nn.BatchNorm2d(b),
            nn.ReLU(True),
            nn.Conv2d(b, c, 3, 1, 1),
            nn.BatchNorm2d(c),
            nn.ReLU(True),
            nn.Conv2d(c, d, 3, 1, 1),
            nn.BatchNorm2d(d),
            nn.ReLU(True),
        )
        self.linear = nn.Linear(d * reduced[0] * reduced[1], 2 * points * points)
        if zero_init:
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)
        self.points = points

    def forward(self, correlation: torch.Tensor) -> torch.Tensor:
        theta = torch.tanh(self.linear(self.conv(correlation).flatten(1)))
        return theta.view(theta.shape[0], 2, -1).transpose(1, 2)  # x displacements first, then y (CP-VTON)


class Matcher(NamedTuple):
    """A matcher's output: ``theta`` (B, points^2, 2) control-point displacements and ``source_points`` (B,
    points^2, 2), where each lattice point of the output reads the cloth; :meth:`GeometricMatcher.grid` turns them
    into a sampling grid of any size."""

    theta: torch.Tensor
    source_points: torch.Tensor
    target_points: torch.Tensor


class GeometricMatcher(nn.Module):
    """CP-VTON's geometric matcher (module docstring): ``(person, cloth) -> Matcher``.

    Args:
        size: the ``(H, W)`` of its inputs (the correlation's channels depend on it).
        person_channels: channels of the person input (3: ``p*`` or ``p``; 22: CP-VTON's agnostic, for its count).
        width: "full" (CP-VTON's) or "tiny" (ours). points: control points per side. zero_init: module docstring.
    """

    def __init__(
        self,
        size: tuple[int, int],
        person_channels: int = PERSON_CHANNELS,
        width: str = "full",
        points: int = GRID_POINTS,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        spec = _matcher_width(width)
        self.size, self.person_channels, self.width, self.points = tuple(size), person_channels, width, points
        scale = 2 ** spec["downs"]
        feature_size = (-(-size[0] // scale), -(-size[1] // scale))
        self.person_features = FeatureExtractor(person_channels, spec["ngf"], spec["cap"], spec["downs"])
        self.cloth_features = FeatureExtractor(CLOTH_CHANNELS, spec["ngf"], spec["cap"], spec["downs"])
        self.regressor = TPSRegressor(feature_size, spec["regressor"], points, zero_init)

    def forward(self, person: torch.Tensor, cloth: torch.Tensor) -> Matcher:
        for name, x, channels in (("person", person, self.person_channels), ("cloth", cloth, CLOTH_CHANNELS)):
            if x.ndim != 4 or x.shape[1] != channels or tuple(x.shape[-2:]) != self.size:
                raise ValueError(
                    f"WUTON matcher: {name} must be (B, {channels}, {self.size[0]}, {self.size[1]}) (the size it was "
                    f"built for), got {tuple(x.shape)}"
                )
        cost = global_correlation(l2_normalise(self.cloth_features(cloth)), l2_normalise(self.person_features(person)))
        theta = self.regressor(F.relu(cost))
        lattice = control_points(self.points, theta.shape[0], device=theta.device, dtype=theta.dtype)
        return Matcher(theta, lattice + theta, lattice)

    @staticmethod
    def grid(match: Matcher, size: tuple[int, int]) -> torch.Tensor:
        """The spline's sampling grid (B, H, W, 2) at ``size`` (``source_from_output``)."""
        return tps_grid(match.source_points, match.target_points, tuple(size))


class WarpingUNet(nn.Module):
    """WUTON: the matcher and the two-encoder U-Net whose cloth skips it warps (module docstring).

    Args:
        matcher: the :class:`GeometricMatcher`.
        generator: a :class:`ResUnetGenerator` with ``second_channels=3``, instance norm, 3 outputs.
    """

    def __init__(self, matcher: GeometricMatcher, generator: ResUnetGenerator) -> None:
        super().__init__()
        if generator.second_channels != CLOTH_CHANNELS or generator.in_channels != matcher.person_channels:
            raise ValueError("WarpingUNet: the generator must read the matcher's person and a 3-channel cloth")
        self.matcher, self.generator = matcher, generator

    def forward(self, person: torch.Tensor, cloth: torch.Tensor, cloth_mask: torch.Tensor) -> TryOnOutput:
        """Dress ``person`` (B, 3, H, W) in ``cloth`` (B, 3, H, W) in [-1, 1] with ``cloth_mask`` (B, 1, H, W).

        Returns:
            :class:`TryOnOutput`: ``warp`` with the warped cloth (on a zero background), its mask and the grid at
            (H, W) (``grids``, ``offsets`` empty); ``tryon`` with ``image`` = ``rendered`` = ``p~`` and an empty
            composition mask (WUTON composes nothing).
        """
        if cloth_mask.shape != (*cloth.shape[:1], 1, *cloth.shape[-2:]):
            raise ValueError(f"WarpingUNet: cloth_mask must be (B, 1, H, W) like cloth, got {tuple(cloth_mask.shape)}")
        garment = cloth * cloth_mask
        match = self.matcher(person, garment)
        grids: dict[tuple[int, int], torch.Tensor] = {}

        def warped(x: torch.Tensor) -> torch.Tensor:
            size = tuple(x.shape[-2:])
            if size not in grids:
                grids[size] = self.matcher.grid(match, size)
            return warp(x, grids[size], "mask")  # zero padding: nothing to read outside the cloth

        image = torch.tanh(self.generator(person, garment, skip_transform=warped))
        full = tuple(cloth.shape[-2:])
        grid = grids[full] if full in grids else self.matcher.grid(match, full)
        flow = FlowOutput(
            warp(garment, grid, "mask"), warp(cloth_mask, grid, "mask"), grid, [grid], [], extras={"theta": match.theta}
        )
        return TryOnOutput(flow, TryOn(image, image, torch.zeros_like(cloth_mask)))


def build_matcher(hparams: dict, person_channels: int = PERSON_CHANNELS) -> GeometricMatcher:
    """The matcher from hyper-parameters: ``size`` ("HxW"), ``width``, and optionally ``grid_points``,
    ``zero_init_matcher``."""
    return GeometricMatcher(
        parse_size(hparams.get("size", "256x192")),
        person_channels,
        hparams.get("width", "full"),
        hparams.get("grid_points", GRID_POINTS),
        hparams.get("zero_init_matcher", True),
    )


def build_generator(hparams: dict) -> ResUnetGenerator:
    """The two-encoder U-Net (``width``: ResUNet ``ngf`` 64 / 16; ``levels`` default 5), instance norm, RGB out."""
    return ResUnetGenerator(
        PERSON_CHANNELS,
        3,
        hparams.get("levels", GENERATOR_LEVELS),
        width_ngf(hparams.get("width", "full")),
        norm="instance",
        second_channels=CLOTH_CHANNELS,
    )


def build_wuton(hparams: dict) -> WarpingUNet:
    """T-WUTON or S-WUTON (the same architecture) from a stage's hyper-parameters."""
    return WarpingUNet(build_matcher(hparams), build_generator(hparams))


def build_discriminator(hparams: dict) -> PatchDiscriminator:
    """The spectral-norm PatchGAN on RGB people (``width``: ``ndf`` 64 / 16)."""
    width = hparams.get("width", "full")
    if width not in DISCRIMINATOR_NDF:
        raise ValueError(f"WUTON discriminator: width must be one of {tuple(DISCRIMINATOR_NDF)}, got {width!r}")
    return PatchDiscriminator(3, DISCRIMINATOR_NDF[width], 3, spectral_norm=True)


def masked_person(person: PersonSample) -> torch.Tensor:
    """The teacher's person input ``p*`` of a batch (B, 3, H, W): the loader workers' ``wuton_person`` (the data
    module's ``inputs: [wuton_person]``), else computed here from each person's parsing and keypoints (the same
    values: :func:`garment_transfer.data.agnostic.wuton_mask` painted grey)."""
    given = person.inputs.get("wuton_person") if isinstance(person.inputs, dict) else None
    if given is not None:
        return given
    grey = torch.tensor(GREY / 127.5 - 1.0, dtype=person.image.dtype, device=person.image.device)
    masks = []
    for b in range(person.image.shape[0]):
        points = None if person.keypoints is None else person.keypoints[b].detach().cpu().numpy()
        masks.append(torch.from_numpy(wuton_mask(person.parsing[b].cpu().numpy(), points)))
    mask = torch.stack(masks).to(person.image.device)[:, None]
    return torch.where(mask, grey, person.image)
