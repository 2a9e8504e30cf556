"""What the exporters share: label tables applied as lookups, and the export folder.

Files go through the atomic writers of ``data/io.py``. The export folder's ``meta.json`` records the format, the
source and the sample count, and marks a folder as a previous export of one kind (which an export may overwrite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from garment_transfer.data import io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.base import SPLITS

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
def canonical_splits(canonical_root: str | Path) -> dict[str, list[str]]:
    """The sample ids of each split present in a canonical root, in pairs-file order.

    Raises:
        FileNotFoundError: when the root holds neither split.
    """
    root = Path(canonical_root)
    splits = {split: canonical.list_ids(root, split) for split in SPLITS if (root / split).is_dir()}
    if not splits:
        raise FileNotFoundError(f"{root}: not a canonical data set (no {' or '.join(SPLITS)} folder)")
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
