"""Label maps (YAML tables to the 7 classes) and DensePose encodings."""

from __future__ import annotations

import numpy as np
import pytest

from garment_transfer.data import densepose
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


@pytest.mark.parametrize("spec, message", [
    ("cihpp", "neither a built-in"),
    ({0: "sleeve"}, "is not one of the classes"),
    ({"x": 1}, "is not an integer"),
    ({300: 1}, "outside 0..255"),
])
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
    assert {e: densepose.channels(e) for e in densepose.ENCODINGS} == {"iuv": 3, "parts": 25, "parts_uv": 27,
                                                                         "rendering": 3}


def test_densepose_errors_name_the_source():
    with pytest.raises(ValueError, match="dp.png: encoding 'iuv' needs U, V"):
        densepose.encode(np.zeros((2, 2), np.uint8), None, "iuv", "dp.png")
    with pytest.raises(ValueError, match="dp.png: DensePose part index 30"):
        densepose.encode(np.full((2, 2), 30, np.uint8), None, "parts", "dp.png")
    with pytest.raises(ValueError, match="choose one of"):
        densepose.channels("xyz")


def test_flip_swaps_left_and_right_parts_only():
    assert densepose.FLIP_PARTS[15] == 16 and densepose.FLIP_PARTS[3] == 4 and densepose.FLIP_PARTS[2] == 2
    assert (densepose.FLIP_PARTS[densepose.FLIP_PARTS] == np.arange(25)).all()
    assert isinstance(load_label_map("cihp"), LabelMap)
