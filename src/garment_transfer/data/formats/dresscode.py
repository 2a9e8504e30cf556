"""The DressCode layout (aimagelab/dress-code): raw read of one sample, its reader (:class:`DressCodeReader`), its
detection rule (category folders with ``images/``), and export from the canonical layout.

::

    <root>/meta.json                                 (exports only) format "dresscode", source per category
    <root>/<category>/images/<id>_0.jpg              person RGB           category = upper_body | lower_body | dresses
    <root>/<category>/images/<id>_1.jpg              in-shop garment RGB (real backgrounds are not clean white)
    <root>/<category>/masks/<id>_1.png               garment mask 0 / 255: not in DressCode; LaDI-VTON distributes
                                                     these, and the exporter writes them
    <root>/<category>/label_maps/<id>_4.png          grey / palette PNG of ATR-18 ids
    <root>/<category>/dense/<id>_5.png               grey PNG of the DensePose part index I (0..24)
    <root>/<category>/dense/<id>_5_uv.npz            key "uv": (2, h, w) (or (h, w, 2)) float in [0, 1] or uint8
    <root>/<category>/keypoints/<id>_2.json          "keypoints": 18 x [x, y, score, id] in a 384 x 512 frame
    <root>/<category>/skeletons/<id>_5.jpg           rendered skeleton (not read)
    <root>/<category>/train_pairs.txt                "<id>_0.jpg <id>_1.jpg" (paired); tabs or spaces, the last
    <root>/<category>/test_pairs_paired.txt          line may lack its newline
    <root>/<category>/test_pairs_unpaired.txt        the official unpaired test list

DressCode keeps both splits in one folder, so sample ids must differ across splits (canonical ids carry the split).
The garment class follows the category (:data:`GARMENT`): ``lower_body`` garments are the lower garment class. The
exporter writes each canonical sample under its own category (the synthetic set's per-category lists; a set without
them is all ``upper_body``), or every sample under one category when it is given one. Images keep their size. Where
the canonical set has keypoints (BODY_25), it writes them as DressCode does: COCO-18 in the 384 x 512 frame, and the
skeleton as ``skeletons/<id>_5.jpg``. The DensePose maps may be stored at another resolution than the photo (same
aspect ratio): they are resized, nearest.

Garment mask: ``masks/<id>_1.png`` when present; otherwise recovered from the cloth's background
(``base.mask_from_background``: the border's colour, with a tolerance from its spread) and refused when it covers
more than 90 % of the image, which a non-uniform background gives.

Labels: CIHP -> ATR-18 through ``CIHP_TO_ATR``. Lossy (no inverse): glove and socks become background (ATR has no
such class), coat merges into upper-clothes, and torso skin / neck becomes head, as DressCode codes the neck.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from garment_transfer.data import densepose, io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.base import (
    Detection,
    PairList,
    RawPerson,
    Reader,
    binarize,
    check_recovered_mask,
    check_size,
    check_split,
    fit_to,
    ids_from_pairs,
    mask_from_background,
    read_ids,
    read_index_map,
    read_photo,
)
from garment_transfer.data.formats.export import (
    META_NAME,
    Source,
    canonical_splits,
    claim_export_dir,
    map_labels,
    source_record,
    write_lines,
)
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines
from garment_transfer.data.keypoints import (
    DRESSCODE_FRAME,
    dresscode_document,
    read_dresscode_keypoints,
    skeleton_picture,
    to_coco18,
)
from garment_transfer.data.labels import CIHP

FORMAT = "dresscode"
ALIASES = ()
LOOKS_FOR = "DressCode's <category>/images/"  # what detection looks for, in words
CATEGORIES = ("upper_body", "lower_body", "dresses")
ATR = {
    "background": 0,
    "hat": 1,
    "hair": 2,
    "sunglasses": 3,
    "upper_clothes": 4,
    "skirt": 5,
    "pants": 6,
    "dress": 7,
    "belt": 8,
    "left_shoe": 9,
    "right_shoe": 10,
    "head": 11,
    "left_leg": 12,
    "right_leg": 13,
    "left_arm": 14,
    "right_arm": 15,
    "bag": 16,
    "scarf": 17,
}
_CIHP_TO_ATR_NAMES = {
    "background": "background",
    "hat": "hat",
    "hair": "hair",
    "glove": "background",
    "sunglasses": "sunglasses",
    "upper_clothes": "upper_clothes",
    "dress": "dress",
    "coat": "upper_clothes",
    "socks": "background",
    "pants": "pants",
    "torso_skin": "head",
    "scarf": "scarf",
    "skirt": "skirt",
    "face": "head",
    "left_arm": "left_arm",
    "right_arm": "right_arm",
    "left_leg": "left_leg",
    "right_leg": "right_leg",
    "left_shoe": "left_shoe",
    "right_shoe": "right_shoe",
}
CIHP_TO_ATR = {CIHP[src]: ATR[dst] for src, dst in _CIHP_TO_ATR_NAMES.items()}
LOSSY_CIHP = frozenset(CIHP[name] for name in ("glove", "socks", "coat", "torso_skin"))

# file name suffixes after "<id>"
_PERSON, _CLOTH, _MASK, _LABELS, _DENSEPOSE, _UV = "_0.jpg", "_1.jpg", "_1.png", "_4.png", "_5.png", "_5_uv.npz"
_KEYPOINTS, _SKELETON = "_2.json", "_5.jpg"
_FOLDERS = {
    _PERSON: "images",
    _CLOTH: "images",
    _MASK: "masks",
    _LABELS: "label_maps",
    _DENSEPOSE: "dense",
    _UV: "dense",
    _KEYPOINTS: "keypoints",
    _SKELETON: "skeletons",
}
GARMENT = {"upper_body": "upper", "lower_body": "lower", "dresses": "dresses"}  # the garment class of a category
MASK_HINT = "add LaDI-VTON's masks/<id>_1.png (DressCode ships no cloth masks)"


@dataclass(frozen=True)
class DressCodeSample:
    """One DressCode sample as stored: ``image`` (H, W, 3) uint8, ``cloth`` (Hc, Wc, 3) uint8, ``cloth_mask``
    (Hc, Wc) uint8 0 / 255 (``masks/<id>_1.png``, else recovered from the background: ``mask_source``),
    ``labels`` (H, W) ATR-18 ids, ``densepose_index`` (H, W) DensePose I in 0..24 and ``uv`` (2, H, W) float32 in [0, 1]
    (both resized to the photo's size when stored at another resolution of the same aspect ratio), ``keypoints``
    (18, 3) in DressCode's 384 x 512 frame or None without a ``keypoints`` folder."""

    id: str
    image: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    labels: np.ndarray
    densepose_index: np.ndarray
    uv: np.ndarray
    keypoints: np.ndarray | None = None
    mask_source: str = "file"


def category_dir(root: str | Path, category: str = "upper_body") -> Path:
    if category not in CATEGORIES:
        raise ValueError(f"DressCode category must be one of {CATEGORIES}, got {category!r}")
    return Path(root) / category


def categories(spec: str | list | tuple = "upper_body") -> list[str]:
    """A category option -> the categories read: one name, a list of names, or ``"all"`` (every category)."""
    names = list(CATEGORIES) if spec == "all" else [spec] if isinstance(spec, str) else list(spec)
    if not names:
        raise ValueError("DressCode category: give at least one of " + ", ".join(CATEGORIES) + " (or all)")
    for name in names:
        category_dir(".", name)  # validates
    if len(set(names)) != len(names):
        raise ValueError(f"DressCode category: {names} names a category twice")
    return names


def sample_paths(root: str | Path, sample_id: str, category: str = "upper_body") -> dict[str, Path]:
    """A sample's file paths keyed by suffix: "_0.jpg", "_1.jpg", "_1.png", "_4.png", "_5.png", "_5_uv.npz",
    "_2.json", "_5.jpg" (the skeleton, in ``skeletons/``)."""
    base = category_dir(root, category)
    return {suffix: base / folder / f"{sample_id}{suffix}" for suffix, folder in _FOLDERS.items()}


def pairs_path(root: str | Path, split: str, category: str = "upper_body", paired: bool = True) -> Path:
    """``train_pairs.txt`` (train is always paired), ``test_pairs_paired.txt`` or ``test_pairs_unpaired.txt``."""
    if check_split(split) == "train":
        return category_dir(root, category) / "train_pairs.txt"
    return category_dir(root, category) / f"test_pairs_{'paired' if paired else 'unpaired'}.txt"


def person_id(name: str) -> str:
    """``"020714_0.jpg"`` -> ``"020714"`` (and a garment's ``"020714_1.jpg"`` -> ``"020714"``)."""
    return name.rsplit("_", 1)[0]


def list_dresscode_ids(root: str | Path, split: str, category: str = "upper_body") -> list[str]:
    """The person ids of ``split``: from its paired list (the test split's unpaired list where no paired one ships),
    in file order, each once."""
    path = pairs_path(root, split, category)
    if split == "test" and not path.is_file() and pairs_path(root, split, category, paired=False).is_file():
        path = pairs_path(root, split, category, paired=False)
    return list(dict.fromkeys(ids_from_pairs(path, suffix=_PERSON)))


def read_dresscode_sample(
    root: str | Path, sample_id: str, category: str = "upper_body", warnings: list[str] | None = None
) -> DressCodeSample:
    """Read one sample's files as stored (see module docstring); ``uv`` stored as uint8 is scaled by 1 / 255.

    Raises:
        FileNotFoundError: naming a missing file.
        ValueError: naming a file that is unreadable, wrongly sized or holds out-of-range ids, or a cloth whose
            background gives no usable mask.
    """
    path = sample_paths(root, sample_id, category)
    image = read_photo(path[_PERSON], warnings)
    size = image.shape[:2]
    labels = read_index_map(path[_LABELS], ATR.values(), "ATR-18 label ids")
    index = densepose.index_from_image(read_ids(path[_DENSEPOSE], "DensePose part index"), path[_DENSEPOSE])
    cloth = read_photo(path[_CLOTH], warnings)
    mask, source = _read_cloth_mask(path[_MASK], path[_CLOTH], cloth)
    keypoints = None
    if path[_KEYPOINTS].parent.is_dir():
        keypoints = read_dresscode_keypoints(path[_KEYPOINTS])
    return DressCodeSample(
        id=sample_id,
        image=image,
        cloth=cloth,
        cloth_mask=check_size(path[_MASK] if source == "file" else path[_CLOTH], mask, cloth.shape[:2]),
        labels=check_size(path[_LABELS], labels, size),
        densepose_index=fit_to(index, path[_DENSEPOSE], size),
        uv=_read_uv(path[_UV], size),
        keypoints=keypoints,
        mask_source=source,
    )


def _read_cloth_mask(mask_path: Path, cloth_path: Path, cloth: np.ndarray) -> tuple[np.ndarray, str]:
    """LaDI-VTON's (or our exporter's) ``masks/<id>_1.png`` when present, else the mask recovered from the cloth's
    background (refused when it covers nearly the whole image)."""
    if mask_path.is_file():
        return binarize(io.read_image(mask_path, "L")), "file"
    mask = mask_from_background(cloth)
    return check_recovered_mask(mask, cloth_path, MASK_HINT), "background"


def _read_uv(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Read ``<id>_5_uv.npz`` key "uv" as (2, H, W) float32 in [0, 1] at ``size``, from float or uint8 storage.

    The array may be (2, h, w) or (h, w, 2), at ``size`` or another resolution of the same aspect ratio (resized
    nearest, as the part index is)."""
    uv = io.read_npz_key(path, "uv")
    if uv.ndim == 3 and uv.shape[-1] == 2 and uv.shape[0] != 2:
        uv = np.moveaxis(uv, -1, 0)
    if uv.ndim != 3 or uv.shape[0] != 2:
        raise ValueError(f"{path}: 'uv' must have shape (2, H, W) or (H, W, 2), got {uv.shape}")
    if uv.dtype == np.uint8:
        uv = uv.astype(np.float32) / 255.0
    elif not np.issubdtype(uv.dtype, np.floating) or not np.isfinite(uv).all() or uv.min() < 0.0 or uv.max() > 1.0:
        raise ValueError(f"{path}: 'uv' must be uint8 or finite floats in [0, 1], got {uv.dtype}")
    moved = np.ascontiguousarray(np.moveaxis(uv.astype(np.float32), 0, -1))
    return np.ascontiguousarray(np.moveaxis(fit_to(moved, path, size), -1, 0))


def write_dresscode_sample(out_root: str | Path, sample: canonical.RawSample, category: str = "upper_body") -> None:
    """Write one canonical sample's DressCode files (folders must exist; ``keypoints`` and ``skeletons`` are made
    for a sample with keypoints); the person image goes last."""
    path = sample_paths(out_root, sample.id, category)
    io.write_jpeg(path[_CLOTH], sample.cloth)
    io.write_png(path[_MASK], sample.cloth_mask)
    io.write_png(path[_LABELS], map_labels(sample.parse, CIHP_TO_ATR, f"CIHP parsing of {sample.id}"))
    io.write_png(path[_DENSEPOSE], np.ascontiguousarray(sample.iuv[..., 0]))
    io.write_npz(path[_UV], uv=np.moveaxis(sample.iuv[..., 1:], -1, 0).astype(np.float32) / 255.0)
    if sample.keypoints is not None:
        coco = to_coco18(sample.keypoints)
        for key in (_KEYPOINTS, _SKELETON):
            path[key].parent.mkdir(exist_ok=True)
        io.atomic_write_json(path[_KEYPOINTS], dresscode_document(coco, sample.image.shape[:2]))
        io.write_jpeg(path[_SKELETON], skeleton_picture(coco, sample.image.shape[:2]))
    io.write_jpeg(path[_PERSON], sample.image)


def _pair_lines(persons: list[str], cloths: list[str]) -> list[str]:
    return [f"{person}{_PERSON} {cloth}{_CLOTH}" for person, cloth in zip(persons, cloths)]


def export_dresscode(
    canonical_root: str | Path, out_root: str | Path, category: str | None = None, warnings: list[str] | None = None
) -> int:
    """Write a canonical data set (both splits) in the DressCode layout: each sample under its own category folder
    (``category`` None), or every sample under ``category``. The source is read with the canonical reader's checks
    (``export.Source``; its warnings go to ``warnings``): it must hold DensePose IUV, since ``dense/`` holds U, V
    beside the part index.

    ``out_root`` must be absent, empty, or a previous DressCode export (other categories are kept; files of the
    categories written are overwritten, stale extra ones are not removed). Output is deterministic.

    Returns:
        The number of samples written.
    """
    if category is not None:
        category_dir(out_root, category)  # validates
    source = Source(canonical_root, "DressCode's dense/", "iuv", warnings)
    splits = canonical_splits(canonical_root)
    _check_disjoint(canonical_root, splits)
    placed = {split: _placement(canonical_root, split, ids, category) for split, ids in splits.items()}
    written = sorted({c for split in placed.values() for c in split.values()}, key=CATEGORIES.index)
    exports = claim_export_dir(out_root, FORMAT).get("exports", {})
    for name in written:
        count = sum(list(split.values()).count(name) for split in placed.values())
        exports[name] = source_record(canonical_root, count)
        for folder in sorted(set(_FOLDERS.values()) - {_FOLDERS[_KEYPOINTS], _FOLDERS[_SKELETON]}):
            (category_dir(out_root, name) / folder).mkdir(parents=True, exist_ok=True)
    io.atomic_write_json(Path(out_root) / META_NAME, {"format": FORMAT, "exports": exports})
    for split, ids in splits.items():
        for sample_id in ids:
            write_dresscode_sample(out_root, source.sample(split, sample_id), placed[split][sample_id])
        for name in written:
            members = [i for i in ids if placed[split][i] == name]
            write_lines(pairs_path(out_root, split, name), _pair_lines(members, members))
            if split == "test":
                shifted = members[1:] + members[:1]
                write_lines(pairs_path(out_root, split, name, paired=False), _pair_lines(members, shifted))
    return sum(map(len, splits.values()))


def _placement(canonical_root: str | Path, split: str, ids: list[str], category: str | None) -> dict[str, str]:
    """id -> the DressCode category folder it is written to."""
    if category is not None:
        return {sample_id: category for sample_id in ids}
    own = canonical.categories(canonical_root, split)
    return {sample_id: canonical.CATEGORY_FOLDERS[own.get(sample_id, "upper")] for sample_id in ids}


def _check_disjoint(canonical_root: str | Path, splits: dict[str, list[str]]) -> None:
    """DressCode keeps both splits in one folder: refuse ids that occur in more than one split."""
    shared = set.intersection(*map(set, splits.values())) if len(splits) > 1 else set()
    if shared:
        raise ValueError(f"{canonical_root}: ids {sorted(shared)[:5]} occur in both splits; DressCode needs unique ids")


# --------------------------------------------------------------------------------------------------------- reader
class DressCodeReader(Reader):
    """DressCode: one category (``upper_body``, ``lower_body``, ``dresses``), a list of them, or ``all``; the
    garment class follows each sample's category. Ids must be unique across the categories read."""

    format = FORMAT
    default_label_map = "atr18"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", category="upper_body"):
        self.categories = categories(category)
        self.category = self.categories[0] if len(self.categories) == 1 else "all"
        self._category_of: dict[str, dict[str, str]] = {}
        super().__init__(root, size, label_map, densepose)

    def _index(self, split: str) -> dict[str, str]:
        if split not in self._category_of:
            index: dict[str, str] = {}
            for category in self.categories:
                for sample_id in list_dresscode_ids(self.root, split, category):
                    if index.setdefault(sample_id, category) != category:
                        raise ValueError(
                            f"{sample_paths(self.root, sample_id, category)[_PERSON]}: id "
                            f"{sample_id!r} is also in {index[sample_id]}; read one category at a time"
                        )
            self._category_of[split] = index
        return self._category_of[split]

    def ids(self, split: str) -> list[str]:
        return list(self._index(split))

    def category_of(self, split: str, sample_id: str) -> str:
        if len(self.categories) == 1:
            return self.categories[0]
        return self._index(split).get(sample_id, self.categories[0])

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        category = self.category_of(split, sample_id)
        warnings: list[str] = []
        raw = read_dresscode_sample(self.root, sample_id, category, warnings)
        paths = sample_paths(self.root, sample_id, category)
        files = {
            "image": paths[_PERSON],
            "labels": paths[_LABELS],
            "densepose": paths[_DENSEPOSE],
            "cloth": paths[_CLOTH],
            "cloth_mask": paths[_MASK] if raw.mask_source == "file" else paths[_CLOTH],
        }
        if raw.keypoints is not None:
            files["keypoints"] = paths[_KEYPOINTS]
        return RawPerson(
            sample_id,
            raw.image,
            raw.labels,
            raw.cloth,
            raw.cloth_mask,
            raw.densepose_index,
            raw.uv,
            files=files,
            keypoints=raw.keypoints,
            keypoint_frame=DRESSCODE_FRAME,
            category=GARMENT[category],
            warnings=warnings,
        )

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        lists = []
        for category in self.categories:
            path = pairs_path(self.root, split, category, paired or split == "train")
            if path.is_file():
                found = self.official_or_none(paired, read_pair_lines(path), path, person_id, person_id)
                lists += [found] if found else []
        if not lists:
            return None
        return PairList(lists[0].path if len(lists) == 1 else self.root, paired, [p for f in lists for p in f.pairs])

    def split_folder(self, split: str) -> Path:
        return category_dir(self.root, self.categories[0])

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        files = []
        for category in self.categories:  # the paired list, required unless the test split has an unpaired one
            unpaired = pairs_path(self.root, split, category, paired=False) if split == "test" else None
            files.append((pairs_path(self.root, split, category), unpaired is None or not unpaired.is_file()))
            files += [(unpaired, False)] if unpaired is not None else []
        return files

    def line_id(self, line: PairLine) -> str:
        return person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        category = self.category_of(split, person_id(line.person))
        images = category_dir(self.root, category) / "images"
        return [("person", images / line.person), ("cloth", images / line.cloth)]

    def notes(self) -> list[str]:
        lacking = [c for c in self.categories if not (category_dir(self.root, c) / "masks").is_dir()]
        if not lacking:
            return []
        return [
            f"{', '.join(lacking)}: no masks/ folder (DressCode ships no cloth masks; LaDI-VTON distributes "
            "masks/<id>_1.png): garment masks are recovered from the cloth backgrounds"
        ]


READER = DressCodeReader


# ------------------------------------------------------------------------------------------------------ detection
def detect(root: Path) -> Detection | None:
    """DressCode at ``root``: category folders with ``images/`` (the ``category`` option reads those present);
    None when absent."""
    present = [c for c in CATEGORIES if (root / c / "images").is_dir()]
    if not present:
        return None
    option = present[0] if len(present) == 1 else ("all" if len(present) == 3 else present)
    return Detection(
        FORMAT,
        "DressCode",
        [f"category folders {', '.join(f'{c}/images/' for c in present)}"],
        {"category": option, "densepose": "iuv"},
    )
