"""Augmentations that move aligned arrays together: shared geometry, flip semantics, photometric scope, presets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from garment_transfer.data.augment import PRESETS, AugmentConfig, Augmenter, augment_config
from garment_transfer.data.densepose import FLIP_INDEX
from garment_transfer.data.labels import FLIP_GARMENT_PARTS, GARMENT_PART_NAMES, GARMENT_PARTS

H, W = 64, 48
KINDS = {
    "person": "image",
    "cloth": "image",
    "garment": "mask",
    "parsing": "labels",
    "densepose": "densepose_index",
    "garment_parts": "garment_parts",
    "uv": "uv",
}
PALETTE = np.array([[10, 20, 30], [200, 40, 40], [40, 200, 40], [40, 40, 200], [220, 220, 60]], np.uint8)


def _sample(seed: int = 0) -> dict[str, np.ndarray]:
    """Blocky label map 1..4 (so interiors exist; 0 is left for the fill), an image whose colour encodes the label,
    DensePose part indices, uv, garment parts (the label map's blocks as part ids) and a garment mask."""
    rng = np.random.default_rng(seed)
    parsing = np.kron(rng.integers(1, len(PALETTE), (8, 6)), np.ones((8, 8), np.int64)).astype(np.uint8)
    return {
        "person": PALETTE[parsing],
        "cloth": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        "garment": (parsing == 2).astype(np.uint8),
        "parsing": parsing,
        "densepose": rng.integers(0, 25, (H, W), dtype=np.uint8),
        "garment_parts": parsing.copy(),
        "uv": rng.random((2, H, W), dtype=np.float32),
    }


def test_none_preset_is_inactive_and_returns_inputs_unchanged():
    arrays = _sample()
    augmenter = Augmenter("none")
    out = augmenter(arrays, KINDS, seed=3)
    assert not augmenter.active and not Augmenter(None).active
    assert all(out[name] is arrays[name] for name in arrays)


def test_same_seed_gives_identical_outputs_and_seeds_vary_the_transform():
    arrays, augmenter = _sample(), Augmenter("affine_crop_flip")
    first, again = augmenter(arrays, KINDS, seed=7), augmenter(arrays, KINDS, seed=7)
    assert all(np.array_equal(first[name], again[name]) for name in arrays)
    others = [augmenter(arrays, KINDS, seed=s)["parsing"] for s in range(8, 12)]
    assert all(not np.array_equal(first["parsing"], other) for other in others)


@pytest.mark.parametrize("preset", ["affine", "affine_crop_flip"])
def test_output_shapes_and_dtypes_match_inputs(preset):
    arrays = _sample()
    out = Augmenter(preset)(arrays, KINDS, seed=1)
    assert all(out[n].shape == arrays[n].shape and out[n].dtype == arrays[n].dtype for n in arrays)


@pytest.mark.parametrize("seed", range(6))
def test_geometry_is_shared_between_masks_labels_and_images(seed):
    arrays = _sample(seed)
    config = AugmentConfig(affine_p=1.0, rotate_deg=25.0, crop_p=0.5, flip_p=0.5)
    out = Augmenter(config)(arrays, KINDS, seed=seed)
    assert np.array_equal(out["garment"], (out["parsing"] == 2).astype(np.uint8))
    for label in range(1, len(PALETTE)):  # 0 is the fill, where images replicate their border instead
        interior = ndimage.binary_erosion(out["parsing"] == label, np.ones((5, 5)), border_value=0)
        error = np.abs(out["person"][interior].astype(int) - PALETTE[label]).max(initial=0)
        assert error <= 8  # affine then crop interpolate twice near edges; another label would be >= 100 off


def test_affine_fills_outside_with_background_for_maps_and_replicates_image_borders():
    arrays = {
        "person": np.full((H, W, 3), 90, np.uint8),
        "parsing": np.full((H, W), 4, np.uint8),
        "uv": np.full((2, H, W), 0.5, np.float32),
    }
    config = AugmentConfig(affine_p=1.0, scale=(0.5, 0.5), rotate_deg=0.0, translate=0.0)
    out = Augmenter(config)(arrays, {"person": "image", "parsing": "labels", "uv": "uv"}, seed=0)
    assert out["parsing"][0, 0] == 0 and out["parsing"][H // 2, W // 2] == 4
    assert np.array_equal(out["uv"] == 0, np.stack([out["parsing"] == 0] * 2))
    assert (out["person"] == 90).all()


def test_flip_mirrors_every_array_and_swaps_left_right_part_ids():
    arrays = _sample()
    arrays["densepose"][:, : W // 2] = 3  # a left part on the left half
    out = Augmenter(AugmentConfig(flip_p=1.0))(arrays, KINDS, seed=0)
    for name in ("person", "cloth"):
        assert np.array_equal(out[name], arrays[name][:, ::-1])
    assert np.array_equal(out["parsing"], arrays["parsing"][:, ::-1])
    assert np.array_equal(out["uv"], arrays["uv"][:, :, ::-1])
    assert np.array_equal(out["densepose"], FLIP_INDEX[arrays["densepose"][:, ::-1]])
    assert (out["densepose"][:, W // 2 :] == 4).all()
    assert np.array_equal(out["garment_parts"], FLIP_GARMENT_PARTS[arrays["garment_parts"][:, ::-1]])
    sleeves = arrays["garment_parts"] == GARMENT_PARTS["left_sleeve"]
    assert (out["garment_parts"][sleeves[:, ::-1]] == GARMENT_PARTS["right_sleeve"]).all()


def test_garment_part_flip_table_swaps_each_side_and_keeps_the_middle():
    flipped = {name: GARMENT_PART_NAMES[FLIP_GARMENT_PARTS[i]] for name, i in GARMENT_PARTS.items()}
    assert flipped == {
        "background": "background",
        "left_sleeve": "right_sleeve",
        "torso": "torso",
        "right_sleeve": "left_sleeve",
        "left_arm": "right_arm",
        "right_arm": "left_arm",
        "neck": "neck",
        "left_leg": "right_leg",
        "skirt": "skirt",
        "right_leg": "left_leg",
        "left_leg_skin": "right_leg_skin",
        "right_leg_skin": "left_leg_skin",
    }
    assert (FLIP_GARMENT_PARTS[FLIP_GARMENT_PARTS] == np.arange(len(GARMENT_PARTS))).all()


@pytest.mark.parametrize("preset", ["affine", "affine_crop"])
def test_garment_parts_move_with_the_labels(preset):
    arrays = _sample()
    for seed in range(4):
        out = Augmenter(preset)(arrays, KINDS, seed=seed)
        assert not np.array_equal(out["parsing"], arrays["parsing"])
        assert np.array_equal(out["garment_parts"], out["parsing"]), f"seed {seed}"


def test_photometric_jitter_changes_images_only():
    arrays = _sample()
    out = Augmenter(AugmentConfig(color_p=1.0))(arrays, KINDS, seed=2)
    assert not np.array_equal(out["person"], arrays["person"])
    assert not np.array_equal(out["cloth"], arrays["cloth"])
    for name in ("garment", "parsing", "densepose", "garment_parts", "uv"):
        assert np.array_equal(out[name], arrays[name])


def test_crop_enlarges_a_centred_object():
    mask = np.zeros((H, W), np.uint8)
    mask[27:37, 20:28] = 1
    augmenter = Augmenter(AugmentConfig(crop_p=1.0, crop_scale=(0.5, 0.8)))
    areas = [augmenter({"m": mask}, {"m": "mask"}, seed=s)["m"].sum() for s in range(10)]
    assert min(areas) >= mask.sum() and np.mean(areas) > 1.3 * mask.sum()


def test_presets_are_the_paper_baselines():
    assert set(PRESETS) == {"none", "affine", "affine_crop", "affine_crop_flip", "photometric"}
    affine, crop, flip = PRESETS["affine"], PRESETS["affine_crop"], PRESETS["affine_crop_flip"]
    assert affine.affine_p > 0 and affine.crop_p == affine.flip_p == affine.color_p == 0
    assert crop.affine_p > 0 and crop.crop_p > 0 and crop.flip_p == crop.color_p == 0
    assert flip.affine_p > 0 and flip.crop_p > 0 and flip.flip_p > 0 and flip.color_p == 0
    photometric = PRESETS["photometric"]
    assert photometric.color_p > 0 and photometric.affine_p == photometric.crop_p == photometric.flip_p == 0


def test_augment_config_accepts_names_dicts_and_none():
    assert augment_config(None) == PRESETS["none"]
    assert augment_config("affine") is PRESETS["affine"]
    assert augment_config({"crop_p": 1.0, "crop_scale": [0.5, 0.9]}) == AugmentConfig(crop_p=1.0, crop_scale=(0.5, 0.9))


@pytest.mark.parametrize("spec, message", [("rotate", "'rotate'"), ({"flip_p": 1.0, "flipp": 1}, "flipp"), (3, "int")])
def test_augment_config_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        augment_config(spec)


@pytest.mark.parametrize(
    "change, kinds_change, message",
    [
        ({}, {"parsing": "segmentation"}, "'parsing'.*unknown kind"),
        ({"extra": np.zeros((H, W), np.uint8)}, {}, "'extra'.*no kind"),
        ({}, {"missing": "mask"}, "'missing'.*no array"),
        ({"garment": np.zeros((H, W + 1), np.uint8)}, {}, "'garment'.*size"),
        ({"parsing": np.zeros((H, W), np.int64)}, {}, "'parsing'.*dtype"),
        ({"uv": np.zeros((H, W, 2), np.float32)}, {}, "'uv'.*shape"),
        ({"person": np.zeros((H, W), np.uint8)}, {}, "'person'.*shape"),
    ],
)
def test_invalid_arrays_raise_errors_naming_the_array(change, kinds_change, message):
    arrays, kinds = {**_sample(), **change}, {**KINDS, **kinds_change}
    with pytest.raises(ValueError, match=message):
        Augmenter("affine")(arrays, kinds, seed=0)


def test_flip_rejects_part_ids_outside_their_range():
    index = np.full((H, W), 30, np.uint8)
    with pytest.raises(ValueError, match="'densepose' .densepose_index.: part id 30 outside 0..24"):
        Augmenter(AugmentConfig(flip_p=1.0))({"densepose": index}, {"densepose": "densepose_index"}, seed=0)
    with pytest.raises(ValueError, match="'parts' .garment_parts.: part id 30 outside 0..11"):
        Augmenter(AugmentConfig(flip_p=1.0))({"parts": index}, {"parts": "garment_parts"}, seed=0)
