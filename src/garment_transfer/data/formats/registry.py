"""The data set formats: each name the readers accept, the module that holds its layout, reader, detection rule and
exporter, and the order in which detection tries them.

A format module defines ``FORMAT`` (its name), ``ALIASES`` (other names of it), ``READER`` (its :class:`Reader`),
``detect(root) -> Detection | None`` and ``LOOKS_FOR`` (what ``detect`` looks for, in words). ``readers.make_reader``,
``readers.FORMATS``, ``detect.detect_layout`` and ``data check`` go through :data:`FORMATS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from garment_transfer.data.formats import canonical, cpvton, dresscode, gpvton, viton
from garment_transfer.data.formats.base import Detection, Reader


@dataclass(frozen=True)
class Format:
    """One data set format: its ``name``, other names (``aliases``), its ``module``, its ``reader`` class, its
    detection rule ``detect`` and what that rule looks for (``looks_for``, in words)."""

    name: str
    aliases: tuple[str, ...]
    module: ModuleType
    reader: type[Reader]
    detect: Callable[[Path], Detection | None]
    looks_for: str

    @classmethod
    def of(cls, module: ModuleType) -> Format:
        return cls(module.FORMAT, tuple(module.ALIASES), module, module.READER, module.detect, module.LOOKS_FOR)


FORMATS: dict[str, Format] = {f.name: f for f in map(Format.of, (canonical, dresscode, viton, cpvton, gpvton))}
# every accepted name, each format followed by its aliases
NAMES: tuple[str, ...] = tuple(name for f in FORMATS.values() for name in (f.name, *f.aliases))
# detection tries the layouts with the most specific folders first: DressCode's category folders, GP-VTON's
# parse-bytedance (whose VITON-HD variant has split folders as VITON-HD has), VITON-HD's image-parse-v3, PF-AFN's
# roots, then CP-VTON's image-parse (a folder that holds another layout's files as well is that layout)
DETECTION_ORDER: tuple[Format, ...] = tuple(
    FORMATS[name] for name in ("dresscode", "gpvton", "canonical", "viton", "cpvton")
)


def get(name: str) -> Format:
    """The format called ``name`` (a name or an alias, one of :data:`NAMES`).

    Raises:
        ValueError: naming ``name`` and the choices.
    """
    for found in FORMATS.values():
        if name == found.name or name in found.aliases:
            return found
    raise ValueError(f"data format {name!r}: choose one of {NAMES}")
