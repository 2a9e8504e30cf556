"""DressCode and VITON 256 x 192 exporters and their raw loaders, on a tiny hand-made canonical data set.

The ``assert_*`` helpers take any canonical root and its export, so they can run on engine-generated data too.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garment_transfer.data import io
from garment_transfer.data.formats import base, canonical, dresscode, viton
from garment_transfer.data.labels import CIHP, DENSEPOSE

SIZE = (64, 48)
IMAGE_TOLERANCE = 4.0  # mean abs difference allowed after JPEG q95 (engine data at 64 x 48 reaches ~2.7)

# (CIHP name, DensePose part or None, rows, cols) painted in order on a 64 x 48 canvas; later boxes cover earlier ones
_BOXES = [
    ("hair", None, (2, 12), (15, 33)),
    ("face", "head", (5, 14), (18, 30)),
    ("hat", None, (1, 4), (17, 31)),
    ("sunglasses", "head", (8, 10), (19, 29)),
    ("torso_skin", "torso_front", (14, 18), (20, 28)),
    ("upper_clothes", "torso_front", (17, 34), (13, 35)),
    ("coat", "torso_front", (17, 34), (13, 17)),
    ("scarf", "torso_front", (16, 19), (17, 31)),
    ("left_arm", "upper_arm_left", (18, 26), (35, 41)),
    ("left_arm", "lower_arm_left", (26, 33), (36, 42)),
    ("glove", "left_hand", (33, 36), (36, 42)),
    ("right_arm", "upper_arm_right", (18, 26), (7, 13)),
    ("right_arm", "lower_arm_right", (26, 36), (6, 12)),
    ("pants", "upper_leg_right", (34, 45), (14, 24)),
    ("pants", "upper_leg_left", (34, 45), (24, 34)),
    ("skirt", "upper_leg_left", (34, 38), (24, 34)),
    ("dress", "torso_front", (30, 34), (20, 28)),
    ("right_leg", "lower_leg_right", (45, 55), (15, 22)),
    ("left_leg", "lower_leg_left", (45, 55), (26, 33)),
    ("socks", "lower_leg_left", (55, 57), (26, 33)),
    ("right_shoe", "right_foot", (57, 61), (13, 22)),
    ("left_shoe", "left_foot", (57, 61), (26, 35)),
]


# ------------------------------------------------------------------------------------------------- hand-made data
def make_raw_sample(sample_id: str, seed: int) -> canonical.RawSample:
    """A 64 x 48 person of coloured boxes (all CIHP ids), an IUV map whose I agrees with the parse, a cloth on white."""
    rng = np.random.default_rng(seed)
    dy, dx = rng.integers(-2, 3, size=2)
    colours = rng.integers(30, 200, size=(len(CIHP), 3)).astype(np.uint8)
    image = np.full((*SIZE, 3), rng.integers(150, 230), np.uint8)
    parse = np.zeros(SIZE, np.uint8)
    iuv = np.zeros((*SIZE, 3), np.uint8)
    for name, part, (r0, r1), (c0, c1) in _BOXES:
        rows, cols = slice(r0 + dy, r1 + dy), slice(c0 + dx, c1 + dx)
        parse[rows, cols] = CIHP[name]
        image[rows, cols] = colours[CIHP[name]]
        if part is not None:
            iuv[rows, cols] = _iuv_box(DENSEPOSE[part], r1 - r0, c1 - c0)
    cloth, mask = _cloth(colours[CIHP["upper_clothes"]], rng)
    return canonical.RawSample(id=sample_id, image=image, parse=parse, iuv=iuv, cloth=cloth, cloth_mask=mask)


def _iuv_box(part: int, height: int, width: int) -> np.ndarray:
    """(height, width, 3) uint8: I = part, U a ramp across, V a ramp down."""
    u = np.linspace(0, 255, width).round().astype(np.uint8)
    v = np.linspace(0, 255, height).round().astype(np.uint8)
    return np.stack(np.broadcast_arrays(np.uint8(part), u[None, :], v[:, None]), axis=-1)


def _cloth(colour: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A T-shaped striped garment on white: ((64, 48, 3) uint8, (64, 48) uint8 0 / 255)."""
    mask = np.zeros(SIZE, bool)
    mask[10:54, 12:36] = True  # body
    mask[10:24, 4:44] = True  # sleeves
    stripes = (np.arange(SIZE[0]) // int(rng.integers(3, 6)) % 2).astype(bool)[:, None]
    garment = np.where(stripes[..., None], colour, colour // 2)
    cloth = np.where(mask[..., None], garment, 255).astype(np.uint8)
    return cloth, np.where(mask, 255, 0).astype(np.uint8)


def write_handmade_canonical(root: Path, counts: dict[str, int] | None = None) -> Path:
    """Write a canonical root with ``counts`` samples per split (default 3 train, 2 test) and its pairs files."""
    counts = counts or {"train": 3, "test": 2}
    canonical.make_dirs(root)
    for split, count in counts.items():
        ids = [f"{split}_{i:06d}" for i in range(count)]
        for i, sample_id in enumerate(ids):
            seed = 100 * canonical.SPLITS.index(split) + i
            canonical.write_sample(root, split, make_raw_sample(sample_id, seed))
        io.atomic_write_text(canonical.pairs_path(root, split), "".join(f"{s}.png {s}.png\n" for s in ids))
    io.atomic_write_json(root / "meta.json", {"generator": "hand-made test fixture", "size": list(SIZE)})
    return root


@pytest.fixture
def handmade_root(tmp_path: Path) -> Path:
    return write_handmade_canonical(tmp_path / "canonical")


# ---------------------------------------------------------------------------------------------- reusable checks
def inverse_table(mapping: dict[int, int], lossy: frozenset[int]) -> np.ndarray:
    """(256,) lookup from target id back to the single non-lossy CIHP id mapping to it (-1 where there is none)."""
    inverse = np.full(256, -1, np.int16)
    for source, target in mapping.items():
        if source not in lossy:
            assert inverse[target] == -1, f"two non-lossy CIHP ids map to {target}"
            inverse[target] = source
    return inverse


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def edge_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) bool: pixels within ``radius`` (chessboard distance) of a 0 / 255 mask's boundary."""
    padded = np.pad(mask > 0, radius, mode="edge")
    h, w = mask.shape
    windows = [padded[dy : dy + h, dx : dx + w] for dy in range(2 * radius + 1) for dx in range(2 * radius + 1)]
    return np.any(windows, axis=0) & ~np.all(windows, axis=0)


def assert_masks_close(mask: np.ndarray, expected: np.ndarray, radius: int = 2, what: str = "mask") -> None:
    """Masks agree except within ``radius`` pixels of the expected mask's boundary (JPEG / resampling edges)."""
    assert mask.shape == expected.shape, f"{what}: shape {mask.shape} != {expected.shape}"
    assert set(np.unique(mask).tolist()) <= {0, 255}, f"{what}: not a 0 / 255 mask"
    wrong = (mask > 0) != (expected > 0)
    assert not (wrong & ~edge_band(expected, radius)).any(), f"{what}: differs away from the garment edge"


def nearest_indices(source: int, target: int) -> np.ndarray:
    """Source row (or column) sampled by each target row in a pixel-centre nearest-neighbour resize."""
    return np.minimum(((np.arange(target) + 0.5) * source / target).astype(int), source - 1)


def nearest_resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return array[nearest_indices(array.shape[0], size[0])][:, nearest_indices(array.shape[1], size[1])]


def assert_labels_roundtrip(labels, cihp, mapping, lossy, what: str) -> None:
    """``labels`` (target ids) equal ``cihp`` mapped through the table, and map back to ``cihp`` off lossy classes."""
    lut = np.full(256, -1, np.int16)
    lut[list(mapping)] = list(mapping.values())
    np.testing.assert_array_equal(labels, lut[cihp], err_msg=f"{what}: labels are not the mapped CIHP ids")
    kept = ~np.isin(cihp, list(lossy))
    back = inverse_table(mapping, lossy)[labels]
    np.testing.assert_array_equal(back[kept], cihp[kept], err_msg=f"{what}: labels do not map back to CIHP")


def assert_dresscode_roundtrip(canonical_root: Path, export_root: Path, category: str = "upper_body") -> None:
    """Every canonical sample reads back from a DressCode export: same ids, pairs, labels, parts; close images, UV."""
    for split, ids in ((s, canonical.list_ids(canonical_root, s)) for s in canonical.SPLITS):
        assert dresscode.list_dresscode_ids(export_root, split, category) == ids
        for sample_id in ids:
            raw = canonical.read_sample(canonical_root, split, sample_id)
            got = dresscode.read_dresscode_sample(export_root, sample_id, category)
            what = f"{split}/{sample_id}"
            assert_labels_roundtrip(got.labels, raw.parse, dresscode.CIHP_TO_ATR, dresscode.LOSSY_CIHP, what)
            np.testing.assert_array_equal(got.densepose_index, raw.iuv[..., 0], err_msg=f"{what}: part indices")
            np.testing.assert_allclose(got.uv, np.moveaxis(raw.iuv[..., 1:], -1, 0) / 255.0, atol=1e-6)
            assert got.uv.dtype == np.float32 and got.uv.shape == (2, *raw.parse.shape)
            assert mean_abs_diff(got.image, raw.image) < IMAGE_TOLERANCE, f"{what}: person image"
            assert mean_abs_diff(got.cloth, raw.cloth) < IMAGE_TOLERANCE, f"{what}: cloth image"
            assert_masks_close(got.cloth_mask, raw.cloth_mask, what=f"{what}: cloth mask")
    _assert_unpaired_test_pairs(export_root, category)


def _assert_unpaired_test_pairs(export_root: Path, category: str) -> None:
    """Unpaired test pairs: same persons as the paired file, garments a permutation of them, none a person's own
    (unless the split holds a single sample)."""
    persons = dresscode.list_dresscode_ids(export_root, "test", category)
    pairs = canonical.read_pairs(dresscode.pairs_path(export_root, "test", category, paired=False))
    assert [p.removesuffix("_0.jpg") for p, _ in pairs] == persons
    cloths = [c.removesuffix("_1.jpg") for _, c in pairs]
    assert sorted(cloths) == sorted(persons)
    assert len(persons) < 2 or all(p != c for p, c in zip(persons, cloths))


def assert_viton_roundtrip(canonical_root: Path, export_root: Path, size: tuple[int, int] = viton.SIZE) -> None:
    """Every canonical sample reads back from a VITON export at ``size``: nearest-resized labels and parts with no new
    ids, images close to the bilinear resize, masks close to the re-thresholded resize."""
    for split, ids in ((s, canonical.list_ids(canonical_root, s)) for s in canonical.SPLITS):
        assert viton.list_viton_ids(export_root, split) == ids
        for sample_id in ids:
            raw = canonical.read_sample(canonical_root, split, sample_id)
            got = viton.read_viton_sample(export_root, split, sample_id)
            what = f"{split}/{sample_id}"
            assert got.image.shape == (*size, 3) and got.labels.shape == size, f"{what}: not exported at {size}"
            parse = nearest_resize(raw.parse, size)
            assert_labels_roundtrip(got.labels, parse, viton.CIHP_TO_ACGPN, viton.LOSSY_CIHP, what)
            mapped_input = {viton.CIHP_TO_ACGPN[i] for i in np.unique(raw.parse).tolist()}
            assert set(np.unique(got.labels).tolist()) <= mapped_input, f"{what}: new label ids after resizing"
            np.testing.assert_array_equal(got.densepose_index, nearest_resize(raw.iuv[..., 0], size), err_msg=what)
            assert set(np.unique(got.densepose_index)) <= set(np.unique(raw.iuv[..., 0])), f"{what}: new part ids"
            assert mean_abs_diff(got.image, _bilinear(raw.image, size)) < IMAGE_TOLERANCE, f"{what}: person image"
            assert mean_abs_diff(got.cloth, _bilinear(raw.cloth, size)) < IMAGE_TOLERANCE, f"{what}: cloth image"
            expected_mask = np.where(_bilinear(raw.cloth_mask, size) >= 128, 255, 0).astype(np.uint8)
            assert_masks_close(got.cloth_mask, expected_mask, what=f"{what}: cloth mask")


def _bilinear(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(array).resize((size[1], size[0]), Image.Resampling.BILINEAR))


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -------------------------------------------------------------------------------------------------------- tests
def test_dresscode_export_reads_back_as_the_canonical_samples(handmade_root, tmp_path):
    assert dresscode.export_dresscode(handmade_root, tmp_path / "dc") == 5
    assert_dresscode_roundtrip(handmade_root, tmp_path / "dc")
    assert (tmp_path / "dc" / "upper_body" / "images" / "train_000000_0.jpg").is_file()


def test_viton_export_reads_back_at_256x192(handmade_root, tmp_path):
    assert viton.export_viton(handmade_root, tmp_path / "viton") == 5
    assert_viton_roundtrip(handmade_root, tmp_path / "viton")


def test_viton_export_shrinks_with_nearest_labels(handmade_root, tmp_path):
    viton.export_viton(handmade_root, tmp_path / "viton", size=(32, 24))
    assert_viton_roundtrip(handmade_root, tmp_path / "viton", size=(32, 24))


@pytest.mark.parametrize("category", dresscode.CATEGORIES)
def test_dresscode_categories_share_one_export_root(handmade_root, tmp_path, category):
    dresscode.export_dresscode(handmade_root, tmp_path / "dc", category="upper_body")
    dresscode.export_dresscode(handmade_root, tmp_path / "dc", category=category)
    assert_dresscode_roundtrip(handmade_root, tmp_path / "dc", category)
    meta = json.loads((tmp_path / "dc" / "meta.json").read_text())
    assert meta["format"] == "dresscode" and set(meta["exports"]) == {"upper_body", category}
    assert meta["exports"][category]["source_meta"]["generator"] == "hand-made test fixture"


def test_dresscode_mask_is_recovered_from_white_without_mask_file(handmade_root, tmp_path):
    dresscode.export_dresscode(handmade_root, tmp_path / "dc")
    for path in (tmp_path / "dc" / "upper_body" / "masks").iterdir():
        path.unlink()
    for sample_id in canonical.list_ids(handmade_root, "train"):
        raw = canonical.read_sample(handmade_root, "train", sample_id)
        got = dresscode.read_dresscode_sample(tmp_path / "dc", sample_id)
        assert_masks_close(got.cloth_mask, raw.cloth_mask, radius=1, what=sample_id)


def test_mask_from_white_fills_white_areas_inside_the_garment():
    cloth, mask = _cloth(np.array([90, 40, 160], np.uint8), np.random.default_rng(0))
    cloth[30:36, 20:28] = 255  # a white logo
    np.testing.assert_array_equal(base.mask_from_white(cloth), mask)


def test_background_model_mask_keeps_the_white_rule_and_handles_a_grey_background():
    cloth, mask = _cloth(np.array([90, 40, 160], np.uint8), np.random.default_rng(0))
    np.testing.assert_array_equal(base.mask_from_background(cloth), base.mask_from_white(cloth))
    noise = np.random.default_rng(1).normal(0, 2, cloth.shape)
    grey = np.where(mask[..., None] > 0, cloth, np.clip(226 + noise, 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(base.mask_from_background(grey), mask)
    whole = base.mask_from_white(grey)
    assert whole.all(), "the white rule takes a grey background for garment"
    with pytest.raises(ValueError, match=r"c.jpg: the garment mask recovered from its background covers 100%"):
        base.check_recovered_mask(whole, Path("c.jpg"), "add masks")


def test_viton_export_writes_pfafns_two_roots_and_an_unpaired_test_list(handmade_root, tmp_path):
    viton.export_viton(handmade_root, tmp_path / "viton", size=(32, 24))
    train, test = tmp_path / "viton" / "VITON_traindata", tmp_path / "viton" / "VITON_test"
    assert sorted(p.name for p in train.iterdir()) == [
        "train_color",
        "train_densepose",
        "train_edge",
        "train_img",
        "train_label",
    ]
    assert {"test_img", "test_clothes", "test_edge"} <= {p.name for p in test.iterdir()}
    pairs = canonical.read_pairs(test / "test_pairs.txt")
    assert pairs == [("test_000000_0.jpg", "test_000001_1.jpg"), ("test_000001_0.jpg", "test_000000_1.jpg")]


def test_dresscode_export_refuses_ids_shared_by_both_splits(handmade_root, tmp_path):
    io.atomic_write_text(canonical.pairs_path(handmade_root, "test"), "train_000000.png train_000000.png\n")
    with pytest.raises(ValueError, match="train_000000"):
        dresscode.export_dresscode(handmade_root, tmp_path / "dc")


def test_dresscode_reads_uint8_uv(handmade_root, tmp_path):
    dresscode.export_dresscode(handmade_root, tmp_path / "dc")
    raw = canonical.read_sample(handmade_root, "train", "train_000001")
    uv_path = dresscode.sample_paths(tmp_path / "dc", "train_000001")["_5_uv.npz"]
    io.write_npz(uv_path, uv=np.moveaxis(raw.iuv[..., 1:], -1, 0).copy())
    got = dresscode.read_dresscode_sample(tmp_path / "dc", "train_000001")
    np.testing.assert_allclose(got.uv, np.moveaxis(raw.iuv[..., 1:], -1, 0) / 255.0, atol=1e-6)


@pytest.mark.parametrize("export", [dresscode.export_dresscode, viton.export_viton], ids=["dresscode", "viton"])
def test_export_is_byte_identical_when_repeated(handmade_root, tmp_path, export):
    export(handmade_root, tmp_path / "a")
    export(handmade_root, tmp_path / "b")
    export(handmade_root, tmp_path / "b")  # over a previous export of the same kind
    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert first.keys() == second.keys() and first == second


@pytest.mark.parametrize("export", [dresscode.export_dresscode, viton.export_viton], ids=["dresscode", "viton"])
def test_export_refuses_a_non_empty_foreign_folder(handmade_root, tmp_path, export):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=str(out)):
        export(handmade_root, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_export_refuses_an_export_of_the_other_format(handmade_root, tmp_path):
    viton.export_viton(handmade_root, tmp_path / "out", size=(32, 24))
    with pytest.raises(ValueError, match="'viton' export"):
        dresscode.export_dresscode(handmade_root, tmp_path / "out")


@pytest.mark.parametrize("suffix", ["_0.jpg", "_4.png", "_5.png", "_5_uv.npz"])
def test_dresscode_missing_file_error_names_the_file(handmade_root, tmp_path, suffix):
    dresscode.export_dresscode(handmade_root, tmp_path / "dc")
    path = dresscode.sample_paths(tmp_path / "dc", "test_000001")[suffix]
    path.unlink()
    with pytest.raises(FileNotFoundError, match=str(path)):
        dresscode.read_dresscode_sample(tmp_path / "dc", "test_000001")


def test_viton_missing_file_error_names_the_file(handmade_root, tmp_path):
    viton.export_viton(handmade_root, tmp_path / "viton", size=(32, 24))
    path = viton.sample_paths(tmp_path / "viton", "train", "train_000002")["densepose"]
    path.unlink()
    with pytest.raises(FileNotFoundError, match=str(path)):
        viton.read_viton_sample(tmp_path / "viton", "train", "train_000002")
    shutil.rmtree(tmp_path / "viton" / "VITON_test" / "test_img")
    with pytest.raises(FileNotFoundError, match="VITON_test/test_img: folder of the test person images not found"):
        viton.list_viton_ids(tmp_path / "viton", "test")


def test_viton_rejects_an_unused_acgpn_id(handmade_root, tmp_path):
    viton.export_viton(handmade_root, tmp_path / "viton", size=(32, 24))
    path = viton.sample_paths(tmp_path / "viton", "test", "test_000000")["labels"]
    io.write_png(path, np.full((32, 24), 2, np.uint8))
    with pytest.raises(ValueError, match=rf"{path.name}.*\[2\]"):
        viton.read_viton_sample(tmp_path / "viton", "test", "test_000000")


def test_dresscode_rejects_a_wrongly_sized_label_map(handmade_root, tmp_path):
    dresscode.export_dresscode(handmade_root, tmp_path / "dc")
    path = dresscode.sample_paths(tmp_path / "dc", "train_000000")["_4.png"]
    io.write_png(path, np.zeros((32, 24), np.uint8))
    with pytest.raises(ValueError, match=rf"{path.name}.*size"):
        dresscode.read_dresscode_sample(tmp_path / "dc", "train_000000")


def test_export_tool_reports_the_sample_count(handmade_root, tmp_path, capsys):
    from garment_transfer.tools import export

    parser = argparse.ArgumentParser()
    export.add_arguments(parser)
    args = parser.parse_args([str(handmade_root), "--format", "dresscode", "--out", str(tmp_path / "dc")])
    assert export.run(args) == 0
    assert "exported 5 samples" in capsys.readouterr().out
    assert_dresscode_roundtrip(handmade_root, tmp_path / "dc")


def test_engine_data_round_trips_through_dresscode(synthetic_root, tmp_path):
    dresscode.export_dresscode(synthetic_root, tmp_path / "dresscode")
    assert_dresscode_roundtrip(synthetic_root, tmp_path / "dresscode")


def test_engine_data_round_trips_through_viton(synthetic_root, tmp_path):
    viton.export_viton(synthetic_root, tmp_path / "viton")
    assert_viton_roundtrip(synthetic_root, tmp_path / "viton")


# ------------------------------------------------------------------------ keypoints, categories, CP-VTON, GP-VTON
@pytest.fixture(scope="module")
def engine_root(tmp_path_factory) -> Path:
    """A 64 x 48 engine set of the three categories (3 train, 3 test each), with keypoints and garment parts."""
    from conftest import tiny_settings

    from garment_transfer.data.synth import generate

    root = tmp_path_factory.mktemp("categories") / "data"
    generate(root, tiny_settings(train=3, test=3, categories=("upper", "lower", "dresses")), workers=1, progress=False)
    return root


def _canonical_person(root: Path, split: str, sample_id: str, size=(64, 48)):
    from garment_transfer.data.formats.canonical import CanonicalReader

    return CanonicalReader(root, size=size, densepose="parts").person(split, sample_id)


def test_dresscode_export_writes_every_category_with_its_keypoints(engine_root, tmp_path):
    from garment_transfer.data.formats.dresscode import DressCodeReader
    from garment_transfer.data.keypoints import DRESSCODE_FRAME, rescale, to_coco18

    out = tmp_path / "dc"
    assert dresscode.export_dresscode(engine_root, out) == 18
    reader = DressCodeReader(out, size=(64, 48), category="all", densepose="parts")
    for split in canonical.SPLITS:
        own = canonical.categories(engine_root, split)
        for category in dresscode.CATEGORIES:
            members = [
                i for i in canonical.list_ids(engine_root, split) if canonical.CATEGORY_FOLDERS[own[i]] == category
            ]
            assert dresscode.list_dresscode_ids(out, split, category) == members and len(members) == 3
        for sample_id in canonical.list_ids(engine_root, split):
            raw = canonical.read_sample(engine_root, split, sample_id)
            got = dresscode.read_dresscode_sample(out, sample_id, canonical.CATEGORY_FOLDERS[raw.category])
            expected = rescale(to_coco18(raw.keypoints), raw.image.shape[:2], DRESSCODE_FRAME)
            np.testing.assert_allclose(got.keypoints, expected, atol=2e-3, err_msg=sample_id)
            assert (got.keypoints[:, 2] == 0).sum() == (
                raw.keypoints[[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18], 2] == 0
            ).sum()
            person, truth = reader.person(split, sample_id), _canonical_person(engine_root, split, sample_id)
            assert torch_equal(person.garment_mask, truth.garment_mask), f"{sample_id}: the category's garment"
            np.testing.assert_allclose(
                person.keypoints.numpy(), truth.keypoints.numpy()[list(range(8)) + list(range(9, 19))], atol=2e-3
            )
    skeleton = io.read_image(dresscode.sample_paths(out, "train_000000")["_5.jpg"], "RGB")
    assert skeleton.shape == (64, 48, 3) and skeleton.max() > 100


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_viton_export_writes_coco18_train_and_test_pose(engine_root, tmp_path):
    from garment_transfer.data.keypoints import rescale, to_coco18

    viton.export_viton(engine_root, tmp_path / "viton", size=(128, 96))
    for split, folder in (("train", "VITON_traindata/train_pose"), ("test", "VITON_test/test_pose")):
        document = json.loads(next((tmp_path / "viton" / folder).iterdir()).read_text())
        assert len(document["people"][0]["pose_keypoints"]) == 54
        for sample_id in canonical.list_ids(engine_root, split):
            raw = canonical.read_sample(engine_root, split, sample_id)
            got = viton.read_viton_sample(tmp_path / "viton", split, sample_id)
            np.testing.assert_allclose(got.keypoints, rescale(to_coco18(raw.keypoints), (64, 48), (128, 96)), atol=2e-3)
    pairs = canonical.read_pairs(tmp_path / "viton" / "VITON_test" / "test_pairs.txt")
    own = canonical.categories(engine_root, "test")
    assert all(own[viton.person_id(p)] == own[viton.person_id(c)] and p[:-6] != c[:-6] for p, c in pairs)


def test_cpvton_export_reads_back_through_its_reader(engine_root, tmp_path):
    from garment_transfer.data.formats import cpvton
    from garment_transfer.data.formats.cpvton import CPVTONReader
    from garment_transfer.data.keypoints import rescale, to_coco18

    assert cpvton.export_cpvton(engine_root, tmp_path / "cp", size=(128, 96)) == 18
    reader = CPVTONReader(tmp_path / "cp", size=(128, 96), densepose="iuv")
    assert reader.data == tmp_path / "cp" / "data"
    for split in canonical.SPLITS:
        assert reader.ids(split) == canonical.list_ids(engine_root, split)
        for sample_id in reader.ids(split):
            raw = canonical.read_sample(engine_root, split, sample_id)
            got = reader.read_raw(split, sample_id)
            parse = nearest_resize(raw.parse, (128, 96))
            assert_labels_roundtrip(got.labels, parse, cpvton.CIHP_TO_LIP, cpvton.LOSSY_CIHP, sample_id)
            np.testing.assert_array_equal(got.densepose_index, nearest_resize(raw.iuv[..., 0], (128, 96)))
            np.testing.assert_allclose(got.keypoints, rescale(to_coco18(raw.keypoints), (64, 48), (128, 96)), atol=2e-3)
            assert mean_abs_diff(got.image, _bilinear(raw.image, (128, 96))) < IMAGE_TOLERANCE
            assert_masks_close(got.cloth_mask, np.where(_bilinear(raw.cloth_mask, (128, 96)) >= 128, 255, 0))
    unpaired = reader.official_pairs("test", paired=False)
    own = canonical.categories(engine_root, "test")
    assert unpaired is not None and all(own[s] == own[t] and s != t for s, t in unpaired.pairs)
    assert reader.official_pairs("train", paired=True) is not None


def test_gpvton_export_reads_back_with_categories_sleeves_and_keypoints(engine_root, tmp_path):
    from garment_transfer.data.formats import gpvton
    from garment_transfer.data.formats.gpvton import GPVTONReader
    from garment_transfer.data.labels import GARMENT_PARTS as P

    assert gpvton.export_gpvton(engine_root, tmp_path / "gp") == 18
    reader = GPVTONReader(tmp_path / "gp", size=(64, 48))
    for split in canonical.SPLITS:
        assert reader.ids(split) == canonical.list_ids(engine_root, split)
        for sample_id in reader.ids(split):
            raw = canonical.read_sample(engine_root, split, sample_id)
            got = reader.read_raw(split, sample_id)
            assert got.category == raw.category
            for part, gp in (
                (P["left_sleeve"], 21),
                (P["right_sleeve"], 22),
                (P["torso"], 5),
                (P["skirt"], 13),
                (P["left_leg"], 9),
                (P["right_leg"], 10),
            ):
                assert (got.labels[raw.parts == part] == gp).all(), f"{sample_id}: part {part}"
            np.testing.assert_array_equal(got.labels == 14, raw.parse == 13)  # face
            np.testing.assert_array_equal(got.densepose_index, raw.iuv[..., 0])
            np.testing.assert_allclose(got.keypoints, raw.keypoints, atol=2e-3)
            np.testing.assert_array_equal(got.image, raw.image)
            flat = io.read_image(tmp_path / "gp" / split / "cloth_parse-bytedance" / f"{sample_id}.png")
            np.testing.assert_array_equal(flat == 21, raw.cloth_parts == P["left_sleeve"])
            np.testing.assert_array_equal(flat > 0, raw.cloth_mask > 0)
            person, truth = reader.person(split, sample_id), _canonical_person(engine_root, split, sample_id)
            assert torch_equal(person.garment_mask, truth.garment_mask), f"{sample_id}: the category's garment"
    lines = (tmp_path / "gp" / "test_pairs_unpaired.txt").read_text().splitlines()
    assert {line.split()[2] for line in lines} == {"upper", "lower", "dresses"}
    assert all(line.split()[0] != line.split()[1] for line in lines)


def test_gp_labels_split_pants_of_an_upper_sample_by_the_leg_they_cover(engine_root):
    from garment_transfer.data.formats import gpvton

    raw = canonical.read_sample(engine_root, "train", "train_000001")
    labels = gpvton.gp_labels(raw)
    pants = raw.parse == 9
    if pants.any():
        assert (labels[pants & np.isin(raw.iuv[..., 0], (8, 12))] == 9).all()
        assert (labels[pants & np.isin(raw.iuv[..., 0], (7, 11))] == 10).all()
    assert (labels[raw.parts == 1] == 21).all() and (labels[raw.parts == 3] == 22).all()


@pytest.mark.parametrize("fmt", ["cpvton", "gpvton"])
def test_new_exports_are_byte_identical_when_repeated_and_run_from_the_tool(engine_root, tmp_path, capsys, fmt):
    from garment_transfer.tools import export

    parser = argparse.ArgumentParser()
    export.add_arguments(parser)
    for name in ("a", "b"):
        assert export.run(parser.parse_args([str(engine_root), "--format", fmt, "--out", str(tmp_path / name)])) == 0
    assert "exported 18 samples" in capsys.readouterr().out
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
