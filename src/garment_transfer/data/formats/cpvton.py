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
"""

from __future__ import annotations

from pathlib import Path

from garment_transfer.data.formats import _common

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
