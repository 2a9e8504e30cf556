"""Part-wise garment parsing of a rendering: which garment part (or uncovered skin) every pixel shows.

The engine knows the panel of every garment pixel (``render``: 1 torso, 2 / 3 the wearer's right / left sleeve, 4 / 5
right / left trouser leg, 6 waist band or skirt), so the parts are exact. Ids are ``labels.GARMENT_PARTS``; which
parts a category's map holds is said there.
"""

from __future__ import annotations

import numpy as np

from garment_transfer.data.labels import CIHP, GARMENT_PARTS

P = GARMENT_PARTS
# panel id -> part id, per category (the panels of the category's garment only)
_UPPER = {1: P["torso"], 2: P["right_sleeve"], 3: P["left_sleeve"]}
_LOWER = {4: P["right_leg"], 5: P["left_leg"], 6: P["skirt"]}
PANEL_PARTS = {"upper": _UPPER, "lower": _LOWER, "dresses": {**_UPPER, 6: P["skirt"]}}
_ARMS = {CIHP["left_arm"]: P["left_arm"], CIHP["right_arm"]: P["right_arm"], CIHP["torso_skin"]: P["neck"]}
_LEGS = {CIHP["left_leg"]: P["left_leg_skin"], CIHP["right_leg"]: P["right_leg_skin"]}
SKIN_PARTS = {"upper": _ARMS, "lower": _LEGS, "dresses": {**_ARMS, **_LEGS}}


def _lookup(table: dict[int, int]) -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    for key, value in table.items():
        lut[key] = value
    return lut


_PANEL_LUT = {category: _lookup(table) for category, table in PANEL_PARTS.items()}
_SKIN_LUT = {category: _lookup(table) for category, table in SKIN_PARTS.items()}


def garment_parts(panel: np.ndarray, garment_uv: np.ndarray, category: str, split_band: bool) -> np.ndarray:
    """(H, W) part ids of the category's garment from its panel map; ``split_band`` gives a trouser waist band
    (panel 6) to the legs: ``u > 0.5`` (the wearer's left) to the left leg, else the right."""
    parts = _PANEL_LUT[category][panel]
    if split_band:
        band = panel == 6
        parts[band] = np.where(garment_uv[..., 0][band] > 0.5, P["left_leg"], P["right_leg"])
    return parts


def person_parts(rendering, category: str = "upper", bottom_kind: str | None = None) -> np.ndarray:
    """(H, W) uint8 part ids of a rendered person (or true transfer) of ``category``: its garment's parts and the
    skin they can cover (``labels.GARMENT_PARTS``)."""
    parts = garment_parts(
        rendering.panel, rendering.garment_uv, category, split_band=bottom_kind in ("trousers", "shorts")
    )
    skin = _SKIN_LUT[category][rendering.parse]
    return np.where(parts > 0, parts, skin)


def shop_parts(rendering, category: str = "upper", bottom_kind: str | None = None) -> np.ndarray:
    """(H, W) uint8 part ids of an in-shop garment; the inside of the back seen through a flat lay's neck opening
    (no panel) counts as torso."""
    parts = garment_parts(
        rendering.panel, rendering.garment_uv, category, split_band=bottom_kind in ("trousers", "shorts")
    )
    inside = (rendering.parse > 0) & (parts == 0)
    parts[inside] = P["torso"]
    return parts
