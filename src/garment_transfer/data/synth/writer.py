"""Writing a synthetic data set to disk in the canonical layout: validated first, parallel, resumable.

A run checks everything before it writes anything: the size, the counts, that the folder can be written, and that an
existing folder was generated with the same settings (``meta.json``). Each file is written atomically and a sample
counts as done when all its files exist, so an interrupted run continues where it stopped (Ctrl-C stops the pool's
processes quietly: the command says so in one line). Equal settings give byte-identical files whatever the number of
workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL

from garment_transfer import __version__
from garment_transfer.data import io
from garment_transfer.data.formats import canonical
from garment_transfer.data.formats.pairs import derangement
from garment_transfer.data.labels import GARMENT_PARTS
from garment_transfer.data.samples import check_size
from garment_transfer.data.synth.engine import SyntheticEngine, sample_id
from garment_transfer.data.synth.params import CATEGORIES, ENGINE_VERSION, EngineConfig

META_FILE = "meta.json"


@dataclass(frozen=True)
class SynthSettings:
    """Everything that determines the files of a synthetic data set.

    Attributes:
        counts: samples per split and category, e.g. ``{"train": 2000, "val": 200, "test": 200}``; ``train`` and
            ``test`` need one at least, ``val`` (the validation split, our extension of the layout) may be 0 or absent.
        transfers_per_target: true transfers rendered per target sample, per split.
        categories: the garment categories to generate (``upper``, ``lower``, ``dresses``), each with ``counts``
            samples of its own.
    """

    seed: int
    height: int
    width: int
    counts: dict = field(default_factory=lambda: {"train": 2000, "test": 200})
    transfers_per_target: dict = field(default_factory=lambda: {"train": 0, "test": 1})
    config: EngineConfig = field(default_factory=EngineConfig)
    categories: tuple = ("upper",)

    def splits(self) -> tuple[str, ...]:
        """The splits this set has: train and test, and val when it has samples."""
        return tuple(s for s in canonical.ALL_SPLITS if s in canonical.SPLITS or self.counts.get(s, 0))

    def validate(self) -> None:
        check_size(self.height, self.width)
        if (
            not self.categories
            or any(c not in CATEGORIES for c in self.categories)
            or len(set(self.categories)) != len(self.categories)
        ):
            raise ValueError(
                f"--categories {','.join(map(str, self.categories))}: give one or more of "
                f"{', '.join(CATEGORIES)}, each once"
            )
        val = self.counts.get(canonical.VAL, 0)
        if not isinstance(val, int) or val < 0:
            raise ValueError(f"--val {val}: a whole number of validation samples (0: no validation split)")
        for split in self.splits():
            count = self.counts.get(split)
            if not isinstance(count, int) or count < 1:
                raise ValueError(f"--{split} {count}: each split needs at least one sample")
            per_target = self.transfers_per_target.get(split, 0)
            if not isinstance(per_target, int) or per_target < 0:
                raise ValueError(f"transfers per target for {split!r} must be a whole number >= 0, got {per_target}")
            if per_target and count < 2:
                raise ValueError(f"--{split} {count}: true transfers need at least 2 samples in the split")

    def to_dict(self) -> dict:
        return {
            "engine_version": ENGINE_VERSION,
            "seed": self.seed,
            "size": [self.height, self.width],
            "counts": {split: self.counts[split] for split in self.splits()},
            "transfers_per_target": {split: self.transfers_per_target.get(split, 0) for split in self.splits()},
            "engine_config": self.config.to_dict(),
            "categories": list(self.categories),
        }

    @classmethod
    def from_dict(cls, values: dict) -> SynthSettings:
        """Inverse of :meth:`to_dict` (e.g. ``meta.json``'s ``settings``); refuses another engine version."""
        if values.get("engine_version") != ENGINE_VERSION:
            raise ValueError(
                f"settings are for engine version {values.get('engine_version')!r}; this is "
                f"{ENGINE_VERSION!r}, which may render different files"
            )
        height, width = values["size"]
        return cls(
            seed=values["seed"],
            height=height,
            width=width,
            counts=dict(values["counts"]),
            transfers_per_target=dict(values["transfers_per_target"]),
            config=EngineConfig.from_dict(values["engine_config"]),
            categories=tuple(values.get("categories", ("upper",))),
        )

    def command(self) -> str:
        return (
            f"garment-transfer synth --out DIR --size {self.height}x{self.width} --train {self.counts['train']} "
            f"--val {self.counts.get('val', 0)} --test {self.counts['test']} --seed {self.seed} "
            f"--transfers {self.transfers_per_target['test']} "
            f"--train-transfers {self.transfers_per_target['train']} --categories {','.join(self.categories)} "
            "[--config the engine_config below as YAML]"
        )


@dataclass(frozen=True)
class SynthReport:
    written: int
    skipped: int
    root: Path


def read_meta(root: str | Path) -> dict | None:
    """The ``meta.json`` of a data set folder, or None when it has none."""
    return io.read_json(Path(root) / META_FILE)


def _check_destination(root: Path, settings: SynthSettings) -> None:
    """Refuse, before touching anything, a folder we cannot write or one generated with other settings."""
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"--out {root}: exists and is not a folder")
    ancestor = root
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotADirectoryError(f"--out {root}: cannot create it, {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {root}: {ancestor} is not writable")
    if not root.exists():
        return
    meta = read_meta(root)
    if meta is None:
        if any(root.iterdir()):
            raise FileExistsError(
                f"--out {root}: folder is not empty and holds no {META_FILE}; choose an empty or new folder"
            )
        return
    ours, theirs = settings.to_dict(), meta.get("settings", {})
    if canonical.VAL in ours["counts"] and canonical.VAL not in theirs.get("counts", {canonical.VAL: None}):
        for key in ("counts", "transfers_per_target"):  # a validation split added to a set without one: extend it
            ours[key] = {s: v for s, v in ours[key].items() if s != canonical.VAL}
    defaults = EngineConfig().to_dict()  # parameters added since a set was made: equal when ours is the default
    if isinstance(theirs.get("engine_config"), dict):
        unchanged = {k: v for k, v in defaults.items() if ours["engine_config"].get(k) == v}
        theirs = {**theirs, "engine_config": {**unchanged, **theirs["engine_config"]}}
    differences = [
        f"{key}: {theirs.get(key)!r} there, {ours[key]!r} asked" for key in ours if theirs.get(key) != ours[key]
    ]
    if differences:
        raise FileExistsError(
            f"--out {root}: was generated with other settings ({'; '.join(differences)}); "
            "use a new folder or repeat the original settings to resume"
        )


def _meta(settings: SynthSettings, status: str) -> dict:
    return {
        "generator": "garment-transfer synthetic engine",
        "status": status,
        "package_version": __version__,
        "settings": settings.to_dict(),
        "regenerate": settings.command(),
        "layout": "canonical: VITON-HD's (docs/data.md, On-disk layout), pair lists at the root (train paired, "
        "test unpaired)",
        "labels": "image-parse-v3: CIHP ids; image-densepose: I, U*255, V*255; transfer/flow: (2, H, W) float32 "
        "source pixel (x, y) per garment pixel, -1 unseen; image-parse-parts, cloth-parse-parts: garment "
        "part ids " + ", ".join(f"{i} {name}" for name, i in GARMENT_PARTS.items()) + "; openpose_json: "
        "BODY_25 in pixels, 0 0 0 where a joint is hidden or outside the frame",
        "ids": {
            split: [sample_id(split, 0), sample_id(split, settings.counts[split] - 1)] for split in settings.splits()
        },
        "categories": {
            category: {
                split: [sample_id(split, 0, category), sample_id(split, settings.counts[split] - 1, category)]
                for split in settings.splits()
            }
            for category in settings.categories
        },
        "libraries": {"numpy": np.__version__, "pillow": PIL.__version__, "python": sys.version.split()[0]},
    }


def _remove_stale_temporaries(root: Path) -> None:
    """Temporary files left by a killed run (complete files are only ever renamed into place)."""
    for path in root.glob("*/**/.*.tmp-*"):
        path.unlink(missing_ok=True)


# A job is ("sample", split, index, category) or ("transfer", split, source, target, category).
_ENGINE: SyntheticEngine | None = None
_ROOT: Path | None = None


def _init_worker(settings: SynthSettings, root: Path) -> None:
    global _ENGINE, _ROOT
    _ENGINE = SyntheticEngine(settings.seed, settings.height, settings.width, settings.config)
    _ROOT = root


def _init_pool_worker(settings: SynthSettings, root: Path) -> None:
    """A pool process ignores Ctrl-C (a terminal sends SIGINT to every process of the command): the parent stops
    the pool and says so in one line, instead of each worker printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(settings, root)


def _run_job(job: tuple) -> tuple:
    if job[0] == "sample":
        canonical.write_sample(_ROOT, job[1], _ENGINE.sample(job[1], job[2], job[3]))
    else:
        canonical.write_transfer(_ROOT, job[1], _ENGINE.transfer(job[1], job[2], job[3], job[4]))
    return job


# The optional files the engine writes for every sample (HR-VITON's agnostic inputs: upper-body samples only).
SAMPLE_EXTRAS = {
    "upper": ("keypoints", "skeleton", "parts", "cloth_parts", "agnostic", "parse_agnostic"),
    "lower": ("keypoints", "skeleton", "parts", "cloth_parts"),
    "dresses": ("keypoints", "skeleton", "parts", "cloth_parts"),
}


def _is_done(root: Path, job: tuple) -> bool:
    if job[0] == "sample":
        split, name, category = job[1], sample_id(job[1], job[2], job[3]), job[3]
        extras = canonical.extra_paths(root, split, name)
        paths = [*canonical.sample_paths(root, split, name).values(), *(extras[k] for k in SAMPLE_EXTRAS[category])]
    else:
        paths = canonical.transfer_paths(
            root, job[1], sample_id(job[1], job[2], job[4]), sample_id(job[1], job[3], job[4])
        ).values()
    return all(path.exists() for path in paths)


def _plan(settings: SynthSettings, engine: SyntheticEngine) -> tuple[list[tuple], dict]:
    """The jobs, and each split's transfer pairs as ids: categories one after the other, each as engine 1.0 planned
    the upper-body set (samples, then the split's transfers)."""
    jobs, pair_lists = [], {split: [] for split in settings.splits()}
    for category in settings.categories:
        for split in settings.splits():
            count = settings.counts[split]
            jobs += [("sample", split, i, category) for i in range(count)]
            pairs = engine.transfer_pairs(split, count, settings.transfers_per_target.get(split, 0), category)
            pair_lists[split] += [(sample_id(split, s, category), sample_id(split, t, category)) for s, t in pairs]
            jobs += [("transfer", split, source, target, category) for source, target in pairs]
    return jobs, pair_lists


def pair_list(split: str, ids: list[str]) -> str:
    """The text of a split's pair list at the root, as VITON-HD has them: ``train`` paired (each person with their
    own garment), ``test`` unpaired like the official list (``"<person>.png <cloth>.png"``, the garments a seed-0
    derangement: the pairs the data module drew for ``eval_pairs: unpaired`` before the list existed); a test split
    of one sample gets a paired line; ``val`` is listed paired, as train (its evaluation pairs are its true
    transfers)."""
    if split != "test" or len(ids) < 2:
        return "".join(f"{i}.png {i}.png\n" for i in ids)
    return "".join(f"{target}.png {source}.png\n" for source, target in derangement(ids, seed=0))


def _write_lists(root: Path, settings: SynthSettings, pair_lists: dict) -> None:
    """The root lists (every category, each unpaired within its category), the per-category lists as DressCode has
    them, and the transfer pairs."""
    for split in settings.splits():
        text = ""
        for category in settings.categories:
            ids = [sample_id(split, i, category) for i in range(settings.counts[split])]
            text += pair_list(split, ids)
            (root / canonical.CATEGORY_FOLDERS[category]).mkdir(exist_ok=True)
            io.atomic_write_text(canonical.category_pairs_path(root, category, split), pair_list("train", ids))
            if split == "test":
                io.atomic_write_text(
                    canonical.category_pairs_path(root, category, split, paired=False), pair_list(split, ids)
                )
        io.atomic_write_text(canonical.root_pairs_path(root, split), text)
        io.atomic_write_text(
            canonical.transfer_pairs_path(root, split), "".join(f"{s} {t}\n" for s, t in pair_lists[split])
        )


def generate(root: str | Path, settings: SynthSettings, workers: int = 0, progress: bool = True) -> SynthReport:
    """Generate (or finish generating) the data set ``settings`` describes into ``root``.

    Args:
        workers: processes; 0 uses every core (more than the cores are capped), 1 runs in this process.
        progress: show a progress bar on stderr.
    """
    root = Path(root)
    settings.validate()
    _check_destination(root, settings)
    canonical.make_dirs(root, settings.splits())
    _remove_stale_temporaries(root)
    io.atomic_write_json(root / META_FILE, _meta(settings, "generating"))
    engine = SyntheticEngine(settings.seed, settings.height, settings.width, settings.config)
    jobs, pair_lists = _plan(settings, engine)
    todo = [job for job in jobs if not _is_done(root, job)]
    workers = min(workers or os.cpu_count() or 1, os.cpu_count() or 1)  # never more processes than cores
    from tqdm import tqdm

    bar = tqdm(
        total=len(jobs),
        initial=len(jobs) - len(todo),
        disable=not progress,
        unit="file-set",
        desc=f"synth {root.name}",
        dynamic_ncols=True,
    )
    try:  # Ctrl-C (KeyboardInterrupt) stops here with every finished file in place: a rerun resumes
        if workers == 1 or len(todo) < 4:
            _init_worker(settings, root)
            for job in todo:
                bar.update(bool(_run_job(job)))
        else:
            context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the workers are born ignoring Ctrl-C
            try:
                pool = context.Pool(workers, initializer=_init_pool_worker, initargs=(settings, root))
            finally:
                signal.signal(signal.SIGINT, previous)
            with pool:
                for _ in pool.imap_unordered(_run_job, todo, chunksize=max(1, min(32, len(todo) // (8 * workers)))):
                    bar.update(1)
    finally:
        bar.close()
    _write_lists(root, settings, pair_lists)
    io.atomic_write_json(root / META_FILE, _meta(settings, "complete"))
    return SynthReport(written=len(todo), skipped=len(jobs) - len(todo), root=root)
