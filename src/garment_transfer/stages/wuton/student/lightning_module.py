"""WUTON's parser-free student S-WUTON (Issenhuth et al., ECCV 2020, Sec. 3.3, Eq. 7-10; ``docs/methods/wuton.md``).

Per training pair (the target ``t`` a real person, the source ``s`` lending ``C_s``), with the frozen teacher of
``teacher_checkpoint`` (a :class:`WUTONTeacherModule`):

- teacher: ``(p~_{t,s}, T_theta(C_s)) = T-WUTON(p*_t, C_s)``, on the masked person;
- student: ``(p^_{t,s}, T_phi(C_s)) = S-WUTON(I_t, C_s)``, on the whole, unmasked person;
- loss: ``warp`` = L1 of the warped cloths (Eq. 7), ``vgg`` and ``l1`` of the images (Eq. 8, 9), all against the
  teacher's, plus ``w_adv`` times the student's own relativistic adversarial term, real samples the real ``I_t``
  (Eq. 10). ``w_adv`` 0 is the paper's ablation (a plain teacher-student setting, WUTON's Table 1).

The teacher is a :class:`~garment_transfer.models.frozen.FrozenNet`: frozen, in eval mode, outside the optimizer
and the checkpoint. ``init_from_teacher`` (ours; WUTON does not say) starts the student from the teacher's weights,
the same architecture.
"""

from __future__ import annotations

from garment_transfer.data.samples import PairSample, PersonSample
from garment_transfer.losses import wuton
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.wuton import WUTON_TEACHER
from garment_transfer.models.wuton.networks import build_wuton, masked_person
from garment_transfer.stages.base import AdversarialStep
from garment_transfer.stages.wuton.shared import WUTONStage
from garment_transfer.visuals import image_to_rgb


class WUTONStudentModule(WUTONStage):
    """S-WUTON (module docstring).

    Args:
        teacher_checkpoint: a :class:`WUTONTeacherModule` checkpoint of the same ``size`` and ``width``.
        init_from_teacher: start from the teacher's weights (ours).
        **kwargs: :class:`~garment_transfer.stages.wuton.shared.WUTONStage`.
    """

    def __init__(self, teacher_checkpoint: str | None = None, init_from_teacher: bool = True, **kwargs):
        super().__init__(**kwargs)
        if teacher_checkpoint is None:
            raise ValueError(
                "teacher_checkpoint: the student learns from the frozen teacher; give its checkpoint "
                "(runs/<preset>/wuton/teacher/checkpoints/last.ckpt)"
            )
        self.teacher = FrozenNet.from_checkpoint(
            teacher_checkpoint, {WUTON_TEACHER: build_wuton}, None, "teacher_checkpoint"
        )
        for name in ("size", "width"):
            theirs, ours = self.teacher.hparams.get(name), self.hparams[name]
            if theirs != ours:
                raise ValueError(f"{teacher_checkpoint}: the teacher has {name} {theirs!r}, this student {ours!r}")
        if init_from_teacher:
            self.start_from(self.net, self.teacher, "teacher_checkpoint")
        self.accelerate_nets(self.hparams.channels_last, self.hparams.compile)

    def person(self, person: PersonSample):
        return person.image

    def generator_step(self, batch: PairSample) -> AdversarialStep:
        target, source = batch.target, batch.source
        guide = self.teacher(masked_person(target), source.cloth, source.cloth_mask)
        out = self.net(target.image, source.cloth, source.cloth_mask)
        terms = wuton.terms(out, guide.warp.warped_garment, guide.warp.warped_mask, guide.tryon.image, self.vgg)
        return AdversarialStep(
            self.weighted(terms), out.tryon.image, target.image, {**terms, "vgg_random": float(self.vgg_random)}
        )

    def input_views(self, batch: PairSample) -> dict:
        target, source = batch.target, batch.source
        return {
            "teacher": image_to_rgb(self.teacher(masked_person(target), source.cloth, source.cloth_mask).tryon.image)
        }
