"""Check a data set before training on it: read every listed sample once through its format's reader, and report.

Each sample id of a split's pairs file is read with ``Reader.read_raw`` (which checks files, ids and sizes), its
labels mapped through the label map and its DensePose encoded, at the stored size so that resizing hides no stray id.
A reader error names its file first (``"<file>: <problem>"``); it is classified by type (``FileNotFoundError``) and
by the words of the problem. Pairs files are checked line by line: every person and cloth file must exist and no
person may be listed twice; for the canonical layout ``transfer/pairs.txt`` must name known ids and present files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from garment_transfer.data import densepose
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.readers import Reader, make_reader

CATEGORIES = ("missing file", "unreadable image", "size mismatch", "unknown label id", "bad DensePose",
              "empty garment mask", "pair points at nothing", "duplicate id", "other")
_KEYWORDS = (  # (category, words of the problem text), tried in order after FileNotFoundError -> "missing file"
    ("unreadable image", ("cannot read", "cannot identify", "truncated")),
    ("size mismatch", ("differs from the sample's size", "must have shape")),
    ("bad DensePose", ("densepose", "part ind", "'uv'")),
    ("unknown label id", ("label id", "label map")),
)


class Problem(NamedTuple):
    category: str
    file: str
    message: str


@dataclass
class SplitStats:
    """Samples ``listed`` (unique ids), ``readable`` (read without error), ``with_problems``; problems per category."""

    listed: int = 0
    readable: int = 0
    with_problems: int = 0
    categories: Counter = field(default_factory=Counter)


@dataclass
class CheckReport:
    format: str
    root: str
    splits: dict[str, SplitStats] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def classify(err: Exception) -> str:
    """The category of a reader's error (``FileNotFoundError``, ``ValueError`` or another ``OSError``)."""
    if isinstance(err, FileNotFoundError):
        return "missing file"
    text = str(err).lower()
    problem = text.partition(": ")[2] or text  # words of the file name (image-densepose/...) must not count
    return next((category for category, words in _KEYWORDS if any(w in problem for w in words)),
                "unreadable image" if isinstance(err, OSError) else "other")


def _layout(reader: Reader, split: str):
    """(split folder, pairs files (first required), person file of a pairs name, cloth file of a pairs name)."""
    root = reader.root
    if reader.format == "canonical":  # the reader finds <stem>.png whatever extension the pairs file gives
        def path(key):
            return lambda name: canonical.sample_paths(root, split, Path(name).stem)[key]
        return canonical.split_dir(root, split), [canonical.pairs_path(root, split)], path("image"), path("cloth")
    if reader.format == "dresscode":
        base = dresscode.category_dir(root, reader.category)
        pairs = [dresscode.pairs_path(root, split, reader.category, paired) for paired in (True, False)]
        return base, pairs[: 1 if split == "train" else 2], (base / "images").joinpath, (base / "images").joinpath
    folder = root / f"{split}_img"
    return folder, [viton.pairs_path(root, split)], folder.joinpath, (root / f"{split}_color").joinpath


class _Checker:
    def __init__(self, reader: Reader):
        self.reader, self.report = reader, CheckReport(reader.format, str(reader.root))
        self.missing: set[str] = set()  # files reported by a pairs line, not reported again by a sample read

    def add(self, category, file, message, sample_id=None):
        self.report.problems.append(Problem(category, str(file), message))
        self.stats.categories[category] += 1
        if sample_id is not None:
            self.bad.add(sample_id)

    def add_error(self, err, sample_id=None):
        file, sep, problem = str(err).partition(": ")
        if not sep:
            file, problem = sample_id or self.split, str(err)
        if not (isinstance(err, FileNotFoundError) and file in self.missing):
            self.add(classify(err), file, problem, sample_id)
        elif sample_id is not None:
            self.bad.add(sample_id)

    def run(self) -> CheckReport:
        split_of = {}  # DressCode keeps both splits in one folder: ids must differ across splits
        for split in canonical.SPLITS:
            self.split, self.stats, self.bad = split, SplitStats(), set()
            self.report.splits[split] = self.stats
            folder, pairs_files, person_file, cloth_file = _layout(self.reader, self.split)
            if not folder.is_dir():
                self.add("missing file", folder, f"folder of the {self.split} split not found")
                continue
            try:
                ids = list(dict.fromkeys(self.reader.ids(self.split)))
            except (OSError, ValueError) as err:  # missing or malformed pairs file
                self.add_error(err)
                continue
            self.stats.listed = len(ids)
            for path in pairs_files[:1] + [p for p in pairs_files[1:] if p.is_file()]:
                self.pairs(path, person_file, cloth_file)
            for sample_id in ids:
                if self.reader.format == "dresscode" and split_of.setdefault(sample_id, self.split) != self.split:
                    self.add("duplicate id", person_file(f"{sample_id}_0.jpg"),
                             f"id {sample_id!r} is listed in both {split_of[sample_id]} and {self.split}", sample_id)
                self.sample(sample_id)
            if self.reader.format == "canonical":
                self.transfers(set(ids))
            self.stats.with_problems = len(self.bad)
        return self.report

    def pairs(self, path: Path, person_file, cloth_file):
        try:
            pairs = canonical.read_pairs(path)
        except (OSError, ValueError) as err:
            return self.add_error(err)
        first = {}
        for line, (person, cloth) in enumerate(pairs, start=1):
            sample_id = Path(person).stem if self.reader.format == "canonical" else person.rsplit("_", 1)[0]
            if first.setdefault(person, line) != line:
                self.add("duplicate id", path, f"line {line}: person {person!r} already on line {first[person]}",
                         sample_id)
            for role, file in (("person", person_file(person)), ("cloth", cloth_file(cloth))):
                if not file.is_file() and str(file) not in self.missing:
                    self.missing.add(str(file))
                    self.add("pair points at nothing", file, f"{path.name} line {line}: {role} file not found",
                             sample_id)

    def sample(self, sample_id: str):
        reader = self.reader
        try:
            raw = reader.read_raw(self.split, sample_id)
            parsing = reader.label_map.apply(raw.labels, raw.files["labels"])
            if reader.densepose != "rendering":
                densepose.encode(raw.parts, raw.uv, reader.densepose, raw.files["densepose"])
            elif raw.densepose_picture is None:
                raise ValueError(f"{raw.files['densepose']}: no DensePose colour picture for the 'rendering' encoding")
        except (OSError, ValueError) as err:
            self.add_error(err, sample_id)
            return
        self.stats.readable += 1
        if not raw.cloth_mask.any():
            self.add("empty garment mask", raw.files["cloth_mask"], "in-shop cloth mask is all zero", sample_id)
        if getattr(reader, "category", "upper_body") == "upper_body" and not (parsing == UPPER_GARMENT).any():
            self.add("empty garment mask", raw.files["labels"], "person parsing has no upper-garment pixel", sample_id)

    def transfers(self, known: set[str]):
        path = canonical.transfer_pairs_path(self.reader.root, self.split)
        if not path.is_file():  # only the synthetic engine writes true transfers
            return
        try:
            pairs = canonical.read_pairs(path)
        except ValueError as err:
            return self.add_error(err)
        first = {}
        for line, pair in enumerate(pairs, start=1):
            if first.setdefault(pair, line) != line:
                self.add("duplicate id", path, f"line {line}: transfer {pair} already on line {first[pair]}")
            if unknown := [i for i in pair if i not in known]:
                self.add("pair points at nothing", path, f"line {line}: unknown ids {unknown}")
                continue
            files = canonical.transfer_paths(self.reader.root, self.split, *pair)
            for key, file in files.items():
                if key != "flow" and not file.is_file():  # the correspondence is optional
                    self.add("pair points at nothing", file, f"{path.name} line {line}: transfer file not found")


def check_dataset(format: str, root, **reader_options) -> CheckReport:
    """Read every sample listed in each split's pairs files (``format`` one of ``readers.FORMATS``) and report.

    ``reader_options`` go to ``make_reader`` (``size``, ``label_map``, ``densepose``, ...). A missing root or a bad
    option raises (``FileNotFoundError``, ``ValueError``); problems with the data are reported, not raised.
    """
    return _Checker(make_reader(format, root, **reader_options)).run()


def format_report(report: CheckReport, max_problems: int = 20) -> str:
    """A table (rows: sample counts, then problem categories; columns: splits and total), then the first problems."""
    stats = list(report.splits.values())
    rows = [("samples listed", [s.listed for s in stats]), ("readable", [s.readable for s in stats]),
            ("with problems", [s.with_problems for s in stats]), None]
    rows += [(c, [s.categories[c] for s in stats]) for c in CATEGORIES if c != "other" or any(
        s.categories[c] for s in stats)]
    header = f"{'':<24}" + "".join(f"{name:>8}" for name in [*report.splits, "total"])
    lines = [f"data check: {report.root} ({report.format})", header]
    for row in rows:
        cells = "-" * len(header) if row is None else "".join(f"{v:>8}" for v in [*row[1], sum(row[1])])
        lines.append(cells if row is None else f"{row[0]:<24}{cells}")
    if report.ok:
        return "\n".join([*lines, "OK: no problems found"])
    shown = report.problems[:max_problems]
    more = f", the first {len(shown)}" if len(shown) < len(report.problems) else ""
    lines.append(f"{len(report.problems)} problems{more}:")
    return "\n".join(lines + [f"  [{p.category}] {p.file}: {p.message}" for p in shown])
