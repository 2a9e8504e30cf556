"""The synthetic engine's sample-level interface: sample ``i`` of a split and true transfers between samples.

Sample ``i`` of a split depends only on ``(seed, split, i)`` and the engine version: its random generator is
seeded with ``SeedSequence([seed, SPLIT_CODES[split], i])``. So generation parallelises, resumes, and grows
without changing earlier samples. Samples of the ``lower`` and ``dresses`` categories come from generators of their
own (``SeedSequence([seed, split code, CATEGORY_STREAM, category code, i])``), so adding a category changes no upper
sample; their ids carry the category (``train_lower_000003``).
"""

from __future__ import annotations

import numpy as np

from garment_transfer.data.agnostic import hrviton_agnostic, hrviton_parse_agnostic
from garment_transfer.data.formats.canonical import RawSample, RawTransfer
from garment_transfer.data.samples import check_size
from garment_transfer.data.synth.params import CATEGORIES, EngineConfig, Person, sample_person
from garment_transfer.data.synth.parts import person_parts, shop_parts
from garment_transfer.data.synth.pose import body25
from garment_transfer.data.synth.render import (
    BOTTOM_PANELS,
    DRESS_PANELS,
    Rendering,
    bottom_point,
    correspondence,
    dress_point,
    render_person,
    render_shop,
    render_shop_bottom,
    render_shop_dress,
)

SPLIT_CODES = {"train": 0, "test": 1, "val": 2}
PAIR_STREAM = 1_000_003  # keeps the pair draws apart from the sample draws
CATEGORY_STREAM = 2_000_003  # keeps the other categories' samples apart from the upper ones
CATEGORY_CODES = {"lower": 1, "dresses": 2}


def sample_id(split: str, index: int, category: str = "upper") -> str:
    """``train_000012`` (upper), ``train_lower_000012``, ``train_dresses_000012``."""
    if category == "upper":
        return f"{split}_{index:06d}"
    if category not in CATEGORY_CODES:
        raise ValueError(f"garment category {category!r}: choose one of {CATEGORIES}")
    return f"{split}_{category}_{index:06d}"


class SyntheticEngine:
    """Renders samples and true transfers of one synthetic data set.

    Args:
        seed: the data set's seed.
        height, width: image size in pixels (multiples of 16).
        config: the parameter ranges.
    """

    def __init__(self, seed: int, height: int, width: int, config: EngineConfig | None = None):
        check_size(height, width)
        self.seed, self.height, self.width = int(seed), height, width
        self.config = config or EngineConfig()

    def _rng(self, split: str, *key: int) -> np.random.Generator:
        if split not in SPLIT_CODES:
            raise ValueError(f"split must be one of {tuple(SPLIT_CODES)}, got {split!r}")
        return np.random.default_rng(np.random.SeedSequence([self.seed, SPLIT_CODES[split], *key]))

    def person(self, split: str, index: int, category: str = "upper") -> Person:
        if category == "upper":
            return sample_person(self._rng(split, index), self.config)
        sample_id(split, index, category)  # checks the category
        rng = self._rng(split, CATEGORY_STREAM, CATEGORY_CODES[category], index)
        return sample_person(rng, self.config, category)

    def render(self, split: str, index: int, category: str = "upper") -> Rendering:
        return render_person(self.person(split, index, category), self.height, self.width)

    def shop(self, person: Person) -> tuple[np.ndarray, np.ndarray, Rendering]:
        """The in-shop image of ``person``'s garment of its category: ``(cloth, mask, rendering)``."""
        if person.dress is not None:
            return render_shop_dress(person.dress, self.height, self.width)
        if person.bottom is not None:
            return render_shop_bottom(person.bottom, self.height, self.width)
        return render_shop(person.garment, self.height, self.width)

    def sample(self, split: str, index: int, category: str = "upper") -> RawSample:
        """Sample ``index`` of ``split``: person, parsing, DensePose, its garment laid flat, BODY_25 keypoints,
        garment parts of both, and (upper garments) HR-VITON's agnostic person and parsing."""
        person = self.person(split, index, category)
        rendering = render_person(person, self.height, self.width)
        cloth, cloth_mask, shop = self.shop(person)
        kind = None if person.bottom is None else person.bottom.kind
        keypoints = body25(rendering.figure, rendering.iuv[..., 0])
        agnostic = parse_agnostic = None
        if category == "upper":
            agnostic = hrviton_agnostic(rendering.image, rendering.parse, keypoints)
            parse_agnostic = hrviton_parse_agnostic(rendering.parse, keypoints)
        return RawSample(
            sample_id(split, index, category),
            rendering.image,
            rendering.parse,
            rendering.iuv,
            cloth,
            cloth_mask,
            keypoints=keypoints,
            parts=person_parts(rendering, category, kind),
            cloth_parts=shop_parts(shop, category, kind),
            agnostic=agnostic,
            parse_agnostic=parse_agnostic,
            category=category,
        )

    def transfer(self, split: str, source: int, target: int, category: str = "upper") -> RawTransfer:
        """The true transfer ``I_{t<-s}``: target ``target`` in the pose and scene of its own sample, wearing the
        garment of its category of sample ``source``; with the correspondence of each garment pixel to the source
        image and the garment parts."""
        source_person, target_person = self.person(split, source, category), self.person(split, target, category)
        origin = render_person(source_person, self.height, self.width)
        ids = sample_id(split, source, category), sample_id(split, target, category)
        if category == "upper":
            garment = source_person.garment
            dressed = render_person(target_person, self.height, self.width, garment=garment)
            flow = correspondence(dressed, origin, garment)
            kind = None
        elif category == "lower":
            bottom = source_person.bottom
            dressed = render_person(target_person, self.height, self.width, bottom=bottom)
            flow = correspondence(
                dressed, origin, None, locate=lambda f, *a: bottom_point(f, bottom, *a), panels=BOTTOM_PANELS
            )
            kind = bottom.kind
        else:
            dress = source_person.dress
            dressed = render_person(target_person, self.height, self.width, dress=dress)
            flow = correspondence(
                dressed, origin, None, locate=lambda f, *a: dress_point(f, dress, *a), panels=DRESS_PANELS
            )
            kind = None
        return RawTransfer(*ids, dressed.image, dressed.parse, flow, parts=person_parts(dressed, category, kind))

    def transfer_pairs(self, split: str, count: int, per_target: int, category: str = "upper") -> list[tuple[int, int]]:
        """``(source, target)`` index pairs: each target gets ``per_target`` distinct other sources of the split and
        category.

        The sources of target ``i`` depend on ``(seed, split, category, i, count)`` only.
        """
        if per_target <= 0:
            return []
        if count < 2:
            raise ValueError(f"transfer pairs need at least 2 samples in split {split!r}, got {count}")
        stream = (PAIR_STREAM,) if category == "upper" else (PAIR_STREAM, CATEGORY_CODES[category])
        pairs = []
        for target in range(count):
            offsets = self._rng(split, *stream, target).choice(count - 1, min(per_target, count - 1), False)
            pairs.extend(((target + 1 + int(k)) % count, target) for k in sorted(offsets))
        return pairs
