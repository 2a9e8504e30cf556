"""File I/O: atomic, deterministic writing (a file is either absent or complete, and equal inputs give equal bytes),
and checked reading of images, JSON and arrays (every error names the file)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from garment_transfer.data.labels import palette_bytes
from garment_transfer.errors import UserError

PNG_COMPRESS_LEVEL = 1  # fast zlib; equal arrays still give equal bytes


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename; a failure (a full
    disk, a folder gone) is a :class:`~garment_transfer.errors.UserError` naming ``path``, and ``path`` keeps what it
    held."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(f"{path}: cannot write ({err.strerror or err})") from err
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def encode_png(array: np.ndarray, palette: np.ndarray | None = None, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode a uint8 array as PNG: (H, W) grey or palette ("P") when ``palette`` is given, (H, W, 3) RGB."""
    if array.dtype != np.uint8:
        raise ValueError(f"encode_png expects uint8, got {array.dtype}")
    if palette is not None:
        if array.ndim != 2:
            raise ValueError(f"a palette PNG needs an (H, W) index array, got shape {array.shape}")
        image = Image.frombytes("P", (array.shape[1], array.shape[0]), np.ascontiguousarray(array).tobytes())
        image.putpalette(palette_bytes(palette))
    else:
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def write_png(
    path: str | os.PathLike, array: np.ndarray, palette: np.ndarray | None = None, level: int = PNG_COMPRESS_LEVEL
) -> None:
    atomic_write_bytes(path, encode_png(array, palette, level))


def write_jpeg(path: str | os.PathLike, array: np.ndarray, quality: int = 95, subsampling: int = 0) -> None:
    """An (H, W, 3) or (H, W) uint8 array as JPEG with fixed settings (4:4:4 by default: small images and garment
    edges keep their colours), atomically; equal arrays give equal bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    atomic_write_bytes(path, buffer.getvalue())


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """An ``.npy`` file, atomically (the format holds no timestamp, so bytes are deterministic)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def read_json(path: str | os.PathLike) -> dict | None:
    """The JSON in ``path``, or None when the file is absent; invalid JSON is an error naming the file."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """A compressed ``.npz`` with fixed zip timestamps, so equal arrays give equal bytes (``np.savez`` stamps now)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    atomic_write_bytes(path, buffer.getvalue())


def _decoded(path: str | os.PathLike, convert) -> object:
    """``convert(image)`` of the decoded image file at ``path``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        with Image.open(path) as image:
            image.load()
            return convert(image)
    except (OSError, SyntaxError) as err:  # PIL raises these for truncated or foreign files
        raise ValueError(f"{path}: cannot read image ({err})") from err


def read_image(path: str | os.PathLike, mode: str | None = None) -> np.ndarray:
    """Read an image file as a uint8 array; ``mode`` "RGB" / "L" converts, None keeps indices of "P" images.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it cannot be decoded.
    """
    return _decoded(
        path, lambda image: np.asarray(image if mode is None or image.mode == mode else image.convert(mode))
    )


def read_image_and_format(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Read an image file as :func:`read_image` does with ``mode`` None, and say what its bytes hold: PIL's name of
    the format (``"PNG"``, ``"JPEG"``, ...), found from the file's content whatever its name says."""
    return _decoded(path, lambda image: (np.asarray(image), image.format or ""))


WHITE = (255, 255, 255)  # the background an alpha channel is composited on


def _composited(image: Image.Image) -> tuple[np.ndarray, bool]:
    alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not alpha:
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB")), False
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (*WHITE, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), True


def read_rgb(path: str | os.PathLike) -> tuple[np.ndarray, bool]:
    """Read a photo as (H, W, 3) uint8 RGB; an alpha channel (RGBA, LA, or a palette / grey image with a transparent
    colour) is composited on white (:data:`WHITE`) instead of being dropped.

    Returns:
        ``(image, composited)``: ``composited`` says an alpha channel was found and composited.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it cannot be decoded.
    """
    return _decoded(path, _composited)


def resize(array: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    """Resize an (H, W) or (H, W, 3) uint8 array to ``size`` = (height, width).

    ``nearest`` for ids (labels, part indices); otherwise bilinear, which PIL antialiases when shrinking.
    """
    if array.shape[:2] == tuple(size):
        return array
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(array).resize((size[1], size[0]), method))


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """Load a ``.npy`` file without pickles; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read .npy array ({err})") from err


def read_npz_key(path: str | os.PathLike, key: str) -> np.ndarray:
    """Load array ``key`` from a ``.npz`` file; errors name the file and, when it lacks it, the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            files = data.files
            array = data[key] if key in files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot read .npz archive ({err})") from err
    if array is None:
        raise ValueError(f"{path}: no array {key!r} (found {files})")
    return array
