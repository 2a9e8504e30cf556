"""Parsing losses: supervised parsing loss, feature and response distillation (arXiv 2401.12433, Sec. 3.2;
``docs/methods/distilled-transfer.md``, "Transfer parsing student")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
import torch.nn.functional as F

from garment_transfer.data.samples import one_hot


def parsing_loss(logits: torch.Tensor, target: torch.Tensor, w_l1: float = 2.0, w_ce: float = 0.2) -> torch.Tensor:
    """``w_l1 * L1(softmax, one-hot) + w_ce * CE`` (the PG-VTON parsing loss).

    Args:
        logits: (B, C, H, W). target: (B, H, W) int64 class indices.
    """
    loss = logits.new_zeros(())
    if w_l1:
        loss = loss + w_l1 * (logits.softmax(1) - one_hot(target, logits.shape[1], logits.dtype)).abs().mean()
    if w_ce:
        loss = loss + w_ce * F.cross_entropy(logits, target)
    return loss


def deep_parsing_loss(
    logits: torch.Tensor,
    side_logits: Iterable[torch.Tensor],
    target: torch.Tensor,
    w_l1: float = 2.0,
    w_ce: float = 0.2,
    sides: bool = True,
) -> torch.Tensor:
    """:func:`parsing_loss` on the fused output and, when ``sides``, on each side output (U-2-Net deep supervision)."""
    outputs = [logits, *side_logits] if sides else [logits]
    return sum(parsing_loss(out, target, w_l1, w_ce) for out in outputs)


def feature_loss(
    student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor], layers: Iterable[str]
) -> torch.Tensor:
    """``(1 / n) * sum_i MSE(F^S_i, F^T_i)`` over ``layers``; the teacher's features are detached."""
    layers = list(layers)
    if not layers:
        raise ValueError("feature_loss: no layers given")
    return sum(F.mse_loss(student[name], teacher[name].detach()) for name in layers) / len(layers)


def response_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``tau^2 * KL(softmax(T / tau) || softmax(S / tau))`` per pixel, averaged over pixels and the batch."""
    tau = temperature
    soft_targets = (teacher_logits.detach() / tau).softmax(1)
    log_student = (student_logits / tau).log_softmax(1)
    return F.kl_div(log_student, soft_targets, reduction="none").sum(1).mean() * tau * tau
