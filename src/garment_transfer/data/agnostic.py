"""Garment-agnostic inputs of the seed systems: what each hides of a person before it dresses them anew.

Three definitions, each written from the facts its paper or public loader gives, in our own code (``docs/data.md``,
"Agnostic and derived inputs"):

- **HR-VITON's** ``agnostic-v3.2`` (person image) and ``image-parse-agnostic-v3.2`` (parsing), which the synthetic
  engine writes as data for every upper-body sample (:func:`hrviton_agnostic`, :func:`hrviton_parse_agnostic`). They
  take a CIHP parsing and BODY_25 keypoints. The image: grey (128) over the arms (lines 10 r wide along shoulder,
  elbow and wrist, discs of radius 5 r at the joints), the torso (the shoulder-hip quadrilateral with the hips moved
  to the shoulders' width, lines 6 r wide down each side, 12 r across the hips, ellipses 3 r x 6 r at the hips) and a
  square of half-side 7 r at the neck, ``r = shoulder distance / 16 + 1`` (integer); then the face, sunglasses and the
  lower body (pants, skirt, legs, shoes) are put back. The parsing: upper clothes, dress, coat and the neck become
  background, and so do the arm pixels near the arm's pose chain (lines 10 r wide, discs 15 r at the joints and 4 r at
  the wrist, ``r = 10`` at a height of 1024, scaled), so hands beyond the wrist stay.
- **WUTON's** p* (:func:`wuton_mask`, :func:`wuton_person`): the arms, the upper garment and a box around the neck
  masked, from parsing and pose (WUTON, ECCV 2020, Sec. 3.2). The box's size is not published: a square of half-side
  ``neck_box`` (0.35) times the shoulder distance around the neck keypoint, our choice; it never covers the face or
  the hair.
- **GP-VTON's** preserve mask (:func:`palm_mask`, :func:`gpvton_preserve_mask`): the parsing labels a try-on must
  keep plus the palms. A palm is the arm's pixels outside two rectangles, shoulder to elbow and elbow to wrist, each
  as wide as half its length and grown by a square of 50 (upper) and 30 (lower) pixels at a height of 512 (scaled); a
  rectangle whose ends are not both detected (score <= 0.1) covers the whole image, so that arm has no palm.

WUTON's and GP-VTON's masks work on what every reader gives (:class:`~garment_transfer.data.samples.PersonSample`:
the 7-class parsing and BODY_25 or COCO-18 keypoints, whose first eight points are the same joints). Where a data set's
parsing has separate arm labels (CIHP and the others), pass them; otherwise the upper-body skin is split into left arm,
right arm and the rest by the nearest pose chain (:func:`split_arms`).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from garment_transfer.data.label_maps import FACE, HAIR, LOWER_GARMENT, THIGH, UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.labels import CIHP

GREY = 128
NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = 1, 2, 3, 4, 5, 6, 7  # BODY_25 and COCO-18 alike
R_HIP, L_HIP = 9, 12  # BODY_25 only
CONFIDENT = 0.1  # GP-VTON uses a point when its score is above this


def _present(points: np.ndarray, *indices: int) -> bool:
    return all(points[i, 0] >= 0 and points[i, 1] >= 0 and points[i, 2] > 0 for i in indices)


def _xy(points: np.ndarray, index: int) -> tuple[float, float]:
    """A keypoint as a PIL drawing position (keypoint pixel centres are integers, PIL's are too)."""
    return float(points[index, 0]), float(points[index, 1])


def _canvas(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    mask = Image.new("L", (size[1], size[0]), 0)
    return mask, ImageDraw.Draw(mask)


def _disc(draw: ImageDraw.ImageDraw, centre, rx: float, ry: float | None = None) -> None:
    ry = rx if ry is None else ry
    draw.ellipse((centre[0] - rx, centre[1] - ry, centre[0] + rx, centre[1] + ry), fill=255)


# ---------------------------------------------------------------------------------------------------------- HR-VITON
_HRVITON_KEPT = np.zeros(256, bool)  # CIHP ids put back into the agnostic image: face, sunglasses, the lower body
_HRVITON_KEPT[
    [CIHP[k] for k in ("sunglasses", "face", "pants", "skirt", "left_leg", "right_leg", "left_shoe", "right_shoe")]
] = True


def hrviton_mask(parse: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The grey region of HR-VITON's ``agnostic-v3.2``: (H, W) bool (module docstring).

    Args:
        parse: (H, W) CIHP ids. points: (25, 3) BODY_25 keypoints, missing ``(-1, -1, 0)``.
    """
    points = np.asarray(points, np.float64)
    if points.shape[0] != 25:
        raise ValueError(f"HR-VITON's agnostic needs 25 BODY_25 keypoints, got {points.shape[0]}")
    mask, draw = _canvas(parse.shape)
    if _present(points, R_SHOULDER, L_SHOULDER):
        shoulders = np.array([points[R_SHOULDER, :2], points[L_SHOULDER, :2]])
        width = float(np.hypot(*(shoulders[1] - shoulders[0])))
        r = int(width / 16) + 1
        draw.line([tuple(p) for p in shoulders], fill=255, width=r * 10)
        for p in shoulders:
            _disc(draw, p, r * 5)
        for joint in (R_ELBOW, R_WRIST, L_ELBOW, L_WRIST):
            if _present(points, joint - 1, joint):
                draw.line([_xy(points, joint - 1), _xy(points, joint)], fill=255, width=r * 10)
                _disc(draw, _xy(points, joint), r * 5)
        if _present(points, R_HIP, L_HIP):
            hips = np.array([points[R_HIP, :2], points[L_HIP, :2]])
            middle, spread = hips.mean(0), max(float(np.hypot(*(hips[1] - hips[0]))), 1e-6)
            hips = middle + (hips - middle) / spread * width  # the hips moved to the shoulders' width
            for p in hips:
                _disc(draw, p, r * 3, r * 6)
            for shoulder, hip in zip(shoulders, hips):
                draw.line([tuple(shoulder), tuple(hip)], fill=255, width=r * 6)
            draw.line([tuple(p) for p in hips], fill=255, width=r * 12)
            draw.polygon([tuple(shoulders[0]), tuple(shoulders[1]), tuple(hips[1]), tuple(hips[0])], fill=255)
        if _present(points, NECK):
            x, y = _xy(points, NECK)
            draw.rectangle((x - r * 7, y - r * 7, x + r * 7, y + r * 7), fill=255)
    return (np.asarray(mask) > 0) & ~_HRVITON_KEPT[parse]


def hrviton_agnostic(image: np.ndarray, parse: np.ndarray, points: np.ndarray) -> np.ndarray:
    """HR-VITON's ``agnostic-v3.2``: (H, W, 3) uint8 ``image`` with :func:`hrviton_mask` grey."""
    out = image.copy()
    out[hrviton_mask(parse, points)] = GREY
    return out


def hrviton_parse_agnostic(parse: np.ndarray, points: np.ndarray) -> np.ndarray:
    """HR-VITON's ``image-parse-agnostic-v3.2``: (H, W) uint8 CIHP ids with the upper garment, the neck and the arms
    near their pose chains set to background (module docstring)."""
    points = np.asarray(points, np.float64)
    r = max(1, round(10 * parse.shape[0] / 1024))
    out = parse.copy()
    for label, chain in (
        (CIHP["left_arm"], (R_SHOULDER, L_SHOULDER, L_ELBOW, L_WRIST)),
        (CIHP["right_arm"], (L_SHOULDER, R_SHOULDER, R_ELBOW, R_WRIST)),
    ):
        mask, draw = _canvas(parse.shape)
        for previous, joint in zip(chain, chain[1:]):
            if _present(points, previous, joint):
                draw.line([_xy(points, previous), _xy(points, joint)], fill=255, width=r * 10)
                _disc(draw, _xy(points, joint), r * 4 if joint == chain[-1] else r * 15)
        out[(np.asarray(mask) > 0) & (parse == label)] = CIHP["background"]
    out[np.isin(parse, [CIHP["upper_clothes"], CIHP["dress"], CIHP["coat"], CIHP["torso_skin"]])] = 0
    return out


# ------------------------------------------------------------------------------------------------------------ WUTON
def wuton_mask(parsing: np.ndarray, points: np.ndarray | None, neck_box: float = 0.35) -> np.ndarray:
    """WUTON's masked region of p*: (H, W) bool, the upper garment and upper-body skin (arms, neck, chest) of the
    7-class ``parsing`` plus a square around the neck keypoint of half-side ``neck_box`` times the shoulder distance,
    never the face or hair.

    Args:
        parsing: (H, W) class indices (``label_maps.CLASSES``). points: (K, 3) BODY_25 or COCO-18 keypoints, or None
            (then no neck box).
    """
    parsing = np.asarray(parsing)
    mask = np.isin(parsing, (UPPER_GARMENT, UPPER_SKIN))
    if points is not None:
        points = np.asarray(points, np.float64)
        if _present(points, NECK, R_SHOULDER, L_SHOULDER):
            half = neck_box * float(np.hypot(*(points[L_SHOULDER, :2] - points[R_SHOULDER, :2])))
            x, y = points[NECK, :2]
            rows, cols = np.arange(parsing.shape[0])[:, None], np.arange(parsing.shape[1])[None]
            mask |= (np.abs(cols - x) <= half) & (np.abs(rows - y) <= half)
    return mask & ~np.isin(parsing, (FACE, HAIR))


def wuton_person(sample, neck_box: float = 0.35) -> torch.Tensor:
    """WUTON's p* of a :class:`PersonSample` (one, not a batch): its image (3, H, W) in [-1, 1] with
    :func:`wuton_mask` grey (128)."""
    points = None if sample.keypoints is None else sample.keypoints.numpy()
    mask = torch.from_numpy(wuton_mask(sample.parsing.numpy(), points, neck_box))
    return torch.where(mask, torch.tensor(GREY / 127.5 - 1.0, dtype=sample.image.dtype), sample.image)


# ---------------------------------------------------------------------------------------------------------- GP-VTON
def split_arms(skin: np.ndarray, points: np.ndarray, reach: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Split upper-body skin (H, W) bool into ``(left arm, right arm)`` by the pose: a skin pixel belongs to the arm
    whose chain (shoulder, elbow, wrist and on past the wrist by half the forearm) is nearest, if it is nearer than
    the body's axis (the neck keypoint and straight down) and within ``reach`` times the upper arm's length of the
    chain; the rest (neck, chest) is no arm. On the engine's samples this agrees with the CIHP arms on about 95 % of
    the skin; forearms across a bare chest are where it errs."""
    points = np.asarray(points, np.float64)
    rows, cols = np.nonzero(skin)
    pixels = np.stack([cols, rows], 1).astype(np.float64)
    distances, limits = [], []
    for shoulder, elbow, wrist in ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)):
        chain = [points[j, :2] for j in (shoulder, elbow, wrist) if _present(points, j)]
        if len(chain) >= 2:
            chain.append(chain[-1] + 0.5 * (chain[-1] - chain[-2]))
        distances.append(_polyline_distance(pixels, chain))
        limits.append(reach * float(np.hypot(*(chain[1] - chain[0]))) if len(chain) >= 2 else np.inf)
    axis = [points[NECK, :2]] if _present(points, NECK) else []
    if axis:
        axis.append(axis[0] + np.array([0.0, skin.shape[0]]))
    distances.append(_polyline_distance(pixels, axis))
    distances = np.stack(distances) if len(rows) else np.zeros((3, 0))
    nearest = np.argmin(distances, axis=0)
    left, right = np.zeros_like(skin, bool), np.zeros_like(skin, bool)
    for side, out in ((0, left), (1, right)):
        mine = (nearest == side) & (distances[side] <= limits[side])
        out[rows[mine], cols[mine]] = True
    return left, right


def _polyline_distance(pixels: np.ndarray, chain: list[np.ndarray]) -> np.ndarray:
    """Distance of each (x, y) pixel to a polyline (inf for an empty one; a single point is a point)."""
    if not chain:
        return np.full(len(pixels), np.inf)
    if len(chain) == 1:
        return np.hypot(*(pixels - chain[0]).T)
    best = np.full(len(pixels), np.inf)
    for a, b in zip(chain, chain[1:]):
        ab = b - a
        t = np.clip(((pixels - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
        best = np.minimum(best, np.hypot(*(pixels - (a + t[:, None] * ab)).T))
    return best


def _limb_box(size: tuple[int, int], start, end, grow: int) -> np.ndarray:
    """The rectangle from ``start`` to ``end`` as wide as half its length, grown by a square of side ``grow``."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    offset = np.array([start[1] - end[1], end[0] - start[0]]) / 4  # perpendicular, a quarter of the length
    corners = [start + offset, start - offset, end - offset, end + offset]
    mask, draw = _canvas(size)
    draw.polygon([tuple(c) for c in corners], fill=255)
    box = np.asarray(mask) > 0
    return ndimage.binary_dilation(box, np.ones((grow, grow), bool)) if grow > 1 else box


def palm_mask(left_arm: np.ndarray, right_arm: np.ndarray, points: np.ndarray) -> np.ndarray:
    """GP-VTON's palms: each arm's pixels outside its shoulder-elbow and elbow-wrist rectangles; (H, W) bool."""
    points = np.asarray(points, np.float64)
    size = left_arm.shape
    grow_up, grow_down = max(1, round(50 * size[0] / 512)), max(1, round(30 * size[0] / 512))
    palm = np.zeros(size, bool)
    for arm, (shoulder, elbow, wrist) in (
        (left_arm, (L_SHOULDER, L_ELBOW, L_WRIST)),
        (right_arm, (R_SHOULDER, R_ELBOW, R_WRIST)),
    ):
        confident = [points[j, 2] > CONFIDENT and points[j, 0] >= 0 for j in (shoulder, elbow, wrist)]
        if not (confident[0] and confident[1] and confident[2]):
            continue  # a rectangle without both ends covers the whole image: no palm on this arm
        covered = _limb_box(size, points[shoulder, :2], points[elbow, :2], grow_up) | _limb_box(
            size, points[elbow, :2], points[wrist, :2], grow_down
        )
        palm |= arm & ~covered
    return palm


PRESERVED = {
    "upper": (HAIR, FACE, LOWER_GARMENT, THIGH),
    "lower": (HAIR, FACE, UPPER_GARMENT, UPPER_SKIN),
    "dresses": (HAIR, FACE),
}


def gpvton_preserve_mask(
    parsing: np.ndarray, points: np.ndarray, category: str = "upper", arms: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """GP-VTON's preserve mask: (H, W) bool, the classes a try-on of ``category`` keeps (upper: hair, face, lower
    garment, legs, as GP-VTON's 19 labels; lower: hair, face, upper garment and skin; dresses: hair and face) plus
    the palms (upper and dresses).

    Args:
        parsing: (H, W) 7-class indices. points: (K, 3) BODY_25 or COCO-18 keypoints.
        arms: ``(left arm, right arm)`` (H, W) bool from a parsing that has them; None splits the upper-body skin
            by the pose (:func:`split_arms`).
    """
    if category not in PRESERVED:
        raise ValueError(f"garment category {category!r}: choose one of {tuple(PRESERVED)}")
    parsing = np.asarray(parsing)
    preserve = np.isin(parsing, PRESERVED[category])
    if category == "lower":
        return preserve
    if arms is None:
        arms = split_arms(parsing == UPPER_SKIN, points)
    return preserve | palm_mask(*arms, points)


def gpvton_preserve(sample, category: str = "upper") -> torch.Tensor:
    """:func:`gpvton_preserve_mask` of a :class:`PersonSample` with keypoints: (1, H, W) float32 in {0, 1}."""
    if sample.keypoints is None:
        raise ValueError(f"sample {sample.id!r} has no keypoints: GP-VTON's palm mask needs shoulders, elbows, wrists")
    mask = gpvton_preserve_mask(sample.parsing.numpy(), sample.keypoints.numpy(), category)
    return torch.from_numpy(mask[None].astype(np.float32))
