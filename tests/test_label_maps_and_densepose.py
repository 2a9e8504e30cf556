"""Label maps (YAML tables to the 7 classes), DensePose encodings and files, keypoints and their heatmaps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from garment_transfer.data import densepose, keypoints
from garment_transfer.data.label_maps import BUILTIN, CLASSES, LabelMap, derived_masks, load_label_map


def test_builtin_tables_follow_the_method_mapping():
    assert set(BUILTIN) == {"lip", "cihp", "atr18", "acgpn14", "gpvton29"}
    c = {name: CLASSES.index(name) for name in CLASSES}
    cihp = load_label_map("cihp").table
    assert cihp[10] == c["upper_skin"] and cihp[14] == cihp[15] == c["upper_skin"]
    assert cihp[5] == cihp[6] == cihp[7] == c["upper_garment"] and cihp[9] == cihp[12] == c["lower_garment"]
    assert cihp[13] == cihp[4] == c["face"] and cihp[1] == cihp[2] == c["hair"] and cihp[16] == c["thigh"]
    assert load_label_map("lip").table[10] == c["upper_garment"], "LIP 10 is jumpsuits, not skin"
    atr = load_label_map("atr18").table
    assert atr[4] == atr[7] == c["upper_garment"] and atr[14] == c["upper_skin"] and atr[8] == c["lower_garment"]
    acgpn = load_label_map("acgpn14").table
    assert 2 not in acgpn and 3 not in acgpn and acgpn[11] == acgpn[13] == c["upper_skin"] and acgpn[4] == 4
    assert acgpn[7] == c["upper_garment"], "ACGPN's noise label is relabelled upper clothes, as PF-AFN and ACGPN do"


def test_unknown_id_error_names_file_ids_and_table():
    labels = np.array([[0, 5], [77, 200]], np.uint8)
    with pytest.raises(ValueError) as err:
        load_label_map("cihp").apply(labels, "person/image-parse-v3/x.png")
    assert "person/image-parse-v3/x.png" in str(err.value) and "[77, 200]" in str(err.value)
    assert "'cihp'" in str(err.value)


def test_label_map_from_inline_table_and_yaml_file(tmp_path):
    inline = load_label_map({0: "background", 1: "upper_garment", 2: 3})
    np.testing.assert_array_equal(inline.apply(np.array([[0, 1, 2]])), [[0, 4, 3]])
    path = tmp_path / "mine.yaml"
    path.write_text("ids:\n  0: background\n  7: thigh\n")
    assert load_label_map(str(path)).apply(np.array([[7]]))[0, 0] == 6
    assert load_label_map(load_label_map("cihp")).name == "cihp"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("cihpp", "neither a built-in"),
        ({0: "sleeve"}, "is not one of the classes"),
        ({"x": 1}, "is not an integer"),
        ({300: 1}, "outside 0..255"),
    ],
)
def test_bad_label_map_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        load_label_map(spec)


def test_yaml_without_ids_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\n")
    with pytest.raises(ValueError, match="bad.yaml: a label map file needs an 'ids' mapping"):
        load_label_map(str(path))


def test_derived_masks_pick_garment_skin_and_remaining():
    parsing = np.array([[0, 1, 2, 3, 4, 5, 6]], np.uint8)
    masks = derived_masks(parsing)
    np.testing.assert_array_equal(masks["garment"][0, 0], [0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(masks["skin"][0, 0], [0, 0, 0, 1, 0, 0, 0])
    assert masks["remaining"].shape == (4, 1, 7)
    np.testing.assert_array_equal(masks["remaining"].argmax(0)[0, [1, 2, 5, 6]], [0, 1, 2, 3])
    assert masks["remaining"][:, 0, [0, 3, 4]].sum() == 0


def test_densepose_encodings_have_documented_channels_and_values():
    parts = np.array([[0, 2, 24]], np.uint8)
    uv = np.stack([np.full((1, 3), 0.25, np.float32), np.full((1, 3), 0.75, np.float32)])
    iuv = densepose.encode(parts, uv, "iuv")
    assert iuv.shape == (3, 1, 3) and np.allclose(iuv[0], [0, 2 / 24, 1]) and np.allclose(iuv[1:], uv)
    one_hot = densepose.encode(parts, None, "parts")
    assert one_hot.shape == (25, 1, 3) and np.allclose(one_hot.sum(0), 1) and one_hot[24, 0, 2] == 1
    assert densepose.encode(parts, uv, "parts_uv").shape == (27, 1, 3)
    assert {e: densepose.channels(e) for e in densepose.ENCODINGS} == {
        "iuv": 3,
        "parts": 25,
        "parts_uv": 27,
        "rendering": 3,
    }


def test_densepose_errors_name_the_source():
    with pytest.raises(ValueError, match="dp.png: encoding 'iuv' needs U, V"):
        densepose.encode(np.zeros((2, 2), np.uint8), None, "iuv", "dp.png")
    with pytest.raises(ValueError, match="dp.png: DensePose part index 30"):
        densepose.encode(np.full((2, 2), 30, np.uint8), None, "parts", "dp.png")
    with pytest.raises(ValueError, match="choose one of"):
        densepose.channels("xyz")


def test_flip_swaps_left_and_right_parts_only():
    assert densepose.FLIP_INDEX[15] == 16 and densepose.FLIP_INDEX[3] == 4 and densepose.FLIP_INDEX[2] == 2
    assert (densepose.FLIP_INDEX[densepose.FLIP_INDEX] == np.arange(25)).all()
    assert isinstance(load_label_map("cihp"), LabelMap)


# ---------------------------------------------------------------------------------------------- GP-VTON's table
def test_gpvton_table_follows_the_ids_its_loaders_name():
    gp = load_label_map("gpvton29").table
    c = {name: CLASSES.index(name) for name in CLASSES}
    assert sorted(gp) == list(range(29))
    assert {gp[i] for i in (5, 6, 21, 22, 24, 25)} == {c["upper_garment"]}, "torso and sleeves are the garment"
    assert gp[9] == gp[10] == gp[13] == c["lower_garment"] and gp[11] == c["upper_skin"] and gp[14] == c["face"]
    assert gp[15] == gp[16] == c["upper_skin"] and gp[17] == gp[18] == c["thigh"]
    cihp = load_label_map("cihp").table
    assert [gp[i] for i in range(10, 20)] != [cihp[i] for i in range(10, 20)], "not the CIHP meanings"


def test_garment_mask_follows_the_category():
    parsing = np.array([[4, 5, 3, 0]], np.uint8)
    assert derived_masks(parsing)["garment"][0, 0].tolist() == [1, 0, 0, 0]
    assert derived_masks(parsing, "lower")["garment"][0, 0].tolist() == [0, 1, 0, 0]
    assert derived_masks(parsing, "dresses")["garment"][0, 0].tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="garment category 'shoes'"):
        derived_masks(parsing, "shoes")


# ---------------------------------------------------------------------------------------------- DensePose files
def _iuv() -> np.ndarray:
    iuv = np.zeros((4, 5, 3), np.uint8)
    iuv[1:3, 1:4] = [[[2, 10, 200], [15, 40, 90], [23, 255, 0]]] * 2
    return iuv


def test_iuv_picture_splits_into_parts_and_uv():
    parts, uv = densepose.iuv_from_picture(_iuv(), "a.png")
    assert parts[1].tolist() == [0, 2, 15, 23, 0] and uv.shape == (2, 4, 5) and uv.dtype == np.float32
    assert np.allclose(uv[:, 1, 2], [40 / 255, 90 / 255])
    bgr_parts, bgr_uv = densepose.iuv_from_picture(np.ascontiguousarray(_iuv()[..., ::-1]), "a.png", "vui")
    assert np.array_equal(bgr_parts, parts) and np.array_equal(bgr_uv, uv)


@pytest.mark.parametrize(
    "picture, path, message",
    [
        (_iuv()[..., 0], "a.png", "one channel where IUV"),
        (np.ascontiguousarray(_iuv()[..., ::-1]), "a.png", "V, U, I order, as cv2.imwrite writes"),
        (np.full((4, 5, 3), 200, np.uint8), "a.png", "part index 200 > 24: is this a colour rendering"),
        (np.repeat(_iuv()[..., :1], 3, -1), "a.png", "all three channels are equal"),
        (_iuv(), "a.jpg", "a JPEG cannot hold DensePose IUV"),
    ],
)
def test_pictures_that_are_not_iuv_are_refused_naming_the_file_and_cause(picture, path, message):
    with pytest.raises(ValueError, match=message) as err:
        densepose.iuv_from_picture(picture, path)
    assert str(err.value).startswith(path)


def test_part_index_files_accept_grey_or_integer_and_refuse_the_rest():
    grey = _iuv()[..., 0]
    assert np.array_equal(densepose.index_from_image(np.repeat(grey[..., None], 3, -1), "p.png"), grey)
    with pytest.raises(ValueError, match="p.png: colour channels where a grey DensePose part index"):
        densepose.index_from_image(_iuv(), "p.png")
    for stored in (grey.astype(np.float64), grey.astype(np.int64), grey[None].astype(np.float32), grey[..., None]):
        assert np.array_equal(densepose.index_from_array(stored, "p.npy"), grey)
    with pytest.raises(ValueError, match="p.npy: float DensePose part index holds values that are not whole"):
        densepose.index_from_array(grey + 0.5, "p.npy")
    with pytest.raises(ValueError, match=r"p.npy: expected an \(H, W\) DensePose part index, got shape \(4, 5, 3\)"):
        densepose.index_from_array(_iuv(), "p.npy")
    with pytest.raises(ValueError, match="p.npy: DensePose part indices must be 0..24"):
        densepose.index_from_array(grey.astype(np.int64) + 10, "p.npy")


# ---------------------------------------------------------------------------------------------- keypoints
def _openpose(tmp_path, key, values, people=True):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"version": 1.3, "people": [{key: values}] if people else []}))
    return path


def test_openpose_body25_and_coco18_are_read_with_missing_points_marked(tmp_path):
    values = [10.0, 20.0, 0.9, 0.0, 0.0, 0.0] + [5.0, 6.0, 0.5] * 23
    points = keypoints.read_openpose_json(_openpose(tmp_path, "pose_keypoints_2d", values), 25)
    assert points.shape == (25, 3) and points[0].tolist() == pytest.approx([10, 20, 0.9])
    assert points[1].tolist() == [-1, -1, 0]
    coco = keypoints.read_openpose_json(_openpose(tmp_path, "pose_keypoints", values[:54]), 18)
    assert coco.shape == (18, 3) and coco[1].tolist() == [-1, -1, 0]
    nobody = keypoints.read_openpose_json(_openpose(tmp_path, "pose_keypoints", [], people=False), 18)
    assert (nobody == np.array([-1, -1, 0], np.float32)).all()
    with pytest.raises(ValueError, match="k.json: 18 keypoints, expected 25"):
        keypoints.read_openpose_json(_openpose(tmp_path, "pose_keypoints", values[:54]), 25)
    with pytest.raises(ValueError, match="k.json: people\\[0\\] has neither 'pose_keypoints_2d'"):
        keypoints.read_openpose_json(_openpose(tmp_path, "face_keypoints_2d", values), 25)


def test_dresscode_keypoints_are_in_a_384_x_512_frame(tmp_path):
    path = tmp_path / "x_2.json"
    path.write_text(json.dumps({"keypoints": [[191.5, 255.5, 0.8, k] for k in range(17)] + [[-1, -1, 0, 17]]}))
    points = keypoints.read_dresscode_keypoints(path)
    at_64x48 = keypoints.rescale(points, keypoints.DRESSCODE_FRAME, (64, 48))
    assert at_64x48[0].tolist() == pytest.approx([23.5, 31.5, 0.8])  # the centre stays the centre
    assert at_64x48[17].tolist() == [-1, -1, 0]


def test_heatmaps_are_the_squares_the_seed_systems_draw():
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    points = np.concatenate(
        [
            np.stack([rng.uniform(-3, 195, 12), rng.uniform(-3, 259, 12), np.ones(12)], 1),
            [[-1, -1, 0], [0.5, 4.0, 1.0], [100.3, 120.7, 0.2]],
        ]
    )
    maps = keypoints.system_heatmaps(points, (256, 192), "pfafn")
    assert maps.shape == (15, 256, 192) and set(np.unique(maps)) <= {-1.0, 1.0}
    for k, (x, y, _) in enumerate(points):
        drawn = Image.new("L", (192, 256))
        if x >= 0 and y >= 0:  # present (the readers mark what the seed loaders skip, x or y <= 1, as missing)
            ImageDraw.Draw(drawn).rectangle((x - 5, y - 5, x + 5, y + 5), "white", "white")
        expected = np.where(np.asarray(drawn) > 0, 1.0, -1.0)
        assert np.array_equal(maps[k], expected), k
    assert (maps[14] > 0).sum() == 121 and (maps[12] > 0).sum() == 0  # 11 x 11 squares; none for a missing point
    assert keypoints.system_radius("gpvton", 512) == 8 and keypoints.system_radius("gpvton", 256) == 4
    assert keypoints.system_radius("pfafn", 128) == 3 and keypoints.system_radius("pfafn", 64) == 1
