"""Helpers shared by the DressCode and VITON 256 x 192 exporters and raw loaders.

Writing: label tables applied as lookups (files go through the atomic writers of ``data/io.py``), and the
export folder's ``meta.json`` (which also marks a folder as a previous export of one kind).
Reading: index maps, ``.npy`` / ``.npz`` arrays and pairs files, each checked with an error naming the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from scipy import ndimage  # installed with albumentations

from garment_transfer.data import io
from garment_transfer.data.formats import canonical

MASK_THRESHOLD = 128  # a grey mask (JPEG or resized) is garment where >= this value
WHITE_THRESHOLD = 240  # an in-shop pixel is white background where all three channels are >= this value
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


# ---------------------------------------------------------------------------------------------------------- writing
def write_lines(path: Path, lines: Iterable[str]) -> None:
    io.atomic_write_text(path, "".join(f"{line}\n" for line in lines))


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
    for person, _ in canonical.read_pairs(path):
        if not person.endswith(suffix):
            raise ValueError(f"{path}: person name {person!r} does not end with {suffix!r}")
        ids.append(person[: -len(suffix)])
    return ids
