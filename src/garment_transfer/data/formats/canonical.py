"""The canonical layout, exactly VITON-HD's (``docs/data.md``, "On-disk layout"), also the synthetic engine's:
paths, raw read / write of one sample, its reader (:class:`CanonicalReader`, format ``canonical``, alias
``vitonhd``), its detection rule and the check of its true transfers.

::

    <root>/train_pairs.txt                      "<id>.png <id>.png" per line: paired (VITON-HD: .jpg names)
    <root>/test_pairs.txt                       "<person> <cloth>" per line: unpaired, like VITON-HD's official list
    <root>/<split>/image/<id>.png|jpg           person RGB (VITON-HD: JPEG)
    <root>/<split>/cloth/<id>.png|jpg           in-shop garment RGB on white
    <root>/<split>/cloth-mask/<id>.png|jpg      in-shop garment mask, 0 / 255 (VITON-HD: grey JPEG)
    <root>/<split>/image-parse-v3/<id>.png      "P" PNG of CIHP ids
    <root>/<split>/image-densepose/<id>.png     IUV: I (0..24), U * 255, V * 255 (VITON-HD: <id>.jpg, a colour
                                                rendering named like the person)
    <root>/<split>/openpose_json/<id>_keypoints.json   OpenPose BODY_25 (VITON-HD; optional)
    <root>/<split>/openpose_img/<id>_rendered.png      the skeleton on black (VITON-HD; not read)
    <root>/<split>/agnostic-v3.2/<id>.jpg|png          HR-VITON's agnostic person, JPEG as VITON-HD ships it
                                                (upper-body samples; not read)
    <root>/<split>/image-parse-agnostic-v3.2/<id>.png  HR-VITON's agnostic parsing, CIHP ids (upper-body samples)
    <root>/<split>/image-parse-parts/<id>.png   "P" PNG of garment part ids (labels.GARMENT_PARTS; synthetic only)
    <root>/<split>/cloth-parse-parts/<id>.png   the in-shop garment's part ids (synthetic only)
    <root>/<split>/transfer/pairs.txt           "<source_id> <target_id>" per line (synthetic only)
    <root>/<split>/transfer/image/<t>__<s>.png, image-parse-v3/<t>__<s>.png, flow/<t>__<s>.npz,
                                          image-parse-parts/<t>__<s>.png
    <root>/<category>/train_pairs.txt, test_pairs_paired.txt, test_pairs_unpaired.txt
                                                per-category lists as DressCode has them (category = upper_body,
                                                lower_body, dresses; synthetic only; a sample in none is upper_body)
    <root>/meta.json

The old layout of this project kept each list inside its split folder (``<root>/<split>/<split>_pairs.txt``, both
paired); :func:`pairs_path` finds a list there when the root has none, so data sets written that way still read.

"Raw" arrays keep the stored encodings: uint8 RGB, CIHP ids, IUV bytes. Turning them into model tensors
(7-class parsing, DensePose encodings, [-1, 1] images) is the reader's job: it reads ``image-densepose`` as
``densepose_files`` declares it (IUV, IUV in cv2's channel order, a grey part index, or VITON-HD's colour rendering),
the garment category from the per-category lists, BODY_25 keypoints where ``openpose_json`` exists, and the garment
parts (``image-parse-parts``, ``cloth-parse-parts``) where a sample has them.

Detection: ``<split>/image-parse-v3/`` (with what ``image-densepose`` holds, for the reader options). ``data check``
also checks ``<split>/transfer/pairs.txt`` (known ids, present files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from garment_transfer.data import io
from garment_transfer.data import keypoints as kp
from garment_transfer.data.formats.base import (
    SPLITS,
    Detection,
    PairList,
    RawPerson,
    Reader,
    check_densepose_files,
    check_ids,
    check_size,
    densepose_kind,
    read_densepose,
    read_ids,
    read_photo,
    stem,
    to_image_tensor,
)
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines, read_pairs
from garment_transfer.data.labels import CIHP_PALETTE, GARMENT_PARTS, PARTS_PALETTE
from garment_transfer.data.samples import TransferTruth

FORMAT = "canonical"
ALIASES = ("vitonhd",)  # other names of the format (VITON-HD as shipped is this layout)
LOOKS_FOR = "VITON-HD's <split>/image-parse-v3/"  # what detection looks for, in words
VAL = "val"  # our extension: the synthetic engine's validation split, laid out as the others
ALL_SPLITS = ("train", VAL, "test")
FOLDERS = {
    "image": "image",
    "cloth": "cloth",
    "cloth_mask": "cloth-mask",
    "parse": "image-parse-v3",
    "densepose": "image-densepose",
}
TRANSFER_FOLDERS = {"image": "image", "parse": "image-parse-v3", "flow": "flow", "parts": "image-parse-parts"}
# optional per-sample files (VITON-HD's keypoints, skeleton and agnostic inputs; the engine's garment parts)
EXTRA_FOLDERS = {
    "keypoints": "openpose_json",
    "skeleton": "openpose_img",
    "agnostic": "agnostic-v3.2",
    "parse_agnostic": "image-parse-agnostic-v3.2",
    "parts": "image-parse-parts",
    "cloth_parts": "cloth-parse-parts",
}
CATEGORY_FOLDERS = {"upper": "upper_body", "lower": "lower_body", "dresses": "dresses"}  # DressCode's names


@dataclass(frozen=True)
class RawSample:
    """One person as stored: ``image`` (H, W, 3) uint8, ``parse`` (H, W) CIHP ids, ``iuv`` (H, W, 3) uint8,
    ``cloth`` (H, W, 3) uint8 on white, ``cloth_mask`` (H, W) uint8 0 / 255.

    Optional (None where a data set has none): ``keypoints`` (25, 3) float BODY_25 ``x, y, score`` in pixels, a
    missing point ``(-1, -1, 0)`` (``data.keypoints``); ``parts`` (H, W) and ``cloth_parts`` (H, W) uint8 garment part
    ids (``labels.GARMENT_PARTS``); ``agnostic`` (H, W, 3) uint8 and ``parse_agnostic`` (H, W) CIHP ids, HR-VITON's
    agnostic inputs (the person image is stored as JPEG, so ``agnostic`` read back is close, not equal).
    ``category`` is the garment's: ``upper``, ``lower`` or ``dresses``."""

    id: str
    image: np.ndarray
    parse: np.ndarray
    iuv: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    keypoints: np.ndarray | None = None
    parts: np.ndarray | None = None
    cloth_parts: np.ndarray | None = None
    agnostic: np.ndarray | None = None
    parse_agnostic: np.ndarray | None = None
    category: str = "upper"


@dataclass(frozen=True)
class RawTransfer:
    """A true transfer ``I_{t<-s}``: ``image`` (H, W, 3) uint8, ``parse`` (H, W) CIHP ids, ``flow`` (2, H, W) float32
    holding, for each garment pixel, the (x, y) pixel in the source image it comes from, -1 where unseen or not garment.
    """

    source_id: str
    target_id: str
    image: np.ndarray
    parse: np.ndarray
    flow: np.ndarray | None = None
    parts: np.ndarray | None = None


def split_dir(root: str | Path, split: str) -> Path:
    if split not in ALL_SPLITS:
        raise ValueError(f"split must be one of {ALL_SPLITS}, got {split!r}")
    return Path(root) / split


PHOTO_KEYS = ("image", "cloth", "cloth_mask")  # VITON-HD ships these as JPEG; label maps are always PNG
JPEG_KEYS = (*PHOTO_KEYS, "densepose")  # VITON-HD's image-densepose/<id>.jpg is a JPEG colour rendering
KEYPOINTS_FOLDER = "openpose_json"


def sample_paths(root: str | Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's files by role. Photos and DensePose are ``.png`` (what the engine writes) or, where only that
    exists, ``.jpg`` (as VITON-HD ships them)."""
    base = split_dir(root, split)
    paths = {key: base / folder / f"{sample_id}.png" for key, folder in FOLDERS.items()}
    for key in JPEG_KEYS:
        jpeg = paths[key].with_suffix(".jpg")
        if not paths[key].exists() and jpeg.exists():
            paths[key] = jpeg
    return paths


def keypoints_path(root: str | Path, split: str, sample_id: str) -> Path:
    """``<root>/<split>/openpose_json/<id>_keypoints.json`` (OpenPose BODY_25, as VITON-HD ships it)."""
    return split_dir(root, split) / KEYPOINTS_FOLDER / f"{sample_id}_keypoints.json"


def extra_paths(root: str | Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's optional files by role (``EXTRA_FOLDERS``): ``keypoints`` (OpenPose JSON), ``skeleton``
    (``<id>_rendered.png``), ``agnostic`` (``.jpg`` as VITON-HD ships it and the engine writes it, or ``.png``
    where only that exists), ``parse_agnostic``, ``parts``, ``cloth_parts``."""
    base = split_dir(root, split)
    paths = {key: base / folder / f"{sample_id}.png" for key, folder in EXTRA_FOLDERS.items()}
    paths["keypoints"] = keypoints_path(root, split, sample_id)
    paths["skeleton"] = base / EXTRA_FOLDERS["skeleton"] / f"{sample_id}_rendered.png"
    jpeg = paths["agnostic"].with_suffix(".jpg")
    if jpeg.exists() or not paths["agnostic"].exists():
        paths["agnostic"] = jpeg
    return paths


def written_extras(sample: RawSample) -> tuple[str, ...]:
    """The optional files :func:`write_sample` writes for ``sample`` (those whose content it has)."""
    keys = [key for key in ("parts", "cloth_parts", "agnostic", "parse_agnostic") if getattr(sample, key) is not None]
    return tuple(keys + (["keypoints", "skeleton"] if sample.keypoints is not None else []))


def transfer_name(source_id: str, target_id: str) -> str:
    return f"{target_id}__{source_id}"


def transfer_paths(root: str | Path, split: str, source_id: str, target_id: str) -> dict[str, Path]:
    base = split_dir(root, split) / "transfer"
    name = transfer_name(source_id, target_id)
    return {
        "image": base / "image" / f"{name}.png",
        "parse": base / "image-parse-v3" / f"{name}.png",
        "flow": base / "flow" / f"{name}.npz",
        "parts": base / "image-parse-parts" / f"{name}.png",
    }


def make_dirs(root: str | Path, splits=SPLITS) -> None:
    for split in splits:
        base = split_dir(root, split)
        for folder in (*FOLDERS.values(), *EXTRA_FOLDERS.values()):
            (base / folder).mkdir(parents=True, exist_ok=True)
        for folder in TRANSFER_FOLDERS.values():
            (base / "transfer" / folder).mkdir(parents=True, exist_ok=True)


def write_sample(root: str | Path, split: str, sample: RawSample) -> None:
    """Write one sample; each file atomically. The person image goes last, so its presence marks completeness.
    The optional files are written where the sample has their content (folders must exist: :func:`make_dirs`)."""
    paths = sample_paths(root, split, sample.id)
    extra = extra_paths(root, split, sample.id)
    io.write_png(paths["cloth"], sample.cloth)
    io.write_png(paths["cloth_mask"], sample.cloth_mask)
    io.write_png(paths["parse"], sample.parse, palette=CIHP_PALETTE)
    io.write_png(paths["densepose"], sample.iuv)
    if sample.keypoints is not None:
        io.atomic_write_text(extra["keypoints"], json.dumps(kp.openpose_document(sample.keypoints)))
        skeleton = kp.skeleton_indices(sample.keypoints, sample.image.shape[:2])
        io.write_png(extra["skeleton"], skeleton, palette=kp.SKELETON_PALETTE)
    for key in ("parts", "cloth_parts"):
        if getattr(sample, key) is not None:
            io.write_png(extra[key], getattr(sample, key), palette=PARTS_PALETTE)
    if sample.parse_agnostic is not None:
        io.write_png(extra["parse_agnostic"], sample.parse_agnostic, palette=CIHP_PALETTE)
    if sample.agnostic is not None:  # JPEG, as VITON-HD ships it (a PNG of the noisy photo costs 5x the time)
        io.write_jpeg(extra["agnostic"], sample.agnostic)
    io.write_png(paths["image"], sample.image)


def read_sample(root: str | Path, split: str, sample_id: str, category: str | None = None) -> RawSample:
    """A sample's files as stored; the optional ones where present. ``category`` is the sample's garment category
    (None: looked up in the per-category lists, :func:`categories`; pass it when reading many samples)."""
    paths = sample_paths(root, split, sample_id)
    extra = {key: path for key, path in extra_paths(root, split, sample_id).items() if path.is_file()}
    keypoints = kp.read_openpose_json(extra["keypoints"], kp.BODY_25) if "keypoints" in extra else None
    return RawSample(
        id=sample_id,
        image=io.read_image(paths["image"], "RGB"),
        parse=io.read_image(paths["parse"]),
        iuv=io.read_image(paths["densepose"], "RGB"),
        cloth=io.read_image(paths["cloth"], "RGB"),
        cloth_mask=io.read_image(paths["cloth_mask"], "L"),
        keypoints=keypoints,
        parts=io.read_image(extra["parts"]) if "parts" in extra else None,
        cloth_parts=io.read_image(extra["cloth_parts"]) if "cloth_parts" in extra else None,
        agnostic=io.read_image(extra["agnostic"], "RGB") if "agnostic" in extra else None,
        parse_agnostic=io.read_image(extra["parse_agnostic"]) if "parse_agnostic" in extra else None,
        category=category or categories(root, split).get(sample_id, "upper"),
    )


def write_transfer(root: str | Path, split: str, transfer: RawTransfer) -> None:
    paths = transfer_paths(root, split, transfer.source_id, transfer.target_id)
    if transfer.flow is not None:
        io.write_npz(paths["flow"], flow=transfer.flow.astype(np.float32))
    if transfer.parts is not None:
        io.write_png(paths["parts"], transfer.parts, palette=PARTS_PALETTE)
    io.write_png(paths["parse"], transfer.parse, palette=CIHP_PALETTE)
    io.write_png(paths["image"], transfer.image)


def read_transfer(root: str | Path, split: str, source_id: str, target_id: str) -> RawTransfer:
    paths = transfer_paths(root, split, source_id, target_id)
    flow = None
    if paths["flow"].is_file():
        with np.load(paths["flow"]) as data:
            flow = data["flow"]
    return RawTransfer(
        source_id=source_id,
        target_id=target_id,
        image=io.read_image(paths["image"], "RGB"),
        parse=io.read_image(paths["parse"]),
        flow=flow,
        parts=io.read_image(paths["parts"]) if paths["parts"].is_file() else None,
    )


# ----------------------------------------------------------------------------------------------------- categories
def category_pairs_path(root: str | Path, category: str, split: str, paired: bool = True) -> Path:
    """A per-category list as DressCode names them: ``<root>/<upper_body|lower_body|dresses>/train_pairs.txt``,
    ``test_pairs_paired.txt`` or ``test_pairs_unpaired.txt`` (and our ``val_pairs.txt``)."""
    if category not in CATEGORY_FOLDERS:
        raise ValueError(f"garment category {category!r}: choose one of {tuple(CATEGORY_FOLDERS)}")
    base = Path(root) / CATEGORY_FOLDERS[category]
    if split_dir(root, split).name in ("train", VAL):
        return base / f"{split}_pairs.txt"
    return base / f"test_pairs_{'paired' if paired else 'unpaired'}.txt"


def categories(root: str | Path, split: str) -> dict[str, str]:
    """id -> garment category (``upper``, ``lower``, ``dresses``) from the per-category paired lists of ``split``;
    empty when the data set has none (every sample is then ``upper``)."""
    found: dict[str, str] = {}
    for category in CATEGORY_FOLDERS:
        path = category_pairs_path(root, category, split)
        if path.is_file():
            for person, _ in read_pairs(path):
                found.setdefault(Path(person).stem, category)
    return found


def root_pairs_path(root: str | Path, split: str) -> Path:
    """Where the canonical layout (and VITON-HD) keeps a split's list: ``<root>/<split>_pairs.txt``."""
    split_dir(root, split)  # checks the split
    return Path(root) / f"{split}_pairs.txt"


def old_pairs_path(root: str | Path, split: str) -> Path:
    """Where this project's old layout kept it: ``<root>/<split>/<split>_pairs.txt``."""
    return split_dir(root, split) / f"{split}_pairs.txt"


def pairs_path(root: str | Path, split: str) -> Path:
    """A split's pair list: at the root, else at the old place when only that exists (else the root path)."""
    path = root_pairs_path(root, split)
    old = old_pairs_path(root, split)
    return old if not path.is_file() and old.is_file() else path


def transfer_pairs_path(root: str | Path, split: str) -> Path:
    return split_dir(root, split) / "transfer" / "pairs.txt"


def list_ids(root: str | Path, split: str) -> list[str]:
    """The ids of a split: the persons of its pair list (names without extension), in file order, each once.

    Raises:
        FileNotFoundError: naming the root list (and the old place) when neither exists.
    """
    path = pairs_path(root, split)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pairs file not found (nor at the old place {old_pairs_path(root, split)})")
    return list(dict.fromkeys(Path(person).stem for person, _ in read_pairs(path)))


def garment_parts_paths(root: str | Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's garment part maps: ``garment_parts`` (``image-parse-parts``, the worn garment) and ``cloth_parts``
    (``cloth-parse-parts``, the in-shop garment)."""
    base = split_dir(root, split)
    return {
        "garment_parts": base / EXTRA_FOLDERS["parts"] / f"{sample_id}.png",
        "cloth_parts": base / EXTRA_FOLDERS["cloth_parts"] / f"{sample_id}.png",
    }


# --------------------------------------------------------------------------------------------------------- reader
class CanonicalReader(Reader):
    """The canonical layout: VITON-HD as shipped, and the synthetic engine's sets (pair lists at the root, or in the
    split folders for sets written by the old layout).

    Args:
        densepose_files: what ``image-densepose`` holds: ``iuv`` (synthetic data, or IUV made with detectron2 and
            saved by PIL), ``iuv_bgr`` (the same saved by ``cv2.imwrite``: V, U, I on disk), ``parts`` (a grey part
            index), ``rendering`` (VITON-HD's colour rendering, then only the ``rendering`` encoding).
    """

    format = FORMAT
    default_label_map = "cihp"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", densepose_files: str = "iuv"):
        self.densepose_files = check_densepose_files(densepose_files)
        self.has_uv = densepose_files in ("iuv", "iuv_bgr")
        self.has_picture = densepose_files == "rendering"
        if densepose_files == "rendering" and densepose != "rendering":
            raise ValueError(
                f"densepose {densepose!r}: VITON-HD's colour renderings hold no part indices; "
                "use densepose: rendering, or point densepose_files: iuv at an IUV folder"
            )
        super().__init__(root, size, label_map, densepose)
        self._categories: dict[str, dict[str, str]] = {}  # split -> id -> garment category

    def ids(self, split: str) -> list[str]:
        return list_ids(self.root, split)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = sample_paths(self.root, split, sample_id)
        warnings: list[str] = []
        image = read_photo(paths["image"], warnings)
        labels = read_ids(paths["parse"])
        if labels.ndim != 2:
            raise ValueError(f"{paths['parse']}: expected a palette or grey PNG of label ids, got colour channels")
        index, uv, picture = read_densepose(paths["densepose"], self.densepose_files)
        cloth = read_photo(paths["cloth"], warnings)
        cloth_mask = io.read_image(paths["cloth_mask"], "L")
        for key, array in (
            ("parse", labels),
            ("densepose", index if picture is None else picture),
            ("cloth", cloth),
            ("cloth_mask", cloth_mask),
        ):
            check_size(paths[key], array, image.shape[:2])
        files = {
            "image": paths["image"],
            "labels": paths["parse"],
            "densepose": paths["densepose"],
            "cloth": paths["cloth"],
            "cloth_mask": paths["cloth_mask"],
        }
        keypoints, keypoint_file = self.read_keypoints(split, sample_id)
        if keypoint_file is not None:
            files["keypoints"] = keypoint_file
        parts = {
            key: _read_parts(path, image.shape[:2])
            for key, path in garment_parts_paths(self.root, split, sample_id).items()
        }
        return RawPerson(
            sample_id,
            image,
            labels,
            cloth,
            cloth_mask,
            index,
            uv,
            picture,
            files,
            keypoints,
            category=self.category_of(split, sample_id),
            warnings=warnings,
            **parts,
        )

    def read_keypoints(self, split: str, sample_id: str) -> tuple[np.ndarray | None, Path | None]:
        """A sample's BODY_25 keypoints and their file where the set has ``openpose_json/`` (its file must then be
        there), else ``(None, None)``."""
        path = keypoints_path(self.root, split, sample_id)
        if not path.parent.is_dir():
            return None, None
        return kp.read_openpose_json(path, kp.BODY_25), path

    def category_of(self, split: str, sample_id: str) -> str:
        """The garment category of a sample: from the synthetic set's per-category lists, else ``upper``."""
        if split not in self._categories:
            self._categories[split] = categories(self.root, split)
        return self._categories[split].get(sample_id, "upper")

    def truth_pairs(self, split: str) -> list[tuple[str, str]] | None:
        path = transfer_pairs_path(self.root, split)
        return read_pairs(path) if path.is_file() else None

    def read_truth(self, split: str, source: str, target: str) -> TransferTruth:
        truth = read_transfer(self.root, split, source, target)
        paths = transfer_paths(self.root, split, source, target)
        height, width = truth.image.shape[:2]
        image = io.resize(truth.image, self.size, nearest=False)
        parsing = self.label_map.apply(io.resize(truth.parse, self.size, nearest=True), paths["parse"])
        flow = None
        if truth.flow is not None:  # optional in the layout; the engine always writes it
            flow = np.stack([io.resize(c, self.size, nearest=True) for c in truth.flow])
            scale = np.array([self.size[1] / width, self.size[0] / height], np.float32)[:, None, None]
            flow = torch.from_numpy(np.where(flow >= 0, (flow + 0.5) * scale - 0.5, -1.0).astype(np.float32))
        return TransferTruth(to_image_tensor(image), torch.from_numpy(parsing.astype(np.int64)), flow)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = pairs_path(self.root, split)
        if not path.is_file():
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, stem, stem)

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        return [(pairs_path(self.root, split), True)]

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        return [
            ("person", sample_paths(self.root, split, stem(line.person))["image"]),
            ("cloth", sample_paths(self.root, split, stem(line.cloth))["cloth"]),
        ]

    def list_problems(self, split: str, ids: set[str]) -> list[tuple[str, Path, str]]:
        """The true transfers' list (``transfer/pairs.txt``, where the synthetic engine wrote one): no pair twice,
        known ids, the transfer's files present (the correspondence is optional).

        Raises:
            ValueError: naming the list when it cannot be read.
        """
        path = transfer_pairs_path(self.root, split)
        if not path.is_file():
            return []
        problems, first = [], {}
        for line, pair in enumerate(read_pairs(path), start=1):
            if first.setdefault(pair, line) != line:
                problems.append(("duplicate id", path, f"line {line}: transfer {pair} already on line {first[pair]}"))
            if unknown := [i for i in pair if i not in ids]:
                problems.append(("pair points at nothing", path, f"line {line}: unknown ids {unknown}"))
                continue
            for key, file in transfer_paths(self.root, split, *pair).items():
                if key != "flow" and not file.is_file():
                    problems.append(
                        ("pair points at nothing", file, f"{path.name} line {line}: transfer file not found")
                    )
        return problems

    def notes(self) -> list[str]:
        moves = [
            f"mv {old_pairs_path(self.root, s)} {root_pairs_path(self.root, s)}"
            for s in SPLITS
            if old_pairs_path(self.root, s).is_file() and not root_pairs_path(self.root, s).is_file()
        ]
        if not moves:
            return []
        return [
            "pair lists at the old place (inside the split folders) are read; VITON-HD keeps them at the root: "
            + "; ".join(moves)
        ]


def _read_parts(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """A garment part map (``labels.GARMENT_PARTS`` ids) of the sample's ``size`` where the file exists, else None."""
    if not path.is_file():
        return None
    return check_size(
        path, check_ids(path, read_ids(path, "garment part map"), GARMENT_PARTS.values(), "garment part ids"), size
    )


READER = CanonicalReader


# ------------------------------------------------------------------------------------------------------ detection
def detect(root: Path) -> Detection | None:
    """VITON-HD (or a synthetic set) at ``root``: ``<split>/image-parse-v3/``, with the reader options that what
    ``image-densepose`` holds calls for; None when absent."""
    splits = [s for s in SPLITS if (root / s / "image-parse-v3").is_dir()]
    if not splits:
        return None
    reasons = [", ".join(f"{s}/image-parse-v3/" for s in splits)]
    lists = [root_pairs_path(root, s).name for s in SPLITS if root_pairs_path(root, s).is_file()]
    old = [f"{s}/{old_pairs_path(root, s).name}" for s in SPLITS if old_pairs_path(root, s).is_file()]
    if lists:
        reasons.append(f"{' and '.join(lists)} at the root")
    if old:
        reasons.append(f"{' and '.join(old)} at the old place")
    options = {"densepose": "iuv"}
    kind = densepose_kind(root / splits[0] / FOLDERS["densepose"])
    if kind is not None:
        files, why = kind
        reasons.append(why)
        options = {
            "densepose": {"rendering": "rendering", "parts": "parts"}.get(files, "iuv"),
            "densepose_files": files,
        }
    meta = root / "meta.json"
    synthetic = meta.is_file() and "synthetic engine" in meta.read_text(errors="replace")
    name = "canonical (this project's synthetic engine)" if synthetic else "VITON-HD (canonical)"
    return Detection(FORMAT, name, reasons, options)
