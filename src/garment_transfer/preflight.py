"""Up-front checks of a Lightning command (``fit``, ``validate``, ``test``, ``predict``): everything the run will read
is checked after the model and the data module are built and before the trainer creates a folder or starts work.

- the data module's own checks (``check_inputs(stage)``: the data root, the splits and pair lists the command reads,
  batch sizes);
- the frozen networks inside the model: trained at the data module's size and DensePose encoding
  (:func:`garment_transfer.models.frozen.check_data_settings`; their stage and encoding were checked when loaded);
- a ``PhaseSchedule`` among the callbacks switches only to phases the model defines;
- ``--ckpt_path`` (checked as soon as the arguments are parsed, before Lightning reads the file): a file that
  exists, reads safely (``weights_only``) and was written by the configured model's own stage.

Each problem is a ``ValueError`` / ``FileNotFoundError`` naming the file or argument (one line, exit code 2).
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import pytorch_lightning as pl

from garment_transfer.checkpoints import checkpoint_stage, class_path, read_checkpoint, short_stage, stage_id_of_class
from garment_transfer.models.frozen import check_data_settings


def resume_path(ckpt_path: str | None, root_dir: str | Path) -> Path | None:
    """The file ``--ckpt_path`` names: ``last`` is ``<root_dir>/checkpoints/last.ckpt`` (None when it does not exist
    yet: a first run starts fresh), ``best`` / ``hpc`` are Lightning's (None: not checked here)."""
    if ckpt_path in (None, "best", "hpc", "registry"):
        return None
    if ckpt_path == "last":
        last = Path(root_dir) / "checkpoints" / "last.ckpt"
        return last if last.is_file() else None
    return Path(ckpt_path)


def check_ckpt_path(ckpt_path: str | None, root_dir: str | Path, model_class_path: str) -> None:
    """``--ckpt_path`` must exist, read safely and be a checkpoint of the configured model's stage."""
    path = resume_path(ckpt_path, root_dir)
    if path is None:
        return
    if not path.is_file():
        raise FileNotFoundError(f"--ckpt_path {path}: checkpoint file not found")
    module, _, name = model_class_path.rpartition(".")
    own_class = class_path(getattr(importlib.import_module(module), name))
    own = stage_id_of_class(own_class) or own_class
    stage = checkpoint_stage(read_checkpoint(path))
    if stage is not None and stage != own:
        raise ValueError(
            f"--ckpt_path {path}: a checkpoint of {short_stage(stage)}, but the model is {short_stage(own)}"
        )


def check_run_folder(path: str | os.PathLike, argument: str = "trainer.default_root_dir") -> None:
    """``path`` must be a folder, or a path where one can be made: its nearest existing ancestor a folder this process
    can create folders in (tried with a temporary folder, removed at once; nothing else is made)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{argument} {path}: is a file, not a folder")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{argument} {path}: {ancestor} is a file, not a folder")
    try:
        tempfile.TemporaryDirectory(dir=ancestor, prefix=".garment-transfer-").cleanup()
    except OSError as err:
        raise ValueError(f"{argument} {path}: cannot create folders in {ancestor} ({err.strerror})") from None


def check_trainer_limits(trainer: dict) -> None:
    """The trainer's limits must leave something to train: ``max_epochs`` and ``max_steps`` not 0 (-1 or None:
    unbounded); negative values other than -1 are refused."""
    for name in ("max_epochs", "max_steps"):
        value = trainer.get(name)
        if value is None:
            continue
        if value == 0:
            raise ValueError(f"trainer.{name} 0: nothing would be trained; give a positive number (or -1: unbounded)")
        if value < -1:
            raise ValueError(f"trainer.{name} {value}: must be positive, or -1 for unbounded")


def check_run(subcommand: str, model: pl.LightningModule, datamodule: pl.LightningDataModule | None) -> None:
    """The data module's checks and the frozen networks' data settings, for ``subcommand``."""
    if datamodule is not None and callable(getattr(datamodule, "check_inputs", None)):
        datamodule.check_inputs(subcommand)
    size, densepose = getattr(datamodule, "size", None), getattr(getattr(datamodule, "hparams", {}), "densepose", None)
    if size is not None and densepose is not None:
        check_data_settings(model, size, densepose, f"data module {type(datamodule).__name__}")
    built = getattr(model, "input_size", None)  # a network built for one input size (WUTON's matcher)
    if size is not None and built is not None and tuple(built) != tuple(size):
        raise ValueError(
            f"model.init_args.size {built[0]}x{built[1]} differs from data.init_args.size {size[0]}x{size[1]}: "
            "the network is built for its input size; give both the same"
        )


def check_phase_schedule(callbacks, model: pl.LightningModule) -> None:
    """Every ``PhaseSchedule`` in ``callbacks`` (the trainer's configured callbacks: one, a list or None) names only
    phases the model defines (``PhaseSchedule.check``)."""
    from garment_transfer.callbacks.phases import PhaseSchedule

    listed = callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]
    for schedule in (c for c in listed if isinstance(c, PhaseSchedule)):
        schedule.check(model)
