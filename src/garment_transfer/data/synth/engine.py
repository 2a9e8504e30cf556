"""The synthetic engine's sample-level interface: sample ``i`` of a split and true transfers between samples.

Sample ``i`` of a split depends only on ``(seed, split, i)`` and the engine version: its random generator is
seeded with ``SeedSequence([seed, SPLIT_CODES[split], i])``. So generation parallelises, resumes, and grows
without changing earlier samples.
"""

from __future__ import annotations

import numpy as np

from garment_transfer.data.formats.canonical import RawSample, RawTransfer
from garment_transfer.data.samples import check_size
from garment_transfer.data.synth.params import EngineConfig, Person, sample_person
from garment_transfer.data.synth.render import Rendering, correspondence, render_person, render_shop

SPLIT_CODES = {"train": 0, "test": 1}
PAIR_STREAM = 1_000_003  # keeps the pair draws apart from the sample draws
def sample_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


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

    def person(self, split: str, index: int) -> Person:
        return sample_person(self._rng(split, index), self.config)

    def render(self, split: str, index: int) -> Rendering:
        return render_person(self.person(split, index), self.height, self.width)

    def sample(self, split: str, index: int) -> RawSample:
        """Sample ``index`` of ``split``: person, parsing, DensePose and its garment laid flat."""
        person = self.person(split, index)
        rendering = render_person(person, self.height, self.width)
        cloth, cloth_mask, _ = render_shop(person.garment, self.height, self.width)
        return RawSample(sample_id(split, index), rendering.image, rendering.parse, rendering.iuv, cloth, cloth_mask)

    def transfer(self, split: str, source: int, target: int) -> RawTransfer:
        """The true transfer ``I_{t<-s}``: target ``target`` in the pose and scene of its own sample, wearing the
        upper garment of sample ``source``; with the correspondence of each garment pixel to the source image."""
        source_person, target_person = self.person(split, source), self.person(split, target)
        garment = source_person.garment
        dressed = render_person(target_person, self.height, self.width, garment=garment)
        origin = render_person(source_person, self.height, self.width)
        flow = correspondence(dressed, origin, garment)
        return RawTransfer(sample_id(split, source), sample_id(split, target), dressed.image, dressed.parse, flow)

    def transfer_pairs(self, split: str, count: int, per_target: int) -> list[tuple[int, int]]:
        """``(source, target)`` index pairs: each target gets ``per_target`` distinct other sources of the split.

        The sources of target ``i`` depend on ``(seed, split, i, count)`` only.
        """
        if per_target <= 0:
            return []
        if count < 2:
            raise ValueError(f"transfer pairs need at least 2 samples in split {split!r}, got {count}")
        pairs = []
        for target in range(count):
            offsets = self._rng(split, PAIR_STREAM, target).choice(count - 1, min(per_target, count - 1), False)
            pairs.extend(((target + 1 + int(k)) % count, target) for k in sorted(offsets))
        return pairs
