"""Recognise a data set's layout from its folders, for ``garment-transfer data check ROOT`` without ``--format``.

Each rule looks for the folders and files that only one layout has, and says what it found; the first rule that
matches wins, in this order: DressCode (category folders with ``images/``), GP-VTON (``parse-bytedance`` with
three-column lists), VITON-HD / canonical (``image-parse-v3``), the PF-AFN pack (``VITON_traindata`` / ``VITON_test``
or ``train_img`` / ``test_img``), CP-VTON (``image-parse``). It also picks the reader options the files call for:
what ``image-densepose`` holds (a JPEG colour rendering, IUV, IUV in cv2's channel order, a grey part index), the
DressCode categories present, CP-VTON's ``data/`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from garment_transfer.data.formats import canonical, cpvton, dresscode, gpvton, viton
from garment_transfer.data.formats.pairs import read_text
from garment_transfer.data.io import read_image
from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS


@dataclass(frozen=True)
class Detection:
    """A recognised layout: ``format`` (``readers.FORMATS``), its ``name`` in words, the ``reasons`` (what was
    found), the reader ``options`` the files call for, and the ``root`` to read (CP-VTON: its ``data/``)."""

    format: str
    name: str
    reasons: list[str]
    options: dict = field(default_factory=dict)
    root: Path | None = None

    def describe(self) -> str:
        options = "".join(f" --{k.replace('_', '-')} {_option_text(v)}" for k, v in self.options.items())
        return (f"layout: {self.name} (--format {self.format}{options}), recognised by: "
                + "; ".join(self.reasons))


def _option_text(value) -> str:
    return ",".join(value) if isinstance(value, (list, tuple)) else str(value)


def _first_file(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")), None)


def densepose_kind(folder: Path) -> tuple[str, str] | None:
    """``(densepose_files, why)`` for a folder of DensePose pictures, from its first file; None when empty."""
    first = _first_file(folder)
    if first is None:
        return None
    if first.suffix.lower() in (".jpg", ".jpeg"):
        return "rendering", f"{folder.name}/ holds JPEG colour renderings ({first.name})"
    try:
        picture = read_image(first)
    except (OSError, ValueError):
        return None  # data check reports the unreadable file
    if picture.ndim == 2:
        return "parts", f"{folder.name}/ holds grey part-index pictures ({first.name})"
    if picture.ndim == 3 and picture.shape[-1] >= 3:
        if picture[..., 0].max() < DENSEPOSE_NUM_PARTS:
            return "iuv", f"{folder.name}/ holds IUV pictures (part index 0..24 in the first channel)"
        if picture[..., 2].max() < DENSEPOSE_NUM_PARTS:
            return "iuv_bgr", f"{folder.name}/ holds IUV in V, U, I order (written by cv2)"
        return "rendering", f"{folder.name}/ holds colour renderings ({first.name})"
    return None


def _columns(path: Path) -> int:
    try:
        lines = [line.split() for line in read_text(path).splitlines() if line.strip()]
    except (OSError, ValueError):
        return 0
    return len(lines[0]) if lines else 0


def _dresscode(root: Path) -> Detection | None:
    present = [c for c in dresscode.CATEGORIES if (root / c / "images").is_dir()]
    if not present:
        return None
    option = present[0] if len(present) == 1 else ("all" if len(present) == 3 else present)
    return Detection("dresscode", "DressCode", [f"category folders {', '.join(f'{c}/images/' for c in present)}"],
                     {"category": option, "densepose": "iuv"})


def _gpvton(root: Path) -> Detection | None:
    folders = [root / s for s in canonical.SPLITS] + [root / c for c in gpvton.CATEGORY_FOLDERS]
    parsed = [f for f in folders if (f / "parse-bytedance").is_dir()]
    if not parsed:
        return None
    three = [p.name for p in sorted(root.glob("*.txt")) if _columns(p) == 3]
    has_hd = any((root / s / "image-parse-v3").is_dir() for s in canonical.SPLITS)
    if has_hd and not three:
        return None  # VITON-HD with GP-VTON's parsing added: read as VITON-HD (rule below)
    kind = gpvton.variant(root)
    reasons = [f"{', '.join(f'{f.name}/parse-bytedance/' for f in parsed)} (GP-VTON's 29-class parsing)"]
    if three:
        reasons.append(f"three-column pair lists {three}")
    name = "GP-VTON's VITON-HD" if kind == "vitonhd" else "GP-VTON's DressCode"
    return Detection("gpvton", name, reasons, {"densepose": "parts"})


def _canonical(root: Path) -> Detection | None:
    splits = [s for s in canonical.SPLITS if (root / s / "image-parse-v3").is_dir()]
    if not splits:
        return None
    reasons = [", ".join(f"{s}/image-parse-v3/" for s in splits)]
    lists = [canonical.root_pairs_path(root, s).name for s in canonical.SPLITS
             if canonical.root_pairs_path(root, s).is_file()]
    old = [f"{s}/{canonical.old_pairs_path(root, s).name}" for s in canonical.SPLITS
           if canonical.old_pairs_path(root, s).is_file()]
    if lists:
        reasons.append(f"{' and '.join(lists)} at the root")
    if old:
        reasons.append(f"{' and '.join(old)} at the old place")
    options = {"densepose": "iuv"}
    kind = densepose_kind(root / splits[0] / canonical.FOLDERS["densepose"])
    if kind is not None:
        files, why = kind
        reasons.append(why)
        options = {"densepose": {"rendering": "rendering", "parts": "parts"}.get(files, "iuv"),
                   "densepose_files": files}
    meta = root / "meta.json"
    synthetic = meta.is_file() and "synthetic engine" in meta.read_text(errors="replace")
    name = "canonical (this project's synthetic engine)" if synthetic else "VITON-HD (canonical)"
    return Detection("canonical", name, reasons, options)


def _pfafn(root: Path) -> Detection | None:
    found = [name for name in (*viton.ROOTS.values(), "train_img", "test_img") if (root / name).is_dir()]
    if not found:
        return None
    return Detection("viton", "VITON 256 x 192, PF-AFN's pack", [f"{', '.join(f'{n}/' for n in found)}"],
                     {"densepose": "parts"})


def _cpvton(root: Path) -> Detection | None:
    data = cpvton.data_root(root)
    splits = [s for s in canonical.SPLITS if (data / s / "image-parse").is_dir()]
    if not splits:
        return None
    where = "" if data == root else f"{data.name}/"
    reasons = [f"{', '.join(f'{where}{s}/image-parse/' for s in splits)} (LIP parsing)"]
    lists = [cpvton.pairs_path(data, s).name for s in canonical.SPLITS if cpvton.pairs_path(data, s).is_file()]
    if lists:
        reasons.append(f"{' and '.join(lists)} in {where or 'the root'}")
    options = {"densepose": "parts"}
    kind = densepose_kind(data / splits[0] / "image-densepose")
    if kind is not None and kind[0] != "rendering":
        reasons.append(kind[1])
        options = {"densepose": "parts" if kind[0] == "parts" else "iuv", "densepose_files": kind[0]}
    return Detection("cpvton", "CP-VTON", reasons, options, data)


RULES = (_dresscode, _gpvton, _canonical, _pfafn, _cpvton)


def detect_layout(root: str | Path) -> Detection:
    """The layout of the data set at ``root``.

    Raises:
        FileNotFoundError: naming ``root`` when it is not a folder.
        ValueError: naming ``root`` and what was looked for when no layout matches.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: data set folder not found")
    for rule in RULES:
        found = rule(root)
        if found is not None:
            return found if found.root is not None else Detection(found.format, found.name, found.reasons,
                                                                  found.options, root)
    raise ValueError(f"{root}: no known layout (looked for DressCode's <category>/images/, GP-VTON's "
                     "parse-bytedance/, VITON-HD's <split>/image-parse-v3/, PF-AFN's VITON_traindata/ or train_img/, "
                     "CP-VTON's <split>/image-parse/); give --format")
