"""GP-VTON's layouts of VITON-HD and DressCode (xiezhy6/GP-VTON ``data/aligned_dataset_vitonhd.py``,
``aligned_dataset_dresscode.py``): pair lists and file paths.

Pair lists sit at the root and have three columns, ``person cloth category`` (e.g. ``train_pairs_1018.txt``,
``test_pairs_unpaired_1018.txt``); the category (``upper``, ``lower``, ``dresses``) decides the garment class and, for
DressCode, the folder. Two variants:

VITON-HD (split folders)::

    <root>/<split>/image/<name>                        person RGB (512 x 384: PNG; 1024 x 768: JPEG)
    <root>/<split>/cloth/<cloth>                       in-shop garment
    <root>/<split>/cloth_mask-bytedance/<cloth stem>.png   garment mask
    <root>/<split>/parse-bytedance/<stem>.png          GP-VTON's 29-class parsing (``gpvton29`` table)
    <root>/<split>/densepose/<stem>.png                grey DensePose part index 0..24 (no U / V)
    <root>/<split>/openpose_json/<stem>_keypoints.json OpenPose BODY_25

DressCode (category folders, both splits in each)::

    <root>/<category>/image/<name>, cloth_align/<cloth>, cloth_align_mask-bytedance/<cloth>,
    <root>/<category>/parse-bytedance/<stem>.png, densepose/<stem>.png, pose_25/<name>.npy (BODY_25 array)

A name in a list whose file is absent is looked up with the other extension (``.png`` / ``.jpg``), as GP-VTON does at
1024 x 768. A sample's own garment is the cloth its paired line gives (train lists are paired); a person only in an
unpaired list wears ``cloth/<its own name>`` (VITON-HD) or ``<id>_1`` (DressCode).
"""

from __future__ import annotations

from pathlib import Path

from garment_transfer.data.formats import _common
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines

CATEGORY_TOKENS = {"upper": "upper", "upper_body": "upper", "lower": "lower", "lower_body": "lower",
                   "dresses": "dresses", "dress": "dresses"}
CATEGORY_FOLDERS = ("upper", "lower", "dresses", "upper_body", "lower_body")
LISTS = {"train": ("train_pairs*.txt",), "test_paired": ("test_pairs_paired*.txt",),
         "test_unpaired": ("test_pairs_unpaired*.txt",)}
FALLBACK_TEST = "test_pairs*.txt"
_VITONHD = {"image": "image", "cloth": "cloth", "cloth_mask": "cloth_mask-bytedance", "labels": "parse-bytedance",
            "densepose": "densepose", "keypoints": "openpose_json"}
_DRESSCODE = {"image": "image", "cloth": "cloth_align", "cloth_mask": "cloth_align_mask-bytedance",
              "labels": "parse-bytedance", "densepose": "densepose", "keypoints": "pose_25"}


def variant(root: Path) -> str:
    """``"vitonhd"`` when the root holds split folders with ``parse-bytedance``, ``"dresscode"`` for category
    folders."""
    if any((root / name / "parse-bytedance").is_dir() for name in CATEGORY_FOLDERS):
        return "dresscode"
    return "vitonhd"


def list_files(root: Path, names: dict | None = None) -> dict[str, Path | None]:
    """The pair lists by role (``train``, ``test_paired``, ``test_unpaired``): named in ``names`` (relative to the
    root) or found by pattern; None where there is none.

    Raises:
        ValueError: when a pattern matches several files (naming them, and the option that chooses).
    """
    names = names or {}
    found = {}
    for role, patterns in LISTS.items():
        if names.get(role):
            found[role] = root / names[role]
            continue
        matches = sorted({p for pattern in patterns for p in root.glob(pattern)})
        if len(matches) > 1:
            raise ValueError(f"{root}: several {role} lists {[m.name for m in matches]}; choose one with the reader "
                             f"option pairs: {{{role}: NAME}}")
        found[role] = matches[0] if matches else None
    if found["test_paired"] is None and found["test_unpaired"] is None:
        rest = sorted(p for p in root.glob(FALLBACK_TEST) if p not in found.values())
        if len(rest) == 1:
            found["test_unpaired"] = rest[0]
    return found


def read_lines(path: Path) -> list[PairLine]:
    """A GP-VTON list (three columns; two-column lines are read as ``upper``), categories checked.

    Raises:
        ValueError: naming the file and line of an unknown category.
    """
    lines = read_pair_lines(path, (2, 3))
    for line in lines:
        if line.category is not None and line.category not in CATEGORY_TOKENS:
            raise ValueError(f"{path}: pairs file line {line.line}: category {line.category!r} is not one of "
                             f"{sorted(CATEGORY_TOKENS)}")
    return lines


def garment(line: PairLine) -> str:
    """The garment class of a line: ``upper``, ``lower`` or ``dresses``."""
    return CATEGORY_TOKENS[line.category or "upper"]


def base_folder(root: Path, kind: str, split: str, category_token: str | None) -> Path:
    """The folder holding a sample's files: ``<root>/<split>`` (VITON-HD) or ``<root>/<category>`` (DressCode)."""
    if kind == "vitonhd":
        return root / _common.check_split(split)
    return root / (category_token or "upper")


def find(path: Path) -> Path:
    """``path``, or the same name with the other of ``.png`` / ``.jpg`` when only that exists."""
    if path.exists():
        return path
    other = path.with_suffix(".jpg" if path.suffix.lower() == ".png" else ".png")
    return other if other.exists() else path


def own_cloth(kind: str, person: str) -> str:
    """The garment file name of a person that no paired line names."""
    if kind == "vitonhd":
        return person
    stem, dot, ext = person.rpartition(".")
    return f"{stem.rsplit('_', 1)[0]}_1.{ext}" if dot else person


def sample_paths(base: Path, kind: str, person: str, cloth: str) -> dict[str, Path]:
    """A sample's files by role ("image", "cloth", "cloth_mask", "labels", "densepose", "keypoints")."""
    folders = _VITONHD if kind == "vitonhd" else _DRESSCODE
    image = find(base / folders["image"] / person)
    cloth_path = find(base / folders["cloth"] / cloth)
    stem = Path(person).stem
    paths = {"image": image, "cloth": cloth_path,
             "labels": base / folders["labels"] / f"{stem}.png",
             "densepose": base / folders["densepose"] / f"{stem}.png"}
    if kind == "vitonhd":
        paths["cloth_mask"] = base / folders["cloth_mask"] / f"{Path(cloth).stem}.png"
        paths["keypoints"] = base / folders["keypoints"] / f"{stem}_keypoints.json"
    else:
        paths["cloth_mask"] = find(base / folders["cloth_mask"] / cloth)
        paths["keypoints"] = base / folders["keypoints"] / f"{image.name}.npy"
    return paths
