"""The DressCode layout: export from the canonical layout, and raw read of one sample.

::

    <out>/meta.json                                  format "dresscode", source and sample count per category
    <out>/<category>/images/<id>_0.jpg               person RGB
    <out>/<category>/images/<id>_1.jpg               in-shop garment RGB on white
    <out>/<category>/masks/<id>_1.png                garment mask 0 / 255 (project addition, see below)
    <out>/<category>/label_maps/<id>_4.png           grey PNG of ATR-18 ids
    <out>/<category>/dense/<id>_5.png                grey PNG of the DensePose part index I (0..24)
    <out>/<category>/dense/<id>_5_uv.npz             key "uv": (2, H, W) float32 in [0, 1], rows U then V
    <out>/<category>/train_pairs.txt                 "<id>_0.jpg <id>_1.jpg" (paired)
    <out>/<category>/test_pairs_paired.txt           paired
    <out>/<category>/test_pairs_unpaired.txt         each test person with the next test person's garment (cyclic)

DressCode keeps both splits in one folder, so sample ids must differ across splits (canonical ids carry the split).
The category only names the folder: the canonical in-shop garment is exported as it is. Images keep their size.

Garment mask: DressCode ships none. The exporter writes ``masks/<id>_1.png`` (a project addition) so that exported
data round-trips exactly; the loader uses it when present and otherwise recovers the mask from the white background
(``_common.mask_from_white``: all channels >= 240, connected to the border), as a real DressCode copy needs.

Labels: CIHP -> ATR-18 through ``CIHP_TO_ATR``. Lossy (no inverse): glove and socks become background (ATR has no
such class), coat merges into upper-clothes, and torso skin / neck becomes head, as DressCode codes the neck.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from garment_transfer.data import io
from garment_transfer.data.formats import _common, canonical
from garment_transfer.data.labels import CIHP, DENSEPOSE_NUM_PARTS

FORMAT = "dresscode"
CATEGORIES = ("upper_body", "lower_body", "dresses")
ATR = {
    "background": 0, "hat": 1, "hair": 2, "sunglasses": 3, "upper_clothes": 4, "skirt": 5, "pants": 6, "dress": 7,
    "belt": 8, "left_shoe": 9, "right_shoe": 10, "head": 11, "left_leg": 12, "right_leg": 13, "left_arm": 14,
    "right_arm": 15, "bag": 16, "scarf": 17,
}
_CIHP_TO_ATR_NAMES = {
    "background": "background", "hat": "hat", "hair": "hair", "glove": "background", "sunglasses": "sunglasses",
    "upper_clothes": "upper_clothes", "dress": "dress", "coat": "upper_clothes", "socks": "background",
    "pants": "pants", "torso_skin": "head", "scarf": "scarf", "skirt": "skirt", "face": "head",
    "left_arm": "left_arm", "right_arm": "right_arm", "left_leg": "left_leg", "right_leg": "right_leg",
    "left_shoe": "left_shoe", "right_shoe": "right_shoe",
}
CIHP_TO_ATR = {CIHP[src]: ATR[dst] for src, dst in _CIHP_TO_ATR_NAMES.items()}
LOSSY_CIHP = frozenset(CIHP[name] for name in ("glove", "socks", "coat", "torso_skin"))

# file name suffixes after "<id>"
_PERSON, _CLOTH, _MASK, _LABELS, _PARTS, _UV = "_0.jpg", "_1.jpg", "_1.png", "_4.png", "_5.png", "_5_uv.npz"
_FOLDERS = {_PERSON: "images", _CLOTH: "images", _MASK: "masks", _LABELS: "label_maps", _PARTS: "dense", _UV: "dense"}


@dataclass(frozen=True)
class DressCodeSample:
    """One DressCode sample as stored: ``image`` (H, W, 3) uint8, ``cloth`` (Hc, Wc, 3) uint8 on white,
    ``cloth_mask`` (Hc, Wc) uint8 0 / 255, ``labels`` (H, W) ATR-18 ids, ``parts`` (H, W) DensePose I in 0..24,
    ``uv`` (2, H, W) float32 in [0, 1] (U, V)."""

    id: str
    image: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    labels: np.ndarray
    parts: np.ndarray
    uv: np.ndarray


def category_dir(root: str | Path, category: str = "upper_body") -> Path:
    if category not in CATEGORIES:
        raise ValueError(f"DressCode category must be one of {CATEGORIES}, got {category!r}")
    return Path(root) / category


def sample_paths(root: str | Path, sample_id: str, category: str = "upper_body") -> dict[str, Path]:
    """A sample's file paths keyed by suffix: "_0.jpg", "_1.jpg", "_1.png", "_4.png", "_5.png", "_5_uv.npz"."""
    base = category_dir(root, category)
    return {suffix: base / folder / f"{sample_id}{suffix}" for suffix, folder in _FOLDERS.items()}


def pairs_path(root: str | Path, split: str, category: str = "upper_body", paired: bool = True) -> Path:
    """``train_pairs.txt`` (train is always paired), ``test_pairs_paired.txt`` or ``test_pairs_unpaired.txt``."""
    if _common.check_split(split) == "train":
        return category_dir(root, category) / "train_pairs.txt"
    return category_dir(root, category) / f"test_pairs_{'paired' if paired else 'unpaired'}.txt"


def list_dresscode_ids(root: str | Path, split: str, category: str = "upper_body") -> list[str]:
    """The person ids of ``split`` from its paired pairs file, in file order."""
    return _common.ids_from_pairs(pairs_path(root, split, category), suffix=_PERSON)


def read_dresscode_sample(root: str | Path, sample_id: str, category: str = "upper_body") -> DressCodeSample:
    """Read one sample's files as stored (see module docstring); ``uv`` stored as uint8 is scaled by 1 / 255.

    Raises:
        FileNotFoundError: naming a missing file.
        ValueError: naming a file that is unreadable, wrongly sized or holds out-of-range ids.
    """
    path = sample_paths(root, sample_id, category)
    image = io.read_image(path[_PERSON], "RGB")
    size = image.shape[:2]
    labels = _common.read_index_map(path[_LABELS], ATR.values(), "ATR-18 label ids")
    parts = _common.read_index_map(path[_PARTS], range(DENSEPOSE_NUM_PARTS), "DensePose part indices")
    cloth = io.read_image(path[_CLOTH], "RGB")
    return DressCodeSample(
        id=sample_id,
        image=image,
        cloth=cloth,
        cloth_mask=_common.check_size(path[_MASK], _read_cloth_mask(path[_MASK], cloth), cloth.shape[:2]),
        labels=_common.check_size(path[_LABELS], labels, size),
        parts=_common.check_size(path[_PARTS], parts, size),
        uv=_read_uv(path[_UV], size),
    )


def _read_cloth_mask(mask_path: Path, cloth: np.ndarray) -> np.ndarray:
    """The exported mask when present, else the mask recovered from the white background of ``cloth``."""
    if mask_path.is_file():
        return _common.binarize(io.read_image(mask_path, "L"))
    return _common.mask_from_white(cloth)


def _read_uv(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Read ``<id>_5_uv.npz`` key "uv" as (2, H, W) float32 in [0, 1], from float or uint8 storage."""
    uv = _common.read_npz_key(path, "uv")
    if uv.shape != (2, *size):
        raise ValueError(f"{path}: 'uv' must have shape (2, {size[0]}, {size[1]}), got {uv.shape}")
    if uv.dtype == np.uint8:
        return uv.astype(np.float32) / 255.0
    if not np.issubdtype(uv.dtype, np.floating) or uv.min() < 0.0 or uv.max() > 1.0:
        raise ValueError(f"{path}: 'uv' must be uint8 or float in [0, 1], got {uv.dtype} {uv.min()}..{uv.max()}")
    return uv.astype(np.float32)


def write_dresscode_sample(out_root: str | Path, sample: canonical.RawSample, category: str = "upper_body") -> None:
    """Write one canonical sample's DressCode files (folders must exist); the person image goes last."""
    path = sample_paths(out_root, sample.id, category)
    io.write_jpeg(path[_CLOTH], sample.cloth)
    io.write_png(path[_MASK], sample.cloth_mask)
    io.write_png(path[_LABELS], _common.map_labels(sample.parse, CIHP_TO_ATR, f"CIHP parsing of {sample.id}"))
    io.write_png(path[_PARTS], np.ascontiguousarray(sample.iuv[..., 0]))
    io.write_npz(path[_UV], uv=np.moveaxis(sample.iuv[..., 1:], -1, 0).astype(np.float32) / 255.0)
    io.write_jpeg(path[_PERSON], sample.image)


def _pair_lines(persons: list[str], cloths: list[str]) -> list[str]:
    return [f"{person}{_PERSON} {cloth}{_CLOTH}" for person, cloth in zip(persons, cloths)]


def export_dresscode(canonical_root: str | Path, out_root: str | Path, category: str = "upper_body") -> int:
    """Write a canonical data set (both splits) in the DressCode layout under ``out_root / category``.

    ``out_root`` must be absent, empty, or a previous DressCode export (other categories are kept; files of this
    category are overwritten, stale extra ones are not removed). Output is deterministic.

    Returns:
        The number of samples written.
    """
    base = category_dir(out_root, category)
    splits = _common.canonical_splits(canonical_root)
    _check_disjoint(canonical_root, splits)
    count = sum(map(len, splits.values()))
    exports = _common.claim_export_dir(out_root, FORMAT).get("exports", {})
    exports[category] = _common.source_record(canonical_root, count)
    io.atomic_write_json(Path(out_root) / _common.META_NAME, {"format": FORMAT, "exports": exports})
    for folder in sorted(set(_FOLDERS.values())):
        (base / folder).mkdir(parents=True, exist_ok=True)
    for split, ids in splits.items():
        for sample_id in ids:
            write_dresscode_sample(out_root, canonical.read_sample(canonical_root, split, sample_id), category)
        _common.write_lines(pairs_path(out_root, split, category), _pair_lines(ids, ids))
        if split == "test":
            shifted = ids[1:] + ids[:1]
            _common.write_lines(pairs_path(out_root, split, category, paired=False), _pair_lines(ids, shifted))
    return count


def _check_disjoint(canonical_root: str | Path, splits: dict[str, list[str]]) -> None:
    """DressCode keeps both splits in one folder: refuse ids that occur in more than one split."""
    shared = set.intersection(*map(set, splits.values())) if len(splits) > 1 else set()
    if shared:
        raise ValueError(f"{canonical_root}: ids {sorted(shared)[:5]} occur in both splits; DressCode needs unique ids")
