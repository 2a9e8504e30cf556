"""Pair sampling, the pair dataset and the base LightningDataModule that every stage's data module extends.

Pair modes (``docs/data.md``, "Pairs, splits and validation"): ``paired`` (a person with their own garment: the
try-on teachers' self-supervision), ``unpaired`` (a person with another person's in-shop garment: try-on) and
``transfer`` (a source person's worn garment onto a target person). Training draws a fresh partner and augmentation
for every item from the item's seed (:mod:`garment_transfer.data.sampling`: the run's seed, the epoch and the
position decide them, so runs repeat and resume exactly); validation and test use a fixed list, so every run is
compared on the same pairs:

- ``transfer``: the true transfers where the data set has them (the synthetic engine), with the truth attached;
- otherwise the data set's own list where it ships one (``Reader.official_pairs``): for ``unpaired`` (and
  ``transfer`` without truth) its unpaired list (VITON-HD ``test_pairs.txt``, DressCode ``test_pairs_unpaired.txt``,
  the CP-VTON and PF-AFN test lists, GP-VTON's ``test_pairs_unpaired*.txt``), so that unpaired scores are computed on
  the pairs everyone publishes; for ``paired`` its paired list;
- otherwise a draw that depends only on the split's ids and ``eval_seed``.

``eval_pairs_source`` says which was used (the run logs it). ``test``, ``validate`` and ``predict`` read only the
split they evaluate, so a folder holding only ``test`` (and its list) is enough for them.

Derived per-person inputs that a stage needs (``inputs``: names of ``data.inputs.INPUTS``) are computed in the
datasets' ``__getitem__``, so in the loader workers, for the source and the target of each pair (not for the truth).

Validation and test are apart: every choice (epochs, phase boundaries, weights, early stopping) is made on the
validation pairs and the test split is read once per reported number. Validation reads the data set's ``val`` split
where it has one (the synthetic engine writes one, with true transfers); a data set without one (the real downloads)
gives its **last** ``val_holdout`` train ids (a fraction, or a count when >= 1, in the reader's order) to
validation and trains on the rest; ``val_holdout: 0`` validates on the test split (choices made on it are not clean:
the test split then also chose them).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from garment_transfer.data.augment import Augmenter
from garment_transfer.data.formats.pairs import derangement
from garment_transfer.data.inputs import check_inputs, compute_inputs
from garment_transfer.data.io import read_json
from garment_transfer.data.readers import Reader, make_reader
from garment_transfer.data.samples import PairSample, collate, parse_size
from garment_transfer.data.sampling import EvaluationShards, ResumableSampler
from garment_transfer.data.synth import SynthSettings, generate
from garment_transfer.errors import UserError, one_line

PAIR_MODES = ("paired", "unpaired", "transfer")
DEFAULT_SYNTHETIC = {"train": 2000, "val": 200, "test": 200, "seed": 0, "transfers": 1}


def evaluation_pairs(ids: list[str], mode: str, seed: int = 0) -> list[tuple[str, str]]:
    """Fixed ``(source, target)`` pairs: one per target, in ``ids`` order.

    ``paired`` pairs each id with itself; ``unpaired`` and ``transfer`` give each target a different source,
    a derangement drawn from ``seed`` (every person is a source exactly once).
    """
    if mode not in PAIR_MODES:
        raise ValueError(f"pair mode {mode!r}: choose one of {PAIR_MODES}")
    if mode == "paired":
        return [(i, i) for i in ids]
    if len(ids) < 2:
        raise ValueError(f"{mode} pairs need at least two samples, got {len(ids)}")
    return derangement(ids, seed)


class PairDataset(Dataset):
    """``PairSample`` items of one split.

    Args:
        reader: the data set's reader.
        split: ``train`` or ``test``.
        mode: one of :data:`PAIR_MODES`.
        pairs: a fixed ``(source, target)`` list; None draws a random partner per item (training).
        truth: attach the true transfer (only where the reader has one for every pair).
        augment_source, augment_target: ``Augmenter`` applied to each side, or None.
        ids: the samples of the split to use (None: all of them).
        inputs: names of derived inputs (``data.inputs.INPUTS``) computed for source and target into
            ``PersonSample.inputs``.
    """

    def __init__(
        self,
        reader: Reader,
        split: str,
        mode: str = "paired",
        pairs=None,
        truth: bool = False,
        augment_source: Augmenter | None = None,
        augment_target: Augmenter | None = None,
        ids: list[str] | None = None,
        inputs: Iterable[str] = (),
    ):
        if mode not in PAIR_MODES:
            raise ValueError(f"pair mode {mode!r}: choose one of {PAIR_MODES}")
        self.reader, self.split, self.mode, self.truth = reader, split, mode, truth
        self.ids = reader.ids(split) if ids is None else list(ids)
        if not self.ids:
            raise ValueError(f"{reader.root}: split {split!r} lists no samples")
        if pairs is None and mode != "paired" and len(self.ids) < 2:
            raise ValueError(f"{reader.root}: {mode} pairs need at least two samples in split {split!r}")
        known = set(self.ids)
        missing = [name for pair in (pairs or []) for name in pair if name not in known]
        if missing:
            raise ValueError(
                f"{reader.root}: pairs of split {split!r} name samples that are not in the split's "
                f"list {sorted(set(missing))[:5]}"
            )
        self.pairs = pairs
        self.augment_source, self.augment_target = augment_source, augment_target
        self.inputs = check_inputs(inputs)

    def __len__(self) -> int:
        return len(self.pairs) if self.pairs is not None else len(self.ids)

    def _pair(self, index: int, generator: torch.Generator | None) -> tuple[str, str]:
        if self.pairs is not None:
            return self.pairs[index]
        target = self.ids[index]
        if self.mode == "paired":
            return target, target
        offset = 1 + int(torch.randint(len(self.ids) - 1, (), generator=generator).item())
        return self.ids[(index + offset) % len(self.ids)], target

    def __getitem__(self, item: int | tuple[int, int]) -> PairSample:
        """``item``: an index (random draws from the global generator) or ``(index, item_seed)`` from
        :class:`~garment_transfer.data.sampling.ResumableSampler` (draws from ``item_seed``)."""
        try:
            return self._read(item)
        except (ValueError, OSError) as err:  # a file met in the middle of a run: the user's problem, one line
            raise UserError(one_line(err)) from err

    def _read(self, item: int | tuple[int, int]) -> PairSample:
        index, generator = (item, None) if isinstance(item, int) else (item[0], torch.Generator().manual_seed(item[1]))
        source_id, target_id = self._pair(index, generator)
        augmented = self.augment_source or self.augment_target
        seeds = torch.randint(2**31 - 1, (2,), generator=generator).tolist() if augmented else [0, 0]
        target = self.reader.person(self.split, target_id, self.augment_target, seeds[0])
        if source_id == target_id and self.augment_source is None:
            source = target
        else:
            source = self.reader.person(self.split, source_id, self.augment_source, seeds[1])
        if self.inputs:
            for person in (target,) if source is target else (target, source):
                person.inputs = compute_inputs(person, self.inputs)
        truth = self.reader.read_truth(self.split, source_id, target_id) if self.truth else None
        return PairSample(source, target, truth)


class GarmentDataModule(pl.LightningDataModule):
    """The shared data module: a reader, training pairs, fixed validation and test pairs (module docstring). Stage
    data modules extend it and change the defaults.

    Args:
        root: data set folder; None is the built-in synthetic set ``data/synthetic-<size>``, generated by
            ``prepare_data`` on first use with the ``synthetic`` settings.
        format: one of ``readers.FORMATS`` (``canonical`` / ``vitonhd``, ``dresscode``, ``viton``, ``cpvton``,
            ``gpvton``).
        size: ``"HxW"`` the networks see (multiples of 16).
        label_map: built-in name, YAML path or inline table; None takes the format's default.
        densepose: pose encoding (``iuv``, ``parts``, ``parts_uv``, ``rendering``).
        reader_options: extra reader arguments (``densepose_files`` for VITON-HD and CP-VTON, ``category`` for
            DressCode, ``train_root`` / ``test_root`` / ``test_pairs`` for the PF-AFN pack, ``pairs`` for GP-VTON).
        train_pairs, eval_pairs: pair modes for training and for validation / test.
        eval_seed: seed of the drawn evaluation pairs (where the data set has no list of its own).
        eval_limit: use only the first N evaluation pairs (None: all).
        augment_source, augment_target: augmentation preset name or fields for each side in training (None: off);
            evaluation is never augmented.
        synthetic: ``train``, ``val``, ``test``, ``seed``, ``transfers`` for the built-in data set.
        val_holdout: where the data set has no ``val`` split, the share (< 1) or count (>= 1) of the train ids
            held out for validation; 0 validates on the test split.
        pin_memory: the loaders put batches in page-locked memory, so that copies to a GPU overlap with compute
            (Lightning copies with ``non_blocking=True``); None (the default): when CUDA is available.
        inputs: names of the derived per-person inputs the stage needs (``data.inputs.INPUTS``: ``pose_maps``,
            ``wuton_person``, ``gpvton_preserve``), computed in the loader workers for source and target into
            ``PersonSample.inputs``; None (the default): none.
    """

    def __init__(
        self,
        root: str | None = None,
        format: str = "canonical",
        size: str = "128x96",
        label_map: str | dict | None = None,
        densepose: str = "iuv",
        reader_options: dict | None = None,
        train_pairs: str = "paired",
        eval_pairs: str = "transfer",
        eval_seed: int = 0,
        eval_limit: int | None = None,
        augment_source: str | dict | None = None,
        augment_target: str | dict | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        synthetic: dict | None = None,
        val_holdout: float = 0.05,
        pin_memory: bool | None = None,
        inputs: list[str] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        for name, mode in (("train_pairs", train_pairs), ("eval_pairs", eval_pairs)):
            if mode not in PAIR_MODES:
                raise ValueError(f"{name} {mode!r}: choose one of {PAIR_MODES}")
        for name, value, least in (
            ("batch_size", batch_size, 1),
            ("eval_batch_size", eval_batch_size, 1),
            ("num_workers", num_workers, 0),
            ("eval_limit", eval_limit, 1),
        ):
            if value is not None and (not isinstance(value, int) or value < least):
                raise ValueError(f"data.init_args.{name} {value!r}: must be an integer >= {least}")
        if pin_memory not in (None, True, False):
            raise ValueError(f"data.init_args.pin_memory {pin_memory!r}: true, false or null (when a GPU is there)")
        if not isinstance(val_holdout, (int, float)) or val_holdout < 0:
            raise ValueError(f"data.init_args.val_holdout {val_holdout!r}: a share below 1, a count, or 0")
        self.inputs = check_inputs(inputs, "data.init_args.inputs")
        self.size = parse_size(size)
        self.root = Path(root) if root is not None else Path(f"data/synthetic-{self.size[0]}x{self.size[1]}")
        self.builtin = root is None
        self.synthetic = {**DEFAULT_SYNTHETIC, **(synthetic or {})}
        self.reader: Reader | None = None
        self.datasets: dict[str, PairDataset] = {}
        self.eval_pairs_source: str | None = None  # which test pairs were used (set by setup)
        self.val_pairs_source: str | None = None  # which validation pairs were used (set by setup)

    def prepare_data(self) -> None:
        """Generate the built-in synthetic data set when it is the configured root and not there yet (or add its
        validation split to one generated without)."""
        meta = read_json(self.root / "meta.json") if self.builtin else None
        if not self.builtin:
            return
        settings = SynthSettings(
            seed=self.synthetic["seed"],
            height=self.size[0],
            width=self.size[1],
            counts={split: self.synthetic[split] for split in ("train", "val", "test")},
            transfers_per_target={"train": 0, "val": self.synthetic["transfers"], "test": self.synthetic["transfers"]},
        )
        done = (meta or {}).get("status") == "complete"
        has_val = "val" in ((meta or {}).get("settings") or {}).get("counts", {})
        if not done or (settings.counts["val"] and not has_val):  # absent, interrupted, or without validation
            generate(self.root, settings, progress=True)

    def check_inputs(self, stage: str) -> None:
        """What a run of ``stage`` (``fit``, ``validate``, ``test``, ``predict``) will read, checked before it starts:
        the data root and the splits it reads (the built-in synthetic set is generated by ``prepare_data`` when
        absent). Errors name the root or the file."""
        if self.builtin and (read_json(self.root / "meta.json") or {}).get("status") != "complete":
            return
        if not self.root.is_dir():
            raise FileNotFoundError(f"data.init_args.root {self.root}: data set folder not found")
        self.reader = self.reader or self.make_reader()
        needed = {"fit": ("train", "val"), "validate": ("val",)}.get(stage, ("test",))
        for split in needed:
            split, ids = self.validation_ids() if split == "val" else (split, None)
            if not (ids if ids is not None else self.reader.ids(split)):
                raise ValueError(f"data.init_args.root {self.root}: the {split} split has no samples")

    def make_reader(self) -> Reader:
        hp = self.hparams
        return make_reader(
            hp.format,
            self.root,
            size=self.size,
            label_map=hp.label_map,
            densepose=hp.densepose,
            **(hp.reader_options or {}),
        )

    def has_split(self, split: str) -> bool:
        """Whether the data set has ``split`` with samples (a layout that knows no such split says no)."""
        try:
            return bool(self.reader.ids(split))
        except (ValueError, OSError, KeyError):
            return False

    def validation_ids(self) -> tuple[str, list[str] | None]:
        """``(split, ids)`` of the validation pairs: ``("val", None)`` where the data set has a ``val`` split, the
        held-out tail of the train ids otherwise, or ``("test", None)`` with ``val_holdout: 0``."""
        holdout = self.hparams.val_holdout
        if self.has_split("val"):
            return "val", None
        if not holdout:
            return "test", None
        ids = self.reader.ids("train")
        count = int(holdout) if holdout >= 1 else max(2, round(len(ids) * holdout))
        if count >= len(ids):
            raise ValueError(
                f"data.init_args.val_holdout {holdout}: holds out {count} of the {len(ids)} train "
                "samples, leaving none to train on"
            )
        return "train", ids[-count:]

    def training_ids(self) -> list[str] | None:
        """The train ids that training reads (None: all): without a ``val`` split, all but the held-out tail."""
        split, held_out = self.validation_ids()
        if split != "train":
            return None
        return self.reader.ids("train")[: -len(held_out)]

    def evaluation_pairs(
        self, split: str = "test", ids: list[str] | None = None
    ) -> tuple[list[tuple[str, str]], bool, str]:
        """``(pairs, with truth, source)`` of ``split`` (only ``ids`` of it, when given) for ``eval_pairs`` (see the
        module docstring)."""
        hp, reader = self.hparams, self.reader
        chosen = None if ids is None else set(ids)
        if hp.eval_pairs == "transfer":
            truth = reader.truth_pairs(split)
            truth = [p for p in truth or () if chosen is None or (p[0] in chosen and p[1] in chosen)]
            if truth:
                return truth, True, f"true transfers ({reader.root}/{split}/transfer/pairs.txt)"
        official = reader.official_pairs(split, paired=hp.eval_pairs == "paired") if chosen is None else None
        if official is not None:
            return official.pairs, False, f"{'paired' if official.paired else 'unpaired'} list {official.path}"
        ids = reader.ids(split) if ids is None else ids
        where = split if chosen is None else f"the held-out tail of {split} ({len(ids)} ids)"
        if hp.eval_pairs == "paired":
            return evaluation_pairs(ids, "paired"), False, f"each {where} person with their own garment"
        return (
            evaluation_pairs(ids, hp.eval_pairs, hp.eval_seed),
            False,
            f"seeded draw from {where} (eval_seed {hp.eval_seed})",
        )

    def evaluation_dataset(self, split: str = "test", ids: list[str] | None = None) -> PairDataset:
        pairs, truth, source = self.evaluation_pairs(split, ids)
        if split == "test":
            self.eval_pairs_source = source
        else:
            self.val_pairs_source = source
        if self.hparams.eval_limit is not None:
            pairs = pairs[: self.hparams.eval_limit]
        return PairDataset(self.reader, split, self.hparams.eval_pairs, pairs, truth=truth, ids=ids, inputs=self.inputs)

    def setup(self, stage: str | None = None) -> None:
        """Build the reader once; the training pairs and the validation pairs for ``fit`` (or no stage), the
        validation pairs for ``validate``, the test pairs for ``test`` and ``predict`` (or no stage)."""
        hp = self.hparams
        if self.reader is None:
            self.reader = self.make_reader()
        if stage in (None, "fit") and "train" not in self.datasets:
            augment = {
                side: Augmenter(spec) if spec else None
                for side, spec in (("source", hp.augment_source), ("target", hp.augment_target))
            }
            self.datasets["train"] = PairDataset(
                self.reader,
                "train",
                hp.train_pairs,
                None,
                augment_source=augment["source"],
                augment_target=augment["target"],
                ids=self.training_ids(),
                inputs=self.inputs,
            )
        if stage in (None, "fit", "validate") and "val" not in self.datasets:
            self.datasets["val"] = self.evaluation_dataset(*self.validation_ids())
        if stage in (None, "test", "predict") and "test" not in self.datasets:
            self.datasets["test"] = self.evaluation_dataset()

    def _loader(self, split: str, batch_size: int, sampler: DistributedSampler | None = None) -> DataLoader:
        workers, pin = self.hparams.num_workers, self.hparams.pin_memory
        pin = torch.cuda.is_available() if pin is None else pin
        return DataLoader(
            self.datasets[split],
            batch_size=batch_size,
            sampler=sampler,
            num_workers=workers,
            collate_fn=collate,
            persistent_workers=workers > 0,
            drop_last=False,
            pin_memory=pin,
            generator=torch.Generator().manual_seed(torch.initial_seed()),
        )  # not the global one

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches whose order and draws depend on the run's seed (``seed_everything``), the
        epoch and the position only, and which resume mid-epoch where the trainer's restored progress says."""
        trainer, seed = self.trainer, torch.initial_seed()
        if trainer is None:
            return self._loader("train", self.hparams.batch_size, ResumableSampler(len(self.datasets["train"]), seed))
        seed = trainer.strategy.broadcast(seed)  # one order for all processes, even in a run that was never seeded
        sampler = ResumableSampler(
            len(self.datasets["train"]), seed, trainer.world_size, trainer.global_rank, self._train_position
        )
        return self._loader("train", self.hparams.batch_size, sampler)

    def _train_position(self) -> tuple[int, int]:
        """``(epoch, items of this process already trained in it)`` from the trainer's progress when the epoch's
        first batch is fetched: restored from the checkpoint on resume (Lightning has moved on to the next epoch by
        then when the checkpoint was written at an epoch's last batch), zero at the start of an epoch otherwise."""
        trainer = self.trainer
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        return trainer.current_epoch, done * self.hparams.batch_size

    def _evaluation_loader(self, split: str) -> DataLoader:
        """The fixed pairs of ``split`` in order; under DDP each process takes its own, every pair exactly once."""
        trainer, shards = self.trainer, None
        if trainer is not None and trainer.world_size > 1:
            shards = EvaluationShards(len(self.datasets[split]), trainer.world_size, trainer.global_rank)
        return self._loader(split, self.hparams.eval_batch_size or self.hparams.batch_size, shards)

    def val_dataloader(self) -> DataLoader:
        """The validation pairs (module docstring)."""
        return self._evaluation_loader("val")

    def test_dataloader(self) -> DataLoader:
        """The test pairs."""
        return self._evaluation_loader("test")

    predict_dataloader = test_dataloader
