"""Test helpers: write a data set in each layout exactly as its download ships it, from the same content.

The content is a synthetic canonical set (read here with PIL, not through the project's readers). Each writer mimics
the real download: folder and file names, image modes (JPEG photos and masks where the real ones are JPEG, palette or
grey PNG label maps), pair-file quirks (tabs, a missing final newline, Windows line ends, three-column lines, lists at
the root or in the code repository, two roots), and the label set of the layout, through tables written here from
the label lists of ``docs/data.md`` ("Label ids: the 7 classes and the label maps"; not the exporters' tables), so
that the exporters and the readers cannot share a mistake. Keypoints are made up here (independently of the engine's
own) and written in each layout's field names and coordinate frame.

Every writer returns a :class:`Written`: which real id holds which synthetic sample, the keypoints written, and the
lists. The tests compare the layout's reader with the canonical reader on the synthetic set.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = ("train", "test")

# ----------------------------------------------------------------------------------------- label sets (docs/data.md)
CIHP_NAMES = (
    "background",
    "hat",
    "hair",
    "glove",
    "sunglasses",
    "upper_clothes",
    "dress",
    "coat",
    "socks",
    "pants",
    "torso_skin",
    "scarf",
    "skirt",
    "face",
    "left_arm",
    "right_arm",
    "left_leg",
    "right_leg",
    "left_shoe",
    "right_shoe",
)
CIHP = {name: i for i, name in enumerate(CIHP_NAMES)}
# LIP: as CIHP except 10 = jumpsuits; VITON's LIP parsings give the neck to the face
CIHP_TO_LIP = {**{i: i for i in range(20)}, CIHP["torso_skin"]: 13}
# ATR-18 (DressCode)
ATR = {
    "background": 0,
    "hat": 1,
    "hair": 2,
    "sunglasses": 3,
    "upper_clothes": 4,
    "skirt": 5,
    "pants": 6,
    "dress": 7,
    "belt": 8,
    "left_shoe": 9,
    "right_shoe": 10,
    "head": 11,
    "left_leg": 12,
    "right_leg": 13,
    "left_arm": 14,
    "right_arm": 15,
    "bag": 16,
    "scarf": 17,
}
CIHP_TO_ATR = {
    CIHP["background"]: 0,
    CIHP["hat"]: 1,
    CIHP["hair"]: 2,
    CIHP["glove"]: 0,
    CIHP["sunglasses"]: 3,
    CIHP["upper_clothes"]: 4,
    CIHP["dress"]: 7,
    CIHP["coat"]: 4,
    CIHP["socks"]: 0,
    CIHP["pants"]: 6,
    CIHP["torso_skin"]: 11,
    CIHP["scarf"]: 17,
    CIHP["skirt"]: 5,
    CIHP["face"]: 11,
    CIHP["left_arm"]: 14,
    CIHP["right_arm"]: 15,
    CIHP["left_leg"]: 12,
    CIHP["right_leg"]: 13,
    CIHP["left_shoe"]: 9,
    CIHP["right_shoe"]: 10,
}
# ACGPN-14 (PF-AFN pack): 0 bg, 1 hair, 4 upper, 5/6 shoes, 7 noise, 8 bottom, 9/10 legs, 11 left arm, 12 face,
# 13 right arm
CIHP_TO_ACGPN = {
    0: 0,
    1: 1,
    2: 1,
    3: 0,
    4: 12,
    5: 4,
    6: 4,
    7: 4,
    8: 0,
    9: 8,
    10: 12,
    11: 0,
    12: 8,
    13: 12,
    14: 11,
    15: 13,
    16: 9,
    17: 10,
    18: 5,
    19: 6,
}
# GP-VTON 29 classes (docs/data.md and GP-VTON's loaders: 5/6 torso, 9/10 left/right pants, 11 neck, 13 skirt,
# 14 face, 15/16 arms, 17/18 legs, 19/20 shoes, 21/22 sleeves); pants are split by side below
CIHP_TO_GP = {
    0: 0,
    1: 1,
    2: 2,
    3: 3,
    4: 4,
    5: 5,
    6: 6,
    7: 6,
    8: 8,
    9: 9,
    10: 11,
    11: 12,
    12: 13,
    13: 14,
    14: 15,
    15: 16,
    16: 17,
    17: 18,
    18: 19,
    19: 20,
}


def palette(n: int = 256) -> list[int]:
    """A PASCAL-VOC style colour table (what parser outputs use for display), flat for PIL."""
    table = []
    for label in range(n):
        r = g = b = 0
        c = label
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        table += [r, g, b]
    return table


# ---------------------------------------------------------------------------------------------- content
@dataclass
class Sample:
    """One synthetic sample as read from its PNGs: ``split`` and ``id`` in the synthetic set."""

    split: str
    id: str
    image: np.ndarray
    parse: np.ndarray
    iuv: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray


def load_content(root: Path) -> dict[str, list[Sample]]:
    """The samples of a synthetic canonical set, per split, read with PIL (ids from the image folder's listing)."""
    content = {}
    for split in SPLITS:
        base = root / split
        samples = []
        for path in sorted((base / "image").glob("*.png")):
            sid = path.stem

            def read(folder, mode=None):
                with Image.open(base / folder / f"{sid}.png") as image:
                    return np.asarray(image if mode is None else image.convert(mode))

            samples.append(
                Sample(
                    split,
                    sid,
                    read("image", "RGB"),
                    read("image-parse-v3"),
                    read("image-densepose", "RGB"),
                    read("cloth", "RGB"),
                    read("cloth-mask", "L"),
                )
            )
        content[split] = samples
    return content


def keypoints(sample_id: str, count: int, size: tuple[int, int]) -> np.ndarray:
    """(count, 3) made-up keypoints ``x, y, score`` at ``size`` = (H, W) (the synthetic set's pixels); points 1 and
    ``count - 2`` are missing, ``(-1, -1, 0)``."""
    rng = np.random.default_rng(zlib.crc32(sample_id.encode()))
    height, width = size
    points = np.stack(
        [rng.uniform(3, width - 4, count), rng.uniform(3, height - 4, count), rng.uniform(0.3, 1.0, count)], axis=1
    ).astype(np.float32)
    points[[1, count - 2]] = (-1, -1, 0)
    return points


def in_frame(points: np.ndarray, size: tuple[int, int], frame: tuple[int, int]) -> list[list[float]]:
    """Points at ``size`` written in a ``frame`` = (H, W) image (pixel centres onto pixel centres); missing points
    become ``0, 0, 0`` as OpenPose writes them."""
    out = []
    for x, y, score in points.tolist():
        if x < 0:
            out.append([0.0, 0.0, 0.0])
        else:
            out.append([(x + 0.5) * frame[1] / size[1] - 0.5, (y + 0.5) * frame[0] / size[0] - 0.5, score])
    return out


def openpose(points: list[list[float]], key: str) -> dict:
    """An OpenPose JSON document with one person (``key``: ``pose_keypoints_2d`` or the older ``pose_keypoints``)."""
    person = {"person_id": [-1], key: [v for p in points for v in p]}
    if key == "pose_keypoints_2d":
        person.update(
            face_keypoints_2d=[],
            hand_left_keypoints_2d=[],
            hand_right_keypoints_2d=[],
            pose_keypoints_3d=[],
            face_keypoints_3d=[],
            hand_left_keypoints_3d=[],
            hand_right_keypoints_3d=[],
        )
        return {"version": 1.3, "people": [person]}
    person.update(face_keypoints=[], hand_left_keypoints=[], hand_right_keypoints=[])
    return {"version": 1.0, "people": [person]}


# ---------------------------------------------------------------------------------------------- file writing
def _save(path: Path, array: np.ndarray, mode: str | None = None, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.ascontiguousarray(array), mode) if mode else Image.fromarray(np.ascontiguousarray(array))
    image.save(path, **options)


def save_jpeg(path: Path, array: np.ndarray) -> None:
    """A JPEG as cameras and dataset tools write them: quality 95, PIL's default 4:2:0 chroma subsampling."""
    _save(path, array, quality=95)


def save_palette(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels.astype(np.uint8), "L").convert("P")
    image.putpalette(palette())
    image.save(path)


def save_grey(path: Path, labels: np.ndarray) -> None:
    _save(path, labels.astype(np.uint8), "L")


def write_text(path: Path, lines: list[str], end: str = "\n", final_newline: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = end.join(lines) + (end if final_newline else "")
    path.write_bytes(text.encode())


def write_json(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def lookup(labels: np.ndarray, table: dict[int, int]) -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    for source, target in table.items():
        lut[source] = target
    return lut[labels]


def rendering(iuv: np.ndarray) -> np.ndarray:
    """A colour DensePose picture like VITON-HD's ``image-densepose`` (a colour map of the parts, shaded by U, V)."""
    colours = np.array(palette(25), np.uint8).reshape(25, 3)
    base = colours[iuv[..., 0]].astype(np.float32)
    shade = 0.6 + 0.4 * iuv[..., 1:2].astype(np.float32) / 255
    return np.where(iuv[..., :1] > 0, base * shade, 0).astype(np.uint8)


def on_background(cloth: np.ndarray, mask: np.ndarray, colour, noise: float, seed: int) -> np.ndarray:
    """The in-shop garment on a background of ``colour`` with Gaussian ``noise`` (not clean white)."""
    rng = np.random.default_rng(seed)
    back = np.clip(np.asarray(colour, np.float32) + rng.normal(0, noise, cloth.shape), 0, 255).astype(np.uint8)
    return np.where(mask[..., None] > 127, cloth, back)


# ---------------------------------------------------------------------------------------------- layouts
@dataclass
class Written:
    """What a writer wrote: ``ids[split]`` real ids in order, ``source[(split, real id)]`` the synthetic sample,
    ``keypoints[(split, real id)]`` in the synthetic set's pixels, ``category[(split, real id)]`` where the layout
    has categories, and ``lists`` by name (the unpaired test list as ``(cloth id, person id)``)."""

    root: Path
    ids: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    keypoints: dict = field(default_factory=dict)
    category: dict = field(default_factory=dict)
    lists: dict = field(default_factory=dict)


def _numbered(content, fmt: str) -> list[tuple[str, Sample]]:
    every = [s for split in SPLITS for s in content[split]]
    return [(fmt.format(k), sample) for k, sample in enumerate(every)]


def write_vitonhd(root: Path, content, splits=SPLITS) -> Written:
    """VITON-HD as HR-VITON / LaDI-VTON ship "zalando-hd-resized": lists at the root (train paired, test unpaired
    without a final newline), JPEG photos and masks, palette parsing, JPEG DensePose renderings named like the person,
    OpenPose BODY_25 JSON, and the folders the readers do not use."""
    written = Written(root)
    size = content["train"][0].image.shape[:2]
    for real, sample in _numbered(content, "{:05d}_00"):
        if sample.split not in splits:
            continue
        base = root / sample.split
        save_jpeg(base / "image" / f"{real}.jpg", sample.image)
        save_jpeg(base / "cloth" / f"{real}.jpg", sample.cloth)
        save_jpeg(base / "cloth-mask" / f"{real}.jpg", sample.cloth_mask)
        save_palette(base / "image-parse-v3" / f"{real}.png", sample.parse)
        save_jpeg(base / "image-densepose" / f"{real}.jpg", rendering(sample.iuv))
        points = keypoints(sample.id, 25, size)
        write_json(
            base / "openpose_json" / f"{real}_keypoints.json",
            openpose(in_frame(points, size, size), "pose_keypoints_2d"),
        )
        _save(base / "openpose_img" / f"{real}_rendered.png", np.zeros((*size, 3), np.uint8))
        save_palette(base / "image-parse-agnostic-v3.2" / f"{real}.png", np.zeros(size, np.uint8))
        save_jpeg(base / "agnostic-v3.2" / f"{real}.jpg", sample.image)
        written.ids.setdefault(sample.split, []).append(real)
        written.source[(sample.split, real)] = sample
        written.keypoints[(sample.split, real)] = points
    if "train" in splits:
        write_text(root / "train_pairs.txt", [f"{i}.jpg {i}.jpg" for i in written.ids["train"]])
    test = written.ids["test"]
    unpaired = [(test[(k + 1) % len(test)], test[k]) for k in range(len(test))]
    write_text(root / "test_pairs.txt", [f"{p}.jpg {c}.jpg" for c, p in unpaired], final_newline=False)
    written.lists["test_unpaired"] = unpaired
    return written


DRESSCODE_PLAN = {"upper_body": "upper", "lower_body": "lower", "dresses": "dresses"}


def write_dresscode(root: Path, content) -> Written:
    """DressCode: the samples dealt over the three category folders (two per category and split); no masks/ folder
    in upper_body and dresses (as DressCode ships), LaDI-VTON's masks/ in lower_body; cloth backgrounds not clean
    white; grey ATR-18 label maps; dense maps and uv at the photo's size (upper_body: uv (2, H, W); lower_body:
    uv (H, W, 2)) or at twice it (dresses); keypoints in the 384 x 512 frame; tab-separated train lists without a
    final newline, a Windows-line-end unpaired list in dresses."""
    written = Written(root)
    size = content["train"][0].image.shape[:2]
    categories = list(DRESSCODE_PLAN)
    for real, sample in _numbered(content, "{:06d}"):
        index = content[sample.split].index(sample)
        category = categories[(index // 2) % 3]
        base = root / category
        save_jpeg(base / "images" / f"{real}_0.jpg", sample.image)
        background = {
            "upper_body": ((250, 250, 248), 1.0),
            "lower_body": ((228, 226, 224), 3.0),
            "dresses": ((238, 235, 230), 1.5),
        }[category]
        cloth = on_background(sample.cloth, sample.cloth_mask, *background, seed=int(real))
        save_jpeg(base / "images" / f"{real}_1.jpg", cloth)
        if category == "lower_body":
            save_grey(base / "masks" / f"{real}_1.png", sample.cloth_mask)
        save_grey(base / "label_maps" / f"{real}_4.png", lookup(sample.parse, CIHP_TO_ATR))
        parts, uv = sample.iuv[..., 0], np.moveaxis(sample.iuv[..., 1:], -1, 0).astype(np.float32) / 255
        if category == "dresses":
            parts, uv = parts.repeat(2, 0).repeat(2, 1), uv.repeat(2, 1).repeat(2, 2)
        save_grey(base / "dense" / f"{real}_5.png", parts)
        np.savez_compressed(
            base / "dense" / f"{real}_5_uv.npz", uv=np.moveaxis(uv, 0, -1) if category == "lower_body" else uv
        )
        points = keypoints(sample.id, 18, size)
        frame = [[x, y, s, k] for k, (x, y, s) in enumerate(in_frame(points, size, (512, 384)))]
        write_json(base / "keypoints" / f"{real}_2.json", {"keypoints": frame})
        save_jpeg(base / "skeletons" / f"{real}_5.jpg", np.zeros((*size, 3), np.uint8))
        written.ids.setdefault(sample.split, []).append(real)
        written.source[(sample.split, real)] = sample
        written.keypoints[(sample.split, real)] = points
        written.category[(sample.split, real)] = category
    for category in categories:
        base = root / category
        train = [i for i in written.ids["train"] if written.category[("train", i)] == category]
        test = [i for i in written.ids["test"] if written.category[("test", i)] == category]
        write_text(base / "train_pairs.txt", [f"{i}_0.jpg\t{i}_1.jpg" for i in train], final_newline=False)
        write_text(base / "test_pairs_paired.txt", [f"{i}_0.jpg {i}_1.jpg" for i in test])
        unpaired = [(test[(k + 1) % len(test)], test[k]) for k in range(len(test))]
        write_text(
            base / "test_pairs_unpaired.txt",
            [f"{p}_0.jpg {c}_1.jpg" for c, p in unpaired],
            end="\r\n" if category == "dresses" else "\n",
        )
        written.lists.setdefault("test_unpaired", []).extend(unpaired)
    return written


def write_pfafn(root: Path, content, jpeg_labels: bool = False) -> Written:
    """PF-AFN's VITON pack: ``VITON_traindata/`` (train_img, train_color, train_edge, train_label (grey PNG, or JPEG
    with ``jpeg_labels``; some upper clothes labelled 7 "noise"), train_densepose (.npy, alternately float64 and
    uint8), train_pose (COCO-18 ``pose_keypoints``)) and ``VITON_test/`` with test_img, test_clothes and test_edge
    only; no training list; the test list copied from the code repository as ``test_pairs.txt`` beside them, without
    a final newline."""
    written = Written(root)
    size = content["train"][0].image.shape[:2]
    for real, sample in _numbered(content, "{:06d}"):
        split = sample.split
        base = root / ("VITON_traindata" if split == "train" else "VITON_test")
        save_jpeg(base / f"{split}_img" / f"{real}_0.jpg", sample.image)
        save_jpeg(base / (f"{split}_color" if split == "train" else f"{split}_clothes") / f"{real}_1.jpg", sample.cloth)
        save_jpeg(base / f"{split}_edge" / f"{real}_1.jpg", sample.cloth_mask)
        if split == "train":
            labels = lookup(sample.parse, CIHP_TO_ACGPN)
            noise = (labels == 4) & (np.arange(size[1])[None] % 7 == 0)  # a parser's "noise" inside the garment
            labels[noise] = 7
            if jpeg_labels:
                _save(base / "train_label" / f"{real}_0.jpg", labels, "L", quality=95)
            else:
                save_grey(base / "train_label" / f"{real}_0.png", labels)
            dtype = np.float64 if int(real) % 2 == 0 else np.uint8
            path = base / "train_densepose" / f"{real}_0.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, sample.iuv[..., 0].astype(dtype))
            points = keypoints(sample.id, 18, size)
            write_json(
                base / "train_pose" / f"{real}_0_keypoints.json",
                openpose(in_frame(points, size, size), "pose_keypoints"),
            )
            written.keypoints[(split, real)] = points
        written.ids.setdefault(split, []).append(real)
        written.source[(split, real)] = sample
    test = written.ids["test"]
    unpaired = [(test[(k + 1) % len(test)], test[k]) for k in range(len(test))]
    write_text(root / "test_pairs.txt", [f"{p}_0.jpg {c}_1.jpg" for c, p in unpaired], final_newline=False)
    written.lists["test_unpaired"] = unpaired
    return written


def write_cpvton(root: Path, content) -> Written:
    """CP-VTON's ``data/`` folder: lists at its root (test unpaired), JPEG photos and grey JPEG cloth masks named
    after the cloth, palette LIP parsing, COCO-18 ``pose_keypoints``; no DensePose."""
    written = Written(root)
    data = root / "data"
    size = content["train"][0].image.shape[:2]
    for real, sample in _numbered(content, "{:06d}"):
        base = data / sample.split
        save_jpeg(base / "image" / f"{real}_0.jpg", sample.image)
        save_jpeg(base / "cloth" / f"{real}_1.jpg", sample.cloth)
        save_jpeg(base / "cloth-mask" / f"{real}_1.jpg", sample.cloth_mask)
        save_palette(base / "image-parse" / f"{real}_0.png", lookup(sample.parse, CIHP_TO_LIP))
        points = keypoints(sample.id, 18, size)
        write_json(base / "pose" / f"{real}_0_keypoints.json", openpose(in_frame(points, size, size), "pose_keypoints"))
        written.ids.setdefault(sample.split, []).append(real)
        written.source[(sample.split, real)] = sample
        written.keypoints[(sample.split, real)] = points
    write_text(data / "train_pairs.txt", [f"{i}_0.jpg {i}_1.jpg" for i in written.ids["train"]])
    test = written.ids["test"]
    unpaired = [(test[(k + 1) % len(test)], test[k]) for k in range(len(test))]
    write_text(data / "test_pairs.txt", [f"{p}_0.jpg {c}_1.jpg" for c, p in unpaired])
    written.lists["test_unpaired"] = unpaired
    return written


def gp_labels(parse: np.ndarray) -> np.ndarray:
    """CIHP -> GP-VTON's 29 classes; pants split into left (the person's left: the image's right half, 9) and
    right (10)."""
    labels = lookup(parse, CIHP_TO_GP)
    right_half = np.arange(parse.shape[1])[None] >= parse.shape[1] // 2
    labels[(parse == CIHP["pants"]) & ~right_half] = 10
    return labels


def write_gpvton(root: Path, content) -> Written:
    """GP-VTON's VITON-HD release (512 x 384 PNG): three-column lists at the root (``person cloth upper``; the
    unpaired test list without a final newline), split folders with image, cloth, cloth_mask-bytedance,
    cloth_parse-bytedance, parse-bytedance (grey, 29 classes), densepose (grey part index) and openpose_json."""
    written = Written(root)
    size = content["train"][0].image.shape[:2]
    for real, sample in _numbered(content, "{:05d}_00"):
        base = root / sample.split
        _save(base / "image" / f"{real}.png", sample.image)
        _save(base / "cloth" / f"{real}.png", sample.cloth)
        save_grey(base / "cloth_mask-bytedance" / f"{real}.png", sample.cloth_mask)
        save_grey(base / "cloth_parse-bytedance" / f"{real}.png", np.where(sample.cloth_mask > 127, 5, 0))
        save_grey(base / "parse-bytedance" / f"{real}.png", gp_labels(sample.parse))
        save_grey(base / "densepose" / f"{real}.png", sample.iuv[..., 0])
        points = keypoints(sample.id, 25, size)
        write_json(
            base / "openpose_json" / f"{real}_keypoints.json",
            openpose(in_frame(points, size, size), "pose_keypoints_2d"),
        )
        written.ids.setdefault(sample.split, []).append(real)
        written.source[(sample.split, real)] = sample
        written.keypoints[(sample.split, real)] = points
    write_text(root / "train_pairs_1018.txt", [f"{i}.png {i}.png upper" for i in written.ids["train"]])
    write_text(root / "person_clothes_ratio_train.txt", [f"{i}.png 0.93" for i in written.ids["train"]])
    test = written.ids["test"]
    write_text(root / "test_pairs_paired_1018.txt", [f"{i}.png {i}.png upper" for i in test])
    unpaired = [(test[(k + 1) % len(test)], test[k]) for k in range(len(test))]
    write_text(
        root / "test_pairs_unpaired_1018.txt", [f"{p}.png {c}.png upper" for c, p in unpaired], final_newline=False
    )
    written.lists["test_unpaired"] = unpaired
    return written


def write_gpvton_dresscode(root: Path, content) -> Written:
    """GP-VTON's DressCode release: category folders ``upper`` and ``lower`` (image, cloth_align,
    cloth_align_mask-bytedance, parse-bytedance, densepose, pose_25/<name>.npy of shape (1, 25, 3)) and three-column
    lists at the root whose category names the folder."""
    written = Written(root)
    size = content["train"][0].image.shape[:2]
    lines = {"train": [], "test": []}
    for real, sample in _numbered(content, "{:06d}"):
        category = "upper" if content[sample.split].index(sample) % 2 == 0 else "lower"
        base = root / category
        _save(base / "image" / f"{real}_0.png", sample.image)
        _save(base / "cloth_align" / f"{real}_1.png", sample.cloth)
        save_grey(base / "cloth_align_mask-bytedance" / f"{real}_1.png", sample.cloth_mask)
        save_grey(base / "parse-bytedance" / f"{real}_0.png", gp_labels(sample.parse))
        save_grey(base / "densepose" / f"{real}_0.png", sample.iuv[..., 0])
        points = keypoints(sample.id, 25, size)
        path = base / "pose_25" / f"{real}_0.png.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(in_frame(points, size, size), np.float32)[None])
        lines[sample.split].append(f"{real}_0.png {real}_1.png {category}")
        written.ids.setdefault(sample.split, []).append(real)
        written.source[(sample.split, real)] = sample
        written.keypoints[(sample.split, real)] = points
        written.category[(sample.split, real)] = {"upper": "upper_body", "lower": "lower_body"}[category]
    write_text(root / "train_pairs.txt", lines["train"])
    write_text(root / "test_pairs_paired.txt", lines["test"])
    return written
