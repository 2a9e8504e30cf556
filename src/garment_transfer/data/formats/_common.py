"""Helpers shared by the format modules: exporters' label tables and folders, and the readers' checked loading.

Writing: label tables applied as lookups (files go through the atomic writers of ``data/io.py``), and the
export folder's ``meta.json`` (which also marks a folder as a previous export of one kind).
Reading: pair lists (text, two or three columns, tabs or spaces, with or without a final newline), photos (an alpha
channel is composited on white and said so), index maps, ``.npy`` / ``.npz`` arrays, and in-shop garment masks, each
checked with an error naming the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from scipy import ndimage  # installed with albumentations

from garment_transfer.data import io
from garment_transfer.data.formats import canonical, pairs

MASK_THRESHOLD = 128  # a grey mask (JPEG or resized) is garment where >= this value
WHITE_THRESHOLD = 240  # an in-shop pixel is white background where all three channels are >= this value
BACKGROUND_TOLERANCE = (15, 48)  # background model: per-channel distance to the border colour, low / high bound
MAX_RECOVERED_MASK = 0.9  # a garment mask recovered from the background may cover at most this image fraction
META_NAME = "meta.json"


# ----------------------------------------------------------------------------------------------------- label tables
def lookup_table(mapping: Mapping[int, int]) -> np.ndarray:
    """A (256,) int16 lookup array from a ``{source id: target id}`` table; ids outside the table map to -1."""
    table = np.full(256, -1, np.int16)
    for source, target in mapping.items():
        table[source] = target
    return table


def map_labels(labels: np.ndarray, mapping: Mapping[int, int], what: str) -> np.ndarray:
    """Map an (H, W) uint8 label map through ``mapping``; ``what`` names the source in the error.

    Raises:
        ValueError: when ``labels`` holds an id that the table does not map.
    """
    mapped = lookup_table(mapping)[labels]
    if (mapped < 0).any():
        unknown = sorted(set(np.unique(labels[mapped < 0]).tolist()))
        raise ValueError(f"{what}: label ids {unknown} have no entry in the mapping table")
    return mapped.astype(np.uint8)


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
        raise ValueError(f"{path}: the garment mask recovered from its background covers {cover:.0%} of the image "
                         f"(more than {MAX_RECOVERED_MASK:.0%}): the background is not uniform; {hint}")
    return mask


# ------------------------------------------------------------------------------------------------- reading photos
def read_photo(path: Path, warnings: list[str] | None = None) -> np.ndarray:
    """A photo (person or in-shop garment) as (H, W, 3) uint8 RGB; an alpha channel is composited on white and, when
    ``warnings`` is given, a line naming the file is added to it."""
    image, composited = io.read_rgb(path)
    if composited and warnings is not None:
        warnings.append(f"{path}: has an alpha channel; composited on a white background")
    return image


def fit_to(array: np.ndarray, path: Path, size: tuple[int, int], nearest: bool = True) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) array read from ``path`` to ``size`` when it has the same aspect ratio (within
    2 %, e.g. a DensePose map stored at another resolution than its photo); another shape is an error. uint8 arrays
    resize as ``io.resize`` does (``nearest`` or bilinear); other dtypes (UV floats) always nearest, pixel centre
    onto pixel centre."""
    height, width = array.shape[:2]
    if (height, width) == tuple(size):
        return array
    if abs(height * size[1] - width * size[0]) > 0.02 * width * size[0]:
        raise ValueError(f"{path}: size {(height, width)} differs from the sample's size {tuple(size)} and has "
                         "another aspect ratio")
    if array.dtype == np.uint8:
        return io.resize(array, size, nearest)
    channels = [array] if array.ndim == 2 else [array[..., c] for c in range(array.shape[-1])]
    rows = np.minimum(((np.arange(size[0]) + 0.5) * height / size[0]).astype(int), height - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * width / size[1]).astype(int), width - 1)
    resized = [c[rows][:, cols] for c in channels]
    return resized[0] if array.ndim == 2 else np.stack(resized, axis=-1)


# ---------------------------------------------------------------------------------------------------------- writing
def write_lines(path: Path, lines: Iterable[str]) -> None:
    io.atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def cycled_within(ids: list[str], category: Mapping[str, str]) -> list[str]:
    """Each id's unpaired partner: the next id of the same garment category (cyclic within it; an id alone in its
    category keeps its own garment). ``category`` maps ids to categories (absent: ``upper``)."""
    groups: dict[str, list[str]] = {}
    for sample_id in ids:
        groups.setdefault(category.get(sample_id, "upper"), []).append(sample_id)
    partner = {}
    for members in groups.values():
        partner.update(zip(members, members[1:] + members[:1]))
    return [partner[sample_id] for sample_id in ids]


# ------------------------------------------------------------------------------------------------- export folders
def check_split(split: str) -> str:
    if split not in canonical.SPLITS:
        raise ValueError(f"split must be one of {canonical.SPLITS}, got {split!r}")
    return split


def canonical_splits(canonical_root: str | Path) -> dict[str, list[str]]:
    """The sample ids of each split present in a canonical root, in pairs-file order.

    Raises:
        FileNotFoundError: when the root holds neither split.
    """
    root = Path(canonical_root)
    splits = {split: canonical.list_ids(root, split) for split in canonical.SPLITS if (root / split).is_dir()}
    if not splits:
        raise FileNotFoundError(f"{root}: not a canonical data set (no {' or '.join(canonical.SPLITS)} folder)")
    return splits


def claim_export_dir(out_root: str | Path, fmt: str) -> dict:
    """Create ``out_root``, or accept it when empty or a previous export in format ``fmt``.

    Returns:
        The previous export's ``meta.json`` content, ``{}`` for a new folder.

    Raises:
        ValueError: naming the folder when it is a file, or non-empty and not a previous ``fmt`` export.
    """
    out = Path(out_root)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: export target exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    meta = io.read_json(out / META_NAME)
    if meta is None:
        if any(out.iterdir()):
            raise ValueError(f"{out}: folder is not empty and is not a previous {fmt} export (no {META_NAME})")
        return {}
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != fmt:
        raise ValueError(f"{out}: folder holds a {found!r} export, not {fmt!r}; choose another --out")
    return meta


def source_record(canonical_root: str | Path, samples: int) -> dict:
    """What an export's ``meta.json`` says about its source: path, the source's own ``meta.json``, sample count."""
    root = Path(canonical_root).resolve()
    return {"source": str(root), "source_meta": io.read_json(root / META_NAME), "samples": samples}



def start_sized_export(canonical_root: str | Path, out_root: str | Path, fmt: str,
                       size: tuple[int, int]) -> tuple[tuple[int, int], dict[str, list[str]]]:
    """Begin an export at one ``size`` = (H, W): check the size, read the source's splits, claim ``out_root``
    (:func:`claim_export_dir`) and write its ``meta.json`` (format, size, source).

    Returns:
        The size as a tuple and the sample ids of each split (:func:`canonical_splits`).

    Raises:
        ValueError: a size that is not two positive entries, or an ``out_root`` that cannot be claimed.
    """
    size = tuple(size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be (height, width) with positive entries, got {size}")
    splits = canonical_splits(canonical_root)
    claim_export_dir(out_root, fmt)
    meta = {"format": fmt, "size": list(size), **source_record(canonical_root, sum(map(len, splits.values())))}
    io.atomic_write_json(Path(out_root) / META_NAME, meta)
    return size, splits

# ---------------------------------------------------------------------------------------------------------- reading
def read_index_map(path: Path, valid_ids: Iterable[int], what: str) -> np.ndarray:
    """Read a grey or palette PNG of ids as (H, W) uint8; see ``check_ids``.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it is unreadable, has colour channels or holds an id not in ``valid_ids``.
    """
    return check_ids(path, io.read_image(path), valid_ids, what)


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


def read_npy(path: Path) -> np.ndarray:
    """Load a ``.npy`` file without pickles; errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read .npy array ({err})") from err


def read_npz_key(path: Path, key: str) -> np.ndarray:
    """Load array ``key`` from a ``.npz`` file; errors name the file and, when it lacks it, the key."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            files = data.files
            array = data[key] if key in files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot read .npz archive ({err})") from err
    if array is None:
        raise ValueError(f"{path}: no array {key!r} (found {files})")
    return array


def ids_from_pairs(path: Path, suffix: str = "_0.jpg") -> list[str]:
    """The person ids of a pairs file whose first column is ``<id><suffix>``, in file order.

    Raises:
        FileNotFoundError: naming the pairs file when it is missing.
        ValueError: naming the file when a person name lacks ``suffix``.
    """
    ids = []
    for person, _ in pairs.read_pairs(path):
        if not person.endswith(suffix):
            raise ValueError(f"{path}: person name {person!r} does not end with {suffix!r}")
        ids.append(person[: -len(suffix)])
    return ids
