"""Body keypoints: reading the files the data sets ship, rescaling, and the seed systems' heatmap encodings.

Keypoints are an (K, 3) float32 array of ``x, y, score`` in pixels (x right, y down, the centre of the top-left pixel
at (0, 0)); K = 25 (OpenPose BODY_25: VITON-HD ``openpose_json``, GP-VTON) or 18 (COCO-18: the VITON 256 x 192 packs,
CP-VTON, DressCode). A point the file does not hold is ``(-1, -1, 0)``. The seed systems' loaders (PF-AFN, CP-VTON,
GP-VTON, DressCode) draw a point only where ``x > 1 and y > 1`` in the file's coordinates; the readers apply the same
rule when they read, so a missing point is missing everywhere (``docs/data.md``, "Keypoints").

Files:

- OpenPose JSON: ``people[0].pose_keypoints_2d`` (BODY_25 and newer OpenPose) or ``people[0].pose_keypoints``
  (older OpenPose, COCO-18), a flat list ``x0, y0, s0, x1, ...``; no person detected (``people`` empty) gives every
  point missing, as PF-AFN does.
- DressCode ``keypoints/<id>_2.json``: ``keypoints``, 18 x ``[x, y, score, id]`` in a 384 x 512 (W x H) frame
  whatever the image size.
- GP-VTON's DressCode ``pose_25/<name>.npy``: (1, 25, 3) or (25, 3) (or without the score column).

Writing (:func:`openpose_document`, :func:`dresscode_document`, :func:`skeleton_picture`): the same files as the
data sets ship them, an invisible point written as OpenPose writes it (``0, 0, 0``); :func:`to_coco18` picks COCO-18
out of BODY_25 (the same joints; BODY_25 adds the mid-hip and six foot points).

Heatmaps (:func:`heatmaps`): one channel per point, 1 inside a filled square of side ``2 r + 1`` around the point and
-1 elsewhere (all -1 for a missing point), the squares of PIL's ``ImageDraw.rectangle((x - r, y - r, x + r, y + r))``
that PF-AFN and GP-VTON draw (ends truncated towards zero). :func:`keypoint_maps` draws the same squares with torch,
for a batch and on the points' device. :data:`HEATMAPS` holds their radii at their sizes; :func:`system_heatmaps`
scales the radius to another height.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from garment_transfer.data.formats.pairs import read_text
from garment_transfer.data.io import read_npy

BODY_25 = 25
COCO_18 = 18
BODY_25_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)
COCO_18_NAMES = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
BODY_25_TO_COCO_18 = tuple(BODY_25_NAMES.index(name) for name in COCO_18_NAMES)
# limbs drawn by OpenPose's renderer (BODY_25; the COCO-18 ones are those whose both ends COCO-18 has)
BODY_25_LIMBS = (
    (1, 8),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (1, 0),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
)
DRESSCODE_FRAME = (512, 384)  # (H, W) of DressCode's keypoint coordinates
MISSING = (-1.0, -1.0, 0.0)


@dataclass(frozen=True)
class HeatmapSpec:
    """A system's square radius ``radius`` at its image height ``height`` (width ``width``)."""

    radius: int
    height: int
    width: int


HEATMAPS = {
    "pfafn": HeatmapSpec(radius=5, height=256, width=192),
    "gpvton": HeatmapSpec(radius=8, height=512, width=384),
}


def mark_missing(points: np.ndarray) -> np.ndarray:
    """(K, 3) ``x, y, score`` -> float32 with points not ``x > 1 and y > 1`` set to ``(-1, -1, 0)``."""
    points = np.asarray(points, np.float32).copy()
    missing = ~((points[:, 0] > 1) & (points[:, 1] > 1))
    points[missing] = MISSING
    return points


def from_flat(values, path, count: int | None = None) -> np.ndarray:
    """A flat ``x, y, score, ...`` list -> (K, 3) float32 with missing points marked; ``count`` checks K."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size % 3:
        raise ValueError(f"{path}: keypoints must be a flat list of x, y, score triples, got {array.size} numbers")
    points = array.reshape(-1, 3)
    if count is not None and len(points) != count:
        raise ValueError(f"{path}: {len(points)} keypoints, expected {count}")
    return mark_missing(points)


def _load_json(path: Path) -> dict:
    try:
        content = json.loads(read_text(path, "keypoint file"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: keypoint file is not valid JSON ({err})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: keypoint file must hold a JSON object")
    return content


def read_openpose_json(path: str | Path, count: int | None = None) -> np.ndarray:
    """OpenPose JSON -> (K, 3) keypoints (``pose_keypoints_2d``, else ``pose_keypoints``).

    Args:
        count: the expected number of points (25 or 18); also the size of the all-missing result when the file
            lists no person.

    Raises:
        FileNotFoundError, ValueError: naming the file (missing, not JSON, no keypoint key, wrong count).
    """
    path = Path(path)
    people = _load_json(path).get("people")
    if not isinstance(people, list):
        raise ValueError(f"{path}: no 'people' list (not an OpenPose keypoint file)")
    if not people:
        if count is None:
            raise ValueError(f"{path}: OpenPose found no person")
        return np.tile(np.asarray(MISSING, np.float32), (count, 1))
    person = people[0]
    for key in ("pose_keypoints_2d", "pose_keypoints"):
        if isinstance(person, dict) and key in person:
            return from_flat(person[key], path, count)
    raise ValueError(f"{path}: people[0] has neither 'pose_keypoints_2d' (BODY_25) nor 'pose_keypoints' (COCO-18)")


def read_dresscode_keypoints(path: str | Path) -> np.ndarray:
    """DressCode ``keypoints/<id>_2.json`` -> (18, 3) keypoints in the 384 x 512 frame (:data:`DRESSCODE_FRAME`)."""
    path = Path(path)
    values = _load_json(path).get("keypoints")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.ndim != 2 or array.shape[1] < 3 or len(array) != COCO_18:
        raise ValueError(
            f"{path}: 'keypoints' must be 18 entries of [x, y, score, id], got {getattr(array, 'shape', None)}"
        )
    return mark_missing(array[:, :3])


def read_keypoint_array(path: str | Path, count: int = BODY_25) -> np.ndarray:
    """GP-VTON's ``pose_25/*.npy``: (1, K, 2 or 3) or (K, 2 or 3) -> (K, 3) keypoints (score 1 where absent)."""
    path = Path(path)
    array = read_npy(path)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or array.shape != (count, array.shape[1]) or array.shape[1] not in (2, 3):
        raise ValueError(f"{path}: keypoint array must be ({count}, 3) or (1, {count}, 3), got {array.shape}")
    if array.shape[1] == 2:
        array = np.concatenate([array, np.ones((count, 1))], axis=1)
    return mark_missing(array.astype(np.float64))


def rescale(points: np.ndarray, frame: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Keypoints in a ``frame`` = (H, W) image -> the same points at ``size`` (pixel centres map onto pixel centres:
    ``x' = (x + 0.5) * W' / W - 0.5``); missing points stay missing."""
    points = np.asarray(points, np.float32)
    if tuple(frame) == tuple(size):
        return points.copy()
    scale = np.array([size[1] / frame[1], size[0] / frame[0]], np.float32)
    out = points.copy()
    present = points[:, 0] >= 0
    out[present, :2] = (points[present, :2] + 0.5) * scale - 0.5
    return out


def heatmaps(points, size: tuple[int, int], radius: int) -> np.ndarray:
    """(K, 3) keypoints (numpy or torch) -> (K, H, W) float32 in {-1, 1}: a square of side ``2 r + 1`` around each
    present point (PIL rectangle semantics, see the module docstring), -1 elsewhere."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"keypoints must be (K, 3), got shape {points.shape}")
    height, width = size
    out = np.full((len(points), height, width), -1.0, np.float32)
    for k, (x, y) in enumerate(points[:, :2]):
        if x < 0 or y < 0:
            continue
        c0, c1 = max(int(x - radius), 0), min(int(x + radius), width - 1)
        r0, r1 = max(int(y - radius), 0), min(int(y + radius), height - 1)
        if c0 <= c1 and r0 <= r1:
            out[k, r0 : r1 + 1, c0 : c1 + 1] = 1.0
    return out


def keypoint_maps(points: torch.Tensor, size: tuple[int, int], radius: int) -> torch.Tensor:
    """:func:`heatmaps` in torch, equal to it value for value, for one person or a batch, on the points' device.

    The numpy squares end at ``int(x - r)`` and ``int(x + r)`` (clipped to the image); for ``x >= 0`` and an integer
    ``r`` these are ``floor(x) - r`` and ``floor(x) + r``, which float32 points give exactly (no float64 needed).

    Args:
        points: (K, 3) or (B, K, 3) ``x, y, score`` in pixels (only x, y are read); a point with ``x < 0`` or
            ``y < 0`` is missing. Points off the frame draw what of their square is inside it.
        size: (H, W). radius: the square's half side, an integer >= 0.

    Returns:
        (K, H, W) or (B, K, H, W) float32 in {-1, 1}: 1 inside each present point's square, -1 elsewhere.
    """
    if not isinstance(points, torch.Tensor) or points.ndim not in (2, 3) or points.shape[-1] < 2:
        raise ValueError(f"keypoints must be a (K, 3) or (B, K, 3) tensor, got {getattr(points, 'shape', points)}")
    if isinstance(radius, bool) or int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be an integer >= 0, got {radius!r}")
    radius = int(radius)
    height, width = size
    points = points.to(torch.float64 if points.dtype == torch.float64 else torch.float32)
    x, y = points[..., 0], points[..., 1]
    present = (x >= 0) & (y >= 0)
    cols = torch.arange(width, device=points.device, dtype=points.dtype)
    rows = torch.arange(height, device=points.device, dtype=points.dtype)
    c0, c1 = (x.floor() - radius).clamp(min=0)[..., None], (x.floor() + radius).clamp(max=width - 1)[..., None]
    r0, r1 = (y.floor() - radius).clamp(min=0)[..., None], (y.floor() + radius).clamp(max=height - 1)[..., None]
    inside_x = (cols >= c0) & (cols <= c1)  # (..., K, W)
    inside_y = (rows >= r0) & (rows <= r1) & present[..., None]  # (..., K, H)
    inside = inside_y[..., :, None] & inside_x[..., None, :]
    return torch.where(inside, 1.0, -1.0).to(torch.float32)


def system_heatmaps(points, size: tuple[int, int], system: str) -> np.ndarray:
    """Heatmaps as ``system`` (``pfafn``: r = 5 at 256 x 192; ``gpvton``: r = 8 at 512 x 384) draws them, the radius
    scaled to ``size``'s height (rounded half up, at least 1)."""
    return heatmaps(points, size, system_radius(system, size[0]))


def system_radius(system: str, height: int) -> int:
    """``system``'s square radius at an image ``height``: its own at its height, scaled (rounded half up, >= 1)."""
    if system not in HEATMAPS:
        raise ValueError(f"heatmap system {system!r}: choose one of {tuple(HEATMAPS)}")
    spec = HEATMAPS[system]
    return max(1, int(spec.radius * height / spec.height + 0.5))


# ------------------------------------------------------------------------------------------------------- writing
def to_coco18(points: np.ndarray) -> np.ndarray:
    """(25, 3) BODY_25 keypoints -> (18, 3) COCO-18 (the same joints, in COCO order)."""
    points = np.asarray(points)
    if points.shape[0] != BODY_25:
        raise ValueError(f"to_coco18 expects 25 BODY_25 keypoints, got {points.shape[0]}")
    return points[list(BODY_25_TO_COCO_18)].copy()


def _openpose_triples(points: np.ndarray) -> list[float]:
    """(K, 3) keypoints -> the flat OpenPose list, a missing point as ``0, 0, 0``."""
    flat = []
    for x, y, score in np.asarray(points, np.float64).tolist():
        flat += [0.0, 0.0, 0.0] if x < 0 or y < 0 or score <= 0 else [round(x, 3), round(y, 3), round(score, 3)]
    return flat


def openpose_document(points: np.ndarray, key: str = "pose_keypoints_2d") -> dict:
    """An OpenPose JSON document holding one person: ``key`` ``pose_keypoints_2d`` (OpenPose 1.3+, BODY_25: VITON-HD,
    GP-VTON) with version 1.3 and the empty face / hand / 3-D lists it writes, or the older ``pose_keypoints``
    (COCO-18: the VITON packs of CP-VTON and PF-AFN) with version 1.0."""
    if key == "pose_keypoints_2d":
        person = {
            "person_id": [-1],
            key: _openpose_triples(points),
            "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [],
            "hand_right_keypoints_2d": [],
            "pose_keypoints_3d": [],
            "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [],
            "hand_right_keypoints_3d": [],
        }
        return {"version": 1.3, "people": [person]}
    if key == "pose_keypoints":
        person = {
            "face_keypoints": [],
            key: _openpose_triples(points),
            "hand_right_keypoints": [],
            "hand_left_keypoints": [],
        }
        return {"version": 1.0, "people": [person]}
    raise ValueError(f"OpenPose key {key!r}: choose pose_keypoints_2d or pose_keypoints")


def dresscode_document(points: np.ndarray, size: tuple[int, int]) -> dict:
    """DressCode's ``keypoints/<id>_2.json`` for (18, 3) COCO-18 keypoints of an image of ``size`` = (H, W):
    ``keypoints`` as 18 x ``[x, y, score, id]`` in the 384 x 512 frame (:data:`DRESSCODE_FRAME`), a missing point
    as ``[0, 0, 0, id]``."""
    points = rescale(np.asarray(points, np.float32), size, DRESSCODE_FRAME)
    rows = np.asarray(_openpose_triples(points), np.float64).reshape(-1, 3).tolist()
    return {"keypoints": [[*row, float(k)] for k, row in enumerate(rows)]}


def _limb_colors(count: int) -> list[tuple[int, int, int]]:
    """A fixed rainbow, one colour per limb, in the manner of OpenPose's renderings."""
    colors = []
    for k in range(count):
        hue = (k / count) * 6.0
        i, f = int(hue) % 6, hue - int(hue)
        rgb = [(1, f, 0), (1 - f, 1, 0), (0, 1, f), (0, 1 - f, 1), (f, 0, 1), (1, 0, 1 - f)][i]
        colors.append(tuple(int(round(255 * c)) for c in rgb))
    return colors


_COLORS = _limb_colors(len(BODY_25_LIMBS))


def skeleton_picture(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The skeleton of (25, 3) BODY_25 or (18, 3) COCO-18 keypoints drawn as OpenPose renders it without the photo
    (``openpose_img/<id>_rendered.png``, DressCode ``skeletons/``): coloured limbs and joints on black, line width
    and joint radius growing with the height; (H, W, 3) uint8. Limbs with a missing end are not drawn."""
    return SKELETON_PALETTE[skeleton_indices(points, size)]


SKELETON_PALETTE = np.array([(0, 0, 0), *_COLORS], np.uint8)  # index 0 black, limb k drawn with index k + 1


def skeleton_indices(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """:func:`skeleton_picture` as (H, W) uint8 indices into :data:`SKELETON_PALETTE` (a palette PNG of it is the
    same picture, a third of the bytes to compress)."""
    from PIL import Image, ImageDraw

    points = np.asarray(points, np.float64)
    if points.shape[0] not in (BODY_25, COCO_18):
        raise ValueError(f"skeleton_picture expects 25 or 18 keypoints, got {points.shape[0]}")
    if points.shape[0] == COCO_18:  # place COCO-18 points at their BODY_25 positions
        full = np.tile(np.array(MISSING), (BODY_25, 1))
        full[list(BODY_25_TO_COCO_18)] = points
        points = full
    height, width = size
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    line, radius = max(1, round(height / 128)), max(1.0, height / 128)
    present = (points[:, 0] >= 0) & (points[:, 1] >= 0) & (points[:, 2] > 0)
    for k, (a, b) in enumerate(BODY_25_LIMBS):
        if present[a] and present[b]:
            draw.line([tuple(points[a, :2] + 0.5), tuple(points[b, :2] + 0.5)], fill=k + 1, width=line)
    for k in np.nonzero(present)[0]:
        x, y = points[k, :2] + 0.5
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=int(k) % len(_COLORS) + 1)
    return np.asarray(picture)
