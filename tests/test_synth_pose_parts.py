"""Meaning of the engine's keypoints, garment parts and categories (lower garments, dresses), and that the default
set's files are those of engine 1.0."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_settings

from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.canonical import CanonicalReader
from garment_transfer.data.keypoints import BODY_25_NAMES, read_openpose_json
from garment_transfer.data.labels import CIHP, GARMENT_PARTS
from garment_transfer.data.labels import DENSEPOSE as DP
from garment_transfer.data.synth import EngineConfig, SyntheticEngine, generate
from garment_transfer.data.synth import render as render_module
from garment_transfer.data.synth.params import Limb, sample_person
from garment_transfer.data.synth.parts import person_parts, shop_parts
from garment_transfer.data.synth.pose import OWN_DENSEPOSE_PARTS, body25, figure_joints
from garment_transfer.data.synth.render import LOWER_WAIST_T, render_person, render_shop

P = GARMENT_PARTS
FLAT = EngineConfig(shading=(0.0, 0.0), noise_std=(0.0, 0.0))
JOINT = {name: k for k, name in enumerate(BODY_25_NAMES)}


def _mean_v_near(iuv: np.ndarray, point, part: int, count: int = 8) -> float | None:
    """Mean DensePose V (along the limb, 0 at its proximal end) of the ``count`` pixels of ``part`` nearest to
    ``point`` (None when the part is not within 5 % of the height)."""
    rows, cols = np.nonzero(iuv[..., 0] == part)
    distance = np.hypot(cols - point[0], rows - point[1])
    if not len(rows) or distance.min() > 0.05 * iuv.shape[0]:
        return None
    nearest = np.argsort(distance, kind="stable")[:count]
    return float(iuv[rows[nearest], cols[nearest], 2].mean()) / 255


# ----------------------------------------------------------------------------------------------------- keypoints
JUNCTIONS = [  # joint, the part ending there (V = 1 at its end), the part starting there (V = 0 at its start)
    ("right_elbow", DP["upper_arm_right"], DP["lower_arm_right"]),
    ("left_elbow", DP["upper_arm_left"], DP["lower_arm_left"]),
    ("right_wrist", DP["lower_arm_right"], DP["right_hand"]),
    ("left_wrist", DP["lower_arm_left"], DP["left_hand"]),
    ("right_knee", DP["upper_leg_right"], DP["lower_leg_right"]),
    ("left_knee", DP["upper_leg_left"], DP["lower_leg_left"]),
]


def test_a_keypoint_lies_at_the_joint_between_the_limb_segments_it_names():
    """The rendered DensePose says where each limb segment ends (V runs 0 -> 1 along it): around a visible elbow the
    upper arm is at its end and the forearm at its start; the midpoint of the upper arm (a control) is neither."""
    engine, checked = SyntheticEngine(11, 256, 192), 0
    for index in range(10):
        sample = engine.sample("train", index)
        for joint, proximal, distal in JUNCTIONS:
            x, y, score = sample.keypoints[JOINT[joint]]
            if score <= 0:
                continue
            end, start = (_mean_v_near(sample.iuv, (x + 0.5, y + 0.5), part) for part in (proximal, distal))
            assert end is not None and start is not None, f"{joint} of sample {index}: not between its segments"
            assert end > 0.75 and start < 0.25, f"{joint} of sample {index}: V {end:.2f} / {start:.2f}"
            checked += 1
        shoulder, elbow = sample.keypoints[JOINT["right_shoulder"]], sample.keypoints[JOINT["right_elbow"]]
        if shoulder[2] > 0 and elbow[2] > 0:
            middle = _mean_v_near(sample.iuv, (shoulder[:2] + elbow[:2]) / 2 + 0.5, DP["upper_arm_right"])
            assert middle is None or 0.25 < middle < 0.75, "the control point is mid-limb"
    assert checked >= 30


def test_hidden_and_off_frame_joints_have_confidence_zero_and_are_written_as_zeros(tmp_path):
    engine = SyntheticEngine(3, 128, 96, EngineConfig(scale=(1.25, 1.25), cross_arm_rate=0.5))
    hidden = off_frame = visible = 0
    for index in range(40):
        person = engine.person("train", index)
        rendering = render_person(person, 128, 96)
        points = body25(rendering.figure, rendering.iuv[..., 0])
        for k, (x, y) in enumerate(figure_joints(rendering.figure)):
            inside = 1.5 < x < 96 and 1.5 < y < 128
            own = inside and rendering.iuv[int(y), int(x), 0] in OWN_DENSEPOSE_PARTS[BODY_25_NAMES[k]]
            if own:
                assert points[k, 2] > 0 and np.allclose(points[k, :2], (x - 0.5, y - 0.5), atol=1e-3)
                visible += 1
            else:
                assert tuple(points[k]) == (-1.0, -1.0, 0.0), f"joint {BODY_25_NAMES[k]} of sample {index}"
                hidden += inside
                off_frame += not inside
    assert hidden >= 3 and off_frame >= 20 and visible >= 500
    canonical.make_dirs(tmp_path)
    sample = engine.sample("train", 0)
    canonical.write_sample(tmp_path, "train", sample)
    document = json.loads(canonical.keypoints_path(tmp_path, "train", sample.id).read_text())
    flat = np.asarray(document["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    assert document["version"] == 1.3 and flat.shape == (25, 3)
    missing = sample.keypoints[:, 2] == 0
    assert missing.any() and (flat[missing] == 0).all(), "OpenPose writes a joint it does not see as 0, 0, 0"
    np.testing.assert_allclose(
        read_openpose_json(canonical.keypoints_path(tmp_path, "train", sample.id), 25), sample.keypoints, atol=1e-4
    )


def test_keypoint_scores_say_how_much_of_the_joint_shows():
    engine = SyntheticEngine(1, 128, 96)
    scores = np.concatenate([engine.sample("train", i).keypoints[:, 2] for i in range(8)])
    shown = scores[scores > 0]
    assert (shown <= 1).all() and (shown == 1).mean() > 0.5 and (shown < 1).any()


# ------------------------------------------------------------------------------------------------------- parts
PANEL_COLOURS = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.0, 0.0, 1.0)}


def _panel_colours(g, panel, u, v):
    return np.array([PANEL_COLOURS[int(p)] for p in panel]).reshape(-1, 3)


def test_sleeve_parts_cover_exactly_the_sleeve_pixels_of_the_worn_garment(monkeypatch):
    """Each panel painted in a colour of its own: the pixels showing the left sleeve's colour are exactly the left
    sleeve part, and it lies on the image right (the person's left)."""
    monkeypatch.setattr(render_module, "garment_colors", _panel_colours)
    for index in range(6):
        person = sample_person(np.random.default_rng(index), FLAT)
        garment = replace(person.garment, shading=0.0, fold_amplitude=0.0, sleeve=max(person.garment.sleeve, 0.5))
        body = replace(person.body, arms=(Limb(25.0, 10.0), Limb(25.0, 10.0)))
        person = replace(person, body=body, garment=garment, scene=replace(person.scene, noise_std=0.0))
        rendering = render_person(person, 128, 96)
        parts = person_parts(rendering)
        for part, colour in (
            (P["left_sleeve"], (0, 0, 255)),
            (P["right_sleeve"], (0, 255, 0)),
            (P["torso"], (255, 0, 0)),
        ):
            shows = (rendering.image == colour).all(-1)
            assert shows.any()
            np.testing.assert_array_equal(parts == part, shows, err_msg=f"part {part} of person {index}")
        neck_x = rendering.figure.torso.p0[0]
        left, right = (np.nonzero(parts == P[side])[1].mean() for side in ("left_sleeve", "right_sleeve"))
        assert left > neck_x > right, "the person's left sleeve is on the image right"
        for part, label in ((P["left_arm"], "left_arm"), (P["right_arm"], "right_arm"), (P["neck"], "torso_skin")):
            np.testing.assert_array_equal(parts == part, rendering.parse == CIHP[label])


def test_flat_left_sleeve_and_worn_left_sleeve_carry_the_same_texture_coordinates():
    """Worn left-sleeve pixels find flat left-sleeve pixels at the same garment coordinates with the same colour;
    matched against the flat right sleeve (a control) the colours disagree (vertical stripes differ per side)."""
    for index in range(4):
        person = sample_person(np.random.default_rng(20 + index), FLAT)
        garment = replace(
            person.garment,
            pattern="stripes",
            angle_deg=0.0,
            frequency=7.0,
            phase=0.1,
            shading=0.0,
            fold_amplitude=0.0,
            sleeve=0.9,
        )
        person = replace(
            person,
            body=replace(person.body, arms=(Limb(20.0, 5.0), Limb(20.0, 5.0))),
            scene=replace(person.scene, noise_std=0.0),
            garment=garment,
        )
        worn = render_person(person, 128, 96)
        _, _, shop = render_shop(garment, 128, 96)
        worn_parts, flat_parts = person_parts(worn), shop_parts(shop)
        assert np.nonzero(flat_parts == P["left_sleeve"])[1].mean() > 48, "the flat left sleeve is on the right"
        rows, cols = np.nonzero(worn_parts == P["left_sleeve"])
        assert (worn.panel[rows, cols] == 3).all()
        agreement = {}
        for side in ("left_sleeve", "right_sleeve"):
            f_rows, f_cols = np.nonzero(flat_parts == P[side])
            distance = np.linalg.norm(
                worn.garment_uv[rows, cols][:, None] - shop.garment_uv[f_rows, f_cols][None], axis=-1
            )
            nearest = distance.argmin(1)
            close = distance[np.arange(len(rows)), nearest] < 0.03
            assert close.mean() > 0.9, f"worn left-sleeve coordinates are on the flat {side}"
            diff = np.abs(worn.image[rows, cols].astype(int) - shop.image[f_rows[nearest], f_cols[nearest]]).max(-1)
            agreement[side] = (diff[close] <= 2).mean()
        assert agreement["left_sleeve"] > 0.9 and agreement["right_sleeve"] < 0.6, agreement


def test_every_garment_pixel_of_a_category_has_a_part_and_the_in_shop_parts_cover_the_mask():
    engine = SyntheticEngine(2, 128, 96)
    garment_labels = {
        "upper": [CIHP["upper_clothes"]],
        "lower": [CIHP["pants"], CIHP["skirt"]],
        "dresses": [CIHP["dress"]],
    }
    allowed = {
        "upper": {0, 1, 2, 3, 4, 5, 6},
        "lower": {0, 7, 8, 9, 10, 11},
        "dresses": {0, 1, 2, 3, 4, 5, 6, 8, 10, 11},
    }
    for category, labels in garment_labels.items():
        for index in range(5):
            sample = engine.sample("train", index, category)
            garment = np.isin(sample.parse, labels)
            assert garment.any() and (sample.parts[garment] > 0).all(), f"{category} {index}"
            assert set(np.unique(sample.parts).tolist()) <= allowed[category]
            np.testing.assert_array_equal(sample.cloth_parts > 0, sample.cloth_mask > 0)


# -------------------------------------------------------------------------------------------------- categories
def test_a_lower_garment_transfer_changes_only_lower_body_pixels():
    engine = SyntheticEngine(4, 128, 96)
    lower_body = [CIHP[k] for k in ("background", "pants", "skirt", "left_leg", "right_leg", "left_shoe", "right_shoe")]
    kinds = set()
    for source, target in [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]:
        own = engine.render("test", target, "lower")
        moved = engine.transfer("test", source, target, "lower")
        kinds.add(engine.person("test", source, "lower").bottom.kind)
        changed = (own.image != moved.image).any(-1) | (own.parse != moved.parse)
        assert changed.sum() > 30, "the lower garment did change"
        assert np.isin(own.parse[changed], lower_body).all() and np.isin(moved.parse[changed], lower_body).all()
        waist = own.figure.torso.point(LOWER_WAIST_T, 0.0)[1]
        assert np.nonzero(changed)[0].min() >= waist - 0.06 * 128, "nothing above the waist changes"
    assert "skirt" in kinds


def test_a_dress_transfer_swaps_the_dress_and_keeps_head_and_background_far_from_it():
    engine = SyntheticEngine(5, 128, 96)
    own, moved = engine.render("test", 1, "dresses"), engine.transfer("test", 0, 1, "dresses")
    changed = (own.image != moved.image).any(-1)
    assert changed.sum() > 100
    for label in ("face", "hair"):
        assert not changed[own.parse == CIHP[label]].any() or label == "hair"
    assert (moved.parse == CIHP["dress"]).sum() > 100 and (moved.parse == CIHP["upper_clothes"]).sum() == 0


def test_lower_and_dress_flows_point_at_the_same_garment_point_in_the_source():
    engine = SyntheticEngine(6, 128, 96, FLAT)
    for category in ("lower", "dresses"):
        checked = 0
        for source, target in [(0, 1), (2, 3), (4, 5)]:
            moved = engine.transfer("test", source, target, category)
            src = engine.render("test", source, category)
            seen = moved.flow[0] >= 0
            cols, rows = np.rint(moved.flow[0][seen]).astype(int), np.rint(moved.flow[1][seen]).astype(int)
            diff = np.abs(moved.image[seen].astype(int) - src.image[rows, cols].astype(int)).max(-1)
            assert seen.sum() == 0 or (diff <= 12).mean() > 0.8, category
            checked += seen.sum()
        assert checked > 200, category


def test_categories_get_their_own_samples_lists_and_transfer_pairs(tmp_path):
    root = tmp_path / "cats"
    generate(root, tiny_settings(train=3, test=3, categories=("upper", "lower", "dresses")), workers=1, progress=False)
    ids = canonical.list_ids(root, "test")
    assert ids == [f"test_{c}{i:06d}" for c in ("", "lower_", "dresses_") for i in range(3)]
    assert canonical.categories(root, "train") == {
        **{f"train_{i:06d}": "upper" for i in range(3)},
        **{f"train_lower_{i:06d}": "lower" for i in range(3)},
        **{f"train_dresses_{i:06d}": "dresses" for i in range(3)},
    }
    for source, target in canonical.read_pairs(canonical.pairs_path(root, "test")):
        assert Path(source).stem.rsplit("_", 1)[0] == Path(target).stem.rsplit("_", 1)[0], "unpaired within category"
    for source, target in canonical.read_pairs(canonical.transfer_pairs_path(root, "test")):
        assert source.rsplit("_", 1)[0] == target.rsplit("_", 1)[0] and source != target
    unpaired = canonical.read_pairs(canonical.category_pairs_path(root, "lower", "test", paired=False))
    assert {Path(p).stem for p, _ in unpaired} == {f"test_lower_{i:06d}" for i in range(3)}
    reader = CanonicalReader(root, size=(64, 48))
    lower = reader.person("test", "test_lower_000001")
    raw = canonical.read_sample(root, "test", "test_lower_000001")
    expected = np.isin(raw.parse, [CIHP["pants"], CIHP["skirt"]])
    np.testing.assert_array_equal(lower.garment_mask[0].numpy() > 0, expected)
    assert raw.category == "lower" and not (canonical.extra_paths(root, "test", raw.id)["agnostic"]).exists()


def test_adding_categories_changes_no_upper_file_and_lower_samples_do_not_depend_on_the_count(tmp_path):
    generate(tmp_path / "a", tiny_settings(train=2, test=2), workers=1, progress=False)
    generate(tmp_path / "b", tiny_settings(train=3, test=2, categories=("upper", "lower")), workers=1, progress=False)
    generate(tmp_path / "c", tiny_settings(train=2, test=2, categories=("lower",)), workers=1, progress=False)
    for name in (
        "train/image/train_000001.png",
        "train/openpose_json/train_000001_keypoints.json",
        "test/transfer/image/test_000000__test_000001.png",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for name in ("train/image/train_lower_000001.png", "train/cloth-parse-parts/train_lower_000000.png"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


# Engine 1.0 (commit 57add30) wrote these bytes for `garment-transfer synth --size 64x48 --train 12 --test 6
# --train-transfers 1 --seed 0`: the SHA-256 of every file but meta.json, by sorted relative path.
ENGINE_1_0_DIGEST = "090be5e4698ac451bc71ae7fc49a9828f6a5bf9fe82ffbc5dbc774bf560bfe58"


def test_the_default_set_keeps_engine_1_0_files_byte_identical(tmp_path):
    root = tmp_path / "data"
    generate(
        root, tiny_settings(train=12, test=6, transfers_per_target={"train": 1, "test": 1}), workers=1, progress=False
    )
    old = [*(f"{s}_pairs.txt" for s in canonical.SPLITS)]
    for split in canonical.SPLITS:
        base = root / split
        old += [str(p.relative_to(root)) for folder in canonical.FOLDERS.values() for p in (base / folder).iterdir()]
        old += [
            str(p.relative_to(root))
            for folder in ("image", "image-parse-v3", "flow")
            for p in (base / "transfer" / folder).iterdir()
        ]
        old.append(f"{split}/transfer/pairs.txt")
    digest = hashlib.sha256()
    for name in sorted(old, key=lambda n: Path(n).parts):  # the order of sorted(Path.rglob(...))
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
    assert len(old) == 148 and digest.hexdigest() == ENGINE_1_0_DIGEST


@pytest.mark.parametrize("category", ["lower", "dresses"])
def test_in_shop_lower_garments_and_dresses_lie_flat_on_white(category):
    engine = SyntheticEngine(8, 128, 96)
    for index in range(4):
        sample = engine.sample("test", index, category)
        assert (sample.cloth[sample.cloth_mask == 0] == 255).all()
        assert 0.05 < (sample.cloth_mask > 0).mean() < 0.7
        rows = np.nonzero(sample.cloth_mask.any(1))[0]
        assert rows.min() > 0 and rows.max() < 127, "the whole garment is in the frame"


def test_contact_sheet_shows_keypoints_and_parts_of_each_category_in_turn(tmp_path):
    from garment_transfer.data.contact_sheet import COLUMNS, HEADER, contact_sheet
    from garment_transfer.data.labels import PARTS_PALETTE

    root = tmp_path / "cats"
    generate(root, tiny_settings(train=2, test=2, categories=("upper", "lower", "dresses")), workers=1, progress=False)
    sheet = contact_sheet(root, rows=3)
    zoom = 192 // 48
    assert sheet.shape == (3 * 64 * zoom + HEADER, len(COLUMNS) * 48 * zoom, 3)

    def tile(row: int, column: str) -> np.ndarray:
        top, left = HEADER + row * 64 * zoom, COLUMNS.index(column) * 48 * zoom
        return sheet[top : top + 64 * zoom, left : left + 48 * zoom]

    def shows(picture: np.ndarray, part: str) -> bool:
        return bool((picture == PARTS_PALETTE[P[part]]).all(-1).any())

    assert shows(tile(0, "in-shop parts"), "left_sleeve") and not shows(tile(0, "in-shop parts"), "skirt")
    assert shows(tile(1, "in-shop parts"), "left_leg") or shows(tile(1, "in-shop parts"), "skirt")
    assert shows(tile(2, "in-shop parts"), "skirt") and shows(tile(2, "parts"), "torso")
    for row in range(3):
        assert not (tile(row, "keypoints") == tile(row, "source") // 2).all(), "the skeleton is drawn"


def test_a_set_without_the_new_files_still_reads_exports_and_shows(tmp_path):
    """A set as engine 1.0 wrote it (no keypoints, skeletons, parts, agnostic inputs or per-category lists)."""
    import shutil

    from garment_transfer.data.contact_sheet import contact_sheet
    from garment_transfer.data.formats import dresscode

    root = tmp_path / "old"
    generate(root, tiny_settings(train=2, test=2), workers=1, progress=False)
    for split in canonical.SPLITS:
        for folder in canonical.EXTRA_FOLDERS.values():
            shutil.rmtree(root / split / folder)
        shutil.rmtree(root / split / "transfer" / "image-parse-parts")
    shutil.rmtree(root / "upper_body")
    reader = CanonicalReader(root, size=(64, 48))
    for split in canonical.SPLITS:
        for sample_id in reader.ids(split):
            person = reader.person(split, sample_id)
            assert person.keypoints is None and person.garment_mask.sum() > 0
            raw = canonical.read_sample(root, split, sample_id)
            assert raw.keypoints is None and raw.parts is None and raw.category == "upper"
    assert reader.read_truth("test", *reader.truth_pairs("test")[0]).image.shape == (3, 64, 48)
    assert dresscode.export_dresscode(root, tmp_path / "dc") == 4
    assert not (tmp_path / "dc" / "upper_body" / "keypoints").exists()
    sheet = contact_sheet(root, rows=2)
    assert sheet.shape[0] > 2 * 64
