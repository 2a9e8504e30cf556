"""Recognise a data set's layout from its folders, for ``garment-transfer data check ROOT`` without ``--format``.

Each format's rule (``detect`` in its module under ``data/formats/``) looks for the folders and files that only its
layout has, and says what it found; the first rule that matches wins, in the registry's order
(``formats.registry.DETECTION_ORDER``): DressCode (category folders with ``images/``), GP-VTON (``parse-bytedance``
with three-column lists), VITON-HD / canonical (``image-parse-v3``), the PF-AFN pack (``VITON_traindata`` /
``VITON_test`` or ``train_img`` / ``test_img``), CP-VTON (``image-parse``). A rule also picks the reader options the
files call for: what ``image-densepose`` holds (a JPEG colour rendering, IUV, IUV in cv2's channel order, a grey part
index), the DressCode categories present, CP-VTON's ``data/`` folder.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from garment_transfer.data.formats import registry
from garment_transfer.data.formats.base import Detection, densepose_kind

__all__ = ["Detection", "densepose_kind", "detect_layout"]


def detect_layout(root: str | Path) -> Detection:
    """The layout of the data set at ``root``.

    Raises:
        FileNotFoundError: naming ``root`` when it is not a folder.
        ValueError: naming ``root`` and what was looked for when no layout matches.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data set folder not found")
    for layout in registry.DETECTION_ORDER:
        found = layout.detect(root)
        if found is not None:
            return found if found.root is not None else replace(found, root=root)
    looked_for = ", ".join(layout.looks_for for layout in registry.DETECTION_ORDER)
    raise ValueError(f"{root}: no known layout (looked for {looked_for}); give --format")
