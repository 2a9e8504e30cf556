"""WUTON's teacher T-WUTON (Issenhuth et al., ECCV 2020, Sec. 3.2, Eq. 4-6; ``docs/methods/wuton.md``).

Per training pair (the target ``t`` a real person with their own in-shop garment ``C_t``; the source ``s`` a random
other person lending ``C_s``), with ``p*_t`` the person with the upper garment, upper-body skin and a box around
the neck masked grey (``data.agnostic.wuton_person``):

- paired: ``(p~_t, T_t) = WUTON(p*_t, C_t)``, supervised by the garment ``t`` wears (``warp``, Eq. 4) and ``t``'s
  image (``l1`` and ``vgg``, Eq. 5);
- unpaired: ``p~_{t,s} = WUTON(p*_t, C_s)`` has no ground truth; the relativistic adversarial term compares it with
  the real ``t`` (Eq. 6), and its gradient reaches the matcher through the warped skip connections.

The stage's shared machinery (optimizers, discriminator step, evaluation): :mod:`garment_transfer.stages.wuton.shared`.
The checkpoint holds the network the student loads, frozen, as its teacher.
"""

from __future__ import annotations

from garment_transfer.data.samples import PairSample, PersonSample
from garment_transfer.losses import wuton
from garment_transfer.models.wuton.networks import masked_person
from garment_transfer.stages.base import AdversarialStep
from garment_transfer.stages.wuton.shared import WUTONStage
from garment_transfer.visuals import image_to_rgb


class WUTONTeacherModule(WUTONStage):
    """T-WUTON (module docstring); arguments: :class:`~garment_transfer.stages.wuton.shared.WUTONStage`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.accelerate_nets(self.hparams.channels_last, self.hparams.compile)

    def person(self, person: PersonSample):
        return masked_person(person)

    def generator_step(self, batch: PairSample) -> AdversarialStep:
        target, source = batch.target, batch.source
        person = self.person(target)
        paired = self.net(person, target.cloth, target.cloth_mask)
        terms = wuton.terms(paired, target.garment, target.garment_mask, target.image, self.vgg)
        unpaired = None
        if self.hparams.w_adv > 0:
            unpaired = self.net(person, source.cloth, source.cloth_mask).tryon.image
        return AdversarialStep(
            self.weighted(terms), unpaired, target.image, {**terms, "vgg_random": float(self.vgg_random)}
        )

    def input_views(self, batch: PairSample) -> dict:
        return {"p_star": image_to_rgb(self.person(batch.target))}
