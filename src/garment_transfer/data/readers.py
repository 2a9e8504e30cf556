"""Readers: one per on-disk layout, each turning a sample into the same typed :class:`PersonSample`.

A reader resizes to the configured size: bilinear (antialiased when shrinking) for images, nearest for labels,
DensePose part indices, U, V and masks; keypoints are rescaled. It maps the layout's label ids to the 7 classes through
a label map (``label_maps``), takes the garment class from the layout's category where it has one (DressCode folders,
GP-VTON's category column), and encodes DensePose as configured (``densepose``). Every problem with a file is an
error that names the file.

=============  =========================================  ==================  ===================================
format         layout (as downloaded)                     default label map   DensePose on disk
=============  =========================================  ==================  ===================================
``canonical``  VITON-HD, and the synthetic engine's set   ``cihp``            IUV bytes (``densepose_files: iuv``,
               (also ``vitonhd``)                                             ``iuv_bgr``, ``parts``) or VITON-HD's
                                                                              colour rendering (``rendering``)
``dresscode``  DressCode, one category, several or all    ``atr18``           part index + ``uv`` npz
``viton``      VITON 256 x 192 as PF-AFN ships it         ``acgpn14``         part index ``.npy`` only
``cpvton``     CP-VTON's ``data/`` folder                 ``lip``             none shipped (add ``image-densepose``)
``gpvton``     GP-VTON's VITON-HD or DressCode release    ``gpvton29``        grey part index only
=============  =========================================  ==================  ===================================

Each reader also gives the data set's own evaluation lists (:meth:`Reader.official_pairs`): the data module uses them
for the paired and unpaired protocols where they exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from garment_transfer.data import densepose
from garment_transfer.data.formats import _common, canonical, cpvton, dresscode, gpvton, viton
from garment_transfer.data.formats._common import check_size
from garment_transfer.data.formats.pairs import PairLine, is_paired, read_pair_lines, unique
from garment_transfer.data.io import read_image, resize
from garment_transfer.data.keypoints import (BODY_25, COCO_18, DRESSCODE_FRAME, read_keypoint_array, read_openpose_json,
                                             rescale)
from garment_transfer.data.label_maps import LabelMap, derived_masks, load_label_map
from garment_transfer.data.labels import CIHP
from garment_transfer.data.samples import PersonSample, TransferTruth, parse_size

FORMATS = ("canonical", "vitonhd", "dresscode", "viton", "cpvton", "gpvton")
DENSEPOSE_FILES = ("iuv", "iuv_bgr", "parts", "rendering")


@dataclass
class RawPerson:
    """A person as a layout stores it, before resizing: uint8 ``image`` (h, w, 3), ``labels`` (h, w) in the layout's
    label set, DensePose as ``parts`` (h, w) + ``uv`` (2, h, w) float in [0, 1] (either may be None) or as a colour
    ``densepose_picture`` (h, w, 3), ``cloth`` (h, w, 3) and ``cloth_mask`` (h, w) 0 / 255.

    ``keypoints`` (K, 3) in the pixels of a ``keypoint_frame`` (H, W) image (None: the image's size), or None.
    ``category`` is the garment class (``upper``, ``lower``, ``dresses``). ``missing`` says, for ``labels`` or
    ``densepose``, why the layout holds no such file (e.g. PF-AFN's test pack); ``warnings`` collects notes about
    the files read (an alpha channel composited on white, a JPEG label map)."""

    id: str
    image: np.ndarray
    labels: np.ndarray | None
    cloth: np.ndarray
    cloth_mask: np.ndarray
    parts: np.ndarray | None = None
    uv: np.ndarray | None = None
    densepose_picture: np.ndarray | None = None
    files: dict = field(default_factory=dict)
    keypoints: np.ndarray | None = None
    keypoint_frame: tuple[int, int] | None = None
    category: str = "upper"
    missing: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


@dataclass(frozen=True)
class PairList:
    """A data set's own list: ``pairs`` as ``(source, target)`` ids (the cloth's owner and the person), read from
    ``path``; ``paired`` when every person wears their own garment."""

    path: Path
    paired: bool
    pairs: list[tuple[str, str]]


def _to_image_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def _resize_raw(raw: RawPerson, size: tuple[int, int]) -> RawPerson:
    def nearest(a):
        return None if a is None else resize(a, size, nearest=True)

    keypoints = None
    if raw.keypoints is not None:
        keypoints = rescale(raw.keypoints, raw.keypoint_frame or raw.image.shape[:2], size)
    return RawPerson(
        id=raw.id, image=resize(raw.image, size, nearest=False), labels=nearest(raw.labels),
        cloth=resize(raw.cloth, size, nearest=False), cloth_mask=nearest(raw.cloth_mask), parts=nearest(raw.parts),
        uv=None if raw.uv is None else np.stack([nearest(c) for c in raw.uv]),
        densepose_picture=nearest(raw.densepose_picture), files=raw.files, keypoints=keypoints, keypoint_frame=size,
        category=raw.category, missing=raw.missing, warnings=raw.warnings,
    )


def _stem(name: str) -> str:
    return Path(name).stem


class Reader:
    """Reads samples of one data set at ``size`` as :class:`PersonSample`.

    Args:
        root: the data set's folder.
        size: ``(H, W)`` or ``"HxW"``, multiples of 16.
        label_map: a built-in name, a YAML path or an inline table; None takes the format's default.
        densepose: the pose encoding, one of ``densepose.ENCODINGS``.
    """

    format = ""
    default_label_map = "cihp"
    has_uv = True
    has_picture = False  # holds colour DensePose renderings (the ``rendering`` encoding)one

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv"):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: data set folder not found")
        self.size = parse_size(size) if isinstance(size, str) else parse_size(f"{size[0]}x{size[1]}")
        self.label_map: LabelMap = load_label_map(label_map or self.default_label_map)
        _check_densepose(densepose, self)
        self.densepose = densepose

    # -- per format
    def ids(self, split: str) -> list[str]:
        raise NotImplementedError

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        raise NotImplementedError

    def truth_pairs(self, split: str) -> list[tuple[str, str]] | None:
        """``(source, target)`` pairs with a true transfer, or None when the data set has none."""
        return None

    def read_truth(self, split: str, source: str, target: str) -> TransferTruth | None:
        return None

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        """The data set's own paired (``paired``) or unpaired list of ``split``, or None when it ships none."""
        return None

    # -- layout facts used by ``data check``
    def split_folder(self, split: str) -> Path:
        """The folder whose absence means the split is absent."""
        return self.root / split

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        """``(path, required)`` of the pair lists of ``split`` to check line by line."""
        return []

    def pair_columns(self) -> tuple[int, ...]:
        return (2,)

    def line_id(self, line: PairLine) -> str:
        """The person id of a pair-list line."""
        return _stem(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        """``(role, file)`` that a pair-list line names: the person's photo and the garment's."""
        return []

    def layout_problems(self, split: str) -> list[tuple[str, Path, str]]:
        """``(category, file, message)`` about a split's folders as a whole (e.g. listings that do not match)."""
        return []

    def notes(self) -> list[str]:
        """Lines about the layout for ``data check`` (e.g. files this layout does not ship)."""
        return []

    # -- shared
    def official_or_none(self, paired: bool, lines: list[PairLine], path: Path, source_id, target_id):
        """A :class:`PairList` of ``lines`` (``source_id`` of the cloth, ``target_id`` of the person) when their kind,
        paired or not, is the one asked for, else None."""
        if not lines or is_paired(lines, target_id, source_id) != paired:
            return None
        return PairList(path, paired, [(source_id(line.cloth), target_id(line.person)) for line in lines])

    def person(self, split: str, sample_id: str, augment=None, seed: int = 0) -> PersonSample:
        """Read, resize, optionally augment (an ``augment.Augmenter``), map labels and encode one person."""
        raw = self.read_raw(split, sample_id)
        _require(raw, self.densepose)
        raw = _resize_raw(raw, self.size)
        if augment is not None and augment.active:
            raw = _augment(raw, augment, seed)
        parsing = self.label_map.apply(raw.labels, raw.files.get("labels", raw.id))
        masks = derived_masks(parsing, raw.category)
        if self.densepose == "rendering":
            pose = densepose.encode_rendering(raw.densepose_picture)
        else:
            pose = densepose.encode(raw.parts, raw.uv, self.densepose, raw.files.get("densepose", raw.id))
        return PersonSample(
            image=_to_image_tensor(raw.image),
            parsing=torch.from_numpy(parsing.astype(np.int64)),
            densepose=torch.from_numpy(pose),
            cloth=_to_image_tensor(raw.cloth),
            cloth_mask=torch.from_numpy((raw.cloth_mask[None] > 127).astype(np.float32)),
            garment_mask=torch.from_numpy(masks["garment"]),
            skin_mask=torch.from_numpy(masks["skin"]),
            remaining=torch.from_numpy(masks["remaining"]),
            id=raw.id,
            files={key: str(value) for key, value in raw.files.items()},
            keypoints=None if raw.keypoints is None else torch.from_numpy(raw.keypoints.astype(np.float32)),
        )


def _require(raw: RawPerson, encoding: str) -> None:
    """A sample without parsing or DensePose cannot become a :class:`PersonSample`: say which files are absent and
    why."""
    lacking = [key for key, value in (("labels", raw.labels),
                                      ("densepose", raw.densepose_picture if encoding == "rendering" else raw.parts))
               if value is None]
    if lacking:
        reasons = "; ".join(raw.missing.get(key, f"{raw.files.get(key, key)}: not read") for key in lacking)
        raise ValueError(f"{reasons} (sample {raw.id!r} has no {' and no '.join(lacking)}, which the stages need)")


def _check_densepose(encoding: str, reader: Reader) -> None:
    densepose.check_encoding(encoding)
    if encoding in densepose.NEEDS_UV and not reader.has_uv:
        raise ValueError(f"densepose {encoding!r}: the {reader.format} format stores part indices only; "
                         "use densepose: parts")
    if encoding == "rendering" and not reader.has_picture:
        raise ValueError(f"densepose 'rendering': the {reader.format} data holds no colour DensePose renderings "
                         "(for VITON-HD's, set densepose_files: rendering)")


def _augment(raw: RawPerson, augment, seed: int) -> RawPerson:
    arrays = {"image": raw.image, "labels": raw.labels}
    kinds = {"image": "image", "labels": "labels"}
    if raw.parts is not None:
        arrays["parts"], kinds["parts"] = raw.parts, "parts"
    if raw.uv is not None:
        arrays["uv"], kinds["uv"] = raw.uv, "uv"
    if raw.densepose_picture is not None:  # a colour picture moves with the geometry, no colour jitter
        for c in range(3):
            arrays[f"dp{c}"], kinds[f"dp{c}"] = np.ascontiguousarray(raw.densepose_picture[..., c]), "mask"
    out = augment(arrays, kinds, seed)
    picture = None if raw.densepose_picture is None else np.stack([out[f"dp{c}"] for c in range(3)], -1)
    # keypoints are not moved by the augmentation: an augmented sample carries none
    return RawPerson(raw.id, out["image"], out["labels"], raw.cloth, raw.cloth_mask, out.get("parts"), out.get("uv"),
                     picture, raw.files, category=raw.category)


def read_densepose(path: Path, files: str) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """A DensePose file as ``densepose_files`` declares it -> ``(parts, uv, picture)``: ``iuv`` / ``iuv_bgr`` give
    parts and UV, ``parts`` parts alone, ``rendering`` the colour picture. A file that does not fit its declaration is
    an error naming it and the likely cause (``densepose.iuv_from_picture``)."""
    if files == "rendering":
        return None, None, read_image(path, "RGB")
    stored = read_image(path)
    if files == "parts":
        return densepose.parts_from_image(stored, path), None, None
    parts, uv = densepose.iuv_from_picture(stored, path, "vui" if files == "iuv_bgr" else "iuv")
    return parts, uv, None


def _check_densepose_files(files: str) -> str:
    if files not in DENSEPOSE_FILES:
        raise ValueError(f"densepose_files {files!r}: choose one of {DENSEPOSE_FILES}")
    return files


class CanonicalReader(Reader):
    """The canonical layout: VITON-HD as shipped, and the synthetic engine's sets (pair lists at the root, or in the
    split folders for sets written by the old layout).

    Args:
        densepose_files: what ``image-densepose`` holds: ``iuv`` (synthetic data, or IUV made with detectron2 and
            saved by PIL), ``iuv_bgr`` (the same saved by ``cv2.imwrite``: V, U, I on disk), ``parts`` (a grey part
            index), ``rendering`` (VITON-HD's colour rendering, then only the ``rendering`` encoding).
    """

    format = "canonical"
    default_label_map = "cihp"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", densepose_files: str = "iuv"):
        self.densepose_files = _check_densepose_files(densepose_files)
        self.has_uv = densepose_files in ("iuv", "iuv_bgr")
        self.has_picture = densepose_files == "rendering"
        if densepose_files == "rendering" and densepose != "rendering":
            raise ValueError(f"densepose {densepose!r}: VITON-HD's colour renderings hold no part indices; "
                             "use densepose: rendering, or point densepose_files: iuv at an IUV folder")
        super().__init__(root, size, label_map, densepose)
        self._categories: dict[str, dict[str, str]] = {}  # split -> id -> garment category

    def ids(self, split: str) -> list[str]:
        return canonical.list_ids(self.root, split)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = canonical.sample_paths(self.root, split, sample_id)
        warnings: list[str] = []
        image = _common.read_photo(paths["image"], warnings)
        labels = read_image(paths["parse"])
        if labels.ndim != 2:
            raise ValueError(f"{paths['parse']}: expected a palette or grey PNG of label ids, got colour channels")
        parts, uv, picture = read_densepose(paths["densepose"], self.densepose_files)
        cloth = _common.read_photo(paths["cloth"], warnings)
        cloth_mask = read_image(paths["cloth_mask"], "L")
        for key, array in (("parse", labels), ("densepose", parts if picture is None else picture), ("cloth", cloth),
                           ("cloth_mask", cloth_mask)):
            check_size(paths[key], array, image.shape[:2])
        files = {"image": paths["image"], "labels": paths["parse"], "densepose": paths["densepose"],
                 "cloth": paths["cloth"], "cloth_mask": paths["cloth_mask"]}
        keypoints = None
        keypoint_file = canonical.keypoints_path(self.root, split, sample_id)
        if keypoint_file.parent.is_dir():
            keypoints, files["keypoints"] = read_openpose_json(keypoint_file, BODY_25), keypoint_file
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, parts, uv, picture, files, keypoints,
                         category=self.category_of(split, sample_id), warnings=warnings)

    def category_of(self, split: str, sample_id: str) -> str:
        """The garment category of a sample: from the synthetic set's per-category lists, else ``upper``."""
        if split not in self._categories:
            self._categories[split] = canonical.categories(self.root, split)
        return self._categories[split].get(sample_id, "upper")

    def truth_pairs(self, split: str) -> list[tuple[str, str]] | None:
        path = canonical.transfer_pairs_path(self.root, split)
        return canonical.read_pairs(path) if path.is_file() else None

    def read_truth(self, split: str, source: str, target: str) -> TransferTruth:
        truth = canonical.read_transfer(self.root, split, source, target)
        paths = canonical.transfer_paths(self.root, split, source, target)
        height, width = truth.image.shape[:2]
        image = resize(truth.image, self.size, nearest=False)
        parsing = self.label_map.apply(resize(truth.parse, self.size, nearest=True), paths["parse"])
        flow = None
        if truth.flow is not None:  # optional in the layout; the engine always writes it
            flow = np.stack([resize(c, self.size, nearest=True) for c in truth.flow])
            scale = np.array([self.size[1] / width, self.size[0] / height], np.float32)[:, None, None]
            flow = torch.from_numpy(np.where(flow >= 0, (flow + 0.5) * scale - 0.5, -1.0).astype(np.float32))
        return TransferTruth(_to_image_tensor(image), torch.from_numpy(parsing.astype(np.int64)), flow)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = canonical.pairs_path(self.root, split)
        if not path.is_file():
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, _stem, _stem)

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        return [(canonical.pairs_path(self.root, split), True)]

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        return [("person", canonical.sample_paths(self.root, split, _stem(line.person))["image"]),
                ("cloth", canonical.sample_paths(self.root, split, _stem(line.cloth))["cloth"])]

    def notes(self) -> list[str]:
        moves = [f"mv {canonical.old_pairs_path(self.root, s)} {canonical.root_pairs_path(self.root, s)}"
                 for s in canonical.SPLITS
                 if canonical.old_pairs_path(self.root, s).is_file()
                 and not canonical.root_pairs_path(self.root, s).is_file()]
        if not moves:
            return []
        return ["pair lists at the old place (inside the split folders) are read; VITON-HD keeps them at the root: "
                + "; ".join(moves)]


class DressCodeReader(Reader):
    """DressCode: one category (``upper_body``, ``lower_body``, ``dresses``), a list of them, or ``all``; the
    garment class follows each sample's category. Ids must be unique across the categories read."""

    format = "dresscode"
    default_label_map = "atr18"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", category="upper_body"):
        self.categories = dresscode.categories(category)
        self.category = self.categories[0] if len(self.categories) == 1 else "all"
        self._category_of: dict[str, dict[str, str]] = {}
        super().__init__(root, size, label_map, densepose)

    def _index(self, split: str) -> dict[str, str]:
        if split not in self._category_of:
            index: dict[str, str] = {}
            for category in self.categories:
                for sample_id in dresscode.list_dresscode_ids(self.root, split, category):
                    if index.setdefault(sample_id, category) != category:
                        raise ValueError(f"{dresscode.sample_paths(self.root, sample_id, category)['_0.jpg']}: id "
                                         f"{sample_id!r} is also in {index[sample_id]}; read one category at a time")
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
        raw = dresscode.read_dresscode_sample(self.root, sample_id, category, warnings)
        paths = dresscode.sample_paths(self.root, sample_id, category)
        files = {"image": paths["_0.jpg"], "labels": paths["_4.png"], "densepose": paths["_5.png"],
                 "cloth": paths["_1.jpg"], "cloth_mask": paths["_1.png"] if raw.mask_source == "file"
                 else paths["_1.jpg"]}
        if raw.keypoints is not None:
            files["keypoints"] = paths["_2.json"]
        return RawPerson(sample_id, raw.image, raw.labels, raw.cloth, raw.cloth_mask, raw.parts, raw.uv, files=files,
                         keypoints=raw.keypoints, keypoint_frame=DRESSCODE_FRAME,
                         category=dresscode.GARMENT[category], warnings=warnings)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        lists = []
        for category in self.categories:
            path = dresscode.pairs_path(self.root, split, category, paired or split == "train")
            if path.is_file():
                found = self.official_or_none(paired, read_pair_lines(path), path, dresscode.person_id,
                                              dresscode.person_id)
                lists += [found] if found else []
        if not lists:
            return None
        return PairList(lists[0].path if len(lists) == 1 else self.root, paired, [p for f in lists for p in f.pairs])

    def split_folder(self, split: str) -> Path:
        return dresscode.category_dir(self.root, self.categories[0])

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        files = []
        for category in self.categories:  # the paired list, required unless the test split has an unpaired one
            unpaired = dresscode.pairs_path(self.root, split, category, paired=False) if split == "test" else None
            files.append((dresscode.pairs_path(self.root, split, category), unpaired is None or not unpaired.is_file()))
            files += [(unpaired, False)] if unpaired is not None else []
        return files

    def line_id(self, line: PairLine) -> str:
        return dresscode.person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        category = self.category_of(split, dresscode.person_id(line.person))
        images = dresscode.category_dir(self.root, category) / "images"
        return [("person", images / line.person), ("cloth", images / line.cloth)]

    def notes(self) -> list[str]:
        lacking = [c for c in self.categories if not (dresscode.category_dir(self.root, c) / "masks").is_dir()]
        if not lacking:
            return []
        return [f"{', '.join(lacking)}: no masks/ folder (DressCode ships no cloth masks; LaDI-VTON distributes "
                "masks/<id>_1.png): garment masks are recovered from the cloth backgrounds"]


class VitonReader(Reader):
    """The VITON 256 x 192 pack as PF-AFN ships it: two roots, sorted listings as training samples, a test pack of
    person, cloth and edge only; DensePose part indices only, so ``densepose: parts``.

    Args:
        train_root, test_root: the two roots when they are not ``<root>/VITON_traindata`` and ``<root>/VITON_test``.
        test_pairs: the test list (PF-AFN keeps ``test_pairs.txt`` / ``demo.txt`` in its code repository) when it is
            not in the test root or ``root``.
    """

    format = "viton"
    default_label_map = "acgpn14"
    has_uv = False

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts", train_root=None,
                 test_root=None, test_pairs=None):
        self.overrides = {"train": train_root, "test": test_root}
        self.test_pairs = test_pairs
        super().__init__(root, size, label_map, densepose)

    def base(self, split: str) -> Path:
        return viton.split_root(self.root, split, self.overrides[split])

    def ids(self, split: str) -> list[str]:
        return viton.list_viton_ids(self.root, split, self.overrides[split])

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        warnings: list[str] = []
        raw = viton.read_viton_sample(self.root, split, sample_id, warnings, self.overrides[split])
        paths = viton.sample_paths(self.root, split, sample_id, self.overrides[split])
        if raw.jpeg_labels:
            warnings.append(f"{paths['labels']}: JPEG label map (lossy): values snapped to the nearest ACGPN-14 id; "
                            "classes near label edges may be wrong")
        files = {"image": paths["image"], "labels": paths["labels"], "densepose": paths["parts"],
                 "cloth": paths["cloth"], "cloth_mask": paths["cloth_mask"]}
        if raw.keypoints is not None:
            files["keypoints"] = paths["keypoints"]
        pack = "PF-AFN's test pack ships test_img, test_clothes and test_edge only"
        missing = {"labels": f"{paths['labels'].parent}: no parsing ({pack}; add ACGPN-14 label maps there)",
                   "densepose": f"{paths['parts'].parent}: no DensePose ({pack}; add part-index .npy files there)"}
        return RawPerson(sample_id, raw.image, raw.labels, raw.cloth, raw.cloth_mask, raw.parts, files=files,
                         keypoints=raw.keypoints, missing=missing, warnings=warnings)

    def test_list(self) -> Path | None:
        return viton.test_list_path(self.root, self.base("test"), self.test_pairs)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = self.test_list() if split == "test" else None
        if path is None:
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, viton.person_id, viton.person_id)

    def split_folder(self, split: str) -> Path:
        return viton.folder(self.base(split), split, "image")

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        path = self.test_list() if split == "test" else None
        return [(path, self.test_pairs is not None)] if path is not None else []

    def line_id(self, line: PairLine) -> str:
        return viton.person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        base = self.base(split)
        return [("person", viton.folder(base, split, "image") / line.person),
                ("cloth", viton.folder(base, split, "cloth") / line.cloth)]

    def layout_problems(self, split: str) -> list[tuple[str, Path, str]]:
        try:
            ids = self.ids(split)
        except FileNotFoundError:
            return []
        return [("listing mismatch", where, message) for where, message in
                viton.listing_mismatches(self.base(split), split, ids)]

    def notes(self) -> list[str]:
        lines = []
        test = self.base("test")
        if viton.folder(test, "test", "image").is_dir() and not viton.folder(test, "test", "labels").is_dir():
            lines.append(f"{test}: test pack without test_label/ and test_densepose/ (as PF-AFN ships it): usable by "
                         "parser-free try-on; this project's stages need parsing and DensePose for test samples")
        if viton.folder(test, "test", "image").is_dir() and self.test_list() is None:
            lines.append(f"{test}: no test list (test_pairs.txt / demo.txt, in PF-AFN's code repository): copy it "
                         "there or set test_pairs; evaluation pairs are drawn")
        return lines


class CPVTONReader(Reader):
    """CP-VTON's ``data/`` folder (LIP parsing, COCO-18 keypoints, no DensePose unless ``image-densepose`` is added).

    Args:
        densepose_files: what an added ``<split>/image-densepose/<id>_0.png`` holds (``iuv``, ``iuv_bgr``,
            ``parts``).
    """

    format = "cpvton"
    default_label_map = "lip"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts", densepose_files: str = "iuv"):
        if _check_densepose_files(densepose_files) == "rendering":
            raise ValueError("densepose_files 'rendering': CP-VTON data has no colour renderings")
        self.densepose_files = densepose_files
        self.has_uv = densepose_files != "parts"
        super().__init__(root, size, label_map, densepose)
        self.data = cpvton.data_root(self.root)

    def ids(self, split: str) -> list[str]:
        return unique(cpvton.person_id(p) for p, _ in canonical.read_pairs(cpvton.pairs_path(self.data, split)))

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = cpvton.sample_paths(self.data, split, sample_id)
        warnings: list[str] = []
        image = _common.read_photo(paths["image"], warnings)
        labels = _common.read_index_map(paths["labels"], CIHP.values(), "LIP label ids")
        cloth = _common.read_photo(paths["cloth"], warnings)
        cloth_mask = _common.binarize(read_image(paths["cloth_mask"], "L"))
        parts = uv = None
        if paths["densepose"].parent.is_dir():
            parts, uv, _ = read_densepose(paths["densepose"], self.densepose_files)
            check_size(paths["densepose"], parts, image.shape[:2])
        for key, array in (("labels", labels), ("cloth", cloth), ("cloth_mask", cloth_mask)):
            check_size(paths[key], array, image.shape[:2])
        files = {key: paths[key] for key in ("image", "labels", "densepose", "cloth", "cloth_mask")}
        keypoints = None
        if paths["keypoints"].parent.is_dir():
            keypoints, files["keypoints"] = read_openpose_json(paths["keypoints"], COCO_18), paths["keypoints"]
        missing = {"densepose": f"{paths['densepose'].parent}: no DensePose (CP-VTON ships none; add "
                                "<split>/image-densepose/<id>_0.png there)"}
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, parts, uv, files=files, keypoints=keypoints,
                         missing=missing, warnings=warnings)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = cpvton.pairs_path(self.data, split)
        if not path.is_file():
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, cpvton.person_id, cpvton.person_id)

    def split_folder(self, split: str) -> Path:
        return self.data / split

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        return [(cpvton.pairs_path(self.data, split), True)]

    def line_id(self, line: PairLine) -> str:
        return cpvton.person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        return [("person", self.data / split / "image" / line.person),
                ("cloth", self.data / split / "cloth" / line.cloth)]

    def notes(self) -> list[str]:
        if any((self.data / s / "image-densepose").is_dir() for s in canonical.SPLITS):
            return []
        return [f"{self.data}: no DensePose (CP-VTON ships none): add <split>/image-densepose/<id>_0.png for the "
                "stages that need it"]


@dataclass(frozen=True)
class _GPEntry:
    person: str
    cloth: str
    token: str | None


class GPVTONReader(Reader):
    """GP-VTON's VITON-HD or DressCode release: three-column pair lists at the root (``person cloth category``),
    29-class parsing, grey DensePose part index (so ``densepose: parts``), BODY_25 keypoints.

    Args:
        pairs: list file names relative to the root by role (``train``, ``test_paired``, ``test_unpaired``) where
            the defaults (``train_pairs*.txt``, ``test_pairs_paired*.txt``, ``test_pairs_unpaired*.txt``) match
            none or several files.
    """

    format = "gpvton"
    default_label_map = "gpvton29"
    has_uv = False

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts", pairs: dict | None = None):
        super().__init__(root, size, label_map, densepose)
        self.kind = gpvton.variant(self.root)
        self.lists = gpvton.list_files(self.root, pairs)
        self._index: dict[str, dict[str, _GPEntry]] = {}

    def _roles(self, split: str) -> list[str]:
        return ["train"] if split == "train" else ["test_paired", "test_unpaired"]

    def _person_id(self, name: str) -> str:
        stem = _stem(name)
        return stem if self.kind == "vitonhd" else stem.rsplit("_", 1)[0]

    def _lines(self, role: str) -> list[PairLine]:
        path = self.lists[role]
        return gpvton.read_lines(path) if path is not None else []

    def index(self, split: str) -> dict[str, _GPEntry]:
        """id -> its person file name, own garment file name and category token, for ``split``."""
        if split not in self._index:
            roles = [r for r in self._roles(split) if self.lists[r] is not None]
            if not roles:
                wanted = " or ".join(gpvton.LISTS[r][0] for r in self._roles(split))
                raise FileNotFoundError(f"{self.root}: pairs file not found ({wanted})")
            lines = self._lines(roles[0])  # the test persons: the paired list's where it exists
            own = {self._person_id(line.person): line.cloth for role in roles for line in self._lines(role)
                   if self._person_id(line.cloth) == self._person_id(line.person)}
            entries: dict[str, _GPEntry] = {}
            for line in lines:
                sample_id = self._person_id(line.person)
                cloth = own.get(sample_id) or gpvton.own_cloth(self.kind, line.person)
                entries.setdefault(sample_id, _GPEntry(line.person, cloth, line.category))
            self._index[split] = entries
        return self._index[split]

    def ids(self, split: str) -> list[str]:
        return list(self.index(split))

    def paths(self, split: str, sample_id: str) -> dict[str, Path]:
        entry = self.index(split).get(sample_id)
        if entry is None:
            raise ValueError(f"{self.root}: id {sample_id!r} is in no {split} pair list")
        base = gpvton.base_folder(self.root, self.kind, split, entry.token)
        return gpvton.sample_paths(base, self.kind, entry.person, entry.cloth)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = self.paths(split, sample_id)
        entry = self.index(split)[sample_id]
        warnings: list[str] = []
        image = _common.read_photo(paths["image"], warnings)
        labels = _common.read_index_map(paths["labels"], range(29), "GP-VTON parsing ids")
        parts = densepose.parts_from_image(read_image(paths["densepose"]), paths["densepose"])
        cloth = _common.read_photo(paths["cloth"], warnings)
        cloth_mask = _common.binarize(read_image(paths["cloth_mask"], "L"))
        for key, array in (("labels", labels), ("densepose", parts)):
            check_size(paths[key], array, image.shape[:2])
        check_size(paths["cloth_mask"], cloth_mask, cloth.shape[:2])
        files = {key: paths[key] for key in ("image", "labels", "densepose", "cloth", "cloth_mask")}
        keypoints = None
        if paths["keypoints"].parent.is_dir():
            read = read_openpose_json if self.kind == "vitonhd" else read_keypoint_array
            keypoints, files["keypoints"] = read(paths["keypoints"], BODY_25), paths["keypoints"]
        category = gpvton.CATEGORY_TOKENS[entry.token or "upper"]
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, parts, files=files, keypoints=keypoints,
                         category=category, warnings=warnings)

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        for role in self._roles(split):
            path = self.lists[role]
            if path is not None:
                found = self.official_or_none(paired, self._lines(role), path, self._person_id,
                                              self._person_id)
                if found:
                    return found
        return None

    def split_folder(self, split: str) -> Path:
        return self.root / split if self.kind == "vitonhd" else self.root

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        roles = [r for r in self._roles(split) if self.lists[r] is not None]
        if not roles:
            return [(self.root / gpvton.LISTS[self._roles(split)[0]][0].replace("*", ""), True)]
        return [(self.lists[r], False) for r in roles]

    def pair_columns(self) -> tuple[int, ...]:
        return (2, 3)

    def line_id(self, line: PairLine) -> str:
        return self._person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        base = gpvton.base_folder(self.root, self.kind, split, line.category)
        paths = gpvton.sample_paths(base, self.kind, line.person, line.cloth)
        return [("person", paths["image"]), ("cloth", paths["cloth"])]


class FilesReader(Reader):
    """A :class:`Reader` over explicitly named files, one person per id ``"source"`` / ``"target"``; the in-shop
    garment is absent (a white picture with an empty mask: the transfer pipeline never reads it)."""

    format = "files"

    def __init__(self, files: dict[str, dict[str, str]], size, label_map, encoding: str, densepose_files: str):
        self.files, self.densepose_files = files, _check_densepose_files(densepose_files)
        self.has_uv = densepose_files in ("iuv", "iuv_bgr")
        self.has_picture = densepose_files == "rendering"
        if densepose_files == "rendering" and encoding != "rendering":
            raise ValueError(f"--densepose-files rendering: the networks were trained on the {encoding!r} encoding, "
                             "which a colour rendering cannot give; bring IUV files")
        super().__init__(Path("."), size, label_map, encoding)

    def ids(self, split: str) -> list[str]:
        return list(self.files)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = self.files[sample_id]
        image = _common.read_photo(Path(paths["image"]))
        labels = read_image(paths["labels"])
        if labels.ndim != 2:
            raise ValueError(f"{paths['labels']}: expected a palette or grey PNG of label ids, got colour channels")
        parts, uv, picture = read_densepose(Path(paths["densepose"]), self.densepose_files)
        for key, array in (("labels", labels), ("densepose", parts if picture is None else picture)):
            if array.shape[:2] != image.shape[:2]:
                raise ValueError(f"{paths[key]}: size {array.shape[1]}x{array.shape[0]} (WxH) differs from the photo "
                                 f"{paths['image']} ({image.shape[1]}x{image.shape[0]})")
        cloth, cloth_mask = np.full_like(image, 255), np.zeros(image.shape[:2], np.uint8)
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, parts, uv, picture, files=paths)


READERS = {"canonical": CanonicalReader, "vitonhd": CanonicalReader, "dresscode": DressCodeReader,
           "viton": VitonReader, "cpvton": CPVTONReader, "gpvton": GPVTONReader}


def make_reader(format: str, root, **options) -> Reader:
    """The reader of ``format`` (one of :data:`FORMATS`) for ``root``; ``options`` go to its constructor."""
    if format not in READERS:
        raise ValueError(f"data format {format!r}: choose one of {FORMATS}")
    return READERS[format](root, **options)
