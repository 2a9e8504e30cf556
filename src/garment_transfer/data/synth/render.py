"""Rendering a posed person, the same person in another upper garment, and a garment laid flat (in-shop image).

The figure is a set of tapered segments (torso, neck, arms, legs, feet) and ellipses (head, hair) placed by the
body's pose. Layers are painted back to front: back hair, legs, torso skin, neck, lower garment, shoes, the upper
garment's torso panel, head and hair, front hair, then each arm with its sleeve (the front arm last). Garment pixels
carry garment coordinates (see :mod:`texture`), body pixels DensePose IUV: the part index and the part's own
``U`` (across) and ``V`` (along) in [0, 1]. Because a garment is defined in garment coordinates, rendering person B
with person A's garment gives the true garment transfer, and every garment pixel's origin in A is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from garment_transfer.data.labels import CIHP
from garment_transfer.data.labels import DENSEPOSE as DP
from garment_transfer.data.synth.params import Body, Bottom, Dress, Garment, Limb, LowerGarment, Person, Scene
from garment_transfer.data.synth.raster import Canvas, Ellipse, Segment, Window
from garment_transfer.data.synth.texture import garment_colors

SIGN = (-1.0, 1.0)  # side 0 is the person's right, on the image left
ARM_PARSE = (CIHP["right_arm"], CIHP["left_arm"])
LEG_PARSE = (CIHP["right_leg"], CIHP["left_leg"])
SHOE_PARSE = (CIHP["right_shoe"], CIHP["left_shoe"])
UPPER_ARM_PART = (DP["upper_arm_right"], DP["upper_arm_left"])
LOWER_ARM_PART = (DP["lower_arm_right"], DP["lower_arm_left"])
HAND_PART = (DP["right_hand"], DP["left_hand"])
UPPER_LEG_PART = (DP["upper_leg_right"], DP["upper_leg_left"])
LOWER_LEG_PART = (DP["lower_leg_right"], DP["lower_leg_left"])
FOOT_PART = (DP["right_foot"], DP["left_foot"])
TORSO_PANEL, SLEEVE_PANELS = 1, (2, 3)  # garment panel ids; sleeve panel of side k is SLEEVE_PANELS[k]
LEG_PANELS, SKIRT_PANEL = (4, 5), 6  # trouser leg of side k, and the waist band / skirt (texture.py)
UPPER_PANELS, BOTTOM_PANELS, DRESS_PANELS = (1, 2, 3), (4, 5, 6), (1, 2, 3, 6)  # the panels of each category
NOMINAL_THIGH = 0.75  # thigh length in torso lengths of an average body: a skirt's extent in garment coordinates

TORSO_KNOTS_T = (0.0, 0.28, 0.62, 1.0, 1.5)
SHOULDER_DROP = 0.09  # the torso's top edge falls this many torso lengths from the neck to the shoulder tip
LOWER_WAIST_T = 0.8  # where trousers and skirts start, in torso lengths
HAND_SHADE = 0.92


@dataclass(frozen=True)
class Figure:
    """A posed body in pixels: spine axes ``d`` (down) and ``n`` (image right), and its parts as segments.

    ``arms[k]`` is ``(upper, forearm, hand)`` and ``legs[k]`` is ``(thigh, shin, foot)`` for side ``k``.
    """

    d: np.ndarray
    n: np.ndarray
    head: Ellipse
    neck: Segment
    torso: Segment
    arms: tuple
    legs: tuple
    shoulder_hw: float
    unit: float


def _direction(d, n, sign: float, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return math.cos(a) * d + math.sin(a) * sign * n


def _limb(start, d, n, sign, limb: Limb, lengths, knots):
    """Two segments from ``start``: the first at ``limb.root_deg`` from down, the second bent by ``bend_deg``."""
    first = _direction(d, n, sign, limb.root_deg)
    joint = start + first * lengths[0]
    second = _direction(d, n, sign, limb.root_deg + limb.bend_deg)
    end = joint + second * lengths[1]
    return Segment(start, joint, (0, 1), knots[0]), Segment(joint, end, (0, 1), knots[1]), second


def pose_figure(body: Body, height: int, width: int) -> Figure:
    """Place the body's parts in a ``height`` x ``width`` frame."""
    unit = float(height)
    lean = math.radians(body.lean_deg)
    d = np.array([math.sin(lean), math.cos(lean)])
    n = np.array([d[1], -d[0]])
    head_c = np.array([width / 2 + body.center_dx * unit, (body.top + body.head_ry) * unit])
    neck_base = head_c + d * (body.head_ry * 0.9 + body.neck_len) * unit
    hw = np.array([body.shoulder_hw, body.chest_hw, body.waist_hw, body.hip_hw, body.hip_hw * 1.04]) * unit
    torso = Segment(neck_base, neck_base + d * body.torso_len * unit, TORSO_KNOTS_T, hw)
    neck = Segment(
        head_c + d * body.head_ry * 0.5 * unit,
        neck_base + d * 0.1 * body.torso_len * unit,
        (0, 1),
        (body.neck_hw * unit, body.neck_hw * 1.15 * unit),
    )
    arms, legs = [], []
    for side, sign in enumerate(SIGN):
        shoulder = (
            neck_base
            + sign * n * (body.shoulder_hw - body.arm_r) * unit
            + d * (SHOULDER_DROP * body.torso_len + 0.8 * body.arm_r) * unit
        )
        upper, fore, along = _limb(
            shoulder,
            d,
            n,
            sign,
            body.arms[side],
            (body.upper_arm_len * unit, body.forearm_len * unit),
            ((body.arm_r * unit, body.forearm_r * 1.1 * unit), (body.forearm_r * unit, body.forearm_r * 0.75 * unit)),
        )
        hand = Segment(
            fore.p1,
            fore.p1 + along * body.hand_len * unit,
            (0, 1),
            (body.forearm_r * 0.9 * unit, body.forearm_r * 0.8 * unit),
        )
        arms.append((upper, fore, hand))
        hip = torso.p1 + sign * n * (body.hip_hw - body.thigh_r) * unit - d * 0.6 * body.thigh_r * unit
        thigh, shin, along = _limb(
            hip,
            d,
            n,
            sign,
            body.legs[side],
            (body.thigh_len * unit, body.shin_len * unit),
            ((body.thigh_r * unit, body.shin_r * 1.1 * unit), (body.shin_r * unit, body.shin_r * 0.65 * unit)),
        )
        toe_dir = along * 0.4 + sign * n
        toe = shin.p1 + toe_dir / np.hypot(*toe_dir) * body.shin_r * 2.4 * unit
        foot = Segment(shin.p1, toe, (0, 1), (body.shin_r * 0.6 * unit, body.shin_r * 0.55 * unit))
        legs.append((thigh, shin, foot))
    head = Ellipse(head_c, body.head_rx * unit, body.head_ry * unit, d)
    return Figure(d, n, head, neck, torso, tuple(arms), tuple(legs), body.shoulder_hw * unit, unit)


# The flat lay: a straight, front-facing stand-in body that fills a portrait frame, arms 24 degrees out.
FLAT_BODY = Body(
    center_dx=0.0,
    top=0.035,
    lean_deg=0.0,
    head_rx=0.05,
    head_ry=0.05,
    neck_len=0.02,
    neck_hw=0.03,
    shoulder_hw=0.15,
    chest_hw=0.145,
    waist_hw=0.14,
    hip_hw=0.145,
    torso_len=0.48,
    upper_arm_len=0.25,
    forearm_len=0.22,
    arm_r=0.045,
    forearm_r=0.04,
    hand_len=0.0,
    thigh_len=0.2,
    shin_len=0.2,
    thigh_r=0.05,
    shin_r=0.04,
    arms=(Limb(24.0, 0.0), Limb(24.0, 0.0)),
    legs=(Limb(0, 0), Limb(0, 0)),
    front_arm=1,
    skin=(1.0, 1.0, 1.0),
    hair_color=(0, 0, 0),
    long_hair=False,
    hair_len=0.0,
    shoe_color=(0, 0, 0),
)


def _flat_figure(garment: Garment, height: int, width: int, body: Body = FLAT_BODY) -> Figure:
    """The flat-lay stand-in, its sleeves attached at the shoulder edge of this garment's (fit-widened) panel."""
    fig = pose_figure(body, height, width)
    arms = []
    for sign, (upper, fore, hand) in zip(SIGN, fig.arms):
        shift = sign * fig.n * fig.shoulder_hw * garment.fit
        arms.append(
            tuple(Segment(seg.p0 + shift, seg.p1 + shift, seg.knots_t, seg.knots_hw) for seg in (upper, fore, hand))
        )
    return replace(fig, arms=tuple(arms))


# ----------------------------------------------------------------------------------------------------- garments
def panel_segment(fig: Figure, g: Garment) -> Segment:
    """The torso panel: the torso's axis, widened by the fit and narrowed to straps at the top when sleeveless."""
    t = np.array([0.0, 0.1, 0.2, 0.28, 0.62, 1.0, 1.5])
    strap = 1.0 - g.strap * np.clip(1.0 - t / 0.3, 0.0, 1.0)
    return Segment(fig.torso.p0, fig.torso.p1, t, fig.torso.half_width(t) * (1.0 + g.fit) * strap)


def sleeve_segments(fig: Figure, g: Garment, side: int) -> tuple[Segment, Segment]:
    upper, fore, _ = fig.arms[side]
    widen = 1.0 + g.sleeve_fit
    return (
        Segment(upper.p0, upper.p1, upper.knots_t, upper.knots_hw * widen * 1.05),
        Segment(fore.p0, fore.p1, fore.knots_t, fore.knots_hw * widen),
    )


def garment_point(fig: Figure, g: Garment, panel, u, v):
    """Where garment coordinates ``(panel, u, v)`` (each (N,)) lie on ``fig``: pixel positions ``(x, y)``."""
    panel, u, v = (np.asarray(a, dtype=np.float64) for a in (panel, u, v))
    x, y = np.full(panel.shape, np.nan), np.full(panel.shape, np.nan)
    on_panel = panel == TORSO_PANEL
    seg = panel_segment(fig, g)
    x[on_panel], y[on_panel] = seg.point(v[on_panel], (2 * u[on_panel] - 1) * seg.half_width(v[on_panel]))
    for side, sign in enumerate(SIGN):
        upper, fore = sleeve_segments(fig, g, side)
        along = v * (upper.length + fore.length)
        for seg, sel, t in (
            (upper, along <= upper.length, along / upper.length),
            (fore, along > upper.length, (along - upper.length) / fore.length),
        ):
            sel = sel & (panel == SLEEVE_PANELS[side])
            x[sel], y[sel] = seg.point(t[sel], sign * (2 * u[sel] - 1) * seg.half_width(t[sel]))
    return x, y


def _shade(s: np.ndarray, strength: float) -> np.ndarray:
    """Cylindrical shading of across coordinate ``s`` in [-1, 1], lit slightly from the image right."""
    return (1.0 - strength * s * s + 0.05 * strength * s)[:, None]


def _paint_garment(
    canvas: Canvas,
    g: Garment,
    win: Window,
    mask,
    panel: int,
    s,
    u,
    v,
    shading: float,
    parse_id: int = CIHP["upper_clothes"],
) -> None:
    """Paint garment pixels ``mask`` of ``win``; ``s`` (across), ``u``, ``v`` (garment coordinates) are (N,), one
    per masked pixel in row-major order."""
    panel_ids = np.full(u.shape, panel, np.uint8)
    folds = 1.0 - g.fold_amplitude * 0.5 * (1 + np.sin(2 * np.pi * g.fold_frequency * u + 7 * v))
    color = garment_colors(g, panel_ids, u, v) * _shade(s, shading) * folds[:, None]
    canvas.paint(win, mask, color, parse_id, garment=(panel, u, v))


def paint_panel(canvas: Canvas, fig: Figure, g: Garment, shading: float, parse_id: int = CIHP["upper_clothes"]) -> None:
    seg = panel_segment(fig, g)
    win = canvas.segment_window(seg, 0.0, g.hem)
    if win is None:
        return
    t, sp, hw = seg.local(win)
    s = sp / hw
    top = SHOULDER_DROP * (sp / fig.shoulder_hw) ** 2
    u = (s + 1) / 2
    a = np.abs(u - 0.5) / g.neck_hw
    profile = {"round": np.sqrt(np.clip(1 - a * a, 0, 1)), "v": np.clip(1 - a, 0, 1), "square": (a < 1) * 1.0}
    neck_hole = (a < 1) & (t < top + g.neck_depth * profile[g.neckline])
    mask = (t <= g.hem) & (np.abs(s) <= 1) & (t >= top) & ~neck_hole
    _paint_garment(canvas, g, win, mask, TORSO_PANEL, s[mask], u[mask], t[mask], g.shading * shading, parse_id)


def paint_neck_back(canvas: Canvas, fig: Figure, g: Garment) -> None:
    """The inside of the back of the garment, seen through the neck opening of a flat lay."""
    seg = panel_segment(fig, g)
    win = canvas.segment_window(seg, 0.0, g.neck_depth + SHOULDER_DROP)
    if win is None:
        return
    t, sp, hw = seg.local(win)
    a = np.abs(sp / hw) / (2 * g.neck_hw)
    mask = (a < 1) & (t >= SHOULDER_DROP * (sp / fig.shoulder_hw) ** 2 + 0.02) & (t < g.neck_depth + SHOULDER_DROP)
    canvas.paint(win, mask, np.asarray(g.base) * 0.6, CIHP["upper_clothes"], garment=(0, 0.0, 0.0))


def paint_sleeve(
    canvas: Canvas, fig: Figure, g: Garment, side: int, shading: float, parse_id: int = CIHP["upper_clothes"]
) -> None:
    upper, fore = sleeve_segments(fig, g, side)
    total = upper.length + fore.length
    reach = g.sleeve * total
    for seg, start in ((upper, 0.0), (fore, upper.length)):
        if reach <= start:
            break
        t_hi = min(1.0, (reach - start) / seg.length)
        win = canvas.segment_window(seg, 0.0, t_hi)
        if win is None:
            continue
        mask, t, s = seg.region(win, 0.0, t_hi, cap_lo=True)
        u = (SIGN[side] * s + 1) / 2
        _paint_garment(
            canvas,
            g,
            win,
            mask,
            SLEEVE_PANELS[side],
            s,
            u,
            (start + t * seg.length) / total,
            g.shading * shading,
            parse_id,
        )


# ------------------------------------------------------------------------------ lower garments and dresses
def skirt_extent(length: float) -> float:
    """A skirt's length in garment coordinates (torso lengths of an average body, from the waist)."""
    return (1.0 - LOWER_WAIST_T) + length * NOMINAL_THIGH


def skirt_segment(fig: Figure, length: float, flare: float) -> Segment:
    """A skirt (or a dress's skirt) on ``fig``: from the waist down the torso's axis to ``length`` thigh lengths past
    the hip line, its hem ``1.15 + flare`` times the hips' half-width."""
    torso = fig.torso
    start = np.stack(torso.point(LOWER_WAIST_T, 0.0))
    reach = (1.0 - LOWER_WAIST_T) * torso.length + length * fig.legs[0][0].length
    return Segment(
        start,
        start + torso.d * reach,
        (0, 1),
        (float(torso.half_width(LOWER_WAIST_T)) * 1.06, float(torso.half_width(1.0)) * (1.15 + flare)),
    )


def band_segment(fig: Figure, fit: float) -> Segment:
    """The waist band of trousers and shorts: the torso from the waist (``LOWER_WAIST_T``) to the hip line."""
    torso = fig.torso
    return Segment(torso.p0, torso.p1, torso.knots_t, torso.knots_hw * (1.05 + 0.3 * fit))


def leg_segments(fig: Figure, bottom: Bottom, side: int) -> tuple[Segment, Segment]:
    """A trouser leg of side ``side``: the thigh and the shin widened by the garment's fit."""
    thigh, shin, _ = fig.legs[side]
    return (
        Segment(thigh.p0, thigh.p1, thigh.knots_t, thigh.knots_hw * (1.18 + bottom.fit)),
        Segment(shin.p0, shin.p1, shin.knots_t, shin.knots_hw * (1.3 + bottom.fit)),
    )


def paint_skirt(
    canvas: Canvas, fig: Figure, texture: Garment, length: float, flare: float, parse_id: int, shading: float
) -> None:
    seg = skirt_segment(fig, length, flare)
    win = canvas.segment_window(seg)
    if win is None:
        return
    mask, t, s = seg.region(win)
    _paint_garment(
        canvas,
        texture,
        win,
        mask,
        SKIRT_PANEL,
        s,
        (s + 1) / 2,
        t * skirt_extent(length),
        texture.shading * shading,
        parse_id,
    )


def paint_bottom(canvas: Canvas, fig: Figure, bottom: Bottom, shading: float) -> None:
    """A transferable lower garment in garment coordinates (panels 4, 5, 6), parsed as pants or skirt."""
    texture = bottom.texture
    if bottom.kind == "skirt":
        paint_skirt(canvas, fig, texture, bottom.length, bottom.flare, CIHP["skirt"], shading)
        return
    band = band_segment(fig, bottom.fit)
    win = canvas.segment_window(band, LOWER_WAIST_T, 1.0)
    if win is not None:
        mask, t, s = band.region(win, LOWER_WAIST_T, 1.0)
        _paint_garment(
            canvas,
            texture,
            win,
            mask,
            SKIRT_PANEL,
            s,
            (s + 1) / 2,
            t - LOWER_WAIST_T,
            texture.shading * shading,
            CIHP["pants"],
        )
    shorts = bottom.kind == "shorts"
    for side, sign in enumerate(SIGN):
        thigh, shin = leg_segments(fig, bottom, side)
        parts = ((thigh, 0.0, bottom.length if shorts else 1.0, (True, not shorts)),) + (
            () if shorts else ((shin, 0.5, 1.0, (True, False)),)
        )
        for seg, start, t_hi, caps in parts:
            win = canvas.segment_window(seg, 0.0, t_hi)
            if win is None:
                continue
            mask, t, s = seg.region(win, 0.0, t_hi, cap_lo=caps[0], cap_hi=caps[1])
            _paint_garment(
                canvas,
                texture,
                win,
                mask,
                LEG_PANELS[side],
                s,
                (sign * s + 1) / 2,
                start + 0.5 * t,
                texture.shading * shading,
                CIHP["pants"],
            )


def bottom_point(fig: Figure, bottom: Bottom, panel, u, v):
    """Where garment coordinates ``(panel, u, v)`` of a lower garment lie on ``fig`` (NaN for other panels)."""
    panel, u, v = (np.asarray(a, dtype=np.float64) for a in (panel, u, v))
    x, y = np.full(panel.shape, np.nan), np.full(panel.shape, np.nan)
    sel = panel == SKIRT_PANEL
    if bottom.kind == "skirt":
        seg, t = skirt_segment(fig, bottom.length, bottom.flare), v / skirt_extent(bottom.length)
    else:
        seg, t = band_segment(fig, bottom.fit), LOWER_WAIST_T + v
    x[sel], y[sel] = seg.point(t[sel], (2 * u[sel] - 1) * seg.half_width(t[sel]))
    for side, sign in enumerate(SIGN):
        thigh, shin = leg_segments(fig, bottom, side)
        for seg, part, t in ((thigh, v <= 0.5, v / 0.5), (shin, v > 0.5, (v - 0.5) / 0.5)):
            sel = part & (panel == LEG_PANELS[side])
            x[sel], y[sel] = seg.point(t[sel], sign * (2 * u[sel] - 1) * seg.half_width(t[sel]))
    return x, y


def dress_point(fig: Figure, dress: Dress, panel, u, v):
    """Where garment coordinates ``(panel, u, v)`` of a dress lie on ``fig``: bodice and sleeves as an upper
    garment, panel 6 on its skirt."""
    x, y = garment_point(fig, dress.top, panel, u, v)
    panel, u, v = (np.asarray(a, dtype=np.float64) for a in (panel, u, v))
    sel = panel == SKIRT_PANEL
    seg = skirt_segment(fig, dress.length, dress.flare)
    t = v[sel] / skirt_extent(dress.length)
    x[sel], y[sel] = seg.point(t, (2 * u[sel] - 1) * seg.half_width(t))
    return x, y


# ----------------------------------------------------------------------------------------------------- body
def _paint_part(
    canvas: Canvas,
    seg: Segment,
    color,
    shading: float,
    parse_id: int,
    part: int,
    sign: float = 1.0,
    cap_lo=True,
    cap_hi=True,
) -> None:
    win = canvas.segment_window(seg)
    if win is None:
        return
    mask, t, s = seg.region(win, cap_lo=cap_lo, cap_hi=cap_hi)
    canvas.paint(win, mask, np.asarray(color) * _shade(s, shading), parse_id, body=(part, (sign * s + 1) / 2, t))


def _paint_plain(
    canvas: Canvas, seg: Segment, color, parse_id: int, t_lo=0.0, t_hi=1.0, caps=(True, True), shading=0.15
) -> None:
    """A clothing or hair layer: covers image and parsing, leaves DensePose alone."""
    win = canvas.segment_window(seg, t_lo, t_hi)
    if win is None:
        return
    mask, _, s = seg.region(win, t_lo, t_hi, cap_lo=caps[0], cap_hi=caps[1])
    canvas.paint(win, mask, np.asarray(color) * _shade(s, shading), parse_id)


def paint_torso(canvas: Canvas, fig: Figure, skin, shading: float) -> None:
    win = canvas.segment_window(fig.torso)
    t, sp, hw = fig.torso.local(win)
    s = np.clip(sp / hw, -1, 1)
    mask = (t <= 1) & (np.abs(sp) <= hw) & (t >= SHOULDER_DROP * (sp / fig.shoulder_hw) ** 2)
    canvas.paint(
        win,
        mask,
        np.asarray(skin) * _shade(s[mask], shading),
        CIHP["torso_skin"],
        body=(DP["torso_front"], (s[mask] + 1) / 2, np.clip(t[mask], 0, 1)),
    )


def paint_lower(canvas: Canvas, fig: Figure, lower: LowerGarment, body: Body) -> None:
    color, torso = lower.color, fig.torso
    if lower.kind == "skirt":
        start = torso.point(LOWER_WAIST_T, 0.0)
        length = (1 - LOWER_WAIST_T) + lower.length * body.thigh_len / body.torso_len * 1.3
        end = torso.point(LOWER_WAIST_T + length, 0.0)
        seg = Segment(
            np.stack(start),
            np.stack(end),
            (0, 1),
            (torso.half_width(LOWER_WAIST_T) * 1.06, body.hip_hw * fig.unit * (1.15 + lower.flare)),
        )
        _paint_plain(canvas, seg, color, CIHP["skirt"], caps=(False, False))
        return
    band = Segment(torso.p0, torso.p1, torso.knots_t, torso.knots_hw * 1.05)
    _paint_plain(canvas, band, color, CIHP["pants"], t_lo=LOWER_WAIST_T, t_hi=1.0, caps=(False, False))
    for thigh, shin, _ in fig.legs:
        loose = Segment(thigh.p0, thigh.p1, thigh.knots_t, thigh.knots_hw * 1.18)
        shorts = lower.kind == "shorts"
        _paint_plain(canvas, loose, color, CIHP["pants"], t_hi=lower.length if shorts else 1.0, caps=(True, not shorts))
        if lower.kind == "trousers":
            _paint_plain(
                canvas,
                Segment(shin.p0, shin.p1, shin.knots_t, shin.knots_hw * 1.3),
                color,
                CIHP["pants"],
                caps=(True, False),
            )


def paint_head(canvas: Canvas, fig: Figure, body: Body, shading: float) -> None:
    head = fig.head
    reach = np.stack(
        [head.c - 1.2 * head.rx * fig.n - 1.2 * head.ry * fig.d, head.c + 1.2 * head.rx * fig.n + 1.2 * head.ry * fig.d]
    )
    win = canvas.window(reach, 2.0)
    if win is None:
        return
    ex, ey = head.local(win)
    face = ex * ex + ey * ey <= 1
    canvas.paint(
        win,
        face,
        np.asarray(body.skin) * _shade(np.clip(ex[face], -1, 1), shading),
        CIHP["face"],
        body=(DP["head"], np.clip((ex[face] + 1) / 2, 0, 1), np.clip((ey[face] + 1) / 2, 0, 1)),
    )
    hx, hy = ex / 1.12, (ey + 0.06) / 1.1
    cap = hx * hx + hy * hy <= 1
    hair = cap & ((ey < -0.45 + 0.35 * ex * ex) | (~face & (ey < 0.15)))
    canvas.paint(win, hair, np.asarray(body.hair_color) * _shade(np.clip(ex[hair], -1, 1), 0.3), CIHP["hair"])


def _hair_locks(fig: Figure, body: Body) -> tuple[list[Segment], Segment]:
    """The long hair behind the head and the two front locks over the shoulders."""
    head, d, n, unit = fig.head, fig.d, fig.n, fig.unit
    back = Segment(head.c, head.c + d * (body.head_ry + body.hair_len) * unit, (0, 1), (head.rx * 1.15, head.rx * 1.0))
    locks = [
        Segment(
            head.c + sign * n * head.rx * 0.85 - d * head.ry * 0.2,
            head.c + sign * n * head.rx * 0.95 + d * (body.head_ry + body.hair_len * 0.8) * unit,
            (0, 1),
            (head.rx * 0.22, head.rx * 0.18),
        )
        for sign in SIGN
    ]
    return locks, back


def paint_arm(canvas: Canvas, fig: Figure, body: Body, side: int, shading: float) -> None:
    upper, fore, hand = fig.arms[side]
    sign = SIGN[side]
    _paint_part(canvas, upper, body.skin, shading, ARM_PARSE[side], UPPER_ARM_PART[side], sign)
    _paint_part(canvas, fore, body.skin, shading, ARM_PARSE[side], LOWER_ARM_PART[side], sign)
    _paint_part(canvas, hand, np.asarray(body.skin) * HAND_SHADE, shading, ARM_PARSE[side], HAND_PART[side], sign)


def paint_legs(canvas: Canvas, fig: Figure, body: Body, shading: float) -> None:
    for side, (thigh, shin, _) in enumerate(fig.legs):
        _paint_part(canvas, thigh, body.skin, shading, LEG_PARSE[side], UPPER_LEG_PART[side], SIGN[side])
        _paint_part(canvas, shin, body.skin, shading, LEG_PARSE[side], LOWER_LEG_PART[side], SIGN[side])


def paint_feet(canvas: Canvas, fig: Figure, body: Body) -> None:
    for side, (_, _, foot) in enumerate(fig.legs):
        _paint_part(canvas, foot, body.shoe_color, 0.2, SHOE_PARSE[side], FOOT_PART[side], SIGN[side])


def paint_background(canvas: Canvas, scene: Scene) -> None:
    top, bottom = np.asarray(scene.top_color), np.asarray(scene.bottom_color if scene.gradient else scene.top_color)
    ramp = (canvas.ys / canvas.height)[:, None, None]
    canvas.image[:] = top * (1 - ramp) + bottom * ramp


# ----------------------------------------------------------------------------------------------------- renders
@dataclass(frozen=True)
class Rendering:
    """One rendered person. ``image`` (H, W, 3) uint8; ``parse`` (H, W) CIHP ids; ``iuv`` (H, W, 3) uint8 (I,
    U * 255, V * 255); ``panel`` (H, W) garment panel ids and ``garment_uv`` (H, W, 2) float32 garment coordinates;
    ``figure`` the posed body the garment was fitted to."""

    image: np.ndarray
    parse: np.ndarray
    iuv: np.ndarray
    panel: np.ndarray
    garment_uv: np.ndarray
    figure: Figure


def _to_uint8(image: np.ndarray) -> np.ndarray:
    scaled = image * 255.0
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def render_person(
    person: Person,
    height: int,
    width: int,
    garment: Garment | None = None,
    bottom: Bottom | None = None,
    dress: Dress | None = None,
) -> Rendering:
    """Render ``person``; with ``garment`` (``bottom``, ``dress``), the same person, pose and scene wearing that
    upper garment (lower garment, dress) instead. A person of the ``lower`` category wears ``person.bottom`` in
    place of the plain lower garment, one of the ``dresses`` category ``person.dress`` in place of both garments."""
    body, scene = person.body, person.scene
    g = person.garment if garment is None else garment
    bottom = person.bottom if bottom is None else bottom
    dress = person.dress if dress is None else dress
    fig = pose_figure(body, height, width)
    canvas = Canvas(height, width)
    paint_background(canvas, scene)
    sh = scene.shading
    if body.long_hair:
        locks, back = _hair_locks(fig, body)
        _paint_plain(canvas, back, np.asarray(body.hair_color) * 0.85, CIHP["hair"])
    paint_legs(canvas, fig, body, sh)
    paint_torso(canvas, fig, body.skin, sh)
    _paint_part(
        canvas,
        fig.neck,
        np.asarray(body.skin) * 0.95,
        sh,
        CIHP["torso_skin"],
        DP["torso_front"],
        cap_lo=False,
        cap_hi=False,
    )
    if dress is not None:
        paint_skirt(canvas, fig, dress.top, dress.length, dress.flare, CIHP["dress"], 1.0)
    elif bottom is not None:
        paint_bottom(canvas, fig, bottom, 1.0)
    else:
        paint_lower(canvas, fig, person.lower, body)
    paint_feet(canvas, fig, body)
    top, top_parse = (dress.top, CIHP["dress"]) if dress is not None else (g, CIHP["upper_clothes"])
    paint_panel(canvas, fig, top, 1.0, top_parse)
    paint_head(canvas, fig, body, sh)
    if body.long_hair:
        for lock in locks:
            _paint_plain(canvas, lock, body.hair_color, CIHP["hair"])
    for side in (1 - body.front_arm, body.front_arm):
        paint_arm(canvas, fig, body, side, sh)
        paint_sleeve(canvas, fig, top, side, 1.0, top_parse)
    image = np.random.default_rng(scene.noise_seed).standard_normal((height, width, 3), dtype=np.float32)
    image *= np.float32(scene.noise_std / 255.0)
    image += canvas.image  # in place: the same sums as image + noise * std, without temporaries
    iuv = np.stack([canvas.part, _to_uint8(canvas.u), _to_uint8(canvas.v)], axis=-1)
    iuv[canvas.part == 0] = 0
    return Rendering(_to_uint8(image), canvas.parse, iuv, canvas.panel, np.stack([canvas.gu, canvas.gv], -1), fig)


def render_shop(garment: Garment, height: int, width: int) -> tuple[np.ndarray, np.ndarray, Rendering]:
    """The garment laid flat on white: ``(cloth (H, W, 3) uint8, mask (H, W) uint8 0 / 255, rendering)``."""
    fig = _flat_figure(garment, height, width)
    canvas = Canvas(height, width)
    canvas.image[:] = 1.0
    flat = replace(garment, fold_amplitude=garment.fold_amplitude * 0.3)
    paint_neck_back(canvas, fig, flat)
    paint_panel(canvas, fig, flat, 0.3)
    for side in (0, 1):
        paint_sleeve(canvas, fig, flat, side, 0.3)
    return _shop_result(canvas, fig)


def _shop_result(canvas: Canvas, fig: Figure) -> tuple[np.ndarray, np.ndarray, Rendering]:
    height, width = canvas.height, canvas.width
    mask = np.where(canvas.parse > 0, 255, 0).astype(np.uint8)
    rendering = Rendering(
        _to_uint8(canvas.image),
        canvas.parse,
        np.zeros((height, width, 3), np.uint8),
        canvas.panel,
        np.stack([canvas.gu, canvas.gv], -1),
        fig,
    )
    return rendering.image, mask, rendering


# Flat lays of lower garments and dresses: stand-in bodies placed so the garment fills a portrait frame (the head
# is above the frame: only the garment is painted).
FLAT_BOTTOM_BODY = replace(
    FLAT_BODY,
    top=-0.27,
    torso_len=0.3,
    hip_hw=0.13,
    waist_hw=0.125,
    thigh_len=0.4,
    shin_len=0.39,
    thigh_r=0.062,
    shin_r=0.05,
    legs=(Limb(7.0, 0.0), Limb(7.0, 0.0)),
)
FLAT_DRESS_BODY = replace(
    FLAT_BODY,
    top=-0.02,
    head_ry=0.04,
    neck_len=0.015,
    shoulder_hw=0.105,
    chest_hw=0.1,
    waist_hw=0.09,
    hip_hw=0.1,
    torso_len=0.3,
    upper_arm_len=0.16,
    forearm_len=0.14,
    arm_r=0.032,
    forearm_r=0.028,
    thigh_len=0.3,
    legs=(Limb(0.0, 0.0), Limb(0.0, 0.0)),
)


def render_shop_bottom(bottom: Bottom, height: int, width: int) -> tuple[np.ndarray, np.ndarray, Rendering]:
    """A lower garment laid flat on white (waist at the top, legs down): ``(cloth, mask, rendering)``."""
    fig = pose_figure(FLAT_BOTTOM_BODY, height, width)
    canvas = Canvas(height, width)
    canvas.image[:] = 1.0
    texture = bottom.texture
    paint_bottom(
        canvas, fig, replace(bottom, texture=replace(texture, fold_amplitude=texture.fold_amplitude * 0.3)), 0.3
    )
    return _shop_result(canvas, fig)


def render_shop_dress(dress: Dress, height: int, width: int) -> tuple[np.ndarray, np.ndarray, Rendering]:
    """A dress laid flat on white: ``(cloth, mask, rendering)``."""
    fig = _flat_figure(dress.top, height, width, FLAT_DRESS_BODY)
    canvas = Canvas(height, width)
    canvas.image[:] = 1.0
    flat = replace(dress.top, fold_amplitude=dress.top.fold_amplitude * 0.3)
    paint_neck_back(canvas, fig, flat)
    paint_skirt(canvas, fig, flat, dress.length, dress.flare, CIHP["dress"], 0.3)
    paint_panel(canvas, fig, flat, 0.3, CIHP["dress"])
    for side in (0, 1):
        paint_sleeve(canvas, fig, flat, side, 0.3, CIHP["dress"])
    return _shop_result(canvas, fig)


def correspondence(
    target: Rendering,
    source: Rendering,
    garment: Garment,
    tolerance: float = 1.5,
    locate=None,
    panels: tuple[int, ...] = UPPER_PANELS,
) -> np.ndarray:
    """For each garment pixel of ``target`` (a rendering wearing ``garment``), where it is in ``source``.

    Args:
        locate: ``locate(figure, panel, u, v) -> (x, y)``, where garment coordinates lie on a figure; default the
            upper garment's (:func:`garment_point` of ``garment``); :func:`bottom_point`, :func:`dress_point` for
            the other categories.
        panels: the panels of the transferred garment (the other garment's pixels get -1).

    Returns:
        (2, H, W) float32 ``(x, y)`` in pixel-index units (pixel ``[r, c]`` is at ``(c, r)``), -1 where the target
        pixel is not garment or the garment point is hidden in the source (by an arm, hair, another panel).
    """
    if locate is None:

        def locate(fig, panel, u, v):
            return garment_point(fig, garment, panel, u, v)

    height, width = target.panel.shape
    flow = np.full((2, height, width), -1.0, np.float32)
    rows, cols = np.nonzero(np.isin(target.panel, panels))
    panel = target.panel[rows, cols]
    x, y = locate(source.figure, panel, *target.garment_uv[rows, cols].T)
    finite = np.isfinite(x) & np.isfinite(y)
    c = np.floor(np.where(finite, x, -1.0)).astype(int)
    r = np.floor(np.where(finite, y, -1.0)).astype(int)
    inside = (c >= 0) & (c < width) & (r >= 0) & (r < height)
    c, r = np.clip(c, 0, width - 1), np.clip(r, 0, height - 1)
    seen_panel = source.panel[r, c]
    x2, y2 = locate(source.figure, seen_panel, *source.garment_uv[r, c].T)
    with np.errstate(invalid="ignore"):
        visible = inside & (seen_panel == panel) & (np.hypot(x2 - x, y2 - y) <= tolerance)
    flow[0, rows[visible], cols[visible]] = x[visible] - 0.5
    flow[1, rows[visible], cols[visible]] = y[visible] - 0.5
    return flow
