"""The VITON 256 x 192 pack (PF-AFN / ACGPN / FS-VTON layout): export from the canonical layout, and raw read.

::

    <out>/meta.json                          format "viton", source, sample count, size
    <out>/<split>_img/<id>_0.jpg             person RGB
    <out>/<split>_color/<id>_1.jpg           in-shop garment RGB on white
    <out>/<split>_edge/<id>_1.jpg            filled garment mask, grey JPEG (read back with threshold 128)
    <out>/<split>_label/<id>_0.png           grey PNG of ACGPN-14 ids
    <out>/<split>_densepose/<id>_0.npy       (H, W) uint8 DensePose part index I (0..24), no U / V
    <out>/<split>_pairs.txt                  "<id>_0.jpg <id>_1.jpg" (paired)

The exporter resizes every sample to ``size`` (256 x 192 by default): bilinear (antialiased when shrinking) for
images, nearest for labels and part indices, and bilinear then re-threshold at 128 for the garment mask.

Labels: CIHP -> ACGPN-14 through ``CIHP_TO_ACGPN``. Lossy (no inverse): hat merges into hair; dress and coat into
upper clothes; glove, socks and scarf into noise (7); skirt into bottom (8) with pants; sunglasses and torso skin /
neck into face (12), since ACGPN has no neck class and VITON's LIP parsing labels the neck as face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from garment_transfer.data import io
from garment_transfer.data.formats import _common, canonical
from garment_transfer.data.labels import CIHP, DENSEPOSE_NUM_PARTS

FORMAT = "viton"
SIZE = (256, 192)
ACGPN = {
    "background": 0, "hair": 1, "upper_clothes": 4, "left_shoe": 5, "right_shoe": 6, "noise": 7, "bottom": 8,
    "left_leg": 9, "right_leg": 10, "left_arm": 11, "face": 12, "right_arm": 13,
}
_CIHP_TO_ACGPN_NAMES = {
    "background": "background", "hat": "hair", "hair": "hair", "glove": "noise", "sunglasses": "face",
    "upper_clothes": "upper_clothes", "dress": "upper_clothes", "coat": "upper_clothes", "socks": "noise",
    "pants": "bottom", "torso_skin": "face", "scarf": "noise", "skirt": "bottom", "face": "face",
    "left_arm": "left_arm", "right_arm": "right_arm", "left_leg": "left_leg", "right_leg": "right_leg",
    "left_shoe": "left_shoe", "right_shoe": "right_shoe",
}
CIHP_TO_ACGPN = {CIHP[src]: ACGPN[dst] for src, dst in _CIHP_TO_ACGPN_NAMES.items()}
LOSSY_CIHP = frozenset(
    CIHP[name] for name in ("hat", "glove", "sunglasses", "dress", "coat", "socks", "torso_skin", "scarf", "skirt")
)

# key -> (folder suffix, file suffix)
_FILES = {
    "image": ("img", "_0.jpg"), "cloth": ("color", "_1.jpg"), "cloth_mask": ("edge", "_1.jpg"),
    "labels": ("label", "_0.png"), "parts": ("densepose", "_0.npy"),
}


@dataclass(frozen=True)
class VitonSample:
    """One VITON sample as stored: ``image`` and ``cloth`` (H, W, 3) uint8, ``cloth_mask`` (H, W) uint8 0 / 255,
    ``labels`` (H, W) ACGPN-14 ids, ``parts`` (H, W) DensePose I in 0..24."""

    id: str
    image: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    labels: np.ndarray
    parts: np.ndarray


def sample_paths(root: str | Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's file paths keyed "image", "cloth", "cloth_mask", "labels", "parts"."""
    _common.check_split(split)
    return {key: Path(root) / f"{split}_{folder}" / f"{sample_id}{suffix}" for key, (folder, suffix) in _FILES.items()}


def pairs_path(root: str | Path, split: str) -> Path:
    return Path(root) / f"{_common.check_split(split)}_pairs.txt"


def list_viton_ids(root: str | Path, split: str) -> list[str]:
    """The person ids of ``split`` from ``<split>_pairs.txt``, in file order."""
    return _common.ids_from_pairs(pairs_path(root, split), suffix=_FILES["image"][1])


def read_viton_sample(root: str | Path, split: str, sample_id: str) -> VitonSample:
    """Read one sample's files as stored (see module docstring), all checked to share the person image's size.

    Raises:
        FileNotFoundError: naming a missing file.
        ValueError: naming a file that is unreadable, wrongly sized or holds invalid ids.
    """
    path = sample_paths(root, split, sample_id)
    image = io.read_image(path["image"], "RGB")
    arrays = {
        "cloth": io.read_image(path["cloth"], "RGB"),
        "cloth_mask": _common.binarize(io.read_image(path["cloth_mask"], "L")),
        "labels": _common.read_index_map(path["labels"], ACGPN.values(), "ACGPN-14 label ids"),
        "parts": _common.check_ids(
            path["parts"], _common.read_npy(path["parts"]), range(DENSEPOSE_NUM_PARTS), "DensePose part indices"
        ),
    }
    for key, array in arrays.items():
        _common.check_size(path[key], array, image.shape[:2])
    return VitonSample(id=sample_id, image=image, **arrays)


def write_viton_sample(
    out_root: str | Path, split: str, sample: canonical.RawSample, size: tuple[int, int] = SIZE
) -> None:
    """Resize one canonical sample to ``size`` = (H, W) and write its files (folders must exist); person last."""
    path = sample_paths(out_root, split, sample.id)
    mask = _common.binarize(io.resize(sample.cloth_mask, size, nearest=False))
    labels = _common.map_labels(sample.parse, CIHP_TO_ACGPN, f"CIHP parsing of {sample.id}")
    io.write_jpeg(path["cloth"], io.resize(sample.cloth, size, nearest=False))
    io.write_jpeg(path["cloth_mask"], mask)
    io.write_png(path["labels"], io.resize(labels, size, nearest=True))
    io.write_npy(path["parts"], io.resize(np.ascontiguousarray(sample.iuv[..., 0]), size, nearest=True))
    io.write_jpeg(path["image"], io.resize(sample.image, size, nearest=False))


def export_viton(canonical_root: str | Path, out_root: str | Path, size: tuple[int, int] = SIZE) -> int:
    """Write a canonical data set (both splits) in the VITON layout at ``size`` = (H, W).

    ``out_root`` must be absent, empty, or a previous VITON export (its files are overwritten, stale extra ones are
    not removed). Output is deterministic.

    Returns:
        The number of samples written.
    """
    size = tuple(size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) with positive entries, got {size}")
    splits = _common.canonical_splits(canonical_root)
    count = sum(map(len, splits.values()))
    _common.claim_export_dir(out_root, FORMAT)
    meta = {"format": FORMAT, "size": list(size), **_common.source_record(canonical_root, count)}
    io.atomic_write_json(Path(out_root) / _common.META_NAME, meta)
    for split, ids in splits.items():
        for folder, _ in _FILES.values():
            (Path(out_root) / f"{split}_{folder}").mkdir(exist_ok=True)
        for sample_id in ids:
            write_viton_sample(out_root, split, canonical.read_sample(canonical_root, split, sample_id), size)
        lines = [f"{sample_id}{_FILES['image'][1]} {sample_id}{_FILES['cloth'][1]}" for sample_id in ids]
        _common.write_lines(pairs_path(out_root, split), lines)
    return count
