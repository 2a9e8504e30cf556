"""A cheap, deterministic fingerprint of a data set on disk, logged with every run so results name their data.

The fingerprint is the SHA-256 of ``meta.json`` (where the data set has one) and of the sorted listing of every
file under the root as ``relative/path<TAB>size in bytes``. It reads no image, so it takes a fraction of a second
for tens of thousands of files. It does not depend on modification times or the root's location, so a copy of the
set has the same fingerprint. Adding, removing, renaming or resizing a file changes it; rewriting a file with
different bytes of the same length does not (the synthetic engine's ``meta.json`` records its settings, which
covers regeneration with other parameters). Hidden files (``.name``: temporary files of atomic writers) are left out.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

DIGITS = 16  # hex digits kept: 64 bits, ample to tell data sets apart


def dataset_fingerprint(root: str | os.PathLike) -> str:
    """The fingerprint of the data set under ``root``: ``DIGITS`` hex digits.

    Raises:
        FileNotFoundError: naming ``root`` when it is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data set folder not found")
    digest = hashlib.sha256()
    meta = root / "meta.json"
    if meta.is_file():
        digest.update(meta.read_bytes())
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # walk in a fixed order, skip hidden folders
        relative = Path(folder).relative_to(root).as_posix()
        for name in sorted(f for f in files if not f.startswith(".")):
            size = os.stat(os.path.join(folder, name)).st_size
            digest.update(f"{relative}/{name}\t{size}\n".encode())
    return digest.hexdigest()[:DIGITS]
