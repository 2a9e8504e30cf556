"""What the exporters share: the source read with the readers' checks, label tables applied as lookups, and the
export folder.

The canonical source is read through the canonical reader (:class:`Source`), so an export checks what training on the
source would: photos with an alpha channel are composited on white, as the readers do, and said so (never their hidden
colours); label maps must be lossless; sizes must agree; each DensePose file is read as what the folder's first file
says the set holds (IUV, IUV in cv2's channel order, a grey part index) and refused, naming the file, when it does not
fit, shows no body, or cannot give what the layout written holds (a colour rendering gives neither part indices nor
U, V; a part index gives no U, V).

Files go through the atomic writers of ``data/io.py``. The export folder's ``meta.json`` records the format, the
source and the sample count, and marks a folder as a previous export of one kind (which an export may overwrite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from garment_transfer.data import densepose, io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.base import SPLITS, densepose_file_kind, first_file

META_NAME = "meta.json"
NEEDS = {
    "index": "DensePose part indices",
    "iuv": "the DensePose part index with its U, V",
    "index+uv": "DensePose part indices (with U, V where the source has them)",
}


# ------------------------------------------------------------------------------------------------------ the source
class Source:
    """A canonical data set read for an export through :class:`~canonical.CanonicalReader` (module docstring).

    Args:
        root: the canonical set.
        layout: the layout written, in words (``"DressCode's dense/"``), named when the source cannot fill it.
        needs: what that layout's DensePose files hold: ``index`` (part indices), ``iuv`` (the part index with U, V)
            or ``index+uv`` (part indices, with U, V kept where the source has them).
        warnings: where the reader's warnings about the files read go (an alpha channel composited on white).

    Raises:
        ValueError: naming the first DensePose file when the set holds colour renderings, or part indices where
            ``needs`` is ``iuv``.
    """

    def __init__(self, root: str | Path, layout: str, needs: str, warnings: list[str] | None = None):
        root = Path(root)
        folder = next(
            (
                root / s / canonical.FOLDERS["densepose"]
                for s in SPLITS
                if (root / s / canonical.FOLDERS["densepose"]).is_dir()
            ),
            None,
        )
        first = None if folder is None else first_file(folder)
        kind = None if first is None else densepose_file_kind(first)
        files = "iuv" if kind is None else kind[0]
        if files == "rendering":
            raise ValueError(
                f"{first}: a DensePose colour rendering (as VITON-HD's image-densepose holds): {layout} "
                f"holds {NEEDS[needs]}, which a rendering cannot be turned into; bring DensePose IUV "
                "(detectron2's) in image-densepose/"
            )
        if files == "parts" and needs == "iuv":
            raise ValueError(
                f"{first}: a grey DensePose part index: {layout} holds the part index with its U, V, "
                "which a part index cannot give; bring IUV, or export to viton, cpvton or gpvton, which "
                "take part indices"
            )
        self.reader = _SourceReader(root, densepose="parts" if files == "parts" else "iuv", densepose_files=files)
        self.warnings = [] if warnings is None else warnings

    def sample(self, split: str, sample_id: str) -> canonical.RawSample:
        """One sample as the canonical reader reads it: ``iuv`` is (H, W, 3) I, U * 255, V * 255, or the (H, W) part
        index where the set has no U, V (:func:`part_index` takes the index of either).

        Raises:
            FileNotFoundError, ValueError: naming the file (the reader's errors; a DensePose with no body).
        """
        raw = self.reader.read_raw(split, sample_id)
        self.warnings += raw.warnings
        problem = densepose.body_problem(raw.densepose_index)
        if problem is not None:
            raise ValueError(f"{raw.files['densepose']}: {problem}")
        iuv = raw.densepose_index
        if raw.uv is not None:
            uv = np.rint(np.moveaxis(raw.uv, 0, -1) * 255).astype(np.uint8)
            iuv = np.concatenate([iuv[..., None], uv], axis=-1)
        return canonical.RawSample(
            id=sample_id,
            image=raw.image,
            parse=raw.labels,
            iuv=iuv,
            cloth=raw.cloth,
            cloth_mask=raw.cloth_mask,
            keypoints=raw.keypoints,
            parts=raw.garment_parts,
            cloth_parts=raw.cloth_parts,
            category=raw.category,
        )


class _SourceReader(canonical.CanonicalReader):
    """The canonical reader, keypoints read where their file is there (as ``canonical.read_sample`` does): a sample
    without them is exported without them."""

    def read_keypoints(self, split: str, sample_id: str) -> tuple[np.ndarray | None, Path | None]:
        path = canonical.keypoints_path(self.root, split, sample_id)
        return super().read_keypoints(split, sample_id) if path.is_file() else (None, None)


def part_index(iuv: np.ndarray) -> np.ndarray:
    """The (H, W) DensePose part index of a :meth:`Source.sample`'s ``iuv``."""
    return iuv if iuv.ndim == 2 else np.ascontiguousarray(iuv[..., 0])


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


def start_sized_export(
    canonical_root: str | Path, out_root: str | Path, fmt: str, size: tuple[int, int]
) -> tuple[tuple[int, int], dict[str, list[str]]]:
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
