"""Random augmentations moving several aligned arrays together (the self-supervised baselines of arXiv 2401.12433,
Figs. 8-9 and Table 3).

One call draws one geometric transform (horizontal flip, affine, crop resized back to full size) and applies it to
every array; photometric jitter touches ``image`` arrays only. Kinds and their handling:

- ``image``: (H, W, 3) uint8; bilinear; border *replicated* (people's backgrounds are coloured, a constant would
  paint a frame); then colour jitter (one draw shared by all images of the call).
- ``mask``, ``labels``: (H, W) uint8; nearest; border 0 (background).
- ``densepose_index``: (H, W) uint8 DensePose part indices 0..24; nearest; border 0; a flip remaps ids through
  ``densepose.FLIP_INDEX``.
- ``garment_parts``: (H, W) uint8 garment part ids (``labels.GARMENT_PARTS``); nearest; border 0; a flip remaps ids
  through ``labels.FLIP_GARMENT_PARTS``.
- ``uv``: (2, H, W) float32 in [0, 1]; nearest; border 0; values unchanged.

Albumentations applies one border mode to images and masks alike, so images and the other kinds run through two
pipelines whose geometric transforms sit at the same positions and get the same per-call seeds; their draws depend
on (H, W) only, hence both pipelines draw the same geometry. The flip is done here (``np.flip``) so that part ids can
be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import albumentations as A
import cv2
import numpy as np

from garment_transfer.data.densepose import FLIP_INDEX
from garment_transfer.data.labels import FLIP_GARMENT_PARTS

KINDS = ("image", "mask", "labels", "densepose_index", "garment_parts", "uv")
_DTYPES = {
    "image": np.uint8,
    "mask": np.uint8,
    "labels": np.uint8,
    "densepose_index": np.uint8,
    "garment_parts": np.uint8,
    "uv": np.float32,
}
_FLIPPED_IDS = {"densepose_index": FLIP_INDEX, "garment_parts": FLIP_GARMENT_PARTS}  # ids that swap sides in a flip


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges; ``translate`` is a fraction of width / height, ``crop_scale`` an area fraction."""

    affine_p: float = 0.0
    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.05
    crop_p: float = 0.0
    crop_scale: tuple[float, float] = (0.7, 1.0)
    flip_p: float = 0.0
    color_p: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.03


_AFFINE = AugmentConfig(affine_p=1.0)
PRESETS: dict[str, AugmentConfig] = {
    "none": AugmentConfig(),
    "affine": _AFFINE,
    "affine_crop": replace(_AFFINE, crop_p=0.5),
    "affine_crop_flip": replace(_AFFINE, crop_p=0.5, flip_p=0.5),
    "photometric": AugmentConfig(color_p=0.8),
}


def augment_config(spec: str | dict | AugmentConfig | None) -> AugmentConfig:
    """A preset name, a dict of ``AugmentConfig`` fields, a config, or None (= ``"none"``) -> ``AugmentConfig``."""
    if spec is None:
        return PRESETS["none"]
    if isinstance(spec, AugmentConfig):
        return spec
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"augmentation preset {spec!r}: choose one of {tuple(PRESETS)}")
        return PRESETS[spec]
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {f.name for f in fields(AugmentConfig)})
        if unknown:
            raise ValueError(f"augmentation config: unknown keys {unknown}")
        return AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
    raise ValueError(f"augmentation config: expected a preset name, dict or AugmentConfig, got {type(spec).__name__}")


def _check(arrays: dict[str, np.ndarray], kinds: dict[str, str]) -> None:
    """Raise ValueError naming the array when names, kinds, dtypes or shapes disagree."""
    unmatched = sorted(set(arrays) ^ set(kinds))
    if unmatched:
        name = unmatched[0]
        raise ValueError(f"array {name!r}: {'no kind given' if name in arrays else 'kind given but no array'}")
    size = None
    for name, array in arrays.items():
        kind = kinds[name]
        if kind not in KINDS:
            raise ValueError(f"array {name!r}: unknown kind {kind!r}, choose one of {KINDS}")
        want = {"image": "(H, W, 3)", "uv": "(2, H, W)"}.get(kind, "(H, W)")
        ok = {"image": array.ndim == 3 and array.shape[-1] == 3, "uv": array.ndim == 3 and array.shape[0] == 2}
        if not ok.get(kind, array.ndim == 2):
            raise ValueError(f"array {name!r} ({kind}): expected shape {want}, got {array.shape}")
        if array.dtype != _DTYPES[kind]:
            raise ValueError(f"array {name!r} ({kind}): expected dtype {np.dtype(_DTYPES[kind])}, got {array.dtype}")
        hw = array.shape[-2:] if kind == "uv" else array.shape[:2]
        if size is not None and hw != size:
            raise ValueError(f"array {name!r}: size {hw} differs from the other arrays' {size}")
        size = hw


def _flip(array: np.ndarray, kind: str, name: str) -> np.ndarray:
    """Mirror left-right (the W axis of any kind); DensePose part indices and garment part ids swap sides
    (``_FLIPPED_IDS``)."""
    if kind not in _FLIPPED_IDS:
        return np.flip(array, axis=1 if kind == "image" else -1)
    table = _FLIPPED_IDS[kind]
    if array.max(initial=0) >= len(table):
        raise ValueError(f"array {name!r} ({kind}): part id {int(array.max())} outside 0..{len(table) - 1}")
    return table[array[:, ::-1]]


class Augmenter:
    """Apply one random geometric transform to a set of aligned arrays, and colour jitter to the images."""

    def __init__(self, config: str | dict | AugmentConfig | None):
        self.config = augment_config(config)
        self._pipelines: dict[tuple, A.Compose] = {}

    @property
    def active(self) -> bool:
        c = self.config
        return max(c.affine_p, c.crop_p, c.flip_p, c.color_p) > 0

    def _pipeline(self, images: bool, count: int, height: int, width: int) -> A.Compose:
        """Cached pipeline for ``count`` targets named ``t0..``; the geometric part is the same for both branches."""
        key = (images, count, height, width)
        if key not in self._pipelines:
            c = self.config
            steps = []
            if c.affine_p > 0:
                steps.append(
                    A.Affine(
                        scale=c.scale,
                        translate_percent=(-c.translate, c.translate),
                        rotate=(-c.rotate_deg, c.rotate_deg),
                        shear=0,
                        interpolation=cv2.INTER_LINEAR,
                        mask_interpolation=cv2.INTER_NEAREST,
                        fill=0,
                        fill_mask=0,
                        p=c.affine_p,
                        border_mode=cv2.BORDER_REPLICATE if images else cv2.BORDER_CONSTANT,
                    )
                )
            if c.crop_p > 0:
                ratio = width / height  # keep the aspect ratio, so that resizing back does not stretch
                steps.append(
                    A.RandomResizedCrop(
                        size=(height, width),
                        scale=c.crop_scale,
                        ratio=(ratio, ratio),
                        interpolation=cv2.INTER_LINEAR,
                        mask_interpolation=cv2.INTER_NEAREST,
                        p=c.crop_p,
                    )
                )
            if images and c.color_p > 0:  # last: geometric positions match the other branch
                steps.append(
                    A.ColorJitter(
                        brightness=c.brightness, contrast=c.contrast, saturation=c.saturation, hue=c.hue, p=c.color_p
                    )
                )
            targets = {f"t{i}": "image" if images else "mask" for i in range(int(images), count)}
            self._pipelines[key] = A.Compose(steps, additional_targets=targets)
        return self._pipelines[key]

    def _run(self, arrays: dict[str, np.ndarray], images: bool, size: tuple[int, int], seeds: list[int]) -> dict:
        """Run one branch (images, or everything else); the k-th transform is seeded by ``seeds[k]``.

        Albumentations reads the size from its ``image`` key: the image branch passes its first image there, the
        other branch a (H, W) dummy.
        """
        pipeline = self._pipeline(images, len(arrays), *size) if arrays else None
        if pipeline is None or not pipeline.transforms:
            return arrays
        pipeline.set_random_seed(seeds[0])
        for transform, seed in zip(pipeline.transforms, seeds):  # independent draws per transform
            transform.set_random_seed(seed)
        keys = [f"t{i}" for i in range(len(arrays))]
        keys[0] = "image" if images else keys[0]
        dummy = {} if images else {"image": np.zeros(size, np.uint8)}
        out = pipeline(**dummy, **dict(zip(keys, arrays.values())))
        return {name: out[key] for name, key in zip(arrays, keys)}

    def __call__(self, arrays: dict[str, np.ndarray], kinds: dict[str, str], seed: int) -> dict[str, np.ndarray]:
        """Augment aligned arrays; same ``seed`` and inputs -> identical outputs.

        Args:
            arrays: name -> array, shapes and dtypes as the module docstring gives for its kind; one (H, W).
            kinds: name -> one of ``KINDS``, for the same names.
            seed: drives every random draw of the call.

        Returns:
            name -> augmented array, same shape and dtype as the input.
        """
        _check(arrays, kinds)
        if not self.active or not arrays:
            return dict(arrays)
        rng = np.random.default_rng(seed)
        flip = bool(rng.random() < self.config.flip_p)
        seeds = [int(s) for s in rng.integers(2**31, size=3)]
        work = {n: _flip(a, kinds[n], n) if flip else a for n, a in arrays.items()}
        work = {n: np.ascontiguousarray(np.moveaxis(a, 0, -1) if kinds[n] == "uv" else a) for n, a in work.items()}
        size = next(iter(work.values())).shape[:2]
        out = self._run({n: a for n, a in work.items() if kinds[n] == "image"}, True, size, seeds)
        out |= self._run({n: a for n, a in work.items() if kinds[n] != "image"}, False, size, seeds)
        return {n: np.ascontiguousarray(np.moveaxis(out[n], -1, 0)) if kinds[n] == "uv" else out[n] for n in arrays}
