"""CP-VTON's layout of the VITON 256 x 192 data (sergeywong/cp-vton ``cp_dataset.py``): raw read of one sample.

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
resized as the VITON exporter does), with ``image-densepose`` (IUV PNG) so this project's stages can read it, COCO-18
``pose`` files where the canonical set has keypoints, ``train_pairs.txt`` paired and ``test_pairs.txt`` unpaired
(each test person with the next one's garment of the same category, cyclic). Labels: CIHP -> LIP through
``CIHP_TO_LIP``, the same ids except torso skin / neck, which LIP lacks (its 10 is jumpsuits): it becomes face, as
VITON's LIP parsings label the neck (lossy).
"""

from __future__ import annotations

from pathlib import Path

from garment_transfer.data import io
from garment_transfer.data.formats import _common, canonical
from garment_transfer.data.keypoints import openpose_document, rescale, to_coco18
from garment_transfer.data.labels import CIHP, CIHP_PALETTE

FORMAT = "cpvton"
SIZE = (256, 192)
CIHP_TO_LIP = {**{i: i for i in CIHP.values()}, CIHP["torso_skin"]: CIHP["face"]}
LOSSY_CIHP = frozenset({CIHP["torso_skin"]})

FOLDERS = {"image": ("image", "_0.jpg"), "cloth": ("cloth", "_1.jpg"), "cloth_mask": ("cloth-mask", "_1.jpg"),
           "labels": ("image-parse", "_0.png"), "keypoints": ("pose", "_0_keypoints.json"),
           "densepose": ("image-densepose", "_0.png")}


def data_root(root: str | Path) -> Path:
    """``root``, or ``root/data`` when only that holds the split folders."""
    root = Path(root)
    inner = root / "data"
    if not any((root / s).is_dir() for s in ("train", "test")) and any((inner / s).is_dir() for s in ("train", "test")):
        return inner
    return root


def pairs_path(root: Path, split: str) -> Path:
    return root / f"{_common.check_split(split)}_pairs.txt"


def sample_paths(root: Path, split: str, sample_id: str) -> dict[str, Path]:
    """A sample's files by role: "image", "cloth", "cloth_mask", "labels", "keypoints", "densepose"."""
    base = root / _common.check_split(split)
    return {key: base / name / f"{sample_id}{suffix}" for key, (name, suffix) in FOLDERS.items()}


def person_id(name: str) -> str:
    """``"000001_0.jpg"`` -> ``"000001"`` (and ``"000001_1.jpg"`` -> ``"000001"``)."""
    return Path(name).stem.rsplit("_", 1)[0]


def write_cpvton_sample(data: Path, split: str, sample: canonical.RawSample, size: tuple[int, int] = SIZE) -> None:
    """Resize one canonical sample to ``size`` and write its CP-VTON files under ``data`` (folders must exist;
    ``pose`` is made for a sample with keypoints); the person image last."""
    path = sample_paths(data, split, sample.id)
    labels = _common.map_labels(sample.parse, CIHP_TO_LIP, f"CIHP parsing of {sample.id}")
    io.write_jpeg(path["cloth"], io.resize(sample.cloth, size, nearest=False))
    io.write_jpeg(path["cloth_mask"], _common.binarize(io.resize(sample.cloth_mask, size, nearest=False)))
    io.write_png(path["labels"], io.resize(labels, size, nearest=True), palette=CIHP_PALETTE)
    io.write_png(path["densepose"], io.resize(sample.iuv, size, nearest=True))
    if sample.keypoints is not None:
        path["keypoints"].parent.mkdir(exist_ok=True)
        points = rescale(to_coco18(sample.keypoints), sample.image.shape[:2], size)
        io.atomic_write_json(path["keypoints"], openpose_document(points, "pose_keypoints"))
    io.write_jpeg(path["image"], io.resize(sample.image, size, nearest=False))


def export_cpvton(canonical_root: str | Path, out_root: str | Path, size: tuple[int, int] = SIZE) -> int:
    """Write a canonical data set (both splits) in CP-VTON's layout under ``out_root/data`` at ``size`` = (H, W).

    ``out_root`` must be absent, empty, or a previous CP-VTON export. Output is deterministic.

    Returns:
        The number of samples written.
    """
    size, splits = _common.start_sized_export(canonical_root, out_root, FORMAT, size)
    data = Path(out_root) / "data"
    for split, ids in splits.items():
        for key in ("image", "cloth", "cloth_mask", "labels", "densepose"):
            (data / split / FOLDERS[key][0]).mkdir(parents=True, exist_ok=True)
        own = canonical.categories(canonical_root, split)
        for sample_id in ids:
            raw = canonical.read_sample(canonical_root, split, sample_id, own.get(sample_id, "upper"))
            write_cpvton_sample(data, split, raw, size)
        cloths = _common.cycled_within(ids, own) if split == "test" else ids
        _common.write_lines(pairs_path(data, split), [f"{p}_0.jpg {c}_1.jpg" for p, c in zip(ids, cloths)])
    return sum(map(len, splits.values()))

