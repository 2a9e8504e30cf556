"""Check a data set before training on it: read every listed sample once through its layout's reader, and report.

Each sample id of a split is read with ``Reader.read_raw`` (which checks files, ids, sizes and what the DensePose
files hold), its labels mapped through the label map, its DensePose encoded and its keypoints read, at the stored size
so that resizing hides no stray id. A reader error names its file first (``"<file>: <problem>"``); it is classified
by type (``FileNotFoundError``) and by the words of the problem. Pair lists are checked line by line: the file must be
UTF-8 text with the layout's number of columns, every person and cloth file must exist and no person may be listed
twice. Across splits, an id in both splits is reported (a leak, and the same file where the splits share folders).
Layout-wide problems (``Reader.layout_problems``: PF-AFN's sorted listings that do not match) and problems with a
split's other lists (``Reader.list_problems``: the canonical layout's ``transfer/pairs.txt`` must name known ids and
present files) are reported too; each format's checks live with its reader (``data/formats/``).

Checked beside what the readers refuse: a split whose list names no sample while its folder is there, a DensePose
that shows no body (``densepose.body_problem``), and a file that leads outside the data set's folders (a symbolic
link: copies, archives and fingerprints miss it). A label map stored as JPEG (by its bytes, whatever its name) is a
"lossy label map" (``base.read_ids``).

Notes (files the layout does not ship, lists at the old place, a data set that holds one split only: a download of
the test split) and warnings (an alpha channel composited on white, a JPEG label map of PF-AFN's pack) are printed
but are not problems.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from garment_transfer.data import densepose
from garment_transfer.data.formats.base import SPLITS
from garment_transfer.data.formats.pairs import read_pair_lines
from garment_transfer.data.label_maps import garment_classes
from garment_transfer.data.readers import Reader, make_reader

CATEGORIES = (
    "missing file",
    "unreadable image",
    "size mismatch",
    "unknown label id",
    "lossy label map",
    "bad DensePose",
    "bad keypoints",
    "empty garment mask",
    "bad garment mask",
    "bad pairs file",
    "pair points at nothing",
    "duplicate id",
    "listing mismatch",
    "outside the data set",
    "other",
)
_KEYWORDS = (  # (category, words of the problem text), tried in order after FileNotFoundError -> "missing file"
    ("bad pairs file", ("pairs file", "not utf-8", "binary file")),
    ("unreadable image", ("cannot read", "cannot identify", "truncated")),
    ("size mismatch", ("differs from the sample's size", "must have shape")),
    ("bad garment mask", ("garment mask recovered",)),
    ("bad DensePose", ("densepose", "part ind", "'uv'")),
    ("lossy label map", ("jpeg label map", "jpeg garment part map")),
    ("unknown label id", ("label id", "label map")),
    ("bad keypoints", ("keypoint", "openpose")),
)
_GARMENT_WORDS = {"upper": "upper-garment", "lower": "lower-garment", "dresses": "dress (upper or lower garment)"}
MAX_WARNINGS = 5


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
    layout: str = ""  # how the layout was recognised (no --format given)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def classify(err: Exception) -> str:
    """The category of a reader's error (``FileNotFoundError``, ``ValueError`` or another ``OSError``)."""
    if isinstance(err, FileNotFoundError):
        return "missing file"
    text = str(err).lower()
    problem = text.partition(": ")[2] or text  # words of the file name (image-densepose/...) must not count
    return next(
        (category for category, words in _KEYWORDS if any(w in problem for w in words)),
        "unreadable image" if isinstance(err, OSError) else "other",
    )


class _Checker:
    def __init__(self, reader: Reader):
        self.reader, self.report = reader, CheckReport(reader.format, str(reader.root))
        self.missing: set[str] = set()  # files reported by a pairs line, not reported again by a sample read
        self.lacking: Counter = Counter()  # samples without parsing / DensePose, by what they lack

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
        split_ids: dict[str, list[str]] = {}
        self.person_files: dict[str, str] = {}
        self.roots = [Path(folder).resolve() for folder in self.reader.roots()]
        absent = [split for split in SPLITS if self.reader.split_absent(split)]
        if len(absent) == len(SPLITS):  # neither split: each folder (or list) is reported missing below
            absent = []
        notes = [
            f"{self.reader.split_folder(split)}: no {split} split (the data set holds the "
            f"{' and '.join(s for s in SPLITS if s not in absent)} split only): "
            + ("usable to evaluate, not to train" if split == "train" else "usable to train, not to evaluate")
            for split in absent
        ]
        for split in SPLITS:
            self.split, self.stats, self.bad = split, SplitStats(), set()
            self.report.splits[split] = self.stats
            folder = self.reader.split_folder(split)
            if split in absent:
                continue
            if not folder.is_dir():
                self.add("missing file", folder, f"folder of the {self.split} split not found")
                continue
            try:
                ids = list(dict.fromkeys(self.reader.ids(self.split)))
            except (OSError, ValueError) as err:  # missing or malformed pairs file
                self.add_error(err)
                continue
            self.stats.listed = len(ids)
            if not ids:
                self.empty(split, folder)
            for path, required in self.reader.pair_files(split):
                if required or path.is_file():
                    self.pairs(path)
            for category, file, message in self.reader.layout_problems(split):
                self.add(category, file, message)
            for sample_id in ids:
                self.sample(sample_id)
            if split == "test":
                self.overlap(split_ids.get("train", []), ids)
            split_ids[split] = ids
            self.lists(set(ids))
            self.stats.with_problems = len(self.bad)
        self.report.notes = (
            notes
            + self.reader.notes()
            + [
                f"{count} {split} samples have no {what} (see the note above on what this layout ships)"
                for (split, what), count in sorted(self.lacking.items())
            ]
        )
        return self.report

    def empty(self, split: str, folder: Path):
        """A split that lists no sample although its folder is there (an emptied list trains on nothing)."""
        lists = [path for path, _ in self.reader.pair_files(split) if path.is_file()]
        if lists:
            return self.add(
                "bad pairs file",
                lists[0],
                f"lists no {split} samples (the file holds no pair), yet the {split} split's folder {folder} is there",
            )
        self.add("missing file", folder, f"holds no {split} samples")

    def outside(self, file, sample_id: str):
        """A file that leads outside the data set's folders (a symbolic link): copies, archives and the data set's
        fingerprint miss it."""
        target = Path(file).resolve()
        if not any(target.is_relative_to(root) for root in self.roots):
            how = "a symbolic link to" if Path(file).is_symlink() else "in a linked folder, really"
            self.add(
                "outside the data set",
                file,
                f"{how} {target}, outside the data set folder {self.roots[0]}: "
                "copies, archives and the data set's fingerprint miss it; copy the "
                "file in",
                sample_id,
            )

    def pairs(self, path: Path):
        try:
            lines = read_pair_lines(path, self.reader.pair_columns())
        except (OSError, ValueError) as err:
            return self.add_error(err)
        first = {}
        for line in lines:
            sample_id = self.reader.line_id(line)
            if first.setdefault(line.person, line.line) != line.line:
                self.add(
                    "duplicate id",
                    path,
                    f"line {line.line}: person {line.person!r} already on line {first[line.person]}",
                    sample_id,
                )
            for role, file in self.reader.line_files(self.split, line):
                if not file.is_file() and str(file) not in self.missing:
                    self.missing.add(str(file))
                    self.add(
                        "pair points at nothing",
                        file,
                        f"{path.name} line {line.line}: {role} file not found",
                        sample_id,
                    )

    def sample(self, sample_id: str):
        reader = self.reader
        try:
            raw = reader.read_raw(self.split, sample_id)
            parsing = None if raw.labels is None else reader.label_map.apply(raw.labels, raw.files["labels"])
            if reader.densepose == "rendering":
                if raw.densepose_picture is None:
                    raise ValueError(
                        f"{raw.files['densepose']}: no DensePose colour picture for the 'rendering' encoding"
                    )
            elif raw.densepose_index is not None:
                densepose.encode(raw.densepose_index, raw.uv, reader.densepose, raw.files["densepose"])
        except (OSError, ValueError) as err:
            self.add_error(err, sample_id)
            return
        self.stats.readable += 1
        self.person_files[f"{self.split}/{sample_id}"] = str(raw.files.get("image", sample_id))
        self.report.warnings += raw.warnings
        for file in dict.fromkeys(map(str, raw.files.values())):
            self.outside(file, sample_id)
        rendering = raw.densepose_picture is not None
        pose = raw.densepose_picture if rendering else raw.densepose_index
        if "densepose" in raw.files and pose is not None:
            problem = densepose.body_problem(pose, rendering)
            if problem is not None:
                self.add("bad DensePose", raw.files["densepose"], problem, sample_id)
        for what, value in (("parsing", raw.labels), ("DensePose", pose)):
            if value is None:
                self.lacking[(self.split, what)] += 1
        if not raw.cloth_mask.any():
            self.add("empty garment mask", raw.files["cloth_mask"], "in-shop cloth mask is all zero", sample_id)
        if parsing is not None and not any((parsing == c).any() for c in garment_classes(raw.category)):
            self.add(
                "empty garment mask",
                raw.files["labels"],
                f"person parsing has no {_GARMENT_WORDS[raw.category]} pixel",
                sample_id,
            )

    def overlap(self, train_ids: list[str], test_ids: list[str]):
        """Ids in both splits: a leak, and the same file where the layout keeps both splits in one folder."""
        for sample_id in sorted(set(train_ids) & set(test_ids), key=test_ids.index):
            file = self.person_files.get(f"test/{sample_id}", sample_id)
            same = file == self.person_files.get(f"train/{sample_id}")
            self.add(
                "duplicate id",
                file,
                f"id {sample_id!r} is listed in both train and test"
                + (" (the same file)" if same else " (a leak? the two splits' ids should differ)"),
                sample_id,
            )

    def lists(self, ids: set[str]):
        """The split's other lists (``Reader.list_problems``); one that cannot be read is reported as its error."""
        try:
            problems = self.reader.list_problems(self.split, ids)
        except (OSError, ValueError) as err:
            return self.add_error(err)
        for category, file, message in problems:
            self.add(category, file, message)


def check_dataset(format: str, root, **reader_options) -> CheckReport:
    """Read every sample listed in each split (``format`` one of ``readers.FORMATS``) and report.

    ``reader_options`` go to ``make_reader`` (``size``, ``label_map``, ``densepose``, ...). A missing root or a bad
    option raises (``FileNotFoundError``, ``ValueError``); problems with the data are reported, not raised.
    """
    return _Checker(make_reader(format, root, **reader_options)).run()


def format_report(report: CheckReport, max_problems: int = 20) -> str:
    """The layout (when recognised), a table (rows: sample counts, then problem categories; columns: splits and
    total), the notes and warnings, then the first problems."""
    stats = list(report.splits.values())
    rows = [
        ("samples listed", [s.listed for s in stats]),
        ("readable", [s.readable for s in stats]),
        ("with problems", [s.with_problems for s in stats]),
        None,
    ]
    rows += [
        (c, [s.categories[c] for s in stats]) for c in CATEGORIES if c != "other" or any(s.categories[c] for s in stats)
    ]
    header = f"{'':<24}" + "".join(f"{name:>8}" for name in [*report.splits, "total"])
    lines = [f"data check: {report.root} ({report.format})"] + ([report.layout] if report.layout else []) + [header]
    for row in rows:
        cells = "-" * len(header) if row is None else "".join(f"{v:>8}" for v in [*row[1], sum(row[1])])
        lines.append(cells if row is None else f"{row[0]:<24}{cells}")
    lines += [f"note: {note}" for note in report.notes]
    if report.warnings:
        shown = report.warnings[:MAX_WARNINGS]
        more = f", the first {len(shown)}" if len(shown) < len(report.warnings) else ""
        lines += [f"{len(report.warnings)} warnings{more}:"] + [f"  {w}" for w in shown]
    if report.ok:
        return "\n".join([*lines, "OK: no problems found"])
    shown = report.problems[: max(0, max_problems)]
    more = f", the first {len(shown)}" if len(shown) < len(report.problems) else ""
    count = len(report.problems)
    lines.append(f"{count} problems{more}:" if shown else f"{count} problems (not listed)")
    return "\n".join(lines + [f"  [{p.category}] {p.file}: {p.message}" for p in shown])
