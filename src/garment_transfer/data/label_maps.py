"""Label maps: tables from a parser's label ids to the 7 classes of the method (``docs/data.md``, "Label ids: the 7
classes and the label maps").

The tables are data (``resources/label_maps/<name>.yaml``: ``lip``, ``cihp``, ``atr18``, ``acgpn14``,
``gpvton29``). A config names one, gives a path to a YAML of the same form, or gives the table inline
(``{id: class name or index}``). An id a table does not know is an error that names the file, the ids and the table.

The garment of a sample (``M^g``) is the upper garment class, except where the data set says the garment is another
one (DressCode's ``lower_body`` and ``dresses`` folders, GP-VTON's category column): :data:`GARMENT_CLASSES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

CLASSES = ("background", "hair", "face", "upper_skin", "upper_garment", "lower_garment", "thigh")
NUM_CLASSES = len(CLASSES)
BACKGROUND, HAIR, FACE, UPPER_SKIN, UPPER_GARMENT, LOWER_GARMENT, THIGH = range(NUM_CLASSES)
REMAINING = (HAIR, FACE, LOWER_GARMENT, THIGH)  # the garment-agnostic parsing M^r
# garment category -> the classes its garment mask M^g covers (a dress is parsed as upper and / or lower garment)
GARMENT_CLASSES = {"upper": (UPPER_GARMENT,), "lower": (LOWER_GARMENT,), "dresses": (UPPER_GARMENT, LOWER_GARMENT)}
BUILTIN_DIR = Path(__file__).resolve().parents[1] / "resources" / "label_maps"
BUILTIN = tuple(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))


@dataclass(frozen=True)
class LabelMap:
    """A table ``{source id: class index}``; ``name`` says where it came from (a built-in name or a file)."""

    name: str
    table: Mapping[int, int]

    def lut(self) -> np.ndarray:
        """(256,) int16 lookup array, -1 for ids the table does not know."""
        lut = np.full(256, -1, np.int16)
        for source, target in self.table.items():
            lut[source] = target
        return lut

    def apply(self, labels: np.ndarray, source: str | Path = "labels") -> np.ndarray:
        """(H, W) integer ids -> (H, W) uint8 class indices.

        Raises:
            ValueError: naming ``source``, the unknown ids and this table.
        """
        labels = np.asarray(labels)
        if labels.size and (labels.min() < 0 or labels.max() > 255):
            raise ValueError(f"{source}: label ids outside 0..255 cannot be looked up in label map {self.name!r}")
        mapped = self.lut()[labels]
        if (mapped < 0).any():
            unknown = np.unique(labels[mapped < 0]).tolist()
            raise ValueError(
                f"{source}: label ids {unknown} are not in label map {self.name!r} (it knows {sorted(self.table)})"
            )
        return mapped.astype(np.uint8)


def _class_index(value, where: str) -> int:
    if isinstance(value, str) and value in CLASSES:
        return CLASSES.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < NUM_CLASSES:
        return value
    raise ValueError(f"{where}: {value!r} is not one of the classes {CLASSES} or an index 0..{NUM_CLASSES - 1}")


def _from_mapping(ids: Mapping, name: str) -> LabelMap:
    if not isinstance(ids, Mapping) or not ids:
        raise ValueError(f"label map {name!r}: expected a non-empty mapping of id -> class")
    table = {}
    for key, value in ids.items():
        try:
            source = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"label map {name!r}: id {key!r} is not an integer") from None
        if not 0 <= source <= 255:
            raise ValueError(f"label map {name!r}: id {source} is outside 0..255")
        table[source] = _class_index(value, f"label map {name!r}, id {source}")
    return LabelMap(name, table)


def load_label_map(spec: str | Path | Mapping | LabelMap) -> LabelMap:
    """A label map from a built-in name (``cihp``, ...), a YAML file path, or an inline ``{id: class}`` mapping."""
    if isinstance(spec, LabelMap):
        return spec
    if isinstance(spec, Mapping):
        ids = spec.get("ids", spec)
        return _from_mapping(ids, str(spec.get("name", "inline")) if "ids" in spec else "inline")
    path = BUILTIN_DIR / f"{spec}.yaml" if str(spec) in BUILTIN else Path(spec)
    if not path.is_file():
        raise ValueError(f"label map {str(spec)!r}: neither a built-in ({', '.join(BUILTIN)}) nor a YAML file")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(content, Mapping) or "ids" not in content:
        raise ValueError(f"{path}: a label map file needs an 'ids' mapping of id -> class")
    return _from_mapping(content["ids"], str(spec) if str(spec) in BUILTIN else str(path))


def garment_classes(category: str) -> tuple[int, ...]:
    """The classes of a garment ``category`` (``upper``, ``lower``, ``dresses``)."""
    if category not in GARMENT_CLASSES:
        raise ValueError(f"garment category {category!r}: choose one of {tuple(GARMENT_CLASSES)}")
    return GARMENT_CLASSES[category]


def derived_masks(parsing: np.ndarray, category: str = "upper") -> dict[str, np.ndarray]:
    """The method's masks from a 7-class parsing (H, W): ``garment`` (the classes of ``category``) and ``skin``
    (1, H, W) float32 in {0, 1}, ``remaining`` (4, H, W) float32 one-hot of hair, face, lower garment, thigh."""
    garment = np.isin(parsing, garment_classes(category)) if category != "upper" else parsing == UPPER_GARMENT
    return {
        "garment": garment[None].astype(np.float32),
        "skin": (parsing == UPPER_SKIN)[None].astype(np.float32),
        "remaining": np.stack([parsing == c for c in REMAINING]).astype(np.float32),
    }
