"""What every stage's LightningModule shares: its identity in checkpoints, logging of training and evaluation values,
evaluation hooks feeding ``self.metrics``, metric logging at epoch end as ``<split>/<comparison>/<name>``, the VGG
perceptual loss and the speed switches, and its optimizers (frozen networks,
:class:`~garment_transfer.models.frozen.FrozenNet`, hold no parameters of the module).

Logging goes through Lightning's public ``self.log`` and torchmetrics objects:

- :meth:`StageModule.log_train` logs per-step training values and keeps them, per step, in ``logged_train_values``
  (name -> value), where :class:`~garment_transfer.callbacks.guard.FiniteLossGuard` finds the loss terms to name when
  a loss is not finite;
- :meth:`StageModule.log_eval` puts each evaluation-step value into a torchmetrics ``MeanMetric`` of its name,
  weighted by the batch size, so it is the mean over the whole evaluation set, also under DDP with unequal shares
  (Lightning's own ``sync_dist`` reduction is not weighted by each process's count);
- the ``self.metrics`` torchmetrics objects sum their states over processes.

Optimizers. Every stage takes ``optimizer`` and ``lr_scheduler`` (LightningCLI's ``OptimizerCallable`` /
``LRSchedulerCallable``: ``--model.init_args.optimizer torch.optim.SGD --model.init_args.optimizer.lr 0.01``); they
are not hyper-parameters (a checkpoint records the config instead). Without them a stage trains with Adam at its
``lr`` and ``betas``. Each trained part of ``self.net`` named by :meth:`StageModule.parameter_groups` runs at its
scale times the rate (PF-AFN's end-to-end stages train the warp at 0.2 of it); an injected optimizer brings its own
rate and the scales apply to it. Without a scheduler the rate is constant, unless the stage has ``lr_decay_start``
set: it then stays until that epoch (0-based) and falls linearly, reaching ``1 / lr_decay_epochs`` of it at the last
epoch (PF-AFN: ``niter`` epochs constant, ``niter_decay`` decaying, its update after every epoch past ``niter``).

Adversarial stages (:class:`AdversarialStage`) train ``self.net`` against ``self.discriminator`` with manual
optimization: per batch one generator step, then one discriminator step (:mod:`garment_transfer.losses.adversarial`
gives LSGAN and relativistic losses with a gradient penalty). Lightning counts both optimizers' steps in
``global_step`` (two per batch), so ``max_steps`` and ``last_every_n_steps`` count them both. With ``w_adv`` 0 (an
ablation without the adversarial term) the discriminator is neither run nor stepped: one step per batch.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics.aggregation import MeanMetric

from garment_transfer.checkpoints import STAGE_ID_KEY, STAGE_KEY, class_path, stage_id_of_class
from garment_transfer.losses.warping import VGG_LAYERS, VGG_WEIGHTS, VGGLoss
from garment_transfer.models.acceleration import accelerate
from garment_transfer.models.frozen import FrozenNet, load_weights

INJECTED = ("optimizer", "lr_scheduler", "discriminator_optimizer")  # init arguments that are not hyper-parameters
ParameterGroup = tuple[str, list[nn.Parameter], float]  # (name, parameters, learning-rate scale)


def linear_decay(start: int, epochs: int):
    """The learning-rate factor of 0-based epoch ``e``: 1 until ``start``, then ``1 - (e - start) / epochs``."""
    if start < 0 or epochs < 1:
        raise ValueError(f"lr_decay_start must be >= 0 and lr_decay_epochs >= 1, got {start} and {epochs}")
    return lambda epoch: max(0.0, 1.0 - max(0, epoch - start) / epochs)


def check_optimization(hparams: Mapping) -> None:
    """A stage's learning rates must be positive and Adam's betas in [0, 1): a ``ValueError`` naming the argument
    (raised when the module is built, before a trainer or a folder exists)."""
    for name in ("lr", "lr_d"):
        value = hparams.get(name)
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"model.init_args.{name} {value!r}: a learning rate must be positive")
    betas = hparams.get("betas")
    if betas is not None and (len(betas) != 2 or not all(0 <= b < 1 for b in betas)):
        raise ValueError(f"model.init_args.betas {list(betas)}: two values in [0, 1)")


class StageModule(pl.LightningModule):
    """Subclasses set ``self.net`` and ``self.metrics`` (an ``nn.ModuleDict`` of torchmetrics) and implement
    :meth:`evaluate`; their hyper-parameters include ``lr`` and ``betas``.

    Args:
        optimizer: the optimizer, given the parameter groups (module docstring); None: Adam at ``lr``, ``betas``.
        lr_scheduler: the scheduler, given the optimizer, stepped every epoch; None: the stage's default.
    """

    def __init__(self, optimizer: OptimizerCallable | None = None, lr_scheduler: LRSchedulerCallable | None = None):
        super().__init__()
        self.optimizer_factory, self.lr_scheduler_factory = optimizer, lr_scheduler
        self.logged_train_values: dict[str, torch.Tensor | float] = {}
        self.initialised_from: list[tuple[str, dict]] = []  # (checkpoint, its data settings) that started a part
        self.evaluation_means = nn.ModuleDict()  # name (slashes as "__") -> MeanMetric; states not checkpointed

    def save_hyperparameters(
        self, *args, ignore: Sequence[str] | str | None = None, frame=None, logger: bool = True
    ) -> None:
        """Lightning's, leaving out the injected optimizers and schedulers (:data:`INJECTED`)."""
        ignore = [ignore] if isinstance(ignore, str) else list(ignore or ())
        super().save_hyperparameters(
            *args, ignore=[*ignore, *INJECTED], frame=frame or inspect.currentframe().f_back, logger=logger
        )
        check_optimization(self.hparams)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[STAGE_KEY] = class_path(type(self))
        stage_id = stage_id_of_class(checkpoint[STAGE_KEY])
        if stage_id is not None:
            checkpoint[STAGE_ID_KEY] = stage_id

    def start_from(self, net: nn.Module, frozen: FrozenNet, argument: str) -> None:
        """Start a trained part ``net`` from another stage's network (its weights copied); the checkpoint is
        remembered, so that the run's checks also hold it to the data module's size and encoding."""
        load_weights(net, frozen, argument)
        self.initialised_from.append((frozen.source, frozen.data))

    # -- losses and speed
    def setup_vgg(
        self,
        vgg_weights: str | None,
        allow_random_vgg: bool,
        used: bool,
        layers: Sequence[str] = VGG_LAYERS,
        weights: Sequence[float] = VGG_WEIGHTS,
    ) -> None:
        """``self.vgg``: the VGG-19 perceptual loss at ``layers`` when ``used``, else None; random features
        (``allow_random_vgg`` without a file) are warned and logged as ``train/vgg_random``."""
        self.vgg = VGGLoss(vgg_weights, allow_random_vgg, layers, weights) if used else None
        self.vgg_random = self.vgg is not None and self.vgg.random
        if self.vgg_random:
            warnings.warn(
                f"{type(self).__name__}: the VGG term uses random features (allow_random_vgg); logged as "
                "train/vgg_random = 1",
                stacklevel=3,
            )

    def accelerate_nets(self, channels_last: bool = False, compile: bool | str = False) -> None:
        """The speed switches (``models.acceleration``, docs/speed.md) on the trained net, every frozen net this
        stage holds, the discriminator and the VGG loss net; both off leave them untouched."""
        frozen = [module.net for module in self.children() if isinstance(module, FrozenNet)]
        others = [net for net in (getattr(self, "discriminator", None), getattr(self, "vgg", None)) if net is not None]
        for net in (self.net, *frozen, *others):
            accelerate(net, channels_last, compile)

    # -- logging
    def log_train(self, values: Mapping[str, torch.Tensor | float], batch_size: int) -> None:
        """Log training values of this step by full name (``train/loss`` also on the progress bar)."""
        for name, value in values.items():
            self.logged_train_values[name] = value.detach() if isinstance(value, torch.Tensor) else value
            self.log(name, value, prog_bar=name == "train/loss", batch_size=batch_size)

    def log_eval(self, values: Mapping[str, torch.Tensor | float], batch_size: int) -> None:
        """Log evaluation-step values by full name as means over the whole evaluation set, weighted by batch size."""
        for name, value in values.items():
            key = name.replace("/", "__").replace(".", "_")
            if key not in self.evaluation_means:
                self.evaluation_means[key] = MeanMetric(nan_strategy="disable").to(self.device)  # NaN shows
            mean = self.evaluation_means[key]
            mean.update(torch.as_tensor(value, dtype=torch.float32, device=self.device).mean(), weight=batch_size)
            self.log(name, mean, batch_size=batch_size, metric_attribute=f"evaluation_means.{key}")

    def evaluate(self, batch, split: str) -> None:
        raise NotImplementedError

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluate(batch, "test")

    def _log_metrics(self, split: str) -> None:
        """Compute, log (NaN entries, for classes absent everywhere, left out) and reset every metric."""
        for comparison, metric in self.metrics.items():
            if metric.update_called:
                values = {f"{split}/{comparison}/{k}": v for k, v in metric.compute().items() if not torch.isnan(v)}
                self.log_dict(values, sync_dist=True)  # already reduced by torchmetrics: the mean of equal values
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    # -- optimization
    def parameter_groups(self) -> Iterable[ParameterGroup]:
        """``(name, parameters, learning-rate scale)`` of the trained parts; default the whole net at scale 1."""
        return [("net", list(self.net.parameters()), 1.0)]

    def build_optimizer(
        self,
        groups: Iterable[ParameterGroup],
        factory: OptimizerCallable | None = None,
        lr: float | None = None,
        betas: Sequence[float] | None = None,
    ) -> torch.optim.Optimizer:
        """An optimizer over ``groups``: ``factory``'s (its own rate, each group's scale applied to it), or Adam at
        ``lr`` (default ``hparams.lr``) and ``betas`` (default ``hparams.betas``)."""
        groups = list(groups)
        if factory is None:
            lr = self.hparams.lr if lr is None else lr
            scaled = [{"params": params, "lr": lr * scale, "name": name} for name, params, scale in groups]
            return torch.optim.Adam(scaled, lr=lr, betas=tuple(self.hparams.betas if betas is None else betas))
        optimizer = factory([{"params": params, "name": name, "lr_scale": scale} for name, params, scale in groups])
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * group.pop("lr_scale", 1.0)
        return optimizer

    def build_scheduler(self, optimizer: torch.optim.Optimizer, factory: LRSchedulerCallable | None = None):
        """``factory``'s scheduler of ``optimizer``, or the default (module docstring): None or PF-AFN's decay."""
        if factory is not None:
            return factory(optimizer)
        start = self.hparams.get("lr_decay_start")
        if start is None:
            return None
        return torch.optim.lr_scheduler.LambdaLR(optimizer, linear_decay(start, self.hparams.lr_decay_epochs))

    def configure_optimizers(self):
        optimizer = self.build_optimizer(self.parameter_groups(), self.optimizer_factory)
        scheduler = self.build_scheduler(optimizer, self.lr_scheduler_factory)
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


class AdversarialStep(NamedTuple):
    """What an adversarial stage's generator pass gives :meth:`AdversarialStage.training_step`.

    Attributes:
        loss: the generator's loss without the adversarial term (scalar).
        fake: what the discriminator judges as generated, (B, C, H, W) (with its condition concatenated, if any);
            None when ``w_adv`` is 0 (nothing is judged).
        real: the real samples it is compared with, (B, C, H, W) (likewise).
        values: training values to log (``train/<name>``), beside the adversarial terms.
    """

    loss: torch.Tensor
    fake: torch.Tensor
    real: torch.Tensor
    values: dict


class AdversarialStage(StageModule):
    """A stage whose net (the generator) trains against ``self.discriminator`` (module docstring).

    Subclasses set ``self.net``, ``self.discriminator`` and ``self.adversarial`` (a
    :class:`~garment_transfer.losses.adversarial.AdversarialLoss`) and implement :meth:`generator_step`; their
    hyper-parameters include ``lr``, ``betas``, ``w_adv`` (the adversarial term's weight in the generator's loss)
    and optionally ``lr_d`` (the discriminator's rate; default ``lr``).

    Args:
        discriminator_optimizer: the discriminator's optimizer (default Adam at ``lr_d``, ``betas``).
        optimizer, lr_scheduler: as :class:`StageModule` (the scheduler applies to both optimizers).
    """

    def __init__(self, discriminator_optimizer: OptimizerCallable | None = None, **kwargs):
        super().__init__(**kwargs)
        self.automatic_optimization = False
        self.discriminator_optimizer_factory = discriminator_optimizer

    def generator_step(self, batch) -> AdversarialStep:
        raise NotImplementedError

    def discriminator_parameter_groups(self) -> Iterable[ParameterGroup]:
        return [("discriminator", list(self.discriminator.parameters()), 1.0)]

    def configure_optimizers(self):
        generator = self.build_optimizer(self.parameter_groups(), self.optimizer_factory)
        discriminator = self.build_optimizer(
            self.discriminator_parameter_groups(),
            self.discriminator_optimizer_factory,
            lr=self.hparams.get("lr_d") or self.hparams.lr,
        )
        schedulers = [
            s
            for s in (self.build_scheduler(o, self.lr_scheduler_factory) for o in (generator, discriminator))
            if s is not None
        ]
        return [generator, discriminator], [{"scheduler": s, "interval": "epoch"} for s in schedulers]

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        generator_opt, discriminator_opt = self.optimizers()
        adversarial_on = self.hparams.w_adv > 0  # 0: the ablation without the adversarial term, no discriminator
        self.toggle_optimizer(generator_opt)  # the discriminator's parameters take no gradient here
        step = self.generator_step(batch)
        loss = step.loss
        values = {}
        if adversarial_on:
            adversarial = self.adversarial.generator(self.discriminator, step.fake, step.real)
            loss = loss + self.hparams.w_adv * adversarial
            values["train/adversarial"] = adversarial
        generator_opt.zero_grad()
        self.manual_backward(loss)
        generator_opt.step()
        self.untoggle_optimizer(generator_opt)

        if adversarial_on:
            self.toggle_optimizer(discriminator_opt)
            terms = self.adversarial.discriminator(self.discriminator, step.real.detach(), step.fake.detach())
            discriminator_opt.zero_grad()
            self.manual_backward(terms["total"])
            discriminator_opt.step()
            self.untoggle_optimizer(discriminator_opt)
            values.update({f"train/discriminator/{name}": value for name, value in terms.items()})
        self.log_train(
            {"train/loss": loss, **values, **{f"train/{name}": value for name, value in step.values.items()}},
            batch_size=step.real.shape[0],
        )
        return loss

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            scheduler.step()


class Phased:
    """A stage whose training changes by phase: the ``PhaseSchedule`` callback checks the names against
    :attr:`phase_names` and calls :meth:`enter_phase` at epoch starts. Subclasses give their phases in
    :attr:`phase_table` (name -> what the phase sets) and may act on entering one in :meth:`on_phase`."""

    phase: str

    @property
    def phase_table(self) -> Mapping[str, Any]:
        raise NotImplementedError

    @property
    def phase_names(self) -> tuple[str, ...]:
        return tuple(self.phase_table)

    def enter_phase(self, name: str) -> None:
        if name not in self.phase_table:
            raise ValueError(f"unknown phase {name!r}; this module defines {list(self.phase_table)}")
        self.phase = name
        self.on_phase(name)

    def on_phase(self, name: str) -> None:
        """What entering phase ``name`` changes besides :attr:`phase` (nothing by default)."""
