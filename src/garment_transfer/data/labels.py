"""Label ids as they are stored in files (``docs/data.md``, "Label ids: the 7 classes and the label maps") and colour
palettes for display.

Palettes are for looking at label maps only: every reader uses the indices, never the colours.
"""

from __future__ import annotations

import numpy as np

# CIHP ids (VITON-HD ``image-parse-v3``). As LIP, except 10 is torso skin / neck.
CIHP = {
    "background": 0,
    "hat": 1,
    "hair": 2,
    "glove": 3,
    "sunglasses": 4,
    "upper_clothes": 5,
    "dress": 6,
    "coat": 7,
    "socks": 8,
    "pants": 9,
    "torso_skin": 10,
    "scarf": 11,
    "skirt": 12,
    "face": 13,
    "left_arm": 14,
    "right_arm": 15,
    "left_leg": 16,
    "right_leg": 17,
    "left_shoe": 18,
    "right_shoe": 19,
}
CIHP_NAMES = tuple(sorted(CIHP, key=CIHP.get))

# DensePose part index I (0 background). The engine renders a front view and uses one index per part.
DENSEPOSE = {
    "background": 0,
    "torso_back": 1,
    "torso_front": 2,
    "right_hand": 3,
    "left_hand": 4,
    "left_foot": 5,
    "right_foot": 6,
    "upper_leg_right": 7,
    "upper_leg_left": 8,
    "lower_leg_right": 11,
    "lower_leg_left": 12,
    "upper_arm_left": 15,
    "upper_arm_right": 16,
    "lower_arm_left": 19,
    "lower_arm_right": 20,
    "head": 23,
}
DENSEPOSE_NUM_PARTS = 25  # indices 0..24


def _palette(n: int, seed: int) -> np.ndarray:
    """A fixed, well-spread colour table of ``n`` RGB entries (entry 0 black)."""
    rng = np.random.default_rng(seed)
    hues = (np.arange(n) * 0.618034) % 1.0
    sat = 0.55 + 0.4 * rng.random(n)
    val = 0.65 + 0.35 * rng.random(n)
    i = np.floor(hues * 6).astype(int) % 6
    f = hues * 6 - np.floor(hues * 6)
    p, q, t = val * (1 - sat), val * (1 - f * sat), val * (1 - (1 - f) * sat)
    rgb = np.select(
        [i[:, None] == k for k in range(6)],
        [np.stack(c, 1) for c in ((val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q))],
    )
    out = (rgb * 255).round().astype(np.uint8)
    out[0] = 0
    return out


# Garment parts (this project's files <split>/image-parse-parts/, cloth-parse-parts/ and transfer/image-parse-parts/,
# "P" PNGs of these ids). Left and right are the person's own (left = image right), as in CIHP. A person's map holds
# the parts of the garment of its category and the skin that garment can cover: upper 1-6 (GP-VTON's seven classes:
# background, left sleeve, torso, right sleeve, left arm, right arm, neck); lower 7-11; dresses 1-6, 8, 10, 11. The
# in-shop garment's map holds its garment parts only. Trousers and shorts have no skirt part: their waist band is
# split between the legs at the garment's middle.
GARMENT_PARTS = {
    "background": 0,
    "left_sleeve": 1,
    "torso": 2,
    "right_sleeve": 3,
    "left_arm": 4,
    "right_arm": 5,
    "neck": 6,
    "left_leg": 7,
    "skirt": 8,
    "right_leg": 9,
    "left_leg_skin": 10,
    "right_leg_skin": 11,
}
GARMENT_PART_NAMES = tuple(sorted(GARMENT_PARTS, key=GARMENT_PARTS.get))


def _mirrored(name: str) -> str:
    """The part on the other side: ``left_*`` <-> ``right_*``; a middle part is its own."""
    for side, other in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(side):
            return other + name[len(side) :]
    return name


# Garment part id after a horizontal flip: left and right parts swap (sleeves, arms, trouser legs, leg skin).
FLIP_GARMENT_PARTS = np.array([GARMENT_PARTS[_mirrored(name)] for name in GARMENT_PART_NAMES], np.uint8)

CIHP_PALETTE = _palette(len(CIHP), seed=7)
PARTS_PALETTE = _palette(len(GARMENT_PARTS), seed=13)
DENSEPOSE_PALETTE = _palette(DENSEPOSE_NUM_PARTS, seed=11)


def palette_bytes(palette: np.ndarray) -> list[int]:
    """Flatten an (N, 3) palette into the 768-entry list that a PIL "P" image takes."""
    flat = np.zeros((256, 3), np.uint8)
    flat[: len(palette)] = palette
    return flat.reshape(-1).tolist()


def colorize(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map an (H, W) integer label map to an (H, W, 3) uint8 picture through ``palette``."""
    return palette[np.clip(labels, 0, len(palette) - 1)]
