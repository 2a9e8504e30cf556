"""GP-VTON's layouts of VITON-HD and DressCode (xiezhy6/GP-VTON ``data/aligned_dataset_vitonhd.py``,
``aligned_dataset_dresscode.py``): pair lists and file paths, the reader (:class:`GPVTONReader`), the detection rule
(``parse-bytedance`` folders, with three-column lists where VITON-HD's ``image-parse-v3`` is there too), and export
from the canonical layout.

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

The exporter (:func:`export_gpvton`) writes a canonical set in the VITON-HD variant at its own size, PNG throughout:
``parse-bytedance`` from the CIHP parsing and the engine's garment parts (:func:`gp_labels`: sleeves 21 / 22 and the
torso 5 from the parts, pants split into left 9 / right 10), ``cloth_parse-bytedance`` from the in-shop garment's
parts (21 left sleeve, 5 torso, 22 right sleeve, 13 skirt, 9 / 10 trouser legs: the ids GP-VTON's loader reads), the
grey part index in ``densepose``, BODY_25 in ``openpose_json``, and three-column lists ``train_pairs.txt``,
``test_pairs_paired.txt``, ``test_pairs_unpaired.txt`` whose category column is each sample's (``upper``, ``lower``,
``dresses``; unpaired within a category). GP-VTON's ``person_clothes_ratio_train.txt`` is not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from garment_transfer.data import densepose, io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.base import (
    SPLITS,
    Detection,
    PairList,
    RawPerson,
    Reader,
    binarize,
    check_size,
    check_split,
    list_columns,
    read_ids,
    read_index_map,
    read_photo,
    stem,
)
from garment_transfer.data.formats.export import (
    META_NAME,
    Source,
    canonical_splits,
    claim_export_dir,
    cycled_within,
    map_labels,
    part_index,
    source_record,
    write_lines,
)
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines
from garment_transfer.data.keypoints import BODY_25, openpose_document, read_keypoint_array, read_openpose_json
from garment_transfer.data.labels import CIHP, DENSEPOSE, GARMENT_PARTS

FORMAT = "gpvton"
ALIASES = ()
LOOKS_FOR = "GP-VTON's parse-bytedance/"  # what detection looks for, in words
CATEGORY_TOKENS = {
    "upper": "upper",
    "upper_body": "upper",
    "lower": "lower",
    "lower_body": "lower",
    "dresses": "dresses",
    "dress": "dresses",
}
CATEGORY_FOLDERS = ("upper", "lower", "dresses", "upper_body", "lower_body")
LISTS = {
    "train": ("train_pairs*.txt",),
    "test_paired": ("test_pairs_paired*.txt",),
    "test_unpaired": ("test_pairs_unpaired*.txt",),
}
FALLBACK_TEST = "test_pairs*.txt"
_VITONHD = {
    "image": "image",
    "cloth": "cloth",
    "cloth_mask": "cloth_mask-bytedance",
    "labels": "parse-bytedance",
    "densepose": "densepose",
    "keypoints": "openpose_json",
}
_DRESSCODE = {
    "image": "image",
    "cloth": "cloth_align",
    "cloth_mask": "cloth_align_mask-bytedance",
    "labels": "parse-bytedance",
    "densepose": "densepose",
    "keypoints": "pose_25",
}


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
            raise ValueError(
                f"{root}: several {role} lists {[m.name for m in matches]}; choose one with the reader "
                f"option pairs: {{{role}: NAME}}"
            )
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
            raise ValueError(
                f"{path}: pairs file line {line.line}: category {line.category!r} is not one of "
                f"{sorted(CATEGORY_TOKENS)}"
            )
    return lines


def garment(line: PairLine) -> str:
    """The garment class of a line: ``upper``, ``lower`` or ``dresses``."""
    return CATEGORY_TOKENS[line.category or "upper"]


def base_folder(root: Path, kind: str, split: str, category_token: str | None) -> Path:
    """The folder holding a sample's files: ``<root>/<split>`` (VITON-HD) or ``<root>/<category>`` (DressCode)."""
    if kind == "vitonhd":
        return root / check_split(split)
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
    paths = {
        "image": image,
        "cloth": cloth_path,
        "labels": base / folders["labels"] / f"{stem}.png",
        "densepose": base / folders["densepose"] / f"{stem}.png",
    }
    if kind == "vitonhd":
        paths["cloth_mask"] = base / folders["cloth_mask"] / f"{Path(cloth).stem}.png"
        paths["keypoints"] = base / folders["keypoints"] / f"{stem}_keypoints.json"
    else:
        paths["cloth_mask"] = find(base / folders["cloth_mask"] / cloth)
        paths["keypoints"] = base / folders["keypoints"] / f"{image.name}.npy"
    return paths


# ------------------------------------------------------------------------------------------------------- export
# CIHP -> GP-VTON's 29 ids where the parsing alone decides (sleeves, torso and pants sides come from parts / sides)
CIHP_TO_GP = {
    CIHP["background"]: 0,
    CIHP["hat"]: 1,
    CIHP["hair"]: 2,
    CIHP["glove"]: 3,
    CIHP["sunglasses"]: 4,
    CIHP["upper_clothes"]: 5,
    CIHP["dress"]: 6,
    CIHP["coat"]: 6,
    CIHP["socks"]: 8,
    CIHP["pants"]: 9,
    CIHP["torso_skin"]: 11,
    CIHP["scarf"]: 12,
    CIHP["skirt"]: 13,
    CIHP["face"]: 14,
    CIHP["left_arm"]: 15,
    CIHP["right_arm"]: 16,
    CIHP["left_leg"]: 17,
    CIHP["right_leg"]: 18,
    CIHP["left_shoe"]: 19,
    CIHP["right_shoe"]: 20,
}
P = GARMENT_PARTS
PART_TO_GP = {
    P["left_sleeve"]: 21,
    P["torso"]: 5,
    P["right_sleeve"]: 22,
    P["skirt"]: 13,
    P["left_leg"]: 9,
    P["right_leg"]: 10,
}
_LEFT_LEG = (DENSEPOSE["upper_leg_left"], DENSEPOSE["lower_leg_left"])
_RIGHT_LEG = (DENSEPOSE["upper_leg_right"], DENSEPOSE["lower_leg_right"])
TOKENS = {"upper": "upper", "lower": "lower", "dresses": "dresses"}


def gp_labels(sample: canonical.RawSample) -> np.ndarray:
    """GP-VTON's 29-class parsing of a canonical sample: the CIHP ids mapped (``CIHP_TO_GP``), then the garment
    parts where the sample has them (sleeves 21 / 22, torso 5, skirt 13, trouser legs 9 / 10), and pants without
    parts split by side: the left leg's DensePose parts, or right of the mid-hip keypoint (the image centre without
    keypoints), give left pants 9, the rest right pants 10."""
    labels = map_labels(sample.parse, CIHP_TO_GP, f"CIHP parsing of {sample.id}")
    pants = sample.parse == CIHP["pants"]
    index = sample.iuv[..., 0]
    middle = sample.image.shape[1] / 2
    if sample.keypoints is not None and sample.keypoints[8, 2] > 0:
        middle = float(sample.keypoints[8, 0]) + 0.5
    left = np.isin(index, _LEFT_LEG) | (~np.isin(index, _RIGHT_LEG) & (np.arange(index.shape[1])[None] >= middle))
    labels[pants & ~left] = 10
    if sample.parts is not None:
        for part, gp in PART_TO_GP.items():
            labels[sample.parts == part] = gp
    return labels


def cloth_labels(sample: canonical.RawSample) -> np.ndarray:
    """``cloth_parse-bytedance`` of the in-shop garment: its parts as GP-VTON's ids, or the whole mask as torso (5)
    where the sample has no parts."""
    if sample.cloth_parts is None:
        return np.where(sample.cloth_mask > 127, 5, 0).astype(np.uint8)
    lut = np.zeros(256, np.uint8)
    for part, gp in PART_TO_GP.items():
        lut[part] = gp
    return lut[sample.cloth_parts]


def write_gpvton_sample(out_root: Path, split: str, sample: canonical.RawSample) -> None:
    """Write one canonical sample's GP-VTON (VITON-HD variant) files under ``out_root/split`` (folders must exist);
    the person image last."""
    name = f"{sample.id}.png"
    paths = sample_paths(out_root / split, "vitonhd", name, name)
    io.write_png(paths["cloth"], sample.cloth)
    io.write_png(paths["cloth_mask"], binarize(sample.cloth_mask))
    io.write_png(paths["cloth"].parent.parent / "cloth_parse-bytedance" / name, cloth_labels(sample))
    io.write_png(paths["labels"], gp_labels(sample))
    io.write_png(paths["densepose"], part_index(sample.iuv))
    if sample.keypoints is not None:
        paths["keypoints"].parent.mkdir(exist_ok=True)
        io.atomic_write_json(paths["keypoints"], openpose_document(sample.keypoints))
    io.write_png(paths["image"], sample.image)


def export_gpvton(canonical_root: str | Path, out_root: str | Path, warnings: list[str] | None = None) -> int:
    """Write a canonical data set (both splits) in GP-VTON's VITON-HD layout (module docstring), read with the
    canonical reader's checks (``export.Source``; its warnings go to ``warnings``): DensePose IUV or part indices.

    ``out_root`` must be absent, empty, or a previous GP-VTON export. Output is deterministic.

    Returns:
        The number of samples written.
    """
    out = Path(out_root)
    source = Source(canonical_root, "GP-VTON's densepose/", "index", warnings)
    splits = canonical_splits(canonical_root)
    count = sum(map(len, splits.values()))
    claim_export_dir(out, FORMAT)
    io.atomic_write_json(out / META_NAME, {"format": FORMAT, **source_record(canonical_root, count)})
    for split, ids in splits.items():
        for key in ("image", "cloth", "cloth_mask", "labels", "densepose"):
            (out / split / _VITONHD[key]).mkdir(parents=True, exist_ok=True)
        (out / split / "cloth_parse-bytedance").mkdir(exist_ok=True)
        own = canonical.categories(canonical_root, split)
        for sample_id in ids:
            write_gpvton_sample(out, split, source.sample(split, sample_id))

        def line(person: str, cloth: str) -> str:
            return f"{person}.png {cloth}.png {TOKENS[own.get(person, 'upper')]}"

        if split == "train":
            write_lines(out / "train_pairs.txt", [line(i, i) for i in ids])
        else:
            write_lines(out / "test_pairs_paired.txt", [line(i, i) for i in ids])
            write_lines(out / "test_pairs_unpaired.txt", [line(p, c) for p, c in zip(ids, cycled_within(ids, own))])
    return count


# --------------------------------------------------------------------------------------------------------- reader
@dataclass(frozen=True)
class _Entry:
    """A sample of a split: its person file name, its own garment's file name and its list's category token."""

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

    format = FORMAT
    default_label_map = "gpvton29"
    has_uv = False

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts", pairs: dict | None = None):
        super().__init__(root, size, label_map, densepose)
        self.kind = variant(self.root)
        self.lists = list_files(self.root, pairs)
        self._index: dict[str, dict[str, _Entry]] = {}

    def _roles(self, split: str) -> list[str]:
        return ["train"] if split == "train" else ["test_paired", "test_unpaired"]

    def _person_id(self, name: str) -> str:
        name = stem(name)
        return name if self.kind == "vitonhd" else name.rsplit("_", 1)[0]

    def _lines(self, role: str) -> list[PairLine]:
        path = self.lists[role]
        return read_lines(path) if path is not None else []

    def index(self, split: str) -> dict[str, _Entry]:
        """id -> its person file name, own garment file name and category token, for ``split``."""
        if split not in self._index:
            roles = [r for r in self._roles(split) if self.lists[r] is not None]
            if not roles:
                wanted = " or ".join(LISTS[r][0] for r in self._roles(split))
                raise FileNotFoundError(f"{self.root}: pairs file not found ({wanted})")
            lines = self._lines(roles[0])  # the test persons: the paired list's where it exists
            own = {
                self._person_id(line.person): line.cloth
                for role in roles
                for line in self._lines(role)
                if self._person_id(line.cloth) == self._person_id(line.person)
            }
            entries: dict[str, _Entry] = {}
            for line in lines:
                sample_id = self._person_id(line.person)
                cloth = own.get(sample_id) or own_cloth(self.kind, line.person)
                entries.setdefault(sample_id, _Entry(line.person, cloth, line.category))
            self._index[split] = entries
        return self._index[split]

    def ids(self, split: str) -> list[str]:
        return list(self.index(split))

    def paths(self, split: str, sample_id: str) -> dict[str, Path]:
        entry = self.index(split).get(sample_id)
        if entry is None:
            raise ValueError(f"{self.root}: id {sample_id!r} is in no {split} pair list")
        base = base_folder(self.root, self.kind, split, entry.token)
        return sample_paths(base, self.kind, entry.person, entry.cloth)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = self.paths(split, sample_id)
        entry = self.index(split)[sample_id]
        warnings: list[str] = []
        image = read_photo(paths["image"], warnings)
        labels = read_index_map(paths["labels"], range(29), "GP-VTON parsing ids")
        index = densepose.index_from_image(read_ids(paths["densepose"], "DensePose part index"), paths["densepose"])
        cloth = read_photo(paths["cloth"], warnings)
        cloth_mask = binarize(io.read_image(paths["cloth_mask"], "L"))
        for key, array in (("labels", labels), ("densepose", index)):
            check_size(paths[key], array, image.shape[:2])
        check_size(paths["cloth_mask"], cloth_mask, cloth.shape[:2])
        files = {key: paths[key] for key in ("image", "labels", "densepose", "cloth", "cloth_mask")}
        keypoints = None
        if paths["keypoints"].parent.is_dir():
            read = read_openpose_json if self.kind == "vitonhd" else read_keypoint_array
            keypoints, files["keypoints"] = read(paths["keypoints"], BODY_25), paths["keypoints"]
        category = CATEGORY_TOKENS[entry.token or "upper"]
        return RawPerson(
            sample_id,
            image,
            labels,
            cloth,
            cloth_mask,
            index,
            files=files,
            keypoints=keypoints,
            category=category,
            warnings=warnings,
        )

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        for role in self._roles(split):
            path = self.lists[role]
            if path is not None:
                found = self.official_or_none(paired, self._lines(role), path, self._person_id, self._person_id)
                if found:
                    return found
        return None

    def split_folder(self, split: str) -> Path:
        return self.root / split if self.kind == "vitonhd" else self.root

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        roles = [r for r in self._roles(split) if self.lists[r] is not None]
        if not roles:
            return [(self.root / LISTS[self._roles(split)[0]][0].replace("*", ""), True)]
        return [(self.lists[r], False) for r in roles]

    def pair_columns(self) -> tuple[int, ...]:
        return (2, 3)

    def line_id(self, line: PairLine) -> str:
        return self._person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        base = base_folder(self.root, self.kind, split, line.category)
        paths = sample_paths(base, self.kind, line.person, line.cloth)
        return [("person", paths["image"]), ("cloth", paths["cloth"])]


READER = GPVTONReader


# ------------------------------------------------------------------------------------------------------ detection
def detect(root: Path) -> Detection | None:
    """GP-VTON's release at ``root``: ``parse-bytedance`` in split or category folders; a VITON-HD folder that also
    has ``image-parse-v3`` is GP-VTON's only with three-column lists (else VITON-HD with GP-VTON's parsing added).
    None when absent."""
    folders = [root / s for s in SPLITS] + [root / c for c in CATEGORY_FOLDERS]
    parsed = [f for f in folders if (f / "parse-bytedance").is_dir()]
    if not parsed:
        return None
    three = [p.name for p in sorted(root.glob("*.txt")) if list_columns(p) == 3]
    has_hd = any((root / s / "image-parse-v3").is_dir() for s in SPLITS)
    if has_hd and not three:
        return None
    kind = variant(root)
    reasons = [f"{', '.join(f'{f.name}/parse-bytedance/' for f in parsed)} (GP-VTON's 29-class parsing)"]
    if three:
        reasons.append(f"three-column pair lists {three}")
    name = "GP-VTON's VITON-HD" if kind == "vitonhd" else "GP-VTON's DressCode"
    return Detection(FORMAT, name, reasons, {"densepose": "parts"})
