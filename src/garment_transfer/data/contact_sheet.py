"""A contact sheet: one PNG that shows what a generated data set looks like.

Each row is one true-transfer pair of the test split: the source person, their keypoints (the skeleton drawn over
the person), parsing, garment parts, DensePose, in-shop garment and its parts; the target; the true transfer and its
parsing; and the source image pulled through the stored garment correspondence (it should reproduce the transferred
garment, black where unseen). A set with several garment categories shows them in turn. Files a data set lacks
(keypoints and parts of sets written before engine 1.1) show as black tiles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from garment_transfer.data import io
from garment_transfer.data.formats import canonical
from garment_transfer.data.keypoints import skeleton_picture
from garment_transfer.data.labels import CIHP_PALETTE, DENSEPOSE_PALETTE, PARTS_PALETTE, colorize

COLUMNS = (
    "source",
    "keypoints",
    "parsing",
    "parts",
    "DensePose",
    "in-shop",
    "in-shop parts",
    "target",
    "true transfer",
    "its parsing",
    "via flow",
)
HEADER = 18


def densepose_picture(iuv: np.ndarray) -> np.ndarray:
    """(H, W, 3) IUV bytes -> a picture: part colour, brightened by U and V stripes so the surface shows."""
    color = colorize(iuv[..., 0], DENSEPOSE_PALETTE).astype(np.float32)
    ripple = 0.75 + 0.25 * np.cos(iuv[..., 1:3].astype(np.float32) / 255.0 * 6 * np.pi).mean(-1, keepdims=True)
    return (color * ripple).astype(np.uint8)


def pull_through_flow(source_image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Nearest-neighbour lookup of ``source_image`` at the flow's (x, y); black where the flow is -1."""
    out = np.zeros((*flow.shape[1:], 3), np.uint8)
    seen = flow[0] >= 0
    cols = np.clip(np.rint(flow[0][seen]).astype(int), 0, source_image.shape[1] - 1)
    rows = np.clip(np.rint(flow[1][seen]).astype(int), 0, source_image.shape[0] - 1)
    out[seen] = source_image[rows, cols]
    return out


def keypoint_picture(image: np.ndarray, points: np.ndarray | None) -> np.ndarray:
    """The skeleton of (K, 3) keypoints drawn over ``image`` (black where there are none)."""
    if points is None:
        return np.zeros_like(image)
    skeleton = skeleton_picture(points, image.shape[:2])
    return np.where(skeleton.any(-1, keepdims=True), skeleton, image // 2)


def _parts_picture(parts: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if parts is None else colorize(parts, PARTS_PALETTE)


def _row(root: Path, source_id: str, target_id: str, category: str) -> list[np.ndarray]:
    source = canonical.read_sample(root, "test", source_id, category)
    target = canonical.read_sample(root, "test", target_id, category)
    transfer = canonical.read_transfer(root, "test", source_id, target_id)
    via_flow = (
        pull_through_flow(source.image, transfer.flow) if transfer.flow is not None else np.zeros_like(source.image)
    )
    return [
        source.image,
        keypoint_picture(source.image, source.keypoints),
        colorize(source.parse, CIHP_PALETTE),
        _parts_picture(source.parts, source.image),
        densepose_picture(source.iuv),
        source.cloth,
        _parts_picture(source.cloth_parts, source.image),
        target.image,
        transfer.image,
        colorize(transfer.parse, CIHP_PALETTE),
        via_flow,
    ]


def _spread(pairs: list[tuple[str, str]], category: dict[str, str], rows: int) -> list[tuple[str, str]]:
    """The first ``rows`` pairs, taking the categories in turn (upper, lower, dresses) while each has pairs left."""
    queues: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        queues.setdefault(category.get(pair[1], "upper"), []).append(pair)
    chosen = []
    while len(chosen) < rows and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < rows:
                chosen.append(queue.pop(0))
    return chosen


def contact_sheet(root: str | Path, rows: int = 4, tile_width: int = 192) -> np.ndarray:
    """Render the sheet for ``rows`` transfer pairs of the test split (the first of each category in turn);
    (H, W, 3) uint8."""
    root = Path(root)
    category = canonical.categories(root, "test")
    pairs = _spread(canonical.read_pairs(canonical.transfer_pairs_path(root, "test")), category, rows)
    if not pairs:
        raise ValueError(f"{canonical.transfer_pairs_path(root, 'test')}: no transfer pairs to show")
    tiles = [_row(root, s, t, category.get(t, "upper")) for s, t in pairs]
    height, width = tiles[0][0].shape[:2]
    zoom = max(1, tile_width // width)
    grid = np.concatenate([np.concatenate(row, axis=1) for row in tiles], axis=0)
    grid = grid.repeat(zoom, 0).repeat(zoom, 1)
    sheet = Image.new("RGB", (grid.shape[1], grid.shape[0] + HEADER), "white")
    sheet.paste(Image.fromarray(grid), (0, HEADER))
    draw = ImageDraw.Draw(sheet)
    for k, title in enumerate(COLUMNS):
        draw.text((k * width * zoom + 4, 3), title, fill="black")
    return np.asarray(sheet)


def write_contact_sheet(root: str | Path, out: str | Path, rows: int = 4) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    io.write_png(out, contact_sheet(root, rows), level=9)
    return out
