"""The phase schedule of a distillation run (arXiv 2401.12433, Sec. 3.2.4 and Algorithm 1).

The phase is a pure function of the epoch: phase ``k`` runs from its start epoch until the next phase's start.
So a resumed run lands in the right phase without stored state. Starts are epochs, or fractions of
``trainer.max_epochs`` when given as floats below 1 (the method's default: 0, 1/3, 2/3). What a phase means (its
losses, weights and layers) lives in the module; the callback calls ``module.enter_phase(name)`` and logs the
phase: the schedule as hyper-parameters at fit start (``phase_schedule``: index -> name and first epoch), and the
index of the current phase as ``train/phase`` every epoch.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.utilities.rank_zero import rank_zero_info


class PhaseSchedule(pl.Callback):
    """Enter each phase of a distillation run at its start epoch (module docstring).

    Args:
        phases: ``{name: start}``, starts increasing, the first 0; ints are epochs, floats in (0, 1) fractions of
            ``max_epochs`` (rounded, and at least one epoch after the previous phase's start).
    """

    def __init__(self, phases: dict[str, float | int]):
        if not phases:
            raise ValueError("PhaseSchedule: no phases given")
        starts = list(phases.values())
        if starts[0] != 0:
            raise ValueError(f"PhaseSchedule: the first phase must start at 0, got {starts[0]}")
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"PhaseSchedule: phase starts must increase, got {phases}")
        self.phases = dict(phases)

    def start_epochs(self, max_epochs: int) -> dict[str, int]:
        """Each phase's first epoch for a run of ``max_epochs``."""
        epochs, previous = {}, -1
        for name, start in self.phases.items():
            epoch = round(start * max_epochs) if isinstance(start, float) and start < 1 else int(start)
            epochs[name] = previous = max(epoch, previous + 1)
        return epochs

    def phase_at(self, epoch: int, max_epochs: int) -> str:
        current = None
        for name, start in self.start_epochs(max_epochs).items():
            if epoch >= start:
                current = name
        return current

    def _enter(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> str:
        name = self.phase_at(trainer.current_epoch, max(trainer.max_epochs or 1, 1))
        pl_module.enter_phase(name)
        return name

    def check(self, pl_module: pl.LightningModule) -> None:
        """Every phase of the schedule must be one ``pl_module`` defines (``phase_names``); the CLI calls this before
        any work (``preflight``), :meth:`on_fit_start` again for other callers."""
        defined = list(getattr(pl_module, "phase_names", ()))
        unknown = [name for name in self.phases if name not in defined]
        if unknown:
            raise ValueError(
                f"trainer.callbacks PhaseSchedule: phases {unknown} are not defined by "
                f"{type(pl_module).__name__} (it defines {defined}): give the schedule and the model "
                "the same phase names"
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.check(pl_module)
        self._enter(trainer, pl_module)
        starts = self.start_epochs(max(trainer.max_epochs or 1, 1))
        schedule = {str(i): {"name": name, "start_epoch": start} for i, (name, start) in enumerate(starts.items())}
        for logger in trainer.loggers:
            logger.log_hyperparams({"phase_schedule": schedule})

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        name = self._enter(trainer, pl_module)
        rank_zero_info(f"epoch {trainer.current_epoch}: phase {name}")
        pl_module.log("train/phase", float(list(self.phases).index(name)), on_step=False, on_epoch=True, sync_dist=True)
