"""The seed systems' garment-agnostic inputs on engine samples, whose CIHP parsing and DensePose say what is what."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from garment_transfer.data.agnostic import (
    GREY,
    gpvton_preserve,
    gpvton_preserve_mask,
    hrviton_agnostic,
    hrviton_mask,
    hrviton_parse_agnostic,
    palm_mask,
    split_arms,
    wuton_mask,
    wuton_person,
)
from garment_transfer.data.label_maps import UPPER_SKIN, load_label_map
from garment_transfer.data.labels import CIHP
from garment_transfer.data.labels import DENSEPOSE as DP
from garment_transfer.data.synth import SyntheticEngine

CLASSES = load_label_map("cihp")
HANDS = (DP["left_hand"], DP["right_hand"])


@pytest.fixture(scope="module")
def samples():
    engine = SyntheticEngine(7, 128, 96)
    return [engine.sample("train", i) for i in range(16)]


def _is(parse, *names):
    return np.isin(parse, [CIHP[n] for n in names])


def test_wuton_mask_covers_arms_upper_garment_and_neck_and_nothing_of_the_face(samples):
    boxed = 0
    for sample in samples:
        parsing = CLASSES.apply(sample.parse)
        for box in (0.35, 0.8):  # the larger box reaches the face: it must stop there
            mask = wuton_mask(parsing, sample.keypoints, neck_box=box)
            assert mask[_is(sample.parse, "left_arm", "right_arm", "upper_clothes", "torso_skin")].all()
            assert not mask[_is(sample.parse, "face", "hair")].any()
        beyond = mask & ~np.isin(parsing, (3, 4))  # what the box adds past the skin and garment
        boxed += beyond.sum() > 0
    assert boxed >= len(samples) // 2


def test_wuton_person_greys_the_mask_of_a_read_sample_and_keeps_the_rest(synthetic_root):
    from garment_transfer.data.formats.canonical import CanonicalReader

    sample = CanonicalReader(synthetic_root, size=(64, 48)).person("test", "test_000001")
    assert sample.keypoints is not None
    masked = wuton_person(sample)
    mask = torch.from_numpy(wuton_mask(sample.parsing.numpy(), sample.keypoints.numpy()))
    assert mask.any() and torch.allclose(masked[:, mask], torch.tensor(GREY / 127.5 - 1))
    assert torch.equal(masked[:, ~mask], sample.image[:, ~mask])


def test_hrviton_agnostic_greys_the_upper_body_and_keeps_face_and_lower_body(samples):
    for sample in samples:
        grey = hrviton_mask(sample.parse, sample.keypoints)
        kept = _is(sample.parse, "face", "pants", "skirt", "left_leg", "right_leg", "left_shoe", "right_shoe")
        assert not grey[kept].any()
        upper = _is(sample.parse, "upper_clothes")
        assert grey[upper].mean() > 0.8, "the grey region covers the garment"
        image = hrviton_agnostic(sample.image, sample.parse, sample.keypoints)
        assert (image[grey] == GREY).all() and (image[~grey] == sample.image[~grey]).all()
        np.testing.assert_array_equal(image, sample.agnostic)


def test_hrviton_parse_agnostic_removes_garment_neck_and_arms_near_their_pose_and_keeps_the_rest(samples):
    hands_kept = 0
    for sample in samples:
        agnostic = hrviton_parse_agnostic(sample.parse, sample.keypoints)
        np.testing.assert_array_equal(agnostic, sample.parse_agnostic)
        assert not _is(agnostic, "upper_clothes", "torso_skin").any()
        same = ~_is(sample.parse, "upper_clothes", "torso_skin", "left_arm", "right_arm")
        np.testing.assert_array_equal(agnostic[same], sample.parse[same])
        arms = _is(sample.parse, "left_arm", "right_arm")
        assert (agnostic[arms] == 0).mean() > 0.5
        hands_kept += (_is(agnostic, "left_arm", "right_arm") & np.isin(sample.iuv[..., 0], HANDS)).any()
    assert hands_kept >= 3, "hands beyond the wrist disc stay"


def test_split_arms_from_7_class_skin_and_pose_agrees_with_the_cihp_arms(samples):
    agreement = []
    for sample in samples:
        skin = CLASSES.apply(sample.parse) == UPPER_SKIN
        left, right = split_arms(skin, sample.keypoints)
        truth_left, truth_right = _is(sample.parse, "left_arm"), _is(sample.parse, "right_arm")
        agreement.append(((left == truth_left) & (right == truth_right))[skin].mean())
    assert np.mean(agreement) > 0.93, agreement  # about 95 %: forearms across a bare chest err


def test_palm_mask_is_the_hand_beyond_the_forearm_and_vanishes_without_the_wrist(samples):
    palms = 0
    for sample in samples:
        arms = _is(sample.parse, "left_arm"), _is(sample.parse, "right_arm")
        palm = palm_mask(*arms, sample.keypoints)
        parts = sample.iuv[..., 0]
        assert not np.isin(parts[palm], (DP["upper_arm_left"], DP["upper_arm_right"])).any()
        if palm.any():
            palms += 1
            assert np.isin(parts[palm], HANDS).mean() > 0.5
        points = sample.keypoints.copy()
        points[[4, 7], 2] = 0.0  # no wrists detected
        assert not palm_mask(*arms, points).any()
    assert palms >= 4


def test_gpvton_preserve_mask_keeps_head_lower_body_and_palms_per_category(samples):
    for sample in samples:
        parsing = CLASSES.apply(sample.parse)
        arms = _is(sample.parse, "left_arm"), _is(sample.parse, "right_arm")
        upper = gpvton_preserve_mask(parsing, sample.keypoints, "upper", arms)
        assert upper[_is(sample.parse, "face", "hair", "pants", "skirt", "left_leg", "right_leg")].all()
        assert not upper[_is(sample.parse, "upper_clothes", "torso_skin")].any()
        np.testing.assert_array_equal(upper & arms[0] | upper & arms[1], palm_mask(*arms, sample.keypoints))
        lower = gpvton_preserve_mask(parsing, sample.keypoints, "lower")
        assert lower[_is(sample.parse, "upper_clothes", "left_arm", "right_arm")].all()
        assert not lower[_is(sample.parse, "pants", "skirt", "left_leg", "right_leg")].any()
        from_pose = gpvton_preserve_mask(parsing, sample.keypoints, "upper")
        assert (from_pose == upper).mean() > 0.99
    with pytest.raises(ValueError, match="garment category 'shoes'"):
        gpvton_preserve_mask(parsing, sample.keypoints, "shoes")


def test_gpvton_preserve_of_a_read_sample_needs_keypoints(synthetic_root):
    from dataclasses import replace

    from garment_transfer.data.formats.canonical import CanonicalReader

    sample = CanonicalReader(synthetic_root, size=(64, 48)).person("test", "test_000000")
    mask = gpvton_preserve(sample)
    assert mask.shape == (1, 64, 48) and set(mask.unique().tolist()) <= {0.0, 1.0} and mask.sum() > 0
    with pytest.raises(ValueError, match="has no keypoints"):
        gpvton_preserve(replace(sample, keypoints=None))
