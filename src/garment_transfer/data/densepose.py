"""DensePose encodings for the networks' pose input, chosen in config (``docs/data.md``, "DensePose encodings and
part ids").

- ``iuv``: 3 channels, ``I / 24``, ``U``, ``V``, all in [0, 1];
- ``parts``: 25 channels, one-hot of the part index (channel 0 = background);
- ``parts_uv``: the 25 one-hot channels followed by ``U``, ``V``;
- ``rendering``: a 3-channel colour picture (VITON-HD's ``image-densepose``), scaled to [-1, 1].

Part-index-only data (the VITON 256 x 192 pack, GP-VTON, CP-VTON with added part maps) supports ``parts`` only.

Files are checked against what they are declared to hold (:func:`iuv_from_picture`, :func:`index_from_image`,
:func:`index_from_array`); one that does not fit is an error naming the file and the likely cause, never a silent
misread: a grey part-index picture given as IUV, an IUV picture written by ``cv2.imwrite`` (channels on disk in V, U, I
order: read it with ``densepose_files: iuv_bgr``), a colour rendering (VITON-HD's ``image-densepose``) given as IUV or
as a part index, a lossy JPEG given as IUV, a float array that holds no integers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS

ENCODINGS = {"iuv": 3, "parts": DENSEPOSE_NUM_PARTS, "parts_uv": DENSEPOSE_NUM_PARTS + 2, "rendering": 3}
NEEDS_UV = ("iuv", "parts_uv")

# Part index after a horizontal flip: left and right parts swap (DensePose numbering, docs/data.md).
_SWAPS = [(3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22)]
FLIP_INDEX = np.arange(DENSEPOSE_NUM_PARTS, dtype=np.uint8)
for _a, _b in _SWAPS:
    FLIP_INDEX[_a], FLIP_INDEX[_b] = _b, _a


def channels(encoding: str) -> int:
    check_encoding(encoding)
    return ENCODINGS[encoding]


def check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"DensePose encoding {encoding!r}: choose one of {tuple(ENCODINGS)}")


def encode(index: np.ndarray, uv: np.ndarray | None, encoding: str, source: str = "densepose") -> np.ndarray:
    """Encode a part index map and optional UV.

    Args:
        index: (H, W) integer part indices 0..24.
        uv: (2, H, W) float in [0, 1], or None when the data has none.
        encoding: ``iuv``, ``parts`` or ``parts_uv``.
        source: the file named in errors.

    Returns:
        (C, H, W) float32, C = ``channels(encoding)``.
    """
    check_encoding(encoding)
    if encoding == "rendering":
        raise ValueError(f"{source}: the 'rendering' encoding needs a colour DensePose picture, not part indices")
    if index.max(initial=0) >= DENSEPOSE_NUM_PARTS:
        raise ValueError(f"{source}: DensePose part index {int(index.max())} is outside 0..{DENSEPOSE_NUM_PARTS - 1}")
    if encoding in NEEDS_UV and uv is None:
        raise ValueError(f"{source}: encoding {encoding!r} needs U, V, which this data set lacks; use 'parts'")
    if encoding == "iuv":
        return np.concatenate([index[None] / np.float32(DENSEPOSE_NUM_PARTS - 1), uv]).astype(np.float32)
    one_hot = (index[None] == np.arange(DENSEPOSE_NUM_PARTS)[:, None, None]).astype(np.float32)
    return one_hot if encoding == "parts" else np.concatenate([one_hot, uv.astype(np.float32)])


def encode_rendering(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colour DensePose picture -> (3, H, W) float32 in [-1, 1]."""
    return np.moveaxis(picture, -1, 0).astype(np.float32) / 127.5 - 1.0


# ------------------------------------------------------------------------------------------------ checked reading
def iuv_from_picture(
    picture: np.ndarray, path, order: str = "iuv", jpeg: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """An IUV picture as read (mode kept) -> ``(index (H, W) uint8 part indices, uv (2, H, W) float32 in [0, 1])``.

    Args:
        picture: (H, W, 3) uint8 as stored; channels I, U * 255, V * 255 (``order="iuv"``, detectron2's
            ``labels_uv_uint8`` saved by PIL) or V, U, I (``order="vui"``, the same array saved by ``cv2.imwrite``).
        path: the file, named in errors.
        jpeg: whether the file's bytes are a JPEG (None: told by its name).

    Raises:
        ValueError: naming ``path`` and the likely cause when the picture cannot be IUV.
    """
    path = Path(path)
    if jpeg or (jpeg is None and path.suffix.lower() in (".jpg", ".jpeg")):
        raise ValueError(
            f"{path}: a JPEG cannot hold DensePose IUV (lossy): is this a colour rendering (VITON-HD's "
            "image-densepose/*.jpg)? Use densepose: rendering with densepose_files: rendering"
        )
    if picture.ndim == 2:
        raise ValueError(
            f"{path}: one channel where IUV (3 channels) is expected: a grey DensePose part-index "
            "picture? Use densepose_files: parts with densepose: parts"
        )
    if picture.ndim != 3 or picture.shape[-1] != 3:
        raise ValueError(f"{path}: expected an (H, W, 3) IUV picture, got shape {picture.shape}")
    if order == "vui":
        picture = picture[..., ::-1]
    index = np.ascontiguousarray(picture[..., 0])
    if index.max() >= DENSEPOSE_NUM_PARTS:
        last = picture[..., 2]
        if order == "iuv" and last.max() < DENSEPOSE_NUM_PARTS and last.any():
            raise ValueError(
                f"{path}: part index {int(index.max())} > 24 in the first channel while the third holds "
                "0..24: channels in V, U, I order, as cv2.imwrite writes detectron2's IUV? Use "
                "densepose_files: iuv_bgr"
            )
        raise ValueError(
            f"{path}: part index {int(index.max())} > 24: is this a colour rendering (VITON-HD's "
            "image-densepose)? Use densepose_files: rendering with densepose: rendering"
        )
    if index.any() and (picture[..., 1] == index).all() and (picture[..., 2] == index).all():
        raise ValueError(
            f"{path}: all three channels are equal (a grey part-index picture saved as RGB?), so U and V "
            "would be I / 255; use densepose_files: parts with densepose: parts"
        )
    uv = np.moveaxis(picture[..., 1:], -1, 0).astype(np.float32) / 255.0
    return index, uv


BLACK = 16  # a colour rendering's pixel is background (black) where no channel is above this value
GREY_SPREAD = 4  # a picture whose channels nowhere differ by more than this is grey, not a colour rendering


def rendering_from_picture(picture: np.ndarray, path) -> np.ndarray:
    """A colour DensePose rendering read as RGB (VITON-HD's ``image-densepose``) -> the same (H, W, 3) uint8.

    Raises:
        ValueError: naming ``path`` when the picture is grey (one channel, or three equal ones: a part index?); an
            all-black one is left to :func:`body_problem`.
    """
    if picture.ndim != 3 or picture.shape[-1] != 3:
        raise ValueError(f"{path}: expected an (H, W, 3) colour DensePose rendering, got shape {picture.shape}")
    spread = picture.max(axis=-1).astype(np.int16) - picture.min(axis=-1)
    if picture.max() > BLACK and spread.max() <= GREY_SPREAD:
        raise ValueError(
            f"{path}: grey (its channels are equal), not a colour rendering as densepose_files: "
            "rendering declares (VITON-HD's image-densepose): a grey DensePose part index? Use "
            "densepose_files: parts with densepose: parts"
        )
    return picture


def body_problem(pose: np.ndarray, rendering: bool = False) -> str | None:
    """What is wrong with a DensePose that shows no body, or None when it shows one: a part index (H, W) that is
    background (0) everywhere, or a colour ``rendering`` (H, W, 3) that is black (no channel above :data:`BLACK`)
    everywhere, which is what DensePose gives where it found no person."""
    if rendering and pose.max(initial=0) <= BLACK:
        return "DensePose rendering with no body (black everywhere): DensePose found no person in the photo?"
    if not rendering and not pose.any():
        return "DensePose with no body (part index 0, background, everywhere): DensePose found no person in the photo?"
    return None


def index_from_image(image: np.ndarray, path) -> np.ndarray:
    """A grey (or palette) part-index picture as read -> (H, W) uint8 part indices 0..24; an RGB picture is accepted
    only when its three channels are equal (a grey picture saved as RGB).

    Raises:
        ValueError: naming ``path`` for colour channels (an IUV picture or a colour rendering) or ids above 24.
    """
    if image.ndim == 3:
        grey = image.shape[-1] in (3, 4) and (image[..., 1] == image[..., 0]).all()
        if grey and (image[..., 2] == image[..., 0]).all():
            image = image[..., 0]
        else:
            raise ValueError(
                f"{path}: colour channels where a grey DensePose part index is expected: an IUV picture "
                "(use densepose_files: iuv) or a colour rendering (densepose_files: rendering)?"
            )
    if image.ndim != 2:
        raise ValueError(f"{path}: expected an (H, W) DensePose part index, got shape {image.shape}")
    if image.max(initial=0) >= DENSEPOSE_NUM_PARTS:
        raise ValueError(
            f"{path}: DensePose part index {int(image.max())} > 24: not a part-index picture (a colour rendering?)"
        )
    return np.ascontiguousarray(image, dtype=np.uint8)


def index_from_array(array: np.ndarray, path) -> np.ndarray:
    """A part-index array (``.npy``: integer, or float holding whole numbers; (H, W), (1, H, W) or (H, W, 1)) ->
    (H, W) uint8 part indices 0..24.

    Raises:
        ValueError: naming ``path`` for other shapes (IUV?), fractional values or ids outside 0..24.
    """
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    if array.ndim != 2:
        raise ValueError(f"{path}: expected an (H, W) DensePose part index, got shape {array.shape} (IUV channels?)")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            raise ValueError(
                f"{path}: float DensePose part index holds values that are not whole numbers (U or V, "
                "or a resized map?)"
            )
    elif not np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_:
        raise ValueError(f"{path}: DensePose part index of dtype {array.dtype}, expected integers")
    if array.size and (array.min() < 0 or array.max() >= DENSEPOSE_NUM_PARTS):
        raise ValueError(f"{path}: DensePose part indices must be 0..24, found {array.min()}..{array.max()}")
    return array.astype(np.uint8)
