"""The transfer parsing student ``S_P``: ``S_P(M^r_t, M^g_s, P_t) -> M_{t<-s}``, distilled from ``T_P``.

A phase is a set of loss weights; the :class:`~garment_transfer.callbacks.phases.PhaseSchedule` callback picks
the phase by epoch. The terms:

- ``feature``: ``mean_i MSE(F^S_i, F^T_i)`` over the phase's ``feature_layers``, the teacher fed
  ``(M^r_t, C^m_s, P_t)`` (the source's in-shop mask), the student ``(M^r_t, M^g_s, P_t)`` (the worn garment);
- ``response``: ``tau^2 KL(softmax(T / tau) || softmax(S / tau))``;
- ``self``: self-study: the garment channel of the student's own ``M^S_{t<-s}`` re-transferred to the source,
  ``S_P(M^r_s, garment, P_s)``, supervised by ``M_s`` with CE (+ ``self_l1`` L1), through both passes unless
  ``detach_first_pass``;
- ``supervised``: the student's output against the target's own parsing (the self-supervised baselines: paired
  data whose source side is an augmented copy of the target).

The teacher comes as a checkpoint path of a ``TryOnParsingModule``, held as a
:class:`~garment_transfer.models.frozen.FrozenNet`: rebuilt from its hyper-parameters, checked for stage and DensePose
encoding, frozen, kept in eval mode, called under ``no_grad``, never in the optimizer, and not saved in this module's
checkpoints (they reference it by path).
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.samples import PairSample
from garment_transfer.losses.parsing import deep_parsing_loss, feature_loss, parsing_loss, response_loss
from garment_transfer.metrics.parsing import ParsingMetrics
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.distilled_transfer import TRYON_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.u2net import FEATURE_LAYERS
from garment_transfer.stages.base import Phased, StageModule
from garment_transfer.visuals import image_to_rgb, parsing_to_rgb

TERMS = ("feature", "response", "self", "supervised")
DEFAULT_PHASES = {
    "feature": {"feature": 1.0, "feature_layers": ["hx6", "hx5d"]},
    "feature_response": {"feature": 1.0, "response": 1.0, "feature_layers": list(FEATURE_LAYERS)},
    "self_study": {"self": 1.0, "response": 0.0},
}


def _check_phases(phases: dict) -> dict:
    for name, phase in phases.items():
        unknown = set(phase) - set(TERMS) - {"feature_layers"}
        if unknown:
            raise ValueError(f"phase {name!r}: unknown keys {sorted(unknown)}; loss terms are {TERMS}")
        if phase.get("feature") and not set(phase.get("feature_layers", [])) <= set(FEATURE_LAYERS):
            raise ValueError(f"phase {name!r}: feature_layers must be among {FEATURE_LAYERS}")
        if phase.get("feature") and not phase.get("feature_layers"):
            raise ValueError(f"phase {name!r}: a feature loss needs feature_layers")
    return phases


class TransferParsingModule(Phased, StageModule):
    """The transfer parsing student ``S_P``, distilled from ``T_P`` in phases (module docstring).

    Args:
        teacher_checkpoint: a :class:`TryOnParsingModule` checkpoint; needed when a phase uses ``feature`` or
            ``response``.
        width, pose_channels, lr, betas: as the teacher (a feature loss needs the teacher's width).
        phases: ``{name: {term: weight, ..., "feature_layers": [...]}}``, terms from :data:`TERMS`.
        temperature: of the response loss. self_l1: L1 weight added to the self-study CE.
        detach_first_pass: stop gradients through the first self-study pass.
        w_l1, w_ce: weights of the ``supervised`` parsing loss.
        channels_last, compile: speed switches of the net and the frozen nets it reads
            (:func:`~garment_transfer.models.acceleration.accelerate`; off: the eager reference); bf16 autocast is the
            trainer's ``precision: bf16-mixed``.
    """

    def __init__(
        self,
        teacher_checkpoint: str | None = None,
        width: str = "small",
        pose_channels: int = 3,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        phases: dict | None = None,
        temperature: float = 1.0,
        self_l1: float = 0.0,
        detach_first_pass: bool = False,
        w_l1: float = 2.0,
        w_ce: float = 0.2,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.phases = _check_phases(phases or DEFAULT_PHASES)
        self.net = build_parsing_net(self.hparams)
        self.teacher = None
        if any(p.get("feature") or p.get("response") for p in self.phases.values()):
            if teacher_checkpoint is None:
                raise ValueError("teacher_checkpoint: the feature and response phases need the try-on parsing teacher")
            self.teacher = FrozenNet.from_checkpoint(
                teacher_checkpoint, {TRYON_PARSING: build_parsing_net}, pose_channels, "teacher_checkpoint"
            )
        self._check_teacher_width(teacher_checkpoint)
        self.phase = next(iter(self.phases))
        self.metrics = torch.nn.ModuleDict({name: ParsingMetrics() for name in ("vs_teacher", "retransfer", "truth")})
        self.accelerate_nets(channels_last, compile)

    def _check_teacher_width(self, teacher_checkpoint) -> None:
        uses_features = any(p.get("feature") for p in self.phases.values())
        pairs = zip(self.teacher.net.parameters(), self.net.parameters()) if uses_features else ()
        if any(a.shape != b.shape for a, b in pairs):
            raise ValueError(
                f"{teacher_checkpoint}: the teacher's network differs from the student's "
                f"(width {self.hparams.width!r}); feature distillation needs equal widths"
            )

    # -- phases
    @property
    def phase_table(self) -> dict:
        return self.phases

    # -- computation
    def forward(self, remaining, garment_mask, pose, return_features: bool = False):
        check_pose_channels(pose, self.hparams.pose_channels)
        return self.net(parsing_inputs(remaining, garment_mask, pose), return_features=return_features)

    def teach(self, batch: PairSample):
        """``M^T_{t<-s}``: the teacher dresses the target in the source's in-shop garment."""
        target = batch.target
        return self.teacher(
            parsing_inputs(target.remaining, batch.source.cloth_mask, target.densepose), return_features=True
        )

    def retransfer(self, batch: PairSample, student_logits: torch.Tensor, detach: bool = False):
        """``S_P(M^r_s, garment(M^S_{t<-s}), P_s)``: the student's garment dressed back onto the source."""
        garment = student_logits.softmax(1)[:, UPPER_GARMENT : UPPER_GARMENT + 1]
        source = batch.source
        return self(source.remaining, garment.detach() if detach else garment, source.densepose)

    def losses(self, batch: PairSample, weights: dict) -> dict[str, torch.Tensor]:
        """The weighted loss terms of one phase, by name (only those with a non-zero weight)."""
        target = batch.target
        student = self(
            target.remaining, batch.source.garment_mask, target.densepose, return_features=bool(weights.get("feature"))
        )
        teacher = self.teach(batch) if (weights.get("feature") or weights.get("response")) else None
        terms = {}
        if weights.get("feature"):
            terms["feature"] = weights["feature"] * feature_loss(
                student.features, teacher.features, weights["feature_layers"]
            )
        if weights.get("response"):
            terms["response"] = weights["response"] * response_loss(
                student.logits, teacher.logits, self.hparams.temperature
            )
        if weights.get("self"):
            back = self.retransfer(batch, student.logits, self.hparams.detach_first_pass)
            terms["self"] = weights["self"] * parsing_loss(back.logits, batch.source.parsing, self.hparams.self_l1, 1.0)
        if weights.get("supervised"):
            hp = self.hparams
            terms["supervised"] = weights["supervised"] * deep_parsing_loss(
                student.logits, student.side_logits, target.parsing, hp.w_l1, hp.w_ce
            )
        return terms

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        terms = self.losses(batch, self.phases[self.phase])
        if not terms:
            raise ValueError(f"phase {self.phase!r} has no loss term with a non-zero weight")
        loss = sum(terms.values())
        self.log_train(
            {**{f"train/loss_{name}": value for name, value in terms.items()}, "train/loss": loss},
            batch_size=batch.target.image.shape[0],
        )
        return loss

    def evaluate(self, batch: PairSample, split: str) -> None:
        target = batch.target
        student = self(target.remaining, batch.source.garment_mask, target.densepose)
        if self.teacher is not None:
            self.metrics["vs_teacher"].update(student.logits, self.teach(batch).logits.argmax(1))
        self.metrics["retransfer"].update(self.retransfer(batch, student.logits).logits, batch.source.parsing)
        if batch.truth is not None:
            self.metrics["truth"].update(student.logits, batch.truth.parsing)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        target = batch.target
        student = self(target.remaining, batch.source.garment_mask, target.densepose)
        views = OrderedDict(
            source=image_to_rgb(batch.source.image),
            target=image_to_rgb(target.image),
            student=parsing_to_rgb(student.logits),
        )
        if self.teacher is not None:
            views["teacher"] = parsing_to_rgb(self.teach(batch).logits)
        if batch.truth is not None:
            views["truth"] = parsing_to_rgb(batch.truth.parsing)
        views["retransfer"] = parsing_to_rgb(self.retransfer(batch, student.logits).logits)
        return views
