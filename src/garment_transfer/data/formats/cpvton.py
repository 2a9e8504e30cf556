"""CP-VTON's layout of the VITON 256 x 192 data (sergeywong/cp-vton ``cp_dataset.py``): paths, its reader
(:class:`CPVTONReader`), its detection rule (``<split>/image-parse/``), and export from the canonical layout.

::

    <root>/train_pairs.txt                     "<id>_0.jpg <id>_1.jpg" (paired)        root = CP-VTON's data/ folder
    <root>/test_pairs.txt                      "<person>_0.jpg <cloth>_1.jpg": the unpaired test list
    <root>/<split>/image/<id>_0.jpg            person RGB
    <root>/<split>/cloth/<id>_1.jpg            in-shop garment RGB on white
    <root>/<split>/cloth-mask/<id>_1.jpg       garment mask, grey JPEG (threshold 128; CP-VTON itself uses > 200)
    <root>/<split>/image-parse/<id>_0.png      palette PNG of LIP ids (``lip`` table)
    <root>/<split>/pose/<id>_0_keypoints.json  OpenPose COCO-18, people[0].pose_keypoints
    <root>/<split>/image-densepose/<id>_0.png  not shipped: DensePose, where you add it (IUV picture, or a grey part
                                               index with ``densepose_files: parts``)

A folder holding ``data/`` with that content is read as its ``data/`` folder. The pack ships no DensePose, so its
samples have no pose encoding until ``image-densepose`` is added; the reader says so when one is needed.

The exporter (:func:`export_cpvton`) writes a canonical set as ``<out>/data/`` at ``size`` (256 x 192 by default,
resized as the VITON exporter does), with ``image-densepose`` (IUV PNG, or the grey part index where the source holds
only that) so this project's stages can read it, COCO-18 ``pose`` files where the canonical set has keypoints,
``train_pairs.txt`` paired and ``test_pairs.txt`` unpaired (each test person with the next one's garment of the same
category, cyclic). Labels: CIHP -> LIP through ``CIHP_TO_LIP``, the same ids except torso skin / neck, which LIP lacks
(its 10 is jumpsuits): it becomes face, as VITON's LIP parsings label the neck (lossy).
"""

from __future__ import annotations

from pathlib import Path

from garment_transfer.data import io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.base import (
    SPLITS,
    Detection,
    PairList,
    RawPerson,
    Reader,
    binarize,
    check_densepose_files,
    check_size,
    check_split,
    densepose_kind,
    read_densepose,
    read_index_map,
    read_photo,
)
from garment_transfer.data.formats.export import Source, cycled_within, map_labels, start_sized_export, write_lines
from garment_transfer.data.formats.pairs import PairLine, read_pair_lines, read_pairs, unique
from garment_transfer.data.keypoints import COCO_18, openpose_document, read_openpose_json, rescale, to_coco18
from garment_transfer.data.labels import CIHP, CIHP_PALETTE

FORMAT = "cpvton"
ALIASES = ()
LOOKS_FOR = "CP-VTON's <split>/image-parse/"  # what detection looks for, in words
SIZE = (256, 192)
CIHP_TO_LIP = {**{i: i for i in CIHP.values()}, CIHP["torso_skin"]: CIHP["face"]}
LOSSY_CIHP = frozenset({CIHP["torso_skin"]})

FOLDERS = {
    "image": ("image", "_0.jpg"),
    "cloth": ("cloth", "_1.jpg"),
    "cloth_mask": ("cloth-mask", "_1.jpg"),
    "labels": ("image-parse", "_0.png"),
    "keypoints": ("pose", "_0_keypoints.json"),
    "densepose": ("image-densepose", "_0.png"),
}


def data_root(root: str | Path) -> Path:
    """``root``, or ``root/data`` when only that holds the split folders."""
    root = Path(root)
    inner = root / "data"
    if not any((root / s).is_dir() for s in ("train", "test")) and any((inner / s).is_dir() for s in ("train", "test")):
        return inner
    return root


def pairs_path(root: Path, split: str) -> Path:
    return root / f"{check_split(split)}_pairs.txt"


def sample_paths(root: Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's files by role: "image", "cloth", "cloth_mask", "labels", "keypoints", "densepose"."""
    base = root / check_split(split)
    return {key: base / name / f"{sample_id}{suffix}" for key, (name, suffix) in FOLDERS.items()}


def person_id(name: str) -> str:
    """``"000001_0.jpg"`` -> ``"000001"`` (and ``"000001_1.jpg"`` -> ``"000001"``)."""
    return Path(name).stem.rsplit("_", 1)[0]


def write_cpvton_sample(data: Path, split: str, sample: canonical.RawSample, size: tuple[int, int] = SIZE) -> None:
    """Resize one canonical sample to ``size`` and write its CP-VTON files under ``data`` (folders must exist;
    ``pose`` is made for a sample with keypoints); the person image last."""
    path = sample_paths(data, split, sample.id)
    labels = map_labels(sample.parse, CIHP_TO_LIP, f"CIHP parsing of {sample.id}")
    io.write_jpeg(path["cloth"], io.resize(sample.cloth, size, nearest=False))
    io.write_jpeg(path["cloth_mask"], binarize(io.resize(sample.cloth_mask, size, nearest=False)))
    io.write_png(path["labels"], io.resize(labels, size, nearest=True), palette=CIHP_PALETTE)
    io.write_png(path["densepose"], io.resize(sample.iuv, size, nearest=True))
    if sample.keypoints is not None:
        path["keypoints"].parent.mkdir(exist_ok=True)
        points = rescale(to_coco18(sample.keypoints), sample.image.shape[:2], size)
        io.atomic_write_json(path["keypoints"], openpose_document(points, "pose_keypoints"))
    io.write_jpeg(path["image"], io.resize(sample.image, size, nearest=False))


def export_cpvton(
    canonical_root: str | Path, out_root: str | Path, size: tuple[int, int] = SIZE, warnings: list[str] | None = None
) -> int:
    """Write a canonical data set (both splits) in CP-VTON's layout under ``out_root/data`` at ``size`` = (H, W),
    read with the canonical reader's checks (``export.Source``; its warnings go to ``warnings``): ``image-densepose``
    gets IUV, or the grey part index where the source holds only that (read with ``densepose_files: parts``).

    ``out_root`` must be absent, empty, or a previous CP-VTON export. Output is deterministic.

    Returns:
        The number of samples written.
    """
    source = Source(canonical_root, "CP-VTON's image-densepose/", "index+uv", warnings)
    size, splits = start_sized_export(canonical_root, out_root, FORMAT, size)
    data = Path(out_root) / "data"
    for split, ids in splits.items():
        for key in ("image", "cloth", "cloth_mask", "labels", "densepose"):
            (data / split / FOLDERS[key][0]).mkdir(parents=True, exist_ok=True)
        own = canonical.categories(canonical_root, split)
        for sample_id in ids:
            write_cpvton_sample(data, split, source.sample(split, sample_id), size)
        cloths = cycled_within(ids, own) if split == "test" else ids
        write_lines(pairs_path(data, split), [f"{p}_0.jpg {c}_1.jpg" for p, c in zip(ids, cloths)])
    return sum(map(len, splits.values()))


# --------------------------------------------------------------------------------------------------------- reader
class CPVTONReader(Reader):
    """CP-VTON's ``data/`` folder (LIP parsing, COCO-18 keypoints, no DensePose unless ``image-densepose`` is added).

    Args:
        densepose_files: what an added ``<split>/image-densepose/<id>_0.png`` holds (``iuv``, ``iuv_bgr``,
            ``parts``).
    """

    format = FORMAT
    default_label_map = "lip"

    def __init__(self, root, size=(128, 96), label_map=None, densepose: str = "parts", densepose_files: str = "iuv"):
        if check_densepose_files(densepose_files) == "rendering":
            raise ValueError("densepose_files 'rendering': CP-VTON data has no colour renderings")
        self.densepose_files = densepose_files
        self.has_uv = densepose_files != "parts"
        super().__init__(root, size, label_map, densepose)
        self.data = data_root(self.root)

    def ids(self, split: str) -> list[str]:
        return unique(person_id(p) for p, _ in read_pairs(pairs_path(self.data, split)))

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = sample_paths(self.data, split, sample_id)
        warnings: list[str] = []
        image = read_photo(paths["image"], warnings)
        labels = read_index_map(paths["labels"], CIHP.values(), "LIP label ids")
        cloth = read_photo(paths["cloth"], warnings)
        cloth_mask = binarize(io.read_image(paths["cloth_mask"], "L"))
        index = uv = None
        if paths["densepose"].parent.is_dir():
            index, uv, _ = read_densepose(paths["densepose"], self.densepose_files)
            check_size(paths["densepose"], index, image.shape[:2])
        for key, array in (("labels", labels), ("cloth", cloth), ("cloth_mask", cloth_mask)):
            check_size(paths[key], array, image.shape[:2])
        files = {key: paths[key] for key in ("image", "labels", "densepose", "cloth", "cloth_mask")}
        keypoints = None
        if paths["keypoints"].parent.is_dir():
            keypoints, files["keypoints"] = read_openpose_json(paths["keypoints"], COCO_18), paths["keypoints"]
        missing = {
            "densepose": f"{paths['densepose'].parent}: no DensePose (CP-VTON ships none; add "
            "<split>/image-densepose/<id>_0.png there)"
        }
        return RawPerson(
            sample_id,
            image,
            labels,
            cloth,
            cloth_mask,
            index,
            uv,
            files=files,
            keypoints=keypoints,
            missing=missing,
            warnings=warnings,
        )

    def official_pairs(self, split: str, paired: bool) -> PairList | None:
        path = pairs_path(self.data, split)
        if not path.is_file():
            return None
        return self.official_or_none(paired, read_pair_lines(path), path, person_id, person_id)

    def split_folder(self, split: str) -> Path:
        return self.data / split

    def pair_files(self, split: str) -> list[tuple[Path, bool]]:
        return [(pairs_path(self.data, split), True)]

    def line_id(self, line: PairLine) -> str:
        return person_id(line.person)

    def line_files(self, split: str, line: PairLine) -> list[tuple[str, Path]]:
        return [
            ("person", self.data / split / "image" / line.person),
            ("cloth", self.data / split / "cloth" / line.cloth),
        ]

    def notes(self) -> list[str]:
        if any((self.data / s / "image-densepose").is_dir() for s in SPLITS):
            return []
        return [
            f"{self.data}: no DensePose (CP-VTON ships none): add <split>/image-densepose/<id>_0.png for the "
            "stages that need it"
        ]


READER = CPVTONReader


# ------------------------------------------------------------------------------------------------------ detection
def detect(root: Path) -> Detection | None:
    """CP-VTON's data at ``root`` (or its ``data/``): ``<split>/image-parse/``, with the reader options an added
    ``image-densepose`` calls for; None when absent."""
    data = data_root(root)
    splits = [s for s in SPLITS if (data / s / "image-parse").is_dir()]
    if not splits:
        return None
    where = "" if data == root else f"{data.name}/"
    reasons = [f"{', '.join(f'{where}{s}/image-parse/' for s in splits)} (LIP parsing)"]
    lists = [pairs_path(data, s).name for s in SPLITS if pairs_path(data, s).is_file()]
    if lists:
        reasons.append(f"{' and '.join(lists)} in {where or 'the root'}")
    options = {"densepose": "parts"}
    kind = densepose_kind(data / splits[0] / "image-densepose")
    if kind is not None and kind[0] != "rendering":
        reasons.append(kind[1])
        options = {"densepose": "parts" if kind[0] == "parts" else "iuv", "densepose_files": kind[0]}
    return Detection(FORMAT, "CP-VTON", reasons, options, data)
