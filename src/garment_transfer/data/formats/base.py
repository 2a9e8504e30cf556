"""What every layout module builds on: the :class:`Reader` base class, the raw person it reads, the data set's own
lists, the detection result, and the checked reading every layout shares.

A reader turns a sample of its layout into the same typed :class:`~garment_transfer.data.samples.PersonSample`. It
resizes to the configured size: bilinear (antialiased when shrinking) for images, nearest for labels, garment parts,
the DensePose part index, U, V and masks; keypoints are rescaled. It maps the layout's label ids to the 7 classes
through a label map (``label_maps``), takes the garment class from the layout's category where it has one, and
encodes DensePose as configured (``densepose``). Every problem with a file is an error that names the file.

Checked reading: photos (an alpha channel is composited on white and said so), index maps (never a JPEG, whatever
the file's name), DensePose files as ``densepose_files`` declares them, in-shop garment masks (thresholded, or
recovered from the background), each checked with an error naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage  # installed with albumentations

from garment_transfer.data import densepose, io
from garment_transfer.data.formats.pairs import PairLine, is_paired, read_pairs, read_text
from garment_transfer.data.keypoints import rescale
from garment_transfer.data.label_maps import LabelMap, derived_masks, load_label_map
from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS
from garment_transfer.data.samples import PersonSample, TransferTruth, parse_size

SPLITS = ("train", "test")  # the splits of every layout (VITON-HD's names)
DENSEPOSE_FILES = ("iuv", "iuv_bgr", "parts", "rendering")  # what a layout's DensePose pictures may hold
MASK_THRESHOLD = 128  # a grey mask (JPEG or resized) is garment where >= this value
WHITE_THRESHOLD = 240  # an in-shop pixel is white background where all three channels are >= this value
BACKGROUND_TOLERANCE = (15, 48)  # background model: per-channel distance to the border colour, low / high bound
MAX_RECOVERED_MASK = 0.9  # a garment mask recovered from the background may cover at most this image fraction


def check_split(split: str) -> str:
    """``split`` when it is one of :data:`SPLITS`, else a ValueError naming it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def stem(name: str) -> str:
    """A file name without folder and extension: ``"a/000001_00.jpg"`` -> ``"000001_00"``."""
    return Path(name).stem


# ------------------------------------------------------------------------------------------------- reading files
def read_photo(path: Path, warnings: list[str] | None = None) -> np.ndarray:
    """A photo (person or in-shop garment) as (H, W, 3) uint8 RGB; an alpha channel is composited on white and, when
    ``warnings`` is given, a line naming the file is added to it."""
    image, composited = io.read_rgb(path)
    if composited and warnings is not None:
        warnings.append(f"{path}: has an alpha channel; composited on a white background")
    return image


def read_ids(path: Path, what: str = "label map") -> np.ndarray:
    """A picture of ids (a label map, a garment part map, a DensePose part index) as stored (indices of palette
    images kept); ``what`` names it in the error. Ids need a lossless file: a JPEG, told by the file's bytes whatever
    its name says, is refused, since JPEG changes ids along every edge, most of them into other valid ids (no id check
    would see it).

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it is unreadable or holds a JPEG.
    """
    picture, stored = io.read_image_and_format(path)
    _refuse_jpeg(path, stored, what)
    return picture


def _refuse_jpeg(path: Path, stored: str, what: str) -> None:
    if stored == "JPEG":
        name = "" if path.suffix.lower() in (".jpg", ".jpeg") else f" under a {path.suffix!r} name"
        raise ValueError(
            f"{path}: a JPEG {what}{name} (JPEG is lossy: ids change along every edge, most of them "
            "into other valid ids); write it as PNG"
        )


def read_index_map(path: Path, valid_ids: Iterable[int], what: str) -> np.ndarray:
    """Read a grey or palette PNG of ids as (H, W) uint8 (a JPEG is refused: :func:`read_ids`); see ``check_ids``.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it is unreadable, a JPEG, has colour channels or holds an id not in
            ``valid_ids``.
    """
    return check_ids(path, read_ids(path), valid_ids, what)


def check_ids(path: Path, labels: np.ndarray, valid_ids: Iterable[int], what: str) -> np.ndarray:
    """Check that ``labels`` read from ``path`` is an (H, W) integer map of ``valid_ids``; return it as uint8."""
    if labels.ndim != 2:
        raise ValueError(f"{path}: expected an (H, W) map of {what}, got shape {labels.shape} (a colour rendering?)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: expected integer {what}, got dtype {labels.dtype}")
    valid = np.asarray(sorted(valid_ids))
    found = np.unique(labels)
    unknown = found[~np.isin(found, valid)]
    if unknown.size:
        raise ValueError(f"{path}: {what} {unknown.tolist()} are not valid (expected ids in {valid.tolist()})")
    return labels.astype(np.uint8)


def check_size(path: Path, array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Check that ``array``'s (H, W) is ``size``; return it."""
    if tuple(array.shape[:2]) != tuple(size):
        raise ValueError(f"{path}: size {array.shape[:2]} differs from the sample's size {tuple(size)}")
    return array


def fit_to(array: np.ndarray, path: Path, size: tuple[int, int], nearest: bool = True) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) array read from ``path`` to ``size`` when it has the same aspect ratio (within
    2 %, e.g. a DensePose map stored at another resolution than its photo); another shape is an error. uint8 arrays
    resize as ``io.resize`` does (``nearest`` or bilinear); other dtypes (UV floats) always nearest, pixel centre
    onto pixel centre."""
    height, width = array.shape[:2]
    if (height, width) == tuple(size):
        return array
    if abs(height * size[1] - width * size[0]) > 0.02 * width * size[0]:
        raise ValueError(
            f"{path}: size {(height, width)} differs from the sample's size {tuple(size)} and has another aspect ratio"
        )
    if array.dtype == np.uint8:
        return io.resize(array, size, nearest)
    channels = [array] if array.ndim == 2 else [array[..., c] for c in range(array.shape[-1])]
    rows = np.minimum(((np.arange(size[0]) + 0.5) * height / size[0]).astype(int), height - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * width / size[1]).astype(int), width - 1)
    resized = [c[rows][:, cols] for c in channels]
    return resized[0] if array.ndim == 2 else np.stack(resized, axis=-1)


def ids_from_pairs(path: Path, suffix: str = "_0.jpg") -> list[str]:
    """The person ids of a pairs file whose first column is ``<id><suffix>``, in file order.

    Raises:
        FileNotFoundError: naming the pairs file when it is missing.
        ValueError: naming the file when a person name lacks ``suffix``.
    """
    ids = []
    for person, _ in read_pairs(path):
        if not person.endswith(suffix):
            raise ValueError(f"{path}: person name {person!r} does not end with {suffix!r}")
        ids.append(person[: -len(suffix)])
    return ids


def read_densepose(path: Path, files: str) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """A DensePose file as ``densepose_files`` declares it -> ``(index, uv, picture)``: ``iuv`` / ``iuv_bgr`` give
    the part index and UV, ``parts`` the part index alone, ``rendering`` the colour picture. A file that does not fit
    its declaration is an error naming it and the likely cause (``densepose.iuv_from_picture``,
    ``densepose.rendering_from_picture``); a part index or IUV stored as JPEG (lossy) is refused (:func:`read_ids`).
    """
    if files == "rendering":
        return None, None, densepose.rendering_from_picture(io.read_image(path, "RGB"), path)
    stored, kind = io.read_image_and_format(path)
    if files == "parts":
        _refuse_jpeg(path, kind, "DensePose part index")
        return densepose.index_from_image(stored, path), None, None
    index, uv = densepose.iuv_from_picture(stored, path, "vui" if files == "iuv_bgr" else "iuv", kind == "JPEG")
    return index, uv, None


def check_densepose_files(files: str) -> str:
    """``files`` when it is one of :data:`DENSEPOSE_FILES`, else a ValueError naming the option."""
    if files not in DENSEPOSE_FILES:
        raise ValueError(f"densepose_files {files!r}: choose one of {DENSEPOSE_FILES}")
    return files


# ----------------------------------------------------------------------------------------------------------- masks
def binarize(mask: np.ndarray, threshold: int = MASK_THRESHOLD) -> np.ndarray:
    """(H, W) grey uint8 -> (H, W) uint8 0 / 255, garment where ``mask >= threshold``."""
    return np.where(mask >= threshold, 255, 0).astype(np.uint8)


def mask_from_white(cloth: np.ndarray, threshold: int = WHITE_THRESHOLD) -> np.ndarray:
    """Recover an in-shop garment mask from its white background.

    Background is the white region (all channels ``>= threshold``) connected to the image border; everything else,
    including white areas enclosed by the garment (logos, stripes), is garment. A white garment region that touches
    the border or the background is lost: the method's limit, and why the DressCode exporter also writes the mask.

    Args:
        cloth: (H, W, 3) uint8 in-shop image on white.

    Returns:
        (H, W) uint8 mask, 0 / 255.
    """
    garment = ndimage.binary_fill_holes(~(cloth >= threshold).all(axis=-1))
    return np.where(garment, 255, 0).astype(np.uint8)


def mask_from_background(cloth: np.ndarray) -> np.ndarray:
    """Recover an in-shop garment mask from a background that is roughly uniform but not clean white (DressCode).

    The background colour is the per-channel median of the image border; the tolerance is twice the 90th percentile
    of the border's distance (largest channel difference) to it, kept within :data:`BACKGROUND_TOLERANCE`.
    Background is the region within tolerance connected to the border; everything else, including background-
    coloured areas enclosed by the garment, is garment. On a clean white background (border 255, no spread) this is
    :func:`mask_from_white`'s rule. The caller checks the result with :func:`check_recovered_mask`.

    Args:
        cloth: (H, W, 3) uint8 in-shop image.

    Returns:
        (H, W) uint8 mask, 0 / 255.
    """
    image = cloth.astype(np.int16)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    colour = np.median(border, axis=0)
    spread = np.percentile(np.abs(border - colour).max(axis=-1), 90)
    tolerance = float(np.clip(2 * spread, *BACKGROUND_TOLERANCE))
    near = np.abs(image - colour).max(axis=-1) <= tolerance
    labels, _ = ndimage.label(near)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge[edge > 0])
    garment = ndimage.binary_fill_holes(~background)
    return np.where(garment, 255, 0).astype(np.uint8)


def check_recovered_mask(mask: np.ndarray, path: Path, hint: str) -> np.ndarray:
    """Refuse a garment mask recovered from the background of ``path`` that covers (nearly) the whole image.

    Raises:
        ValueError: naming the file, the fraction covered and ``hint`` (where a real mask can come from).
    """
    cover = float((mask > 0).mean()) if mask.size else 0.0
    if cover > MAX_RECOVERED_MASK:
        raise ValueError(
            f"{path}: the garment mask recovered from its background covers {cover:.0%} of the image "
            f"(more than {MAX_RECOVERED_MASK:.0%}): the background is not uniform; {hint}"
        )
    return mask


# -------------------------------------------------------------------------------------------------------- records
@dataclass
class RawPerson:
    """A person as a layout stores it, before resizing: uint8 ``image`` (h, w, 3), ``labels`` (h, w) in the layout's
    label set, DensePose as ``densepose_index`` (h, w) part indices 0..24 + ``uv`` (2, h, w) float in [0, 1] (either
    may be None) or as a colour ``densepose_picture`` (h, w, 3), ``cloth`` (h, w, 3) and ``cloth_mask`` (h, w)
    0 / 255.

    ``keypoints`` (K, 3) in the pixels of a ``keypoint_frame`` (H, W) image (None: the image's size), or None.
    ``category`` is the garment class (``upper``, ``lower``, ``dresses``). ``garment_parts`` (h, w) and
    ``cloth_parts`` (h, w) uint8 are the worn and the in-shop garment's part ids (``labels.GARMENT_PARTS``), None
    where the layout has none. ``missing`` says, for ``labels`` or ``densepose``, why the layout holds no such file
    (e.g. PF-AFN's test pack); ``warnings`` collects notes about the files read (an alpha channel composited on
    white, a JPEG label map)."""

    id: str
    image: np.ndarray
    labels: np.ndarray | None
    cloth: np.ndarray
    cloth_mask: np.ndarray
    densepose_index: np.ndarray | None = None
    uv: np.ndarray | None = None
    densepose_picture: np.ndarray | None = None
    files: dict = field(default_factory=dict)
    keypoints: np.ndarray | None = None
    keypoint_frame: tuple[int, int] | None = None
    category: str = "upper"
    missing: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    garment_parts: np.ndarray | None = None
    cloth_parts: np.ndarray | None = None


@dataclass(frozen=True)
class PairList:
    """A data set's own list: ``pairs`` as ``(source, target)`` ids (the cloth's owner and the person), read from
    ``path``; ``paired`` when every person wears their own garment."""

    path: Path
    paired: bool
    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Detection:
    """A recognised layout: ``format`` (``readers.FORMATS``), its ``name`` in words, the ``reasons`` (what was
    found), the reader ``options`` the files call for, and the ``root`` to read (CP-VTON: its ``data/``)."""

    format: str
    name: str
    reasons: list[str]
    options: dict = field(default_factory=dict)
    root: Path | None = None

    def describe(self) -> str:
        options = "".join(f" --{k.replace('_', '-')} {_option_text(v)}" for k, v in self.options.items())
        return f"layout: {self.name} (--format {self.format}{options}), recognised by: " + "; ".join(self.reasons)


def _option_text(value) -> str:
    return ",".join(value) if isinstance(value, (list, tuple)) else str(value)


def first_file(folder: Path) -> Path | None:
    """The first file of ``folder`` in sorted order (hidden files left out), or None."""
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")), None)


def densepose_kind(folder: Path) -> tuple[str, str] | None:
    """``(densepose_files, why)`` for a folder of DensePose pictures, from its first file; None when empty."""
    first = first_file(folder)
    return None if first is None else densepose_file_kind(first)


def densepose_file_kind(first: Path) -> tuple[str, str] | None:
    """``(densepose_files, why)`` for one DensePose picture, said of its folder; None when it cannot be read."""
    folder = first.parent
    if first.suffix.lower() in (".jpg", ".jpeg"):
        return "rendering", f"{folder.name}/ holds JPEG colour renderings ({first.name})"
    try:
        picture = io.read_image(first)
    except (OSError, ValueError):
        return None  # data check reports the unreadable file
    if picture.ndim == 2:
        return "parts", f"{folder.name}/ holds grey part-index pictures ({first.name})"
    if picture.ndim == 3 and picture.shape[-1] >= 3:
        if picture[..., 0].max() < DENSEPOSE_NUM_PARTS:
            return "iuv", f"{folder.name}/ holds IUV pictures (part index 0..24 in the first channel)"
        if picture[..., 2].max() < DENSEPOSE_NUM_PARTS:
            return "iuv_bgr", f"{folder.name}/ holds IUV in V, U, I order (written by cv2)"
        return "rendering", f"{folder.name}/ holds colour renderings ({first.name})"
    return None


def list_columns(path: Path) -> int:
    """The number of fields on the first non-blank line of a text list (0 when unreadable or empty)."""
    try:
        lines = [line.split() for line in read_text(path).splitlines() if line.strip()]
    except (OSError, ValueError):
        return 0
    return len(lines[0]) if lines else 0


# --------------------------------------------------------------------------------------------------------- reader
def to_image_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def _id_tensor(array: np.ndarray | None) -> torch.Tensor | None:
    """(H, W) uint8 ids -> (H, W) int64, None stays None."""
    return None if array is None else torch.from_numpy(array.astype(np.int64))


def resize_raw(raw: RawPerson, size: tuple[int, int]) -> RawPerson:
    """``raw`` at ``size`` = (H, W): images bilinear, every map of ids and the masks nearest, keypoints rescaled."""

    def nearest(a):
        return None if a is None else io.resize(a, size, nearest=True)

    keypoints = None
    if raw.keypoints is not None:
        keypoints = rescale(raw.keypoints, raw.keypoint_frame or raw.image.shape[:2], size)
    return RawPerson(
        id=raw.id,
        image=io.resize(raw.image, size, nearest=False),
        labels=nearest(raw.labels),
        cloth=io.resize(raw.cloth, size, nearest=False),
        cloth_mask=nearest(raw.cloth_mask),
        densepose_index=nearest(raw.densepose_index),
        uv=None if raw.uv is None else np.stack([nearest(c) for c in raw.uv]),
        densepose_picture=nearest(raw.densepose_picture),
        files=raw.files,
        keypoints=keypoints,
        keypoint_frame=size,
        category=raw.category,
        missing=raw.missing,
        warnings=raw.warnings,
        garment_parts=nearest(raw.garment_parts),
        cloth_parts=nearest(raw.cloth_parts),
    )


def augment_raw(raw: RawPerson, augment, seed: int) -> RawPerson:
    """``raw`` (at its final size) through an ``augment.Augmenter`` drawn from ``seed``: the person image, labels,
    DensePose and garment parts move together (a flip swaps left and right ids of the part maps); the in-shop
    garment and its parts are not augmented. Keypoints are not moved, so an augmented person carries none."""
    arrays = {"image": raw.image, "labels": raw.labels}
    kinds = {"image": "image", "labels": "labels"}
    if raw.densepose_index is not None:
        arrays["densepose_index"], kinds["densepose_index"] = raw.densepose_index, "densepose_index"
    if raw.uv is not None:
        arrays["uv"], kinds["uv"] = raw.uv, "uv"
    if raw.densepose_picture is not None:  # a colour picture moves with the geometry, no colour jitter
        for c in range(3):
            arrays[f"dp{c}"], kinds[f"dp{c}"] = np.ascontiguousarray(raw.densepose_picture[..., c]), "mask"
    if raw.garment_parts is not None:
        arrays["garment_parts"], kinds["garment_parts"] = raw.garment_parts, "garment_parts"
    out = augment(arrays, kinds, seed)
    picture = None if raw.densepose_picture is None else np.stack([out[f"dp{c}"] for c in range(3)], -1)
    return RawPerson(
        raw.id,
        out["image"],
        out["labels"],
        raw.cloth,
        raw.cloth_mask,
        densepose_index=out.get("densepose_index"),
        uv=out.get("uv"),
        densepose_picture=picture,
        files=raw.files,
        category=raw.category,
        garment_parts=out.get("garment_parts"),
        cloth_parts=raw.cloth_parts,
    )


def _require(raw: RawPerson, encoding: str) -> None:
    """A sample without parsing or DensePose cannot become a :class:`PersonSample`: say which files are absent and
    why."""
    pose = raw.densepose_picture if encoding == "rendering" else raw.densepose_index
    lacking = [key for key, value in (("labels", raw.labels), ("densepose", pose)) if value is None]
    if lacking:
        reasons = "; ".join(raw.missing.get(key, f"{raw.files.get(key, key)}: not read") for key in lacking)
        raise ValueError(f"{reasons} (sample {raw.id!r} has no {' and no '.join(lacking)}, which the stages need)")


class Reader:
    """Reads samples of one data set at ``size`` as :class:`PersonSample` (module docstring).

    Args:
        root: the data set's folder.
        size: ``(H, W)`` or ``"HxW"``, multiples of 16.
        label_map: a built-in name, a YAML path or an inline table; None takes the format's default.
        densepose: the pose encoding, one of ``densepose.ENCODINGS``.
    """

    format = ""
    default_label_map = "cihp"
    has_uv = True
    has_picture = False  # holds colour DensePose renderings (the ``rendering`` encoding)

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "iuv"):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: data set folder not found")
        self.size = parse_size(size)
        self.label_map: LabelMap = load_label_map(label_map or self.default_label_map)
        self._check_densepose(densepose)
        self.densepose = densepose

    def _check_densepose(self, encoding: str) -> None:
        densepose.check_encoding(encoding)
        if encoding in densepose.NEEDS_UV and not self.has_uv:
            raise ValueError(
                f"densepose {encoding!r}: the {self.format} format stores part indices only; use densepose: parts"
            )
        if encoding == "rendering" and not self.has_picture:
            raise ValueError(
                f"densepose 'rendering': the {self.format} data holds no colour DensePose renderings "
                "(for VITON-HD's, set densepose_files: rendering)"
            )

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

    def split_absent(self, split: str) -> bool:
        """Whether the data set lacks ``split`` altogether (a download of one split): none of its lists is there, and
        its folder is missing or is the other split's too (a layout keeping both splits in one folder)."""
        folder = self.split_folder(split)
        shared = all(folder == self.split_folder(other) for other in SPLITS)
        return not any(path.is_file() for path, _ in self.pair_files(split)) and (shared or not folder.is_dir())

    def roots(self) -> list[Path]:
        """The folders the data set's files are in (``data check`` reports files that lead outside them)."""
        return [self.root]

    def pair_columns(self) -> tuple[int, ...]:
        return (2,)

    def line_id(self, line: PairLine) -> str:
        """The person id of a pair-list line."""
        return stem(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        """``(role, file)`` that a pair-list line names: the person's photo and the garment's."""
        return []

    def layout_problems(self, split: str) -> list[tuple[str, Path, str]]:
        """``(category, file, message)`` about a split's folders as a whole (e.g. listings that do not match)."""
        return []

    def list_problems(self, split: str, ids: set[str]) -> list[tuple[str, Path, str]]:
        """``(category, file, message)`` about the split's other lists (the true transfers' pairs), checked after its
        samples (``ids``: the split's sample ids)."""
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
        raw = resize_raw(raw, self.size)
        if augment is not None and augment.active:
            raw = augment_raw(raw, augment, seed)
        parsing = self.label_map.apply(raw.labels, raw.files.get("labels", raw.id))
        masks = derived_masks(parsing, raw.category)
        if self.densepose == "rendering":
            pose = densepose.encode_rendering(raw.densepose_picture)
        else:
            pose = densepose.encode(raw.densepose_index, raw.uv, self.densepose, raw.files.get("densepose", raw.id))
        return PersonSample(
            image=to_image_tensor(raw.image),
            parsing=torch.from_numpy(parsing.astype(np.int64)),
            densepose=torch.from_numpy(pose),
            cloth=to_image_tensor(raw.cloth),
            cloth_mask=torch.from_numpy((raw.cloth_mask[None] > 127).astype(np.float32)),
            garment_mask=torch.from_numpy(masks["garment"]),
            skin_mask=torch.from_numpy(masks["skin"]),
            remaining=torch.from_numpy(masks["remaining"]),
            id=raw.id,
            files={key: str(value) for key, value in raw.files.items()},
            keypoints=None if raw.keypoints is None else torch.from_numpy(raw.keypoints.astype(np.float32)),
            category=raw.category,
            garment_parts=_id_tensor(raw.garment_parts),
            cloth_parts=_id_tensor(raw.cloth_parts),
        )
