"""Garment textures, defined in garment coordinates so the same garment deforms with each body that wears it.

Garment coordinates: panel 1 is the torso panel (``u`` across from the wearer's right to left, ``v`` down in torso
lengths from the shoulder line); panels 2 and 3 are the wearer's right and left sleeves (``u`` around, ``v`` along in
arm lengths from the shoulder). Lower garments and the skirt of a dress: panels 4 and 5 are the wearer's right and
left trouser legs (``u`` around, ``v`` along: 0 at the hip, 0.5 at the knee, 1 at the ankle) and panel 6 is the waist
band of trousers and shorts or the skirt (``u`` across, ``v`` down in torso lengths from the waist). Patterns are
evaluated in a flat "garment space" ``(X, Y)`` laid out like the in-shop image, so a stripe crosses the torso panel the
same way on every body.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from garment_transfer.data.synth.params import Garment

SLEEVE_SPACE_WIDTH = 0.35  # the sleeve's circumference in garment-space units (the torso panel is 1 wide)
SLEEVE_SPACE_OFFSET = 0.75  # sleeves sit beside the panel in garment space
LEG_SPACE_WIDTH = 0.5  # a trouser leg's circumference in garment-space units
LEG_SPACE_OFFSET = 0.3  # the legs' centres beside the garment's middle
LEG_SPACE_LENGTH = 1.4  # a trouser leg from hip to ankle, in garment-space units
WAIST_Y = 0.8  # garment-space Y of the waist (LOWER_WAIST_T): a dress's skirt continues its bodice's pattern
BAND_LENGTH = 0.2  # the waist band of trousers, waist to hip line, in torso lengths


@lru_cache(maxsize=64)
def _noise_grid(seed: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).random((size, size))


def _periodic_noise(seed: int, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Smooth value noise in [0, 1] on a periodic 8 x 8 lattice, bilinearly interpolated."""
    grid = _noise_grid(seed)
    n = grid.shape[0]
    gx, gy = X * n / 2.0, Y * n / 2.0
    x0, y0 = np.floor(gx).astype(int), np.floor(gy).astype(int)
    fx, fy = gx - x0, gy - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    a, b = grid[y0 % n, x0 % n], grid[y0 % n, (x0 + 1) % n]
    c, d = grid[(y0 + 1) % n, x0 % n], grid[(y0 + 1) % n, (x0 + 1) % n]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _motif(g: Garment, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Mask of the print motif centred on the chest of the torso panel."""
    dx, dy = X, Y - 0.38
    r = g.motif_size / 2
    if g.motif == "circle":
        return dx * dx + dy * dy <= r * r
    if g.motif == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) <= r * 0.85
    if g.motif == "triangle":
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    angle = np.arctan2(dy, dx)
    return np.hypot(dx, dy) <= r * (0.65 + 0.35 * np.cos(5 * angle))


def garment_space(panel: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map garment coordinates to the flat garment space ``(X, Y)``; all arrays (N,)."""
    if panel.size and panel.max() <= 3:  # upper garments (panels 0-3): torso, then two sleeves
        side = np.where(panel == 2, -1.0, 1.0)
        sleeve = panel >= 2
        X = np.where(sleeve, side * SLEEVE_SPACE_OFFSET + (u - 0.5) * SLEEVE_SPACE_WIDTH, u - 0.5)
        return X, v.astype(np.float64)
    side = np.where((panel == 2) | (panel == 4), -1.0, 1.0)
    sleeve, leg = (panel == 2) | (panel == 3), (panel == 4) | (panel == 5)
    X = np.where(sleeve, side * SLEEVE_SPACE_OFFSET + (u - 0.5) * SLEEVE_SPACE_WIDTH, u - 0.5)
    X = np.where(leg, side * LEG_SPACE_OFFSET + (u - 0.5) * LEG_SPACE_WIDTH, X)
    Y = v.astype(np.float64)
    Y = np.where(panel == 6, WAIST_Y + Y, np.where(leg, WAIST_Y + BAND_LENGTH + Y * LEG_SPACE_LENGTH, Y))
    return X, Y


def garment_colors(g: Garment, panel: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unshaded RGB in [0, 1] of the garment at garment coordinates; ``panel``, ``u``, ``v`` (N,) -> (N, 3)."""
    X, Y = garment_space(panel, u, v)
    base, accent = np.asarray(g.base), np.asarray(g.accent)
    f = g.frequency
    if g.pattern in ("solid", "print"):
        mix = np.zeros_like(X)
    elif g.pattern == "stripes":
        a = np.deg2rad(g.angle_deg)
        mix = (((X * np.cos(a) + Y * np.sin(a)) * f + g.phase) % 1.0 < g.duty).astype(float)
    elif g.pattern == "checks":
        sx = (X * f + g.phase) % 1.0 < 0.5
        sy = (Y * f + g.phase) % 1.0 < 0.5
        mix = 0.5 * sx + 0.5 * sy
    elif g.pattern == "dots":
        qx = (X * f + g.phase) % 1.0 - 0.5
        qy = (Y * f + g.phase) % 1.0 - 0.5
        mix = (qx * qx + qy * qy < (0.5 * g.duty) ** 2).astype(float)
    else:  # noise: a three-tone camouflage from smooth value noise
        value = _periodic_noise(g.texture_seed, X, Y)
        mix = np.digitize(value, [0.42, 0.6]) / 2.0
    colors = base * (1 - mix[:, None]) + accent * mix[:, None]
    if g.pattern == "print":
        motif = _motif(g, X, Y) & (panel == 1)
        colors[motif] = g.accent2
    return colors
