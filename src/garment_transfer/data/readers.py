"""Readers: one per on-disk format, each turning a sample into the same typed :class:`PersonSample`.

A reader resizes to the configured size: bilinear (antialiased when shrinking) for images, nearest for labels,
DensePose part indices, U, V and masks. It maps the format's label ids to the 7 classes through a label map
(``label_maps``) and encodes DensePose as configured (``densepose``). Every problem with a file is an error that
names the file.

=============  =======================  ==================  =========================================
format         layout                   default label map   DensePose on disk
=============  =======================  ==================  =========================================
``canonical``  VITON-HD / synthetic     ``cihp``            IUV bytes, or VITON-HD's colour rendering
``dresscode``  DressCode                ``atr18``           part index + ``uv`` npz
``viton``      VITON 256 x 192 pack     ``acgpn14``         part index only
=============  =======================  ==================  =========================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from garment_transfer.data import densepose
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.formats._common import check_size
from garment_transfer.data.io import read_image, resize
from garment_transfer.data.label_maps import LabelMap, derived_masks, load_label_map
from garment_transfer.data.samples import PersonSample, TransferTruth, parse_size

FORMATS = ("canonical", "dresscode", "viton")


@dataclass
class RawPerson:
    """A person as a format stores it, before resizing: uint8 ``image`` (h, w, 3), ``labels`` (h, w) in the format's
    label set, DensePose as ``parts`` (h, w) + ``uv`` (2, h, w) float in [0, 1] (either may be None) or as a colour
    ``densepose_picture`` (h, w, 3), ``cloth`` (h, w, 3) and ``cloth_mask`` (h, w) 0 / 255."""

    id: str
    image: np.ndarray
    labels: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    parts: np.ndarray | None = None
    uv: np.ndarray | None = None
    densepose_picture: np.ndarray | None = None
    files: dict = field(default_factory=dict)


def _to_image_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def _resize_raw(raw: RawPerson, size: tuple[int, int]) -> RawPerson:
    def nearest(a):
        return None if a is None else resize(a, size, nearest=True)

    return RawPerson(
        id=raw.id, image=resize(raw.image, size, nearest=False), labels=nearest(raw.labels),
        cloth=resize(raw.cloth, size, nearest=False), cloth_mask=nearest(raw.cloth_mask), parts=nearest(raw.parts),
        uv=None if raw.uv is None else np.stack([nearest(c) for c in raw.uv]),
        densepose_picture=nearest(raw.densepose_picture), files=raw.files,
    )


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

    # -- shared
    def person(self, split: str, sample_id: str, augment=None, seed: int = 0) -> PersonSample:
        """Read, resize, optionally augment (an ``augment.Augmenter``), map labels and encode one person."""
        raw = _resize_raw(self.read_raw(split, sample_id), self.size)
        if augment is not None and augment.active:
            raw = _augment(raw, augment, seed)
        parsing = self.label_map.apply(raw.labels, raw.files.get("labels", raw.id))
        masks = derived_masks(parsing)
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
        )


def _check_densepose(encoding: str, reader: Reader) -> None:
    densepose.check_encoding(encoding)
    if encoding in densepose.NEEDS_UV and not reader.has_uv:
        raise ValueError(f"densepose {encoding!r}: the {reader.format} format stores part indices only; "
                         "use densepose: parts")


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
    return RawPerson(raw.id, out["image"], out["labels"], raw.cloth, raw.cloth_mask, out.get("parts"), out.get("uv"),
                     picture, raw.files)


def split_iuv(pose: np.ndarray, path, hint: str) -> tuple[np.ndarray, np.ndarray | None]:
    """DensePose as stored -> ``(parts (h, w), uv (2, h, w) float in [0, 1] or None)``: an IUV picture (h, w, 3:
    part index, U * 255, V * 255) or part indices alone (h, w). A part index above 24 is an error naming ``path``
    and ending with ``hint`` (how to declare a colour rendering instead)."""
    parts = pose if pose.ndim == 2 else pose[..., 0]
    if parts.max() >= densepose.ENCODINGS["parts"]:
        raise ValueError(f"{path}: part index {int(parts.max())} > 24: is this a colour rendering? {hint}")
    uv = None if pose.ndim == 2 else np.moveaxis(pose[..., 1:], -1, 0).astype(np.float32) / 255.0
    return parts, uv


class CanonicalReader(Reader):
    """The canonical layout (VITON-HD and the synthetic engine).

    Args:
        densepose_files: ``iuv`` when ``image-densepose`` holds IUV bytes (synthetic data, or an IUV folder made
            with detectron2), ``rendering`` for VITON-HD's colour rendering (then only the ``rendering`` encoding).
    """

    format = "canonical"
    default_label_map = "cihp"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", densepose_files: str = "iuv"):
        if densepose_files not in ("iuv", "rendering"):
            raise ValueError(f"densepose_files {densepose_files!r}: choose 'iuv' or 'rendering'")
        self.has_uv = densepose_files == "iuv"
        if densepose_files == "rendering" and densepose != "rendering":
            raise ValueError(f"densepose {densepose!r}: VITON-HD's colour renderings hold no part indices; "
                             "use densepose: rendering, or point densepose_files: iuv at an IUV folder")
        self.densepose_files = densepose_files
        super().__init__(root, size, label_map, densepose)

    def ids(self, split: str) -> list[str]:
        return canonical.list_ids(self.root, split)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        raw = canonical.read_sample(self.root, split, sample_id)
        paths = canonical.sample_paths(self.root, split, sample_id)
        for key, array in (("parse", raw.parse), ("densepose", raw.iuv), ("cloth", raw.cloth),
                           ("cloth_mask", raw.cloth_mask)):
            check_size(paths[key], array, raw.image.shape[:2])
        if raw.parse.ndim != 2:
            raise ValueError(f"{paths['parse']}: expected a palette or grey PNG of label ids, got colour channels")
        files = {"image": paths["image"], "labels": paths["parse"], "densepose": paths["densepose"],
                 "cloth": paths["cloth"], "cloth_mask": paths["cloth_mask"]}
        if self.densepose_files == "rendering":
            return RawPerson(sample_id, raw.image, raw.parse, raw.cloth, raw.cloth_mask, densepose_picture=raw.iuv,
                             files=files)
        parts, uv = split_iuv(raw.iuv, paths["densepose"], "set densepose_files: rendering")
        return RawPerson(sample_id, raw.image, raw.parse, raw.cloth, raw.cloth_mask, parts, uv, files=files)

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


class DressCodeReader(Reader):
    """DressCode (``category`` ``upper_body``; ``lower_body`` and ``dresses`` read the same way)."""

    format = "dresscode"
    default_label_map = "atr18"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv", category: str = "upper_body"):
        dresscode.category_dir(root, category)  # validates the category
        self.category = category
        super().__init__(root, size, label_map, densepose)

    def ids(self, split: str) -> list[str]:
        return dresscode.list_dresscode_ids(self.root, split, self.category)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        raw = dresscode.read_dresscode_sample(self.root, sample_id, self.category)
        paths = dresscode.sample_paths(self.root, sample_id, self.category)
        files = {"image": paths["_0.jpg"], "labels": paths["_4.png"], "densepose": paths["_5.png"],
                 "cloth": paths["_1.jpg"], "cloth_mask": paths["_1.png"]}
        return RawPerson(sample_id, raw.image, raw.labels, raw.cloth, raw.cloth_mask, raw.parts, raw.uv, files=files)


class VitonReader(Reader):
    """The VITON 256 x 192 pack (PF-AFN / ACGPN): DensePose part indices only, so ``densepose: parts``."""

    format = "viton"
    default_label_map = "acgpn14"
    has_uv = False

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts"):
        super().__init__(root, size, label_map, densepose)

    def ids(self, split: str) -> list[str]:
        return viton.list_viton_ids(self.root, split)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        raw = viton.read_viton_sample(self.root, split, sample_id)
        paths = viton.sample_paths(self.root, split, sample_id)
        files = {"image": paths["image"], "labels": paths["labels"], "densepose": paths["parts"],
                 "cloth": paths["cloth"], "cloth_mask": paths["cloth_mask"]}
        return RawPerson(sample_id, raw.image, raw.labels, raw.cloth, raw.cloth_mask, raw.parts, files=files)


class FilesReader(Reader):
    """A :class:`Reader` over explicitly named files, one person per id ``"source"`` / ``"target"``; the in-shop
    garment is absent (a white picture with an empty mask: the transfer pipeline never reads it)."""

    format = "files"

    def __init__(self, files: dict[str, dict[str, str]], size, label_map, encoding: str, densepose_files: str):
        self.files, self.densepose_files = files, densepose_files
        self.has_uv = densepose_files == "iuv"
        if densepose_files == "rendering" and encoding != "rendering":
            raise ValueError(f"--densepose-files rendering: the networks were trained on the {encoding!r} encoding, "
                             "which a colour rendering cannot give; bring IUV files")
        super().__init__(Path("."), size, label_map, encoding)

    def ids(self, split: str) -> list[str]:
        return list(self.files)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = self.files[sample_id]
        image = read_image(paths["image"], "RGB")
        labels = read_image(paths["labels"])
        if labels.ndim != 2:
            raise ValueError(f"{paths['labels']}: expected a palette or grey PNG of label ids, got colour channels")
        pose = read_image(paths["densepose"], "L" if self.densepose_files == "parts" else "RGB")
        for key, array in (("labels", labels), ("densepose", pose)):
            if array.shape[:2] != image.shape[:2]:
                raise ValueError(f"{paths[key]}: size {array.shape[1]}x{array.shape[0]} (WxH) differs from the photo "
                                 f"{paths['image']} ({image.shape[1]}x{image.shape[0]})")
        cloth, cloth_mask = np.full_like(image, 255), np.zeros(image.shape[:2], np.uint8)
        if self.densepose_files == "rendering":
            return RawPerson(sample_id, image, labels, cloth, cloth_mask, densepose_picture=pose, files=paths)
        parts, uv = split_iuv(pose, paths["densepose"], "use --densepose-files rendering")
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, parts, uv, files=paths)


READERS = {"canonical": CanonicalReader, "dresscode": DressCodeReader, "viton": VitonReader}


def make_reader(format: str, root, **options) -> Reader:
    """The reader of ``format`` (one of :data:`FORMATS`) for ``root``; ``options`` go to its constructor."""
    if format not in READERS:
        raise ValueError(f"data format {format!r}: choose one of {FORMATS}")
    return READERS[format](root, **options)
