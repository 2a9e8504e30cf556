"""Pair lists as the data sets ship them: ``person cloth`` per line, or ``person cloth category`` (GP-VTON).

Fields are separated by spaces or tabs; blank lines are skipped; the last line may lack its newline; Windows line
ends and a UTF-8 byte-order mark are accepted. A file that is not UTF-8 text (a binary file, another encoding) or a
line with the wrong number of fields is an error naming the file (and the line).

A list is *paired* when every person wears their own garment (the person and cloth names give the same id), which is
how a list's role is told apart when a data set's file names do not say it (VITON-HD's ``test_pairs.txt`` is
unpaired, this project's old exports wrote paired ones under the same name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PairLine:
    """One line: the person's and the cloth's file names, the category column (None for two-column lists) and the
    line number in the file."""

    person: str
    cloth: str
    category: str | None
    line: int


def read_text(path: str | Path, what: str = "pairs file") -> str:
    """The UTF-8 text of ``path``.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file when it holds NUL bytes (binary) or is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    data = path.read_bytes()
    nul = data.find(b"\0")
    if nul >= 0:
        raise ValueError(f"{path}: {what} is a binary file (NUL byte at offset {nul}), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: {what} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None


def read_pair_lines(path: str | Path, columns: Iterable[int] = (2,)) -> list[PairLine]:
    """The lines of a pair list; each must have one of ``columns`` fields (2, or 3 with a category).

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ValueError: naming the file and line for a line with another number of fields, or an unreadable file.
    """
    allowed = tuple(columns)
    lines = []
    for number, text in enumerate(read_text(path).splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) not in allowed:
            want = " or ".join(str(c) for c in allowed)
            raise ValueError(
                f"{path}: pairs file line {number} has {len(fields)} fields, expected {want} "
                f"(person cloth{' category' if 3 in allowed else ''}): {text!r}"
            )
        lines.append(PairLine(fields[0], fields[1], fields[2] if len(fields) > 2 else None, number))
    return lines


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """A two-column pair list as ``(first, second)`` name tuples, in file order."""
    return [(line.person, line.cloth) for line in read_pair_lines(path, (2,))]


def is_paired(lines: list[PairLine], person_id: Callable[[str], str], cloth_id: Callable[[str], str]) -> bool:
    """Whether every line pairs a person with their own garment (empty lists count as paired)."""
    return all(person_id(line.person) == cloth_id(line.cloth) for line in lines)


def unique(names: Iterable[str]) -> list[str]:
    """``names`` without repeats, in first-seen order."""
    return list(dict.fromkeys(names))


def derangement(ids: list[str], seed: int) -> list[tuple[str, str]]:
    """``(source, target)`` pairs, one per target in ``ids`` order, each target with a different source and every id a
    source exactly once, drawn from ``seed`` (the data module's seeded evaluation pairs, and the unpaired test list
    the synthetic engine writes with seed 0, which are therefore the same pairs).

    Raises:
        ValueError: for fewer than two ids.
    """
    if len(ids) < 2:
        raise ValueError(f"unpaired pairs need at least two samples, got {len(ids)}")
    order = np.random.default_rng(seed).permutation(len(ids))
    source_of = {ids[order[k]]: ids[order[(k + 1) % len(ids)]] for k in range(len(ids))}
    return [(source_of[target], target) for target in ids]
