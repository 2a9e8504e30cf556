"""Rasterising the figure: tapered segments and ellipses in local coordinates, painted in layers on a canvas.

Conventions: points are ``(x, y)`` in pixels, x to the right, y down; pixel ``[row, col]`` has its centre at
``(col + 0.5, row + 0.5)``. A :class:`Segment` from ``p0`` to ``p1`` gives every pixel an along coordinate ``t``
(0 at ``p0``, 1 at ``p1``, not clipped) and an across distance ``sp`` in pixels, positive along
``n = (dy, -dx)`` (to the image right when the segment points down). Its half-width is piecewise linear in ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """A rectangle of the canvas: ``rows`` / ``cols`` slices and pixel-centre coordinates ``x`` (1, w), ``y`` (h, 1)."""

    rows: slice
    cols: slice
    x: np.ndarray
    y: np.ndarray


class Segment:
    """A tapered segment with half-width knots ``(t_i, hw_i)`` (``hw`` in pixels, constant beyond the end knots)."""

    def __init__(self, p0, p1, knots_t, knots_hw):
        self.p0 = np.asarray(p0, dtype=np.float64)
        self.p1 = np.asarray(p1, dtype=np.float64)
        delta = self.p1 - self.p0
        self.length = max(float(np.hypot(*delta)), 1e-6)
        self.d = delta / self.length
        self.n = np.array([self.d[1], -self.d[0]])
        self.knots_t = np.asarray(knots_t, dtype=np.float64)
        self.knots_hw = np.asarray(knots_hw, dtype=np.float64)

    def half_width(self, t):
        return np.interp(t, self.knots_t, self.knots_hw)

    def point(self, t, sp):
        """Pixel position ``(x, y)`` of along ``t`` and across distance ``sp`` (pixels); broadcasts."""
        along = np.asarray(t) * self.length
        x = self.p0[0] + along * self.d[0] + np.asarray(sp) * self.n[0]
        y = self.p0[1] + along * self.d[1] + np.asarray(sp) * self.n[1]
        return x, y

    def extent(self, t_lo: float, t_hi: float) -> tuple[np.ndarray, float]:
        """Corner points of the axis over ``[t_lo, t_hi]`` and the largest half-width: a bounding region."""
        ends = np.stack(self.point(np.array([t_lo, t_hi]), 0.0), axis=1)
        return ends, float(self.knots_hw.max())

    def local(self, win: Window):
        """``(t, sp, hw)`` for every pixel of ``win``, each (h, w)."""
        rx = win.x - self.p0[0]
        ry = win.y - self.p0[1]
        t = (rx * self.d[0] + ry * self.d[1]) / self.length
        sp = rx * self.n[0] + ry * self.n[1]
        return t, sp, self.half_width(t)

    def region(self, win: Window, t_lo=0.0, t_hi=1.0, cap_lo=False, cap_hi=False):
        """Pixels inside the segment between ``t_lo`` and ``t_hi``, with optional round caps at either end.

        Returns:
            ``(inside, t, s)``: a boolean (h, w) mask, and for its pixels (row-major order, (N,) each) the along
            coordinate clipped to ``[t_lo, t_hi]`` and the across coordinate ``s = sp / hw`` clipped to [-1, 1].
        """
        t, sp, hw = self.local(win)
        inside = (t >= t_lo) & (t <= t_hi) & (np.abs(sp) <= hw)
        for flag, t_end, beyond in ((cap_lo, t_lo, t < t_lo), (cap_hi, t_hi, t > t_hi)):
            if flag:
                ex, ey = self.point(t_end, 0.0)
                radius = self.half_width(t_end)
                inside |= beyond & ((win.x - ex) ** 2 + (win.y - ey) ** 2 <= radius**2)
        t, sp, hw = t[inside], sp[inside], hw[inside]
        return inside, np.clip(t, t_lo, t_hi), np.clip(sp / np.maximum(hw, 1e-6), -1.0, 1.0)


class Ellipse:
    """An ellipse with centre ``c``, radii ``rx`` along ``n`` and ``ry`` along ``d`` (``d`` = the figure's down)."""

    def __init__(self, c, rx: float, ry: float, d):
        self.c = np.asarray(c, dtype=np.float64)
        self.rx, self.ry = rx, ry
        self.d = np.asarray(d, dtype=np.float64)
        self.n = np.array([self.d[1], -self.d[0]])

    def local(self, win: Window):
        """Normalised coordinates ``(ex, ey)``, each (h, w); the ellipse is ``ex**2 + ey**2 <= 1``."""
        rx = win.x - self.c[0]
        ry = win.y - self.c[1]
        return (rx * self.n[0] + ry * self.n[1]) / self.rx, (rx * self.d[0] + ry * self.d[1]) / self.ry


class Canvas:
    """Layered buffers of one rendering; later layers cover earlier ones.

    Buffers: ``image`` (H, W, 3) float32 RGB in [0, 1]; ``parse`` (H, W) CIHP ids; ``part`` (H, W) DensePose part
    index with ``u``, ``v`` in [0, 1] (painted by body layers only: DensePose describes the body under the clothes);
    ``panel`` (H, W) garment panel id (0 none) with garment coordinates ``gu``, ``gv``.
    """

    def __init__(self, height: int, width: int):
        self.height, self.width = height, width
        self.xs = np.arange(width, dtype=np.float64) + 0.5
        self.ys = np.arange(height, dtype=np.float64) + 0.5
        self.image = np.zeros((height, width, 3), np.float32)
        self.parse = np.zeros((height, width), np.uint8)
        self.part = np.zeros((height, width), np.uint8)
        self.u = np.zeros((height, width), np.float32)
        self.v = np.zeros((height, width), np.float32)
        self.panel = np.zeros((height, width), np.uint8)
        self.gu = np.zeros((height, width), np.float32)
        self.gv = np.zeros((height, width), np.float32)

    def window(self, points, pad: float) -> Window | None:
        """The canvas rectangle covering ``points`` (N, 2) grown by ``pad`` pixels; None when off the canvas."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        x0 = max(int(np.floor(points[:, 0].min() - pad)), 0)
        x1 = min(int(np.ceil(points[:, 0].max() + pad)) + 1, self.width)
        y0 = max(int(np.floor(points[:, 1].min() - pad)), 0)
        y1 = min(int(np.ceil(points[:, 1].max() + pad)) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return Window(slice(y0, y1), slice(x0, x1), self.xs[None, x0:x1], self.ys[y0:y1, None])

    def segment_window(self, seg: Segment, t_lo=0.0, t_hi=1.0) -> Window | None:
        ends, pad = seg.extent(t_lo, t_hi)
        return self.window(ends, pad + 1.0)

    def paint(self, win: Window, mask, color, parse_id: int, body=None, garment=None) -> None:
        """Cover the pixels of ``mask`` in ``win``.

        Args:
            color: (3,) or (N, 3) colours of the masked pixels, N = mask.sum().
            parse_id: CIHP id of the layer.
            body: ``(part, u, v)`` DensePose values for a body layer (scalars or (N,) arrays), else None.
            garment: ``(panel, gu, gv)`` for an upper-garment layer, else None (the layer then hides the garment).
        """
        r, c = np.nonzero(mask)  # once: each buffer below takes the same pixels in the same (row-major) order
        r += win.rows.start
        c += win.cols.start
        self.image[r, c] = color
        self.parse[r, c] = parse_id
        if body is not None:
            part, u, v = body
            self.part[r, c] = part
            self.u[r, c] = u
            self.v[r, c] = v
        if garment is None:
            self.panel[r, c] = 0
        else:
            self.panel[r, c] = garment[0]
            self.gu[r, c] = garment[1]
            self.gv[r, c] = garment[2]
