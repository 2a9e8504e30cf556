"""DensePose encodings for the networks' pose input, chosen in config (``DATA.md`` section 4).

- ``iuv``: 3 channels, ``I / 24``, ``U``, ``V``, all in [0, 1];
- ``parts``: 25 channels, one-hot of the part index (channel 0 = background);
- ``parts_uv``: the 25 one-hot channels followed by ``U``, ``V``;
- ``rendering``: a 3-channel colour picture (VITON-HD's ``image-densepose``), scaled to [-1, 1].

Part-index-only data (the VITON 256 x 192 pack) supports ``parts`` only.
"""

from __future__ import annotations

import numpy as np

from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS

ENCODINGS = {"iuv": 3, "parts": DENSEPOSE_NUM_PARTS, "parts_uv": DENSEPOSE_NUM_PARTS + 2, "rendering": 3}
NEEDS_UV = ("iuv", "parts_uv")

# Part index after a horizontal flip: left and right parts swap (DensePose numbering, DATA.md section 3).
_SWAPS = [(3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22)]
FLIP_PARTS = np.arange(DENSEPOSE_NUM_PARTS, dtype=np.uint8)
for _a, _b in _SWAPS:
    FLIP_PARTS[_a], FLIP_PARTS[_b] = _b, _a


def channels(encoding: str) -> int:
    check_encoding(encoding)
    return ENCODINGS[encoding]


def check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"DensePose encoding {encoding!r}: choose one of {tuple(ENCODINGS)}")


def encode(parts: np.ndarray, uv: np.ndarray | None, encoding: str, source: str = "densepose") -> np.ndarray:
    """Encode a part index map and optional UV.

    Args:
        parts: (H, W) integer part indices 0..24.
        uv: (2, H, W) float in [0, 1], or None when the data has none.
        encoding: ``iuv``, ``parts`` or ``parts_uv``.
        source: the file named in errors.

    Returns:
        (C, H, W) float32, C = ``channels(encoding)``.
    """
    check_encoding(encoding)
    if encoding == "rendering":
        raise ValueError(f"{source}: the 'rendering' encoding needs a colour DensePose picture, not part indices")
    if parts.max(initial=0) >= DENSEPOSE_NUM_PARTS:
        raise ValueError(f"{source}: DensePose part index {int(parts.max())} is outside 0..{DENSEPOSE_NUM_PARTS - 1}")
    if encoding in NEEDS_UV and uv is None:
        raise ValueError(f"{source}: encoding {encoding!r} needs U, V, which this data set lacks; use 'parts'")
    if encoding == "iuv":
        return np.concatenate([parts[None] / np.float32(DENSEPOSE_NUM_PARTS - 1), uv]).astype(np.float32)
    one_hot = (parts[None] == np.arange(DENSEPOSE_NUM_PARTS)[:, None, None]).astype(np.float32)
    return one_hot if encoding == "parts" else np.concatenate([one_hot, uv.astype(np.float32)])


def encode_rendering(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colour DensePose picture -> (3, H, W) float32 in [-1, 1]."""
    return (np.moveaxis(picture, -1, 0).astype(np.float32) / 127.5 - 1.0)
