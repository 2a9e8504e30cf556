"""Random parameters of one synthetic person: body, pose, upper garment, lower garment and scene.

Lengths are in units of the image height ``H`` and positions are fractions of ``H`` measured from the top-left
corner, so one sample renders the same scene at every resolution. Angles are in degrees. Every draw comes from the
generator handed in, in a fixed order, so a sample depends only on the seed it was drawn from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

ENGINE_VERSION = "1.1.0"  # 1.1: keypoints, garment parts, agnostic inputs, lower and dress categories (the files of
# 1.0 are unchanged: same seed, same bytes)
PATTERNS = ("solid", "stripes", "checks", "dots", "print", "noise")
NECKLINES = ("round", "v", "square")
LOWER_GARMENTS = ("trousers", "shorts", "skirt")
ARM_POSES = ("relaxed", "raised", "hand_on_hip", "across_torso")
CATEGORIES = ("upper", "lower", "dresses")  # garment categories a data set can hold (DressCode's three)


@dataclass(frozen=True)
class EngineConfig:
    """Ranges the engine draws from. Pairs are ``(low, high)``; weights need not sum to one.

    Attributes:
        cross_arm_rate: probability that a person holds one or both forearms across the torso (self-occlusion).
        arm_pose_weights: weights of ``relaxed``, ``raised``, ``hand_on_hip`` for arms not across the torso.
        scale: body height relative to the frame; small values show the whole figure with shoes.
        sleeveless_rate: probability of a sleeveless garment; otherwise the sleeve length is ``sleeve_length``
            (fraction of the arm, 1 = to the wrist).
        hem_length: garment length in torso lengths (1 = to the hip line).
        fit: extra garment width as a fraction of the body width (0 tight .. 0.3 loose).
        shading: strength of the cylindrical shading on skin and garments; (0, 0) renders flat colours.
        noise_std: standard deviation of the additive pixel noise, in 0..255 units.
        bottom_weights: weights of ``trousers``, ``shorts``, ``skirt`` for the transferable lower garments of the
            ``lower`` category (the plain lower garment of the ``upper`` category follows ``lower_garment_weights``).
        bottom_fit: extra width of trouser legs as a fraction of the leg's width.
        shorts_length: how far down the thigh shorts reach (fraction of the thigh).
        skirt_length, dress_length: how far a skirt (or a dress's skirt) reaches below the hip line, in thigh
            lengths (1 = to the knee).
        skirt_flare: the hem's extra half-width as a fraction of the hips' (skirts and dresses).
        body_width_scale: multiplies every drawn body and limb width (1: as drawn), a change of body proportions.
        garment_lightness, garment_saturation: HSV value and saturation ranges of the upper garment's colours.
        The last three draw nothing of their own: at their defaults every sample is what engine 1.1.0 rendered.
    """

    cross_arm_rate: float = 0.15
    arm_pose_weights: tuple[float, float, float] = (0.65, 0.2, 0.15)
    scale: tuple[float, float] = (0.8, 1.25)
    lean_deg: tuple[float, float] = (-6.0, 6.0)
    sleeveless_rate: float = 0.2
    sleeve_length: tuple[float, float] = (0.12, 1.0)
    hem_length: tuple[float, float] = (0.8, 1.25)
    fit: tuple[float, float] = (0.0, 0.3)
    neckline_depth: tuple[float, float] = (0.04, 0.3)
    pattern_weights: tuple[float, ...] = (0.15, 0.25, 0.15, 0.15, 0.15, 0.15)
    lower_garment_weights: tuple[float, float, float] = (0.5, 0.25, 0.25)
    long_hair_rate: float = 0.35
    gradient_background_rate: float = 0.5
    shading: tuple[float, float] = (0.1, 0.3)
    noise_std: tuple[float, float] = (0.0, 3.0)
    bottom_weights: tuple[float, float, float] = (0.45, 0.25, 0.3)
    bottom_fit: tuple[float, float] = (0.0, 0.25)
    shorts_length: tuple[float, float] = (0.25, 0.8)
    skirt_length: tuple[float, float] = (0.35, 1.4)
    skirt_flare: tuple[float, float] = (0.0, 0.6)
    dress_length: tuple[float, float] = (0.5, 1.6)
    body_width_scale: float = 1.0
    garment_lightness: tuple[float, float] = (0.1, 0.95)
    garment_saturation: tuple[float, float] = (0.25, 0.95)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and f.name.endswith(("_weights",)):
                if len(value) == 0 or min(value) < 0 or sum(value) <= 0:
                    raise ValueError(f"engine config {f.name}: weights must be non-negative with a positive sum")
            elif isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(f"engine config {f.name}: expected (low, high) with low <= high, got {value}")
        if len(self.pattern_weights) != len(PATTERNS):
            raise ValueError(f"engine config pattern_weights: expected {len(PATTERNS)} weights for {PATTERNS}")
        for name in ("cross_arm_rate", "sleeveless_rate", "long_hair_rate", "gradient_background_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"engine config {name}: a rate must lie in [0, 1], got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> EngineConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"engine config: unknown keys {unknown}; known keys are {sorted(known)}")
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})


@dataclass(frozen=True)
class Limb:
    """A two-segment limb: ``root_deg`` is the first segment's angle from straight down (positive = away from the
    body's midline), ``bend_deg`` the second segment's angle relative to the first (negative = towards the midline)."""

    root_deg: float
    bend_deg: float


@dataclass(frozen=True)
class Body:
    """Figure, pose and looks. Sides are indexed ``0`` = the person's right (image left), ``1`` = their left.
    ``center_dx`` shifts the figure from the frame's centre; ``top`` is the top of the head."""

    center_dx: float
    top: float
    lean_deg: float
    head_rx: float
    head_ry: float
    neck_len: float
    neck_hw: float
    shoulder_hw: float
    chest_hw: float
    waist_hw: float
    hip_hw: float
    torso_len: float
    upper_arm_len: float
    forearm_len: float
    arm_r: float
    forearm_r: float
    hand_len: float
    thigh_len: float
    shin_len: float
    thigh_r: float
    shin_r: float
    arms: tuple[Limb, Limb]
    legs: tuple[Limb, Limb]
    front_arm: int
    skin: tuple[float, float, float]
    hair_color: tuple[float, float, float]
    long_hair: bool
    hair_len: float
    shoe_color: tuple[float, float, float]


@dataclass(frozen=True)
class Garment:
    """An upper garment: shape in garment coordinates and a texture that lives in those coordinates."""

    sleeve: float
    hem: float
    fit: float
    sleeve_fit: float
    strap: float
    neckline: str
    neck_depth: float
    neck_hw: float
    pattern: str
    base: tuple[float, float, float]
    accent: tuple[float, float, float]
    accent2: tuple[float, float, float]
    frequency: float
    angle_deg: float
    phase: float
    duty: float
    motif: str
    motif_size: float
    texture_seed: int
    shading: float
    fold_amplitude: float
    fold_frequency: float


@dataclass(frozen=True)
class LowerGarment:
    kind: str
    color: tuple[float, float, float]
    length: float
    flare: float


@dataclass(frozen=True)
class Scene:
    gradient: bool
    top_color: tuple[float, float, float]
    bottom_color: tuple[float, float, float]
    shading: float
    noise_std: float
    noise_seed: int


@dataclass(frozen=True)
class Bottom:
    """A transferable lower garment (the ``lower`` category): ``kind`` trousers, shorts or skirt; ``length`` in thigh
    lengths (shorts: how far down the thigh; skirts: below the hip line; trousers: 1); ``fit`` widens trouser legs;
    ``flare`` widens a skirt's hem; ``texture`` is a :class:`Garment` whose pattern fields colour it (its shape fields
    are unused)."""

    kind: str
    length: float
    fit: float
    flare: float
    texture: Garment


@dataclass(frozen=True)
class Dress:
    """A dress (the ``dresses`` category): a bodice shaped and textured like an upper garment (``top``, its hem at
    the waist) and a skirt from the waist to ``length`` thigh lengths below the hip line with ``flare``, in the same
    texture."""

    top: Garment
    length: float
    flare: float


@dataclass(frozen=True)
class Person:
    """One person. ``bottom`` is set for the ``lower`` category (worn instead of ``lower``), ``dress`` for the
    ``dresses`` category (worn instead of ``garment`` and ``lower``)."""

    body: Body
    garment: Garment
    lower: LowerGarment
    scene: Scene
    bottom: Bottom | None = None
    dress: Dress | None = None

    @property
    def category(self) -> str:
        return "dresses" if self.dress is not None else "lower" if self.bottom is not None else "upper"


def _u(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _choice(rng: np.random.Generator, names: tuple[str, ...], weights) -> str:
    p = np.asarray(weights, dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _color(
    rng: np.random.Generator,
    lightness: tuple[float, float] = (0.1, 0.95),
    saturation: tuple[float, float] = (0.25, 0.95),
) -> tuple[float, float, float]:
    """A random colour as RGB in [0, 1] from ranges of HSV value and saturation."""
    hue, sat, val = rng.random(), rng.uniform(*saturation), rng.uniform(*lightness)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6) % 6
    rgb = val - val * sat * np.clip(np.minimum(k, 4 - k), 0, 1)
    return tuple(float(c) for c in rgb)


SKIN_TONES = np.array(
    [
        [0.98, 0.84, 0.72],
        [0.94, 0.76, 0.62],
        [0.85, 0.64, 0.49],
        [0.72, 0.52, 0.38],
        [0.55, 0.38, 0.27],
        [0.40, 0.27, 0.19],
    ]
)
HAIR_COLORS = np.array([[0.08, 0.06, 0.05], [0.25, 0.15, 0.08], [0.45, 0.3, 0.15], [0.8, 0.65, 0.4], [0.6, 0.25, 0.1]])


def _arm(rng: np.random.Generator, pose: str) -> Limb:
    ranges = {
        "relaxed": ((3, 30), (-30, 25)),
        "raised": ((40, 120), (-100, 40)),
        "hand_on_hip": ((25, 45), (-135, -100)),
        "across_torso": ((-5, 15), (-160, -110)),
    }[pose]
    return Limb(_u(rng, ranges[0]), _u(rng, ranges[1]))


WIDTHS = (
    "head_rx",
    "neck_hw",
    "shoulder_hw",
    "chest_hw",
    "waist_hw",
    "hip_hw",
    "arm_r",
    "forearm_r",
    "thigh_r",
    "shin_r",
)  # the Body fields body_width_scale multiplies


def _widened(body: Body, scale: float) -> Body:
    """``body`` with every width in :data:`WIDTHS` times ``scale`` (the same object when ``scale`` is 1)."""
    if scale == 1.0:
        return body
    return replace(body, **{name: getattr(body, name) * scale for name in WIDTHS})


def sample_body(rng: np.random.Generator, cfg: EngineConfig) -> Body:
    s = _u(rng, cfg.scale)
    crossing = rng.random() < cfg.cross_arm_rate
    cross_sides = (rng.random() < 0.5, True) if crossing else (False, False)
    if crossing and rng.random() < 0.5:
        cross_sides = cross_sides[::-1]
    poses = [
        "across_torso" if cross_sides[side] else _choice(rng, ARM_POSES[:3], cfg.arm_pose_weights) for side in (0, 1)
    ]
    shoulder_hw = s * _u(rng, (0.105, 0.125))
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.95, 1.05, 3)
    body = Body(
        center_dx=_u(rng, (-0.05, 0.05)),
        top=_u(rng, (0.02, 0.08)),
        lean_deg=_u(rng, cfg.lean_deg),
        head_rx=s * _u(rng, (0.05, 0.058)),
        head_ry=s * _u(rng, (0.066, 0.076)),
        neck_len=s * _u(rng, (0.03, 0.045)),
        neck_hw=s * _u(rng, (0.024, 0.031)),
        shoulder_hw=shoulder_hw,
        chest_hw=shoulder_hw * _u(rng, (0.85, 0.95)),
        waist_hw=shoulder_hw * _u(rng, (0.66, 0.85)),
        hip_hw=shoulder_hw * _u(rng, (0.75, 0.95)),
        torso_len=s * _u(rng, (0.31, 0.35)),
        upper_arm_len=s * _u(rng, (0.16, 0.19)),
        forearm_len=s * _u(rng, (0.145, 0.17)),
        arm_r=s * _u(rng, (0.026, 0.033)),
        forearm_r=s * _u(rng, (0.02, 0.026)),
        hand_len=s * _u(rng, (0.045, 0.055)),
        thigh_len=s * _u(rng, (0.23, 0.26)),
        shin_len=s * _u(rng, (0.22, 0.25)),
        thigh_r=s * _u(rng, (0.044, 0.054)),
        shin_r=s * _u(rng, (0.03, 0.037)),
        arms=(_arm(rng, poses[0]), _arm(rng, poses[1])),
        legs=(Limb(_u(rng, (0, 10)), _u(rng, (-4, 6))), Limb(_u(rng, (0, 10)), _u(rng, (-4, 6)))),
        front_arm=int(rng.integers(2)),
        skin=tuple(float(c) for c in np.clip(skin, 0, 1)),
        hair_color=tuple(float(c) for c in HAIR_COLORS[rng.integers(len(HAIR_COLORS))]),
        long_hair=bool(rng.random() < cfg.long_hair_rate),
        hair_len=s * _u(rng, (0.12, 0.3)),
        shoe_color=_color(rng, (0.05, 0.6)),
    )
    return _widened(body, cfg.body_width_scale)


def sample_garment(rng: np.random.Generator, cfg: EngineConfig) -> Garment:
    sleeveless = rng.random() < cfg.sleeveless_rate
    fit = _u(rng, cfg.fit)
    base = _color(rng, cfg.garment_lightness, cfg.garment_saturation)
    accent = _color(rng, cfg.garment_lightness, cfg.garment_saturation)
    if np.abs(np.subtract(base, accent)).sum() < 0.6:  # keep patterns visible
        accent = tuple(float(1.0 - c) for c in base)
    return Garment(
        sleeve=0.0 if sleeveless else _u(rng, cfg.sleeve_length),
        hem=_u(rng, cfg.hem_length),
        fit=fit,
        sleeve_fit=0.12 + fit * _u(rng, (0.8, 1.4)),
        strap=_u(rng, (0.0, 0.45)) if sleeveless else 0.0,
        neckline=NECKLINES[int(rng.integers(len(NECKLINES)))],
        neck_depth=_u(rng, cfg.neckline_depth),
        neck_hw=_u(rng, (0.14, 0.28)),
        pattern=_choice(rng, PATTERNS, cfg.pattern_weights),
        base=base,
        accent=accent,
        accent2=_color(rng, cfg.garment_lightness, cfg.garment_saturation),
        frequency=_u(rng, (3.0, 9.0)),
        angle_deg=float(rng.choice([0.0, 90.0, 45.0, -45.0, _u(rng, (-80, 80))])),
        phase=_u(rng, (0.0, 1.0)),
        duty=_u(rng, (0.3, 0.6)),
        motif=str(rng.choice(["circle", "star", "square", "triangle"])),
        motif_size=_u(rng, (0.12, 0.24)),
        texture_seed=int(rng.integers(2**31)),
        shading=_u(rng, cfg.shading),
        fold_amplitude=fit * _u(rng, (0.1, 0.35)),
        fold_frequency=_u(rng, (2.0, 5.0)),
    )


def sample_lower(rng: np.random.Generator, cfg: EngineConfig) -> LowerGarment:
    return LowerGarment(
        kind=_choice(rng, LOWER_GARMENTS, cfg.lower_garment_weights),
        color=_color(rng, (0.1, 0.8)),
        length=_u(rng, (0.25, 0.7)),
        flare=_u(rng, (0.0, 0.6)),
    )


def sample_scene(rng: np.random.Generator, cfg: EngineConfig) -> Scene:
    return Scene(
        gradient=bool(rng.random() < cfg.gradient_background_rate),
        top_color=_color(rng, (0.7, 1.0), (0.0, 0.35)),
        bottom_color=_color(rng, (0.6, 1.0), (0.0, 0.45)),
        shading=_u(rng, cfg.shading),
        noise_std=_u(rng, cfg.noise_std),
        noise_seed=int(rng.integers(2**31)),
    )


def sample_person(rng: np.random.Generator, cfg: EngineConfig, category: str = "upper") -> Person:
    """Draw one person of a garment ``category``; the order of draws is part of the engine version. An ``upper``
    person takes the draws of engine version 1.0, so a 1.0 upper-body set renders identically; the other categories
    draw the same person fields first, then their garment (from the category's own generator, see ``engine``)."""
    person = Person(
        body=sample_body(rng, cfg),
        garment=sample_garment(rng, cfg),
        lower=sample_lower(rng, cfg),
        scene=sample_scene(rng, cfg),
    )
    if category == "upper":
        return person
    if category == "lower":  # the top ends above the hips, so the lower garment shows
        top = replace(person.garment, hem=min(person.garment.hem, LOWER_TOP_HEM))
        return replace(person, garment=top, bottom=sample_bottom(rng, cfg))
    if category == "dresses":
        return replace(person, dress=sample_dress(rng, cfg))
    raise ValueError(f"garment category {category!r}: choose one of {CATEGORIES}")


def sample_bottom(rng: np.random.Generator, cfg: EngineConfig) -> Bottom:
    kind = _choice(rng, LOWER_GARMENTS, cfg.bottom_weights)
    texture = sample_garment(rng, cfg)
    length = _u(rng, cfg.skirt_length if kind == "skirt" else cfg.shorts_length)
    return Bottom(
        kind=kind,
        length=length if kind != "trousers" else 1.0,
        fit=_u(rng, cfg.bottom_fit),
        flare=_u(rng, cfg.skirt_flare),
        texture=texture,
    )


def sample_dress(rng: np.random.Generator, cfg: EngineConfig) -> Dress:
    top = sample_garment(rng, cfg)
    return Dress(
        top=replace(top, hem=DRESS_BODICE_HEM, sleeve=min(top.sleeve, 0.6)),
        length=_u(rng, cfg.dress_length),
        flare=_u(rng, cfg.skirt_flare),
    )


LOWER_TOP_HEM = 0.9  # the upper garment of a lower-category person ends between waist (0.8) and hips (1.0)
DRESS_BODICE_HEM = 0.86  # the bodice reaches just past the waist (LOWER_WAIST_T = 0.8), under the skirt's top
