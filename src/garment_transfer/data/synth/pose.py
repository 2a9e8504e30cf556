"""Body keypoints from the figure's joints, as OpenPose BODY_25 would report them on the rendered image.

Each keypoint is a joint of the posed figure (:class:`render.Figure`): shoulders, elbows and wrists are the ends of
the arm segments, hips, knees and ankles those of the leg segments, the neck the midpoint of the shoulders, the mid-hip
that of the hips; the face points (nose, eyes, ears) and the foot points (toes, heel) sit at fixed places of the head
ellipse and the foot segment. Coordinates follow :mod:`garment_transfer.data.keypoints`: pixels, the centre of the
top-left pixel at (0, 0).

Visibility: a joint is visible when it lies in the frame (``x > 1`` and ``y > 1``, the rule every seed system's loader
applies) and the DensePose part drawn at its pixel is one of the joint's own parts (:data:`OWN_DENSEPOSE_PARTS`: an
elbow shows its upper or lower arm); a joint hidden by another body part (a wrist behind the other forearm, a hip under
a hand) or outside the frame is not. An invisible joint is ``(-1, -1, 0)`` here and ``0, 0, 0`` in an OpenPose file.
The score of a visible joint is the fraction of nine probe points (the joint and eight around it at 1.5 % of the image
height) whose DensePose part is one of its own, rounded to 3 decimals: 1 in the middle of its limb, lower at an edge.
"""

from __future__ import annotations

import numpy as np

from garment_transfer.data.keypoints import BODY_25_NAMES
from garment_transfer.data.labels import DENSEPOSE as DP

_HEAD = (DP["head"],)
_TORSO = DP["torso_front"]
_ARM = {side: (DP[f"upper_arm_{side}"], DP[f"lower_arm_{side}"], DP[f"{side}_hand"]) for side in ("right", "left")}
_LEG = {side: (DP[f"upper_leg_{side}"], DP[f"lower_leg_{side}"], DP[f"{side}_foot"]) for side in ("right", "left")}
OWN_DENSEPOSE_PARTS = {
    "nose": _HEAD,
    "neck": (_TORSO, *_HEAD),
    "mid_hip": (_TORSO, _LEG["right"][0], _LEG["left"][0]),
    "right_eye": _HEAD,
    "left_eye": _HEAD,
    "right_ear": _HEAD,
    "left_ear": _HEAD,
}
for _side in ("right", "left"):
    upper, lower, hand = _ARM[_side]
    thigh, shin, foot = _LEG[_side]
    OWN_DENSEPOSE_PARTS.update(
        {
            f"{_side}_shoulder": (upper, _TORSO),
            f"{_side}_elbow": (upper, lower),
            f"{_side}_wrist": (lower, hand),
            f"{_side}_hip": (_TORSO, thigh),
            f"{_side}_knee": (thigh, shin),
            f"{_side}_ankle": (shin, foot),
            f"{_side}_big_toe": (foot,),
            f"{_side}_small_toe": (foot,),
            f"{_side}_heel": (foot,),
        }
    )
PROBE = 0.015  # probe radius in image heights
_PROBES = np.array([(0, 0)] + [(np.cos(a), np.sin(a)) for a in np.arange(8) * np.pi / 4])


def figure_joints(fig) -> np.ndarray:
    """The figure's 25 joints in BODY_25 order as (25, 2) float64 ``(x, y)`` in raster coordinates (pixel ``[r, c]``
    centred at ``(c + 0.5, r + 0.5)``)."""
    head, d, n = fig.head, fig.d, fig.n
    points = {}
    for side, name in enumerate(("right", "left")):
        sign = (-1.0, 1.0)[side]  # side 0 is the person's right, on the image left
        upper, fore, _ = fig.arms[side]
        thigh, shin, foot = fig.legs[side]
        points[f"{name}_shoulder"], points[f"{name}_elbow"], points[f"{name}_wrist"] = upper.p0, upper.p1, fore.p1
        points[f"{name}_hip"], points[f"{name}_knee"], points[f"{name}_ankle"] = thigh.p0, thigh.p1, shin.p1
        points[f"{name}_eye"] = head.c + sign * n * 0.38 * head.rx - d * 0.12 * head.ry
        points[f"{name}_ear"] = head.c + sign * n * 0.93 * head.rx + d * 0.05 * head.ry
        points[f"{name}_big_toe"] = np.stack(foot.point(0.9, 0.0))
        points[f"{name}_small_toe"] = np.stack(foot.point(0.7, 0.45 * float(foot.half_width(0.7))))
        points[f"{name}_heel"] = np.stack(foot.point(-0.1, 0.0))
    points["nose"] = head.c + d * 0.25 * head.ry
    points["neck"] = (points["right_shoulder"] + points["left_shoulder"]) / 2
    points["mid_hip"] = (points["right_hip"] + points["left_hip"]) / 2
    return np.stack([np.asarray(points[name], np.float64) for name in BODY_25_NAMES])


_OWN_TABLE = np.zeros((len(BODY_25_NAMES), 256), bool)  # [joint, part]: the part is one of the joint's own
for _k, _name in enumerate(BODY_25_NAMES):
    _OWN_TABLE[_k, list(OWN_DENSEPOSE_PARTS[_name])] = True


def body25(fig, densepose_index: np.ndarray) -> np.ndarray:
    """BODY_25 keypoints of a rendered figure: (25, 3) float64 ``x, y, score`` (keypoint coordinates, rounded to
    3 decimals), ``(-1, -1, 0)`` for a joint that is not visible (module docstring).

    Args:
        fig: the posed figure the rendering was drawn from.
        densepose_index: (H, W) DensePose part index of the rendering (``iuv[..., 0]``).
    """
    height, width = densepose_index.shape
    joints = figure_joints(fig)
    kx, ky = joints[:, 0] - 0.5, joints[:, 1] - 0.5  # keypoint coordinates: pixel centres at integers
    framed = (kx > 1) & (ky > 1) & (joints[:, 0] < width) & (joints[:, 1] < height)
    probes = joints[:, None, :] + PROBE * height * _PROBES[None]  # (25, 9, 2), the joint first
    cols = np.clip(probes[..., 0].astype(int), 0, width - 1)
    rows = np.clip(probes[..., 1].astype(int), 0, height - 1)
    own = _OWN_TABLE[np.arange(len(joints))[:, None], densepose_index[rows, cols]]  # (25, 9)
    visible = framed & own[:, 0]
    out = np.tile(np.array([-1.0, -1.0, 0.0]), (len(joints), 1))
    out[visible] = np.stack([np.round(kx, 3), np.round(ky, 3), np.round(own.mean(1), 3)], 1)[visible]
    return out
