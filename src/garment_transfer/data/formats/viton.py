"""The VITON 256 x 192 pack as PF-AFN / FS-VTON ship it (ACGPN's labels): raw read, its reader (:class:`VitonReader`)
and detection rule (``VITON_traindata`` / ``VITON_test``, or ``train_img`` / ``test_img``), and export from the
canonical layout.

Two roots, each found under the data set folder or given as the folder itself::

    <root>/VITON_traindata/train_img/<id>_0.jpg          person RGB
                           train_color/<id>_1.jpg        in-shop garment RGB on white
                           train_edge/<id>_1.jpg         filled garment mask, grey JPEG (threshold 128)
                           train_label/<id>_0.png        grey PNG of ACGPN-14 ids (may be a JPEG: see below)
                           train_densepose/<id>_0.npy    (H, W) DensePose part index I (integer, or float holding
                                                         whole numbers); no U / V
                           train_pose/<id>_0_keypoints.json   OpenPose COCO-18, people[0].pose_keypoints (optional)
    <root>/VITON_test/test_img/<id>_0.jpg, test_clothes/<id>_1.jpg, test_edge/<id>_1.jpg
                      (the pack holds only these; test_label/, test_densepose/, test_pose/ are read where present,
                      and test_color/ where test_clothes/ is absent)
    test list: test_pairs.txt or demo.txt, in VITON_test/ or the data set folder (PF-AFN keeps it in its code
               repository: copy it there, or name it with the reader option ``test_pairs``)

There is no training list: PF-AFN pairs the sorted listings of the training folders, so a sample is an id with a
``train_img/<id>_0.jpg``, and the ids are that folder's sorted listing; ``data check`` reports ids that the other
folders lack or add (they would shift PF-AFN's pairing). A folder holding ``train_img/`` or ``test_img/`` itself (this
project's old export, or the pack unpacked into one folder) is read the same way.

Labels: ACGPN-14 (``docs/data.md``). A JPEG label map (told by its bytes, whatever its name) is lossy, and
ACGPN-14's ids 8..13 are consecutive, so JPEG's errors of one or two grey levels change classes near label edges: its
values are snapped to the nearest ACGPN-14 id within 4 and the reader warns; a value further from every id (a colour
visualisation?) is an error. Use PNG label maps where you have them (a ``_0.png`` is preferred to a ``_0.jpg``). The
exporter maps CIHP -> ACGPN-14 through ``CIHP_TO_ACGPN`` (lossy: hat into hair; dress and coat into upper clothes;
glove, socks and scarf into background, as the ``cihp`` table reads them; skirt into bottom with pants; sunglasses and
torso skin / neck into face, since ACGPN has no neck class and VITON's parsing labels the neck as face). ACGPN's label 7
("noise") is read as upper clothes (``acgpn14`` table), as PF-AFN and ACGPN relabel it; the exporter never writes it.

The exporter writes both roots at ``size`` (256 x 192 by default: bilinear, antialiased when shrinking, for images;
nearest for labels and part indices; bilinear then re-threshold at 128 for the garment mask), the test pack with
``test_label`` and ``test_densepose`` as well (so this project's stages can evaluate on it) and ``VITON_test/
test_pairs.txt``, each test person with the next one's garment (cyclic). Where the canonical set has keypoints
(BODY_25), ``train_pose`` and ``test_pose`` get them as PF-AFN reads them: COCO-18 under ``pose_keypoints``, in the
exported image's pixels.
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
    check_ids,
    check_size,
    check_split,
    read_photo,
)
from garment_transfer.data.formats.export import (
    Source,
    cycled_within,
    map_labels,
    part_index,
    start_sized_export,
    write_lines,
)
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines
from garment_transfer.data.keypoints import COCO_18, openpose_document, read_openpose_json, rescale, to_coco18
from garment_transfer.data.labels import CIHP

FORMAT = "viton"
ALIASES = ()
LOOKS_FOR = "PF-AFN's VITON_traindata/ or train_img/"  # what detection looks for, in words
SIZE = (256, 192)
ROOTS = {"train": "VITON_traindata", "test": "VITON_test"}
ACGPN = {
    "background": 0,
    "hair": 1,
    "upper_clothes": 4,
    "left_shoe": 5,
    "right_shoe": 6,
    "noise": 7,
    "bottom": 8,
    "left_leg": 9,
    "right_leg": 10,
    "left_arm": 11,
    "face": 12,
    "right_arm": 13,
}
_CIHP_TO_ACGPN_NAMES = {
    "background": "background",
    "hat": "hair",
    "hair": "hair",
    "glove": "background",
    "sunglasses": "face",
    "upper_clothes": "upper_clothes",
    "dress": "upper_clothes",
    "coat": "upper_clothes",
    "socks": "background",
    "pants": "bottom",
    "torso_skin": "face",
    "scarf": "background",
    "skirt": "bottom",
    "face": "face",
    "left_arm": "left_arm",
    "right_arm": "right_arm",
    "left_leg": "left_leg",
    "right_leg": "right_leg",
    "left_shoe": "left_shoe",
    "right_shoe": "right_shoe",
}
CIHP_TO_ACGPN = {CIHP[src]: ACGPN[dst] for src, dst in _CIHP_TO_ACGPN_NAMES.items()}
LOSSY_CIHP = frozenset(
    CIHP[name] for name in ("hat", "glove", "sunglasses", "dress", "coat", "socks", "torso_skin", "scarf", "skirt")
)
JPEG_SNAP = 4  # a JPEG label value within this distance of an ACGPN-14 id is read as that id

# key -> (folder names by split, tried in order; file suffix after "<id>"); labels may also be "_0.jpg"
_FILES = {
    "image": ({"train": ("img",), "test": ("img",)}, "_0.jpg"),
    "cloth": ({"train": ("color",), "test": ("clothes", "color")}, "_1.jpg"),
    "cloth_mask": ({"train": ("edge",), "test": ("edge",)}, "_1.jpg"),
    "labels": ({"train": ("label",), "test": ("label",)}, "_0.png"),
    "densepose": ({"train": ("densepose",), "test": ("densepose",)}, "_0.npy"),
    "keypoints": ({"train": ("pose",), "test": ("pose",)}, "_0_keypoints.json"),
}
REQUIRED = {"train": ("image", "cloth", "cloth_mask", "labels", "densepose"), "test": ("image", "cloth", "cloth_mask")}
TEST_LISTS = ("test_pairs.txt", "demo.txt")


@dataclass(frozen=True)
class VitonSample:
    """One VITON sample as stored: ``image`` and ``cloth`` (H, W, 3) uint8, ``cloth_mask`` (H, W) uint8 0 / 255,
    ``labels`` (H, W) ACGPN-14 ids and ``densepose_index`` (H, W) DensePose I in 0..24 (None where the test pack
    lacks them), ``keypoints`` (18, 3) in the image's pixels (None without a pose folder)."""

    id: str
    image: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    labels: np.ndarray | None
    densepose_index: np.ndarray | None
    keypoints: np.ndarray | None = None
    jpeg_labels: bool = False


def split_root(root: str | Path, split: str, override: str | Path | None = None) -> Path:
    """The folder holding ``<split>_img``: ``override``, else ``<root>/VITON_traindata`` (``VITON_test``) when
    present, else ``root``."""
    check_split(split)
    if override is not None:
        return Path(override)
    packed = Path(root) / ROOTS[split]
    return packed if packed.is_dir() else Path(root)


def folder(base: Path, split: str, key: str) -> Path:
    """``<base>/<split>_<name>`` for ``key``: the first of its names that exists (else the first name)."""
    names = _FILES[key][0][split]
    for name in names:
        if (base / f"{split}_{name}").is_dir():
            return base / f"{split}_{name}"
    return base / f"{split}_{names[0]}"


def sample_paths(root: str | Path, split: str, sample_id: str, base: str | Path | None = None) -> dict[str, Path]:
    """A sample's file paths keyed "image", "cloth", "cloth_mask", "labels", "densepose", "keypoints" under the split
    root (:func:`split_root` of ``root``, or ``base``); the label map is ``_0.png``, or ``_0.jpg`` where only that
    exists."""
    base = split_root(root, split, base)
    paths = {key: folder(base, split, key) / f"{sample_id}{suffix}" for key, (_, suffix) in _FILES.items()}
    jpeg = paths["labels"].with_suffix(".jpg")
    if not paths["labels"].exists() and jpeg.exists():
        paths["labels"] = jpeg
    return paths


def person_id(name: str) -> str:
    """``"000066_0.jpg"`` -> ``"000066"`` (and a garment's ``"017575_1.jpg"`` -> ``"017575"``)."""
    return Path(name).stem.rsplit("_", 1)[0]


def list_viton_ids(root: str | Path, split: str, base: str | Path | None = None) -> list[str]:
    """The ids of ``split``: the sorted listing of ``<split>_img/*_0.jpg`` under the split root (:func:`split_root`
    of ``root``, or ``base``).

    Raises:
        FileNotFoundError: naming the folder when it is missing.
    """
    images = folder(split_root(root, split, base), split, "image")
    if not images.is_dir():
        raise FileNotFoundError(f"{images}: folder of the {split} person images not found")
    suffix = _FILES["image"][1]
    return sorted(p.name[: -len(suffix)] for p in images.iterdir() if p.name.endswith(suffix))


def listing_mismatches(base: Path, split: str, ids: list[str]) -> list[tuple[Path, str]]:
    """``(folder, message)`` for each present folder of ``split`` whose files are not exactly ``ids`` (PF-AFN pairs
    the sorted listings by position, so an extra or missing file shifts every later pair)."""
    problems = []
    for key, (_, suffix) in _FILES.items():
        where = folder(base, split, key)
        if key == "image" or not where.is_dir():
            continue
        suffixes = (suffix, "_0.jpg") if key == "labels" else (suffix,)
        found = {p.name[: -len(s)] for p in where.iterdir() for s in suffixes if p.name.endswith(s)}
        extra, missing = sorted(found - set(ids)), sorted(set(ids) - found)
        if extra:
            problems.append((where, f"{len(extra)} files without a person image, e.g. {extra[:3]}"))
        if missing:
            problems.append((where, f"lacks {len(missing)} of the {len(ids)} persons' files, e.g. {missing[:3]}"))
    return problems


def test_list_path(root: str | Path, base: Path, explicit: str | Path | None = None) -> Path | None:
    """The test list: ``explicit``, else the first of ``test_pairs.txt`` / ``demo.txt`` in the test root or the data
    set folder, else None."""
    if explicit is not None:
        return Path(explicit)
    for where in (base, Path(root)):
        for name in TEST_LISTS:
            if (where / name).is_file():
                return where / name
    return None


def _snap_jpeg_labels(labels: np.ndarray, path: Path) -> np.ndarray:
    """JPEG label values -> the nearest ACGPN-14 id within :data:`JPEG_SNAP`; other values are an error."""
    valid = np.array(sorted(ACGPN.values()))
    distance = np.abs(np.arange(256)[:, None] - valid[None])
    lut = np.where(distance.min(1) <= JPEG_SNAP, valid[distance.argmin(1)], -1)
    snapped = lut[labels]
    if (snapped < 0).any():
        bad = np.unique(labels[snapped < 0]).tolist()
        raise ValueError(
            f"{path}: ACGPN-14 label ids {bad[:10]} are not valid (JPEG label map: values within "
            f"{JPEG_SNAP} of an id are read as that id; expected ids in {valid.tolist()})"
        )
    return snapped.astype(np.uint8)


def _labels(path: Path) -> tuple[np.ndarray, bool]:
    """A label map and whether it is a JPEG (by its bytes, whatever its name: snapped, see the module docstring)."""
    labels, stored = io.read_image_and_format(path)
    if stored == "JPEG":
        return _snap_jpeg_labels(labels if labels.ndim == 2 else io.read_image(path, "L"), path), True
    return check_ids(path, labels, ACGPN.values(), "ACGPN-14 label ids"), False


def _present(path: Path, split: str, key: str) -> bool:
    """Whether ``key``'s file must be read: always for the split's required keys, else when its folder exists."""
    return key in REQUIRED[split] or path.parent.is_dir()


def read_viton_sample(
    root: str | Path, split: str, sample_id: str, warnings: list[str] | None = None, base: str | Path | None = None
) -> VitonSample:
    """Read one sample's files as stored (see module docstring) under the split root (:func:`split_root` of
    ``root``, or ``base``), all checked to share the person image's size.

    Raises:
        FileNotFoundError: naming a missing file.
        ValueError: naming a file that is unreadable, wrongly sized or holds invalid ids.
    """
    path = sample_paths(root, split, sample_id, base)
    image = read_photo(path["image"], warnings)
    arrays = {
        "cloth": read_photo(path["cloth"], warnings),
        "cloth_mask": binarize(io.read_image(path["cloth_mask"], "L")),
    }
    jpeg = False
    if _present(path["labels"], split, "labels"):
        arrays["labels"], jpeg = _labels(path["labels"])
    if _present(path["densepose"], split, "densepose"):
        arrays["densepose"] = densepose.index_from_array(io.read_npy(path["densepose"]), path["densepose"])
    for key, array in arrays.items():
        check_size(path[key], array, image.shape[:2])
    keypoints = None
    if _present(path["keypoints"], split, "keypoints"):
        keypoints = read_openpose_json(path["keypoints"], COCO_18)
    return VitonSample(
        id=sample_id,
        image=image,
        cloth=arrays["cloth"],
        cloth_mask=arrays["cloth_mask"],
        labels=arrays.get("labels"),
        densepose_index=arrays.get("densepose"),
        keypoints=keypoints,
        jpeg_labels=jpeg,
    )


# ------------------------------------------------------------------------------------------------------- export
EXPORTED = ("image", "cloth", "cloth_mask", "labels", "densepose")


def write_viton_sample(
    out_root: str | Path, split: str, sample: canonical.RawSample, size: tuple[int, int] = SIZE
) -> None:
    """Resize one canonical sample to ``size`` = (H, W) and write its files under the split's root in ``out_root``
    (folders must exist); person last."""
    path = sample_paths(out_root, split, sample.id)
    mask = binarize(io.resize(sample.cloth_mask, size, nearest=False))
    labels = map_labels(sample.parse, CIHP_TO_ACGPN, f"CIHP parsing of {sample.id}")
    io.write_jpeg(path["cloth"], io.resize(sample.cloth, size, nearest=False))
    io.write_jpeg(path["cloth_mask"], mask)
    io.write_png(path["labels"], io.resize(labels, size, nearest=True))
    io.write_npy(path["densepose"], io.resize(part_index(sample.iuv), size, nearest=True))
    if sample.keypoints is not None:
        path["keypoints"].parent.mkdir(exist_ok=True)
        points = rescale(to_coco18(sample.keypoints), sample.image.shape[:2], size)
        io.atomic_write_json(path["keypoints"], openpose_document(points, "pose_keypoints"))
    io.write_jpeg(path["image"], io.resize(sample.image, size, nearest=False))


def export_viton(
    canonical_root: str | Path, out_root: str | Path, size: tuple[int, int] = SIZE, warnings: list[str] | None = None
) -> int:
    """Write a canonical data set (both splits) in the PF-AFN layout (two roots) at ``size`` = (H, W), read with the
    canonical reader's checks (``export.Source``; its warnings go to ``warnings``): DensePose IUV or part indices.

    ``out_root`` must be absent, empty, or a previous VITON export (its files are overwritten, stale extra ones are
    not removed). Output is deterministic.

    Returns:
        The number of samples written.
    """
    source = Source(canonical_root, "the VITON 256 x 192 pack's <split>_densepose/", "index", warnings)
    size, splits = start_sized_export(canonical_root, out_root, FORMAT, size)
    for split, ids in splits.items():
        base = Path(out_root) / ROOTS[split]
        for key in EXPORTED:
            (base / f"{split}_{_FILES[key][0][split][0]}").mkdir(parents=True, exist_ok=True)
        own = canonical.categories(canonical_root, split)
        for sample_id in ids:
            write_viton_sample(out_root, split, source.sample(split, sample_id), size)
        if split == "test" and len(ids) > 1:
            shifted = cycled_within(ids, own)
            write_lines(base / TEST_LISTS[0], [f"{p}_0.jpg {c}_1.jpg" for p, c in zip(ids, shifted)])
    return sum(map(len, splits.values()))


# --------------------------------------------------------------------------------------------------------- reader
class VitonReader(Reader):
    """The VITON 256 x 192 pack as PF-AFN ships it: two roots, sorted listings as training samples, a test pack of
    person, cloth and edge only; DensePose part indices only, so ``densepose: parts``.

    Args:
        train_root, test_root: the two roots when they are not ``<root>/VITON_traindata`` and ``<root>/VITON_test``.
        test_pairs: the test list (PF-AFN keeps ``test_pairs.txt`` / ``demo.txt`` in its code repository) when it is
            not in the test root or ``root``.
    """

    format = FORMAT
    default_label_map = "acgpn14"
    has_uv = False

    def __init__(
        self,
        root,
        size=(128, 96),
        label_map=None,
        densepose: str = "parts",
        train_root=None,
        test_root=None,
        test_pairs=None,
    ):
        self.overrides = {"train": train_root, "test": test_root}
        self.test_pairs = test_pairs
        super().__init__(root, size, label_map, densepose)

    def base(self, split: str) -> Path:
        return split_root(self.root, split, self.overrides[split])

    def roots(self) -> list[Path]:
        return [self.root] + [Path(folder) for folder in self.overrides.values() if folder is not None]

    def ids(self, split: str) -> list[str]:
        return list_viton_ids(self.root, split, self.overrides[split])

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        warnings: list[str] = []
        raw = read_viton_sample(self.root, split, sample_id, warnings, self.overrides[split])
        paths = sample_paths(self.root, split, sample_id, self.overrides[split])
        if raw.jpeg_labels:
            warnings.append(
                f"{paths['labels']}: JPEG label map (lossy): values snapped to the nearest ACGPN-14 id; "
                "classes near label edges may be wrong"
            )
        files = {
            "image": paths["image"],
            "labels": paths["labels"],
            "densepose": paths["densepose"],
            "cloth": paths["cloth"],
            "cloth_mask": paths["cloth_mask"],
        }
        if raw.keypoints is not None:
            files["keypoints"] = paths["keypoints"]
        pack = "PF-AFN's test pack ships test_img, test_clothes and test_edge only"
        missing = {
            "labels": f"{paths['labels'].parent}: no parsing ({pack}; add ACGPN-14 label maps there)",
            "densepose": f"{paths['densepose'].parent}: no DensePose ({pack}; add part-index .npy files there)",
        }
        return RawPerson(
            sample_id,
            raw.image,
            raw.labels,
            raw.cloth,
            raw.cloth_mask,
            raw.densepose_index,
            files=files,
            keypoints=raw.keypoints,
            missing=missing,
            warnings=warnings,
        )

    def test_list(self) -> Path | None:
        return test_list_path(self.root, self.base("test"), self.test_pairs)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = self.test_list() if split == "test" else None
        if path is None:
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, person_id, person_id)

    def split_folder(self, split: str) -> Path:
        return folder(self.base(split), split, "image")

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        path = self.test_list() if split == "test" else None
        return [(path, self.test_pairs is not None)] if path is not None else []

    def line_id(self, line: PairLine) -> str:
        return person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        base = self.base(split)
        return [
            ("person", folder(base, split, "image") / line.person),
            ("cloth", folder(base, split, "cloth") / line.cloth),
        ]

    def layout_problems(self, split: str) -> list[tuple[str, Path, str]]:
        try:
            ids = self.ids(split)
        except FileNotFoundError:
            return []
        return [
            ("listing mismatch", where, message) for where, message in listing_mismatches(self.base(split), split, ids)
        ]

    def notes(self) -> list[str]:
        lines = []
        test = self.base("test")
        if folder(test, "test", "image").is_dir() and not folder(test, "test", "labels").is_dir():
            lines.append(
                f"{test}: test pack without test_label/ and test_densepose/ (as PF-AFN ships it): usable by "
                "parser-free try-on; this project's stages need parsing and DensePose for test samples"
            )
        if folder(test, "test", "image").is_dir() and self.test_list() is None:
            lines.append(
                f"{test}: no test list (test_pairs.txt / demo.txt, in PF-AFN's code repository): copy it "
                "there or set test_pairs; evaluation pairs are drawn"
            )
        return lines


READER = VitonReader


# ------------------------------------------------------------------------------------------------------ detection
def detect(root: Path) -> Detection | None:
    """PF-AFN's pack at ``root``: ``VITON_traindata`` / ``VITON_test``, or ``train_img`` / ``test_img`` in the folder
    itself; None when absent."""
    found = [name for name in (*ROOTS.values(), "train_img", "test_img") if (root / name).is_dir()]
    if not found:
        return None
    return Detection(
        FORMAT, "VITON 256 x 192, PF-AFN's pack", [f"{', '.join(f'{n}/' for n in found)}"], {"densepose": "parts"}
    )
