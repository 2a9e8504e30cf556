"""Adversarial losses: LSGAN (Mao et al., 2017; GP-VTON's choice) and the relativistic GAN (Jolicoeur-Martineau, 2019;
WUTON's) with the WGAN-GP gradient penalty (Gulrajani et al., 2017).

A discriminator gives a tensor of logits per image (a PatchGAN: (B, 1, h, w)) or a list of them (several scales);
every loss averages over all of them. With ``r`` the logits of real samples and ``f`` those of generated ones:

- ``lsgan``: discriminator ``0.5 (mean (r - 1)^2 + mean f^2)``, generator ``mean (f - 1)^2``;
- ``relativistic`` (RSGAN): discriminator ``mean softplus(-(r - f))`` = ``-log sigmoid(r - f)``, generator
  ``mean softplus(-(f - r))``, real and generated samples paired by position in the batch;
- ``relativistic_average`` (RaSGAN): discriminator ``mean softplus(-(r - mean f)) + mean softplus(f - mean r)``, the
  generator the same with real and generated swapped.

Gradient penalty: ``mean (||grad_x D(x)||_2 - 1)^2`` at ``x = e x_real + (1 - e) x_fake`` with ``e ~ U(0, 1)`` per
sample (the global torch generator), added to the discriminator's loss times ``gradient_penalty``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("lsgan", "relativistic", "relativistic_average")
Logits = torch.Tensor | Sequence[torch.Tensor]


def _pairs(real: Logits, fake: Logits) -> list[tuple[torch.Tensor, torch.Tensor]]:
    real = [real] if isinstance(real, torch.Tensor) else list(real)
    fake = [fake] if isinstance(fake, torch.Tensor) else list(fake)
    if len(real) != len(fake) or any(r.shape != f.shape for r, f in zip(real, fake)):
        raise ValueError("adversarial loss: real and generated logits must have the same scales and shapes")
    return list(zip(real, fake))


def _mean(values: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(values).mean()


def lsgan_discriminator(real: Logits, fake: Logits) -> torch.Tensor:
    """``0.5 (mean (r - 1)^2 + mean f^2)``, averaged over scales."""
    return _mean([0.5 * ((r - 1).square().mean() + f.square().mean()) for r, f in _pairs(real, fake)])


def lsgan_generator(fake: Logits, real: Logits | None = None) -> torch.Tensor:
    """``mean (f - 1)^2``, averaged over scales (``real`` is not read)."""
    fake = [fake] if isinstance(fake, torch.Tensor) else list(fake)
    return _mean([(f - 1).square().mean() for f in fake])


def relativistic_discriminator(real: Logits, fake: Logits, average: bool = False) -> torch.Tensor:
    """RSGAN's ``mean softplus(f - r)`` (``average``: RaSGAN's two terms), averaged over scales."""
    if average:
        return _mean(
            [F.softplus(-(r - f.mean())).mean() + F.softplus(f - r.mean()).mean() for r, f in _pairs(real, fake)]
        )
    return _mean([F.softplus(-(r - f)).mean() for r, f in _pairs(real, fake)])


def relativistic_generator(fake: Logits, real: Logits, average: bool = False) -> torch.Tensor:
    """The relativistic discriminator loss with real and generated swapped."""
    return relativistic_discriminator(fake, real, average)


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], Logits], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """``mean (||grad D(x)||_2 - 1)^2`` at random interpolates of ``real`` and ``fake`` (B, C, H, W)."""
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ")
    weight = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
    mixed = (weight * real.detach() + (1 - weight) * fake.detach()).requires_grad_(True)
    logits = discriminator(mixed)
    total = sum(x.sum() for x in ([logits] if isinstance(logits, torch.Tensor) else logits))
    (grad,) = torch.autograd.grad(total, mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


class AdversarialLoss(nn.Module):
    """The generator's and the discriminator's losses of one kind (module docstring).

    Args:
        kind: one of :data:`KINDS`.
        gradient_penalty: weight of the gradient penalty in the discriminator's loss (0: none).
    """

    def __init__(self, kind: str = "lsgan", gradient_penalty: float = 0.0) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"adversarial loss: kind must be one of {KINDS}, got {kind!r}")
        if gradient_penalty < 0:
            raise ValueError(f"adversarial loss: gradient_penalty must be >= 0, got {gradient_penalty}")
        self.kind, self.gradient_penalty = kind, float(gradient_penalty)

    def generator(self, discriminator: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial term: gradients reach ``fake`` (and what made it), not the discriminator's
        weights when the caller has frozen them."""
        fake_logits = discriminator(fake)
        if self.kind == "lsgan":
            return lsgan_generator(fake_logits)
        real_logits = discriminator(real)
        real_logits = (
            real_logits.detach() if isinstance(real_logits, torch.Tensor) else [r.detach() for r in real_logits]
        )
        return relativistic_generator(fake_logits, real_logits, self.kind == "relativistic_average")

    def discriminator(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``{"adversarial", "gradient_penalty", "total"}`` of the discriminator on ``real`` and (detached) ``fake``."""
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        if self.kind == "lsgan":
            terms = {"adversarial": lsgan_discriminator(real_logits, fake_logits)}
        else:
            terms = {
                "adversarial": relativistic_discriminator(real_logits, fake_logits, self.kind == "relativistic_average")
            }
        terms["gradient_penalty"] = (
            gradient_penalty(discriminator, real, fake) if self.gradient_penalty else terms["adversarial"].new_zeros(())
        )
        terms["total"] = terms["adversarial"] + self.gradient_penalty * terms["gradient_penalty"]
        return terms
