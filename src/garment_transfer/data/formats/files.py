"""A reader over explicitly named files (a user's photos for the ``transfer`` tool), not a data set's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from garment_transfer.data import io
from garment_transfer.data.formats.base import RawPerson, Reader, check_densepose_files, read_densepose, read_photo


class FilesReader(Reader):
    """A :class:`Reader` over explicitly named files, one person per id ``"source"`` / ``"target"``; the in-shop
    garment is absent (a white picture with an empty mask: the transfer pipeline never reads it).

    Args:
        files: id -> ``{"image": path, "labels": path, "densepose": path}``.
        size: ``(H, W)`` the networks see. label_map: the labels' label map. encoding: the DensePose encoding the
            networks were trained on. densepose_files: what the DensePose files hold (``base.DENSEPOSE_FILES``).
    """

    format = "files"

    def __init__(self, files: dict[str, dict[str, str]], size, label_map, encoding: str, densepose_files: str):
        self.files, self.densepose_files = files, check_densepose_files(densepose_files)
        self.has_uv = densepose_files in ("iuv", "iuv_bgr")
        self.has_picture = densepose_files == "rendering"
        if densepose_files == "rendering" and encoding != "rendering":
            raise ValueError(
                f"--densepose-files rendering: the networks were trained on the {encoding!r} encoding, "
                "which a colour rendering cannot give; bring IUV files"
            )
        super().__init__(Path("."), size, label_map, encoding)

    def ids(self, split: str) -> list[str]:
        return list(self.files)

    def read_raw(self, split: str, sample_id: str) -> RawPerson:
        paths = self.files[sample_id]
        image = read_photo(Path(paths["image"]))
        labels = io.read_image(paths["labels"])
        if labels.ndim != 2:
            raise ValueError(f"{paths['labels']}: expected a palette or grey PNG of label ids, got colour channels")
        index, uv, picture = read_densepose(Path(paths["densepose"]), self.densepose_files)
        for key, array in (("labels", labels), ("densepose", index if picture is None else picture)):
            if array.shape[:2] != image.shape[:2]:
                raise ValueError(
                    f"{paths[key]}: size {array.shape[1]}x{array.shape[0]} (WxH) differs from the photo "
                    f"{paths['image']} ({image.shape[1]}x{image.shape[0]})"
                )
        cloth, cloth_mask = np.full_like(image, 255), np.zeros(image.shape[:2], np.uint8)
        return RawPerson(sample_id, image, labels, cloth, cloth_mask, index, uv, picture, files=paths)
