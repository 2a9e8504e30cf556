"""How a stage's checkpoints survive interruption, at the stable paths the next stage and ``make`` read.

``<default_root_dir>/checkpoints/last.ckpt`` is the stable path; ``checkpoints/complete`` marks a run that reached
its end.

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

"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from fsspec.utils import get_protocol
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.io import TorchCheckpointIO

from garment_transfer.data.io import atomic_write_text
from garment_transfer.errors import UserError, one_line

COMPLETE = "complete"
PARTIAL = ".partial"  # suffix of checkpoints being written; never matches Lightning's "last*.ckpt" lookup
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=PARTIAL)
        except OSError as err:
            raise UserError(f"{path}: cannot write the checkpoint ({err.strerror or err})") from err
        try:
            with os.fdopen(handle, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, path)
        except (OSError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
            raise UserError(
                f"{path}: cannot write the checkpoint ({one_line(err)}); the previous one is intact"
            ) from err
        finally:
            if os.path.exists(partial):
                os.unlink(partial)


class StageCheckpoint(ModelCheckpoint):
    """:class:`ModelCheckpoint` for a stage's stable paths: ``last.ckpt`` in ``<default_root_dir>/checkpoints``
    (unless ``dirpath`` is given), saved at every epoch end and every ``last_every_n_steps`` optimizer steps within
    an epoch (None or 0: epoch ends only), overwritten rather than versioned (``last-v1.ckpt`` would hide it from the
    next stage), written atomically (:class:`AtomicCheckpointIO`, installed unless the trainer has a custom
    checkpoint IO), with the ``complete`` marker of a finished fit beside it."""

    def __init__(
        self,
        dirpath: str | None = None,
        save_last: bool = True,
        every_n_epochs: int = 1,
        last_every_n_steps: int | None = 500,
        enable_version_counter: bool = False,
        **kwargs,
    ):
        super().__init__(
            dirpath=dirpath,
            save_last=save_last,
            every_n_epochs=every_n_epochs,
            enable_version_counter=enable_version_counter,
            **kwargs,
        )
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

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        steps = self.last_every_n_steps
        if (
            not steps
            or trainer.global_step % steps != 0
            or self._should_skip_saving_checkpoint(trainer)
            or batch_idx + 1 >= trainer.num_training_batches
        ):  # the epoch-end save follows
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and not trainer.interrupted and not trainer.fast_dev_run:
            atomic_write_text(Path(self.dirpath) / COMPLETE, f"global_step {trainer.global_step}\n")
