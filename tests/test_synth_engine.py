"""Semantics of the synthetic engine: garment coordinates, true transfers, sleeves, labels, pose, correspondence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from garment_transfer.data.labels import CIHP
from garment_transfer.data.labels import DENSEPOSE as DP
from garment_transfer.data.synth import EngineConfig, SyntheticEngine
from garment_transfer.data.synth.params import Limb, sample_person
from garment_transfer.data.synth.render import pose_figure, render_person, render_shop

UPPER = CIHP["upper_clothes"]
FLAT = EngineConfig(shading=(0.0, 0.0), noise_std=(0.0, 0.0))


def _flat_garment(garment, pattern="stripes"):
    return replace(garment, pattern=pattern, shading=0.0, fold_amplitude=0.0)


def _quiet(person):
    return replace(person, scene=replace(person.scene, noise_std=0.0))


def _match_colors(person_render, shop_render, tolerance=0.02):
    """For each garment pixel of the person, the shop pixel with the same panel and nearest garment coordinates:
    returns (coordinate distance, colour difference) per matched person pixel."""
    p_rows, p_cols = np.nonzero(person_render.panel)
    s_rows, s_cols = np.nonzero(shop_render.panel)
    p_uv = person_render.garment_uv[p_rows, p_cols]
    s_uv = shop_render.garment_uv[s_rows, s_cols]
    same_panel = person_render.panel[p_rows, p_cols][:, None] == shop_render.panel[s_rows, s_cols][None, :]
    dist = np.linalg.norm(p_uv[:, None, :] - s_uv[None, :, :], axis=-1) + np.where(same_panel, 0.0, 9.0)
    nearest = dist.argmin(1)
    color_p = person_render.image[p_rows, p_cols].astype(int)
    color_s = shop_render.image[s_rows[nearest], s_cols[nearest]].astype(int)
    close = dist[np.arange(len(nearest)), nearest] < tolerance
    return close, np.abs(color_p - color_s).max(-1)


def test_garment_texture_coordinates_agree_between_person_and_flat_lay():
    agreements, controls = [], []
    for i in range(6):
        person = _quiet(sample_person(np.random.default_rng(i), FLAT))
        garment = _flat_garment(person.garment)
        worn = render_person(person, 128, 96, garment=garment)
        _, _, shop = render_shop(garment, 128, 96)
        close, diff = _match_colors(worn, shop)
        assert close.mean() > 0.8, "most worn garment points must exist on the flat lay"
        agreements.append((diff[close] <= 2).mean())
        other = _flat_garment(sample_person(np.random.default_rng(100 + i), FLAT).garment)
        _, _, other_shop = render_shop(other, 128, 96)
        close_o, diff_o = _match_colors(worn, other_shop)
        controls.append((diff_o[close_o] <= 2).mean())
    assert np.mean(agreements) > 0.9, agreements
    assert np.mean(controls) < 0.5, controls  # another garment's flat lay does not match: the check can fail


def test_same_garment_deforms_with_each_body():
    """Two bodies wearing one garment show its texture at different places: a real non-rigid warp."""
    garment = sample_person(np.random.default_rng(0), FLAT).garment
    a, b = (
        render_person(_quiet(sample_person(np.random.default_rng(k), FLAT)), 128, 96, garment=garment) for k in (1, 2)
    )
    both = (a.panel == 1) & (b.panel == 1)
    assert both.sum() > 100
    assert np.abs(a.garment_uv[both] - b.garment_uv[both]).max() > 0.1


def test_true_transfer_keeps_every_target_pixel_the_new_garment_does_not_cover():
    engine = SyntheticEngine(3, 128, 96)
    for source, target in [(0, 1), (2, 3), (4, 5), (6, 7)]:
        own = engine.render("test", target)
        moved = engine.transfer("test", source, target)
        keep = (own.parse != UPPER) & (moved.parse != UPPER)
        np.testing.assert_array_equal(moved.image[keep], own.image[keep])
        np.testing.assert_array_equal(moved.parse[keep], own.parse[keep])
        assert (moved.parse == UPPER).sum() > 0
        assert (moved.image != own.image).any(axis=-1).sum() > 50  # the garment did change


def test_longer_sleeves_turn_arm_skin_into_garment():
    arms = (Limb(25.0, 0.0), Limb(25.0, 0.0))
    person = sample_person(np.random.default_rng(1), EngineConfig())
    person = replace(person, body=replace(person.body, arms=arms))
    skins = []
    for sleeve in (0.0, 0.3, 0.6, 1.0):
        rendering = render_person(person, 128, 96, garment=replace(person.garment, sleeve=sleeve))
        skins.append(np.isin(rendering.parse, [CIHP["left_arm"], CIHP["right_arm"]]))
    for shorter, longer in zip(skins, skins[1:]):
        assert not (longer & ~shorter).any(), "a longer sleeve never uncovers skin"
        assert longer.sum() < shorter.sum(), "a longer sleeve covers more of the arm"


ALLOWED_PARTS = {
    CIHP["background"]: {0},
    CIHP["face"]: {DP["head"]},
    CIHP["torso_skin"]: {DP["torso_front"]},
    CIHP["left_arm"]: {DP["upper_arm_left"], DP["lower_arm_left"], DP["left_hand"]},
    CIHP["right_arm"]: {DP["upper_arm_right"], DP["lower_arm_right"], DP["right_hand"]},
    CIHP["left_leg"]: {DP["upper_leg_left"], DP["lower_leg_left"]},
    CIHP["right_leg"]: {DP["upper_leg_right"], DP["lower_leg_right"]},
    CIHP["left_shoe"]: {DP["left_foot"]},
    CIHP["right_shoe"]: {DP["right_foot"]},
}


@pytest.mark.parametrize("index", range(12))
def test_parsing_and_densepose_describe_the_same_body(index):
    sample = SyntheticEngine(5, 128, 96).sample("train", index)
    part = sample.iuv[..., 0]
    for label, parts in ALLOWED_PARTS.items():
        found = set(np.unique(part[sample.parse == label]).tolist())
        assert found <= parts, f"CIHP {label} pixels carry DensePose parts {found - parts}"
    assert (sample.parse[part > 0] != CIHP["background"]).all(), "the body is never background"
    assert (sample.iuv[part == 0] == 0).all(), "no U, V off the body"
    upper_body = np.isin(part, [DP["torso_front"]])
    assert (sample.parse[upper_body] != CIHP["background"]).all()


def test_in_shop_mask_matches_the_flat_garment():
    for index in range(4):
        sample = SyntheticEngine(1, 128, 96).sample("test", index)
        assert set(np.unique(sample.cloth_mask).tolist()) == {0, 255}
        assert (sample.cloth[sample.cloth_mask == 0] == 255).all(), "white outside the garment"
        assert 0.08 < (sample.cloth_mask > 0).mean() < 0.7


def test_pose_rates_follow_the_config_and_crossed_arms_lie_over_the_torso():
    rng_people = [sample_person(np.random.default_rng(k), EngineConfig(cross_arm_rate=0.3)) for k in range(300)]
    crossed = [p for p in rng_people if any(arm.bend_deg < -105 and arm.root_deg < 20 for arm in p.body.arms)]
    assert 0.2 < len(crossed) / len(rng_people) < 0.4
    none = [sample_person(np.random.default_rng(k), EngineConfig(cross_arm_rate=0.0)) for k in range(100)]
    assert not any(arm.bend_deg < -140 for p in none for arm in p.body.arms)
    person = crossed[0]
    side = next(k for k, arm in enumerate(person.body.arms) if arm.bend_deg < -105)
    fig = pose_figure(person.body, 256, 192)
    forearm = fig.arms[side][1]
    mid = (forearm.p0 + forearm.p1) / 2
    t = np.dot(mid - fig.torso.p0, fig.torso.d) / fig.torso.length
    across = abs(np.dot(mid - fig.torso.p0, fig.torso.n))
    assert 0 < t < 1 and across < fig.torso.half_width(t), "the forearm crosses in front of the torso"


def test_correspondence_points_at_the_same_garment_point_in_the_source():
    engine = SyntheticEngine(2, 128, 96, FLAT)
    checked = 0
    for source, target in [(0, 1), (1, 2), (3, 4)]:
        moved = engine.transfer("test", source, target)
        src = engine.render("test", source)
        seen = moved.flow[0] >= 0
        assert seen.any() and (moved.parse[seen] == UPPER).all()
        cols, rows = np.rint(moved.flow[0][seen]).astype(int), np.rint(moved.flow[1][seen]).astype(int)
        assert (src.parse[rows, cols] == UPPER).mean() > 0.97
        diff = np.abs(moved.image[seen].astype(int) - src.image[rows, cols].astype(int)).max(-1)
        assert (diff <= 12).mean() > 0.85
        checked += seen.sum()
    assert checked > 500


def test_a_sample_renders_the_same_scene_at_every_resolution():
    small = SyntheticEngine(4, 64, 48).sample("train", 0)
    large = SyntheticEngine(4, 128, 96).sample("train", 0)
    assert (large.parse[::2, ::2] == small.parse).mean() > 0.9
