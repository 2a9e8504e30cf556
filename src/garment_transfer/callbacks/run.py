"""Where a stage's run writes, how its checkpoints survive interruption, and what every run records.

Everything goes under ``trainer.default_root_dir`` (e.g. ``runs/cpu/tryon_parsing``): ``checkpoints/last.ckpt`` is
the stable path the next stage and ``make`` read, ``checkpoints/complete`` marks a run that reached its end, and
``csv/``, ``tensorboard/`` and ``wandb/`` hold the logs. A config that changes ``default_root_dir`` moves all of it,
so an ablation overlay needs one line to get its own run folder.

Fault tolerance:

- **Atomic checkpoints.** :class:`AtomicCheckpointIO` writes a checkpoint to a hidden ``.partial`` file in the
  target folder, flushes it to disk and renames it over the target: a checkpoint file is the previous one or the
  new one, never half of one, whatever kills the process. (Lightning's own writer goes through a temporary file in
  the system temp folder and ``shutil.move``, which copies in place when that folder is on another file system.)
- **Mid-epoch saves.** :class:`StageCheckpoint` refreshes ``last.ckpt`` every ``last_every_n_steps`` optimizer
  steps as well as at every epoch end, so an interrupted stage loses at most that many steps;
  ``--ckpt_path last`` resumes it (Lightning restores the loops, so the resumed run ends at the same global step).
- **Exact resumption.** The checkpoint also holds the random generators' states (Python, NumPy, torch CPU and
  CUDA) of the process that wrote it, restored when training restarts; with
  :class:`~garment_transfer.data.sampling.ResumableSampler` picking up the interrupted epoch at the next batch, a
  resumed run trains the same batches with the same draws as an uninterrupted one and ends with the same weights
  (bit for bit on the same machine and thread count; under DDP every process gets rank 0's states).
- **Completion.** ``checkpoints/complete`` is removed when a fit starts and written when it ends normally.

Run records: :class:`RunRecord` (LightningCLI's config saver) writes ``config.yaml`` into the log folder and logs,
to every logger, the full resolved config (``config``) and a ``run`` record: stage, run name, preset, git commit
and dirty flag, data set fingerprint (:func:`~garment_transfer.data.fingerprint.dataset_fingerprint`), world size,
resumed checkpoint and versions. :class:`~garment_transfer.callbacks.phases.PhaseSchedule` logs the phases.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import yaml
from fsspec.utils import get_protocol
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import SaveConfigCallback
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.rank_zero import rank_zero_info

import garment_transfer
from garment_transfer.callbacks.guard import FiniteLossGuard
from garment_transfer.data.fingerprint import dataset_fingerprint
from garment_transfer.data.io import atomic_write_text

COMPLETE = "complete"
PARTIAL = ".partial"  # suffix of checkpoints being written; never matches Lightning's "last*.ckpt" lookup
PROJECT = "garment-transfer"
UNKNOWN = "unknown"


RNG_KEY = "garment_transfer_rng_states"


def rng_states() -> dict[str, Any]:
    """The Python, NumPy and torch (CPU and every CUDA device) random generator states of this process."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    numpy = [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss]  # weights_only-loadable
    states = {"python": random.getstate(), "numpy": numpy, "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` returned (CUDA states only where this process has the same devices)."""
    random.setstate(states["python"])
    name, keys, position, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`TorchCheckpointIO` that writes local checkpoints atomically (temporary file in the target folder,
    fsync, rename); remote (fsspec URL) paths go through Lightning's writer."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None or get_protocol(str(path)) != "file":
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=PARTIAL)
        try:
            with os.fdopen(handle, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


class StageCheckpoint(ModelCheckpoint):
    """:class:`ModelCheckpoint` for a stage's stable paths: ``last.ckpt`` in ``<default_root_dir>/checkpoints``
    (unless ``dirpath`` is given), saved at every epoch end and every ``last_every_n_steps`` optimizer steps within
    an epoch (None or 0: epoch ends only), overwritten rather than versioned (``last-v1.ckpt`` would hide it from the
    next stage), written atomically (:class:`AtomicCheckpointIO`, installed unless the trainer has a custom
    checkpoint IO), with the ``complete`` marker of a finished fit beside it."""

    def __init__(self, dirpath: str | None = None, save_last: bool = True, every_n_epochs: int = 1,
                 last_every_n_steps: int | None = 500, enable_version_counter: bool = False, **kwargs):
        super().__init__(dirpath=dirpath, save_last=save_last, every_n_epochs=every_n_epochs,
                         enable_version_counter=enable_version_counter, **kwargs)
        if last_every_n_steps is not None and last_every_n_steps < 0:
            raise ValueError(f"StageCheckpoint: last_every_n_steps must be >= 0 or None, got {last_every_n_steps}")
        self.last_every_n_steps = last_every_n_steps or 0
        self._rng_to_restore: dict | None = None  # generator states of the checkpoint a fit resumes from

    def _use_stage_dirpath(self, trainer: pl.Trainer) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")

    def _find_last_checkpoints(self, trainer: pl.Trainer) -> set[str]:
        self._use_stage_dirpath(trainer)  # ckpt_path="last" is resolved before setup: look in the stage folder
        return super()._find_last_checkpoints(trainer)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._use_stage_dirpath(trainer)
        super().setup(trainer, pl_module, stage)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        if trainer.is_global_zero and os.path.isdir(self.dirpath):
            for stale in Path(self.dirpath).glob(f".*{PARTIAL}"):  # left by a process killed while writing
                stale.unlink(missing_ok=True)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            (Path(self.dirpath) / COMPLETE).unlink(missing_ok=True)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[RNG_KEY] = rng_states()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        self._rng_to_restore = checkpoint.get(RNG_KEY)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Restore the generators after the sanity check and the first fetch, where the uninterrupted run was."""
        states, self._rng_to_restore = self._rng_to_restore, None
        if states is not None:
            set_rng_states(states)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        steps = self.last_every_n_steps
        if (not steps or trainer.global_step % steps != 0 or self._should_skip_saving_checkpoint(trainer)
                or batch_idx + 1 >= trainer.num_training_batches):  # the epoch-end save follows
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and not trainer.interrupted and not trainer.fast_dev_run:
            atomic_write_text(Path(self.dirpath) / COMPLETE, f"global_step {trainer.global_step}\n")


def stage_callbacks(callbacks: pl.Callback | list[pl.Callback] | None, checkpointing: bool | None = True
                    ) -> list[pl.Callback]:
    """A run's callbacks with the defaults every stage gets: a :class:`StageCheckpoint` unless the list has a
    :class:`ModelCheckpoint` or ``checkpointing`` is False, and a
    :class:`~garment_transfer.callbacks.guard.FiniteLossGuard` unless the list has one."""
    callbacks = [callbacks] if isinstance(callbacks, pl.Callback) else list(callbacks or [])
    if checkpointing is not False and not any(isinstance(c, ModelCheckpoint) for c in callbacks):
        callbacks.append(StageCheckpoint())
    if not any(isinstance(c, FiniteLossGuard) for c in callbacks):
        callbacks.append(FiniteLossGuard())
    return callbacks


def run_names(root_dir: str | os.PathLike, stage: str | None = None) -> dict[str, Any]:
    """How a run folder is named in W&B: ``runs/<preset>/<name>`` gives ``group`` = preset and ``name`` (which may
    hold a slash: ``baselines/teacher``); elsewhere the parent folder is the group. ``job_type`` is the stage (the
    model's ``garment_transfer.stages`` package, or the name), and a name that extends the stage (``<stage>_cycle``)
    is an ablation of it. ``tags``: preset, stage and ablation."""
    root = Path(os.path.normpath(root_dir))
    parts = root.parts
    if "runs" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("runs")
        group = parts[index + 1]
        name = "/".join(parts[index + 2:]) or group
    else:
        group, name = root.parent.name or root.name, root.name
    stage = stage or name
    ablation = name[len(stage) + 1:] if name.startswith(stage + "_") else None
    tags = [group, stage] + ([ablation] if ablation else [])
    return {"group": group, "name": name, "job_type": stage, "ablation": ablation, "tags": tags}


def stage_of(module: pl.LightningModule) -> str | None:
    """The stage package of a module class (``garment_transfer.stages.<stage>....``), or None."""
    parts = type(module).__module__.split(".")
    return parts[2] if parts[:2] == ["garment_transfer", "stages"] and len(parts) > 2 else None


def stage_loggers(root_dir: str | os.PathLike, stage: str | None = None) -> list[Logger]:
    """CSV and TensorBoard under ``root_dir``, and W&B under ``root_dir/wandb`` (offline unless
    ``WANDB_MODE=online``; none when ``WANDB_MODE=disabled``), named by :func:`run_names` in project
    ``garment-transfer`` (``WANDB_PROJECT`` overrides), so dashboards put a preset's stages and ablations side by
    side."""
    root = Path(root_dir)
    loggers: list[Logger] = [CSVLogger(root, name="csv"), TensorBoardLogger(root, name="tensorboard")]
    mode = os.environ.get("WANDB_MODE", "offline")
    if mode != "disabled":
        names = run_names(root, stage)
        loggers.append(WandbLogger(save_dir=str(root), project=os.environ.get("WANDB_PROJECT", PROJECT),
                                   group=names["group"], name=names["name"], job_type=names["job_type"],
                                   tags=names["tags"], offline=mode != "online"))
    return loggers


def git_state(folder: str | os.PathLike | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the git checkout holding ``folder`` (default: this package's source), dirty meaning
    tracked or untracked, non-ignored changes; ``("unknown", None)`` outside a checkout or without git."""
    folder = Path(folder or Path(garment_transfer.__file__).parent)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True,
                              timeout=20).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain"))
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN, None


def run_record(trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
    """What a run logs about itself (see the module docstring)."""
    stage = stage_of(pl_module)
    names = run_names(trainer.default_root_dir, stage)
    commit, dirty = git_state()
    data_root = getattr(trainer.datamodule, "root", None)
    try:
        fingerprint = dataset_fingerprint(data_root) if data_root is not None else UNKNOWN
    except OSError:
        fingerprint = UNKNOWN
    return {"stage": stage or UNKNOWN, "module": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}",
            "run_dir": str(trainer.default_root_dir), "preset": names["group"], "name": names["name"],
            "ablation": names["ablation"], "command": trainer.state.fn.value if trainer.state.fn else UNKNOWN,
            "git_commit": commit, "git_dirty": dirty, "data_root": str(data_root) if data_root else None,
            "data_fingerprint": fingerprint, "world_size": trainer.world_size,
            "resumed_from": str(trainer.ckpt_path) if trainer.ckpt_path else None,
            "versions": {"garment_transfer": garment_transfer.__version__, "torch": str(torch.__version__),
                         "pytorch_lightning": str(pl.__version__)}}


class RunRecord(SaveConfigCallback):
    """LightningCLI's config saver that also logs the resolved config and the :func:`run_record` to every logger
    (W&B run config, TensorBoard hparams, ``hparams.yaml`` of the CSV and TensorBoard logs)."""

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        record = run_record(trainer, pl_module)
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config, "run": record})
        dirty = {True: " (uncommitted changes)", False: "", None: ""}[record["git_dirty"]]
        rank_zero_info(f"run {record['preset']}/{record['name']}: stage {record['stage']}, commit "
                       f"{record['git_commit']}{dirty}, data {record['data_root']} fingerprint "
                       f"{record['data_fingerprint']}")
