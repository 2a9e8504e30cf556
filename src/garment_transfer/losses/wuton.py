"""WUTON's losses (Issenhuth et al., ECCV 2020, Eq. 4-10): the same three reconstruction terms for the teacher and the
student, against different targets, plus a relativistic adversarial term weighted by the stage's ``w_adv``.

- ``warp``: ``mean |T(c) - target cloth|`` (Eq. 4 and 7), the matcher's warped cloth against the cloth the person
  wears (teacher, paired) or the teacher's warped cloth (student), both on a white background as in WUTON's and
  CP-VTON's data (``x * m + (1 - m)``, ``m`` the warped or the target mask): a warp that shrinks the cloth leaves
  white where the garment should be and pays for it (on a zero background it would pay only for the garment's
  pixels it misses, and a shrunken cloth costs little);
- ``l1``: ``mean |p~ - target|`` (Eq. 9), the generated person against the real person (teacher, paired) or the
  teacher's image (student);
- ``vgg``: ``sum_{i=1..5} mean |phi_i(p~) - phi_i(target)|`` (Eq. 5 and 8), VGG-19 at relu1_1 .. relu5_1, every
  layer weighted 1 (WUTON weighs none of them; PF-AFN's 1/32 .. 1 are not WUTON's).

WUTON publishes no weights. Ours (:data:`WEIGHTS`, the YAML's ``weights``): warp 1, L1 1, VGG 1; ``w_adv`` 0.1 with a
gradient penalty of 10 on the discriminator (WGAN-GP's). The means are over pixels and channels (a sum over pixels
only rescales the weights).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from garment_transfer.losses.warping import VGG_LAYERS
from garment_transfer.models.tryon import TryOnOutput

WEIGHTS = {"warp": 1.0, "l1": 1.0, "vgg": 1.0}
VGG_LAYER_WEIGHTS = tuple(1.0 for _ in VGG_LAYERS)  # Eq. 5: the five layers summed
ADVERSARIAL_WEIGHT = 0.1
GRADIENT_PENALTY = 10.0
ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_weights(weights: Mapping[str, float], argument: str = "model.init_args.weights") -> dict[str, float]:
    """``weights`` with every name among :data:`WEIGHTS` and every value >= 0, or a ``ValueError`` naming
    ``argument``."""
    unknown = sorted(set(weights) - set(WEIGHTS))
    if unknown or any(not isinstance(v, (int, float)) or v < 0 for v in weights.values()):
        raise ValueError(f"{argument} {dict(weights)}: names among {sorted(WEIGHTS)}, values >= 0")
    return {name: float(weights.get(name, 0.0)) for name in WEIGHTS}


def on_white(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``image * mask + (1 - mask)``: (B, 3, H, W) in [-1, 1] on a white background."""
    return image * mask + (1 - mask)


def terms(
    out: TryOnOutput,
    cloth_target: torch.Tensor,
    cloth_target_mask: torch.Tensor,
    image_target: torch.Tensor,
    vgg: ImageLoss | None,
) -> dict[str, torch.Tensor]:
    """The unweighted ``{"warp", "l1", "vgg"}`` of a WUTON output against its targets (module docstring): the
    target cloth (B, 3, H, W) with its mask (B, 1, H, W), the target image; ``vgg`` None gives a zero VGG term (its
    weight must then be 0)."""
    image = out.tryon.image
    warped = on_white(out.warp.warped_garment, out.warp.warped_mask)
    return {
        "warp": (warped - on_white(cloth_target, cloth_target_mask)).abs().mean(),
        "l1": (image - image_target).abs().mean(),
        "vgg": vgg(image, image_target) if vgg is not None else image.new_zeros(()),
    }
