"""Warping losses: VGG perceptual, flow regularisers, initial aligning, multi-scale sums (arXiv 2401.12433,
Sec. 3.3; weights and conventions: ``docs/methods/distilled-transfer.md``, "Warping losses and weights").

Flows are (B, 2, H, W) with the (x, y) coordinate in the channel dimension, either pixel offsets or an absolute
normalised sampling grid (a grid in ``grid_sample`` layout (B, H, W, 2) must be ``permute(0, 3, 1, 2)``-ed first).
Masks are (B, 1, H, W) in [0, 1]; images (B, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.models.vgg import VGG19Features

VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
CHARBONNIER_EPS = 1e-6  # (d^2 + eps)^alpha, PF-AFN's epsilon 1e-3 squared
CHARBONNIER_ALPHA = 0.45
# Second-difference stencils (+1 -2 +1): horizontal, vertical, main diagonal, anti-diagonal.
_STENCILS = torch.tensor(
    [
        [[0, 0, 0], [1, -2, 1], [0, 0, 0]],
        [[0, 1, 0], [0, -2, 0], [0, 1, 0]],
        [[1, 0, 0], [0, -2, 0], [0, 0, 1]],
        [[0, 0, 1], [0, -2, 0], [1, 0, 0]],
    ],
    dtype=torch.float32,
).unsqueeze(1)


def _check_flow(flow: torch.Tensor, name: str) -> None:
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"{name}: flow must be (B, 2, H, W), got {tuple(flow.shape)}")


def perceptual_loss(
    pred_features: Mapping[str, torch.Tensor], target_features: Mapping[str, torch.Tensor], weights: Mapping[str, float]
) -> torch.Tensor:
    """``sum_l w_l * L1(F_l(pred), F_l(target))`` over the layers in ``weights``; target features are detached."""
    return sum(w * F.l1_loss(pred_features[name], target_features[name].detach()) for name, w in weights.items())


class VGGLoss(nn.Module):
    """VGG-19 perceptual loss: weighted L1 between features of prediction and target.

    Defaults are the teacher's (FS-VTON / PF-AFN: relu1_1 .. relu5_1, weights 1/32 .. 1); the student uses
    ``layers=VGG_LAYERS[:4], weights=VGG_WEIGHTS[:4]`` (relu1_1 .. relu4_1, arXiv 2401.12433, Sec. 3.3.4). The VGG
    weights are fixed and come from ``weights_path``, so they are left out of this module's ``state_dict`` (no 80 MB
    copy in every checkpoint) and loading a state dict without them keeps the current ones: checkpoints reference the
    VGG file, they do not embed it.

    Args:
        weights_path: torchvision-format ``vgg19-dcbb9e9d.pth``; see :class:`VGG19Features` for the errors.
        allow_random: random VGG features when the file is absent (warned once; ``self.random`` is then True).
        layers: VGG taps. weights: one weight per tap.
    """

    def __init__(
        self,
        weights_path: str | Path | None,
        allow_random: bool = False,
        layers: Sequence[str] = VGG_LAYERS,
        weights: Sequence[float] = VGG_WEIGHTS,
    ) -> None:
        super().__init__()
        if len(layers) != len(weights):
            raise ValueError(f"VGGLoss: {len(layers)} layers but {len(weights)} weights")
        self.layer_weights = dict(zip(layers, map(float, weights), strict=True))
        self.vgg = VGG19Features(weights_path, allow_random, layers)
        self.register_state_dict_post_hook(_drop_vgg)
        self.register_load_state_dict_pre_hook(_keep_vgg)

    @property
    def random(self) -> bool:
        """True when the features are random (no weights file, ``allow_random``): log it."""
        return self.vgg.random

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss. pred, target: (B, 3, H, W) in [-1, 1]; gradients reach ``pred`` only."""
        if pred.shape != target.shape:
            raise ValueError(f"VGGLoss: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
        with torch.no_grad():
            target_features = self.vgg(target)
        return perceptual_loss(self.vgg(pred), target_features, self.layer_weights)


def _drop_vgg(module: VGGLoss, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    for key in [key for key in state_dict if key.startswith(prefix + "vgg.")]:
        del state_dict[key]


def _keep_vgg(module: VGGLoss, state_dict: dict, prefix: str, *args) -> None:
    for key, value in module.vgg.state_dict().items():
        state_dict.setdefault(prefix + "vgg." + key, value)


def total_variation(flow: torch.Tensor) -> torch.Tensor:
    """First-order TV: ``mean |f(y+1, x) - f(y, x)| + mean |f(y, x+1) - f(y, x)|`` (PF-AFN's ``TVLoss``).

    Args:
        flow: (B, 2, H, W) offsets (or grid). A direction with a single row / column contributes 0.
    """
    _check_flow(flow, "total_variation")
    diffs = (flow[:, :, 1:] - flow[:, :, :-1], flow[..., 1:] - flow[..., :-1])
    return sum((d.abs().mean() for d in diffs if d.numel()), flow.new_zeros(()))


def second_order_smoothness(
    flow: torch.Tensor,
    eps: float = CHARBONNIER_EPS,
    alpha: float = CHARBONNIER_ALPHA,
    coordinate_reduction: str = "mean",
) -> torch.Tensor:
    """Mean generalised Charbonnier ``(d^2 + eps)^alpha`` of second differences (PF-AFN's, as in FS-VTON).

    The four 3x3 stencils (horizontal, vertical, two diagonals; +1 -2 +1) are applied to each coordinate channel with
    valid padding, and the penalty is averaged over stencils, positions and the batch, then over the two
    coordinates (``coordinate_reduction="mean"``, the default) or summed over them (``"sum"``: PF-AFN's
    ``loss_flow_x + loss_flow_y``, twice the mean). An affine field gives the floor ``eps^alpha`` (twice that with
    ``"sum"``).

    Args:
        flow: (B, 2, H, W) grid or offsets. Returns 0 when H or W < 3 (no valid position).
        eps, alpha: the Charbonnier constants (PF-AFN: ``eps = 1e-3 ** 2``, ``alpha = 0.45``).
        coordinate_reduction: "mean" or "sum" over the x and y channels.
    """
    _check_flow(flow, "second_order_smoothness")
    if coordinate_reduction not in ("mean", "sum"):
        raise ValueError(
            f"second_order_smoothness: coordinate_reduction must be 'mean' or 'sum', got {coordinate_reduction!r}"
        )
    b, c, h, w = flow.shape
    if h < 3 or w < 3:
        return flow.sum() * 0
    d = F.conv2d(flow.reshape(b * c, 1, h, w), _STENCILS.to(flow))  # (B * 2, 4, H - 2, W - 2)
    penalty = (d.square() + eps).pow(alpha).mean()
    return penalty * c if coordinate_reduction == "sum" else penalty


def mask_ratio(mask: torch.Tensor) -> torch.Tensor:
    """Area / (H W) per sample. mask: (B, 1, H, W) in [0, 1] -> (B,)."""
    return mask.flatten(1).mean(1)


def aligning_loss(aligned_mask: torch.Tensor, target_mask: torch.Tensor, w_ratio: float) -> torch.Tensor:
    """``L_align = |theta(M^g_s) - M^g_{t<-s}|_1 + w_ratio * |ratio(theta(M^g_s)) - ratio(M^g_{t<-s})|`` (paper Eq. 5).

    Args:
        aligned_mask: (B, 1, H, W) in [0, 1], the source garment mask after the STN's affine.
        target_mask: (B, 1, H, W) in [0, 1], the target garment shape. Both terms are averaged over the batch.
    """
    if aligned_mask.shape != target_mask.shape or aligned_mask.dim() != 4:
        raise ValueError(
            f"aligning_loss: masks must be equal (B, 1, H, W), got {tuple(aligned_mask.shape)} "
            f"and {tuple(target_mask.shape)}"
        )
    l1 = F.l1_loss(aligned_mask, target_mask)
    return l1 + w_ratio * (mask_ratio(aligned_mask) - mask_ratio(target_mask)).abs().mean()


def multiscale_loss(
    preds: Sequence[torch.Tensor],
    target: torch.Tensor,
    level_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    level_weights: Sequence[float] | None = None,
    mode: str = "area",
    threshold: float | None = None,
    finest: int | None = None,
) -> torch.Tensor:
    """``sum_k w_k * level_loss(preds[k], resize(target))``, default ``w_k = k + 1`` (FS-VTON / PF-AFN).

    Args:
        preds: per-level predictions (B, C, h_k, w_k), coarsest first (k = 0).
        target: (B, C, H, W), resized to each level's size unless already equal.
        level_loss: ``(pred, target) -> scalar``, e.g. ``F.l1_loss`` or a :class:`VGGLoss`.
        level_weights: one weight per level; default ``1, 2, .., K``.
        mode: ``F.interpolate`` mode: "area" or "bilinear" for images, "nearest" for masks (or "area" with
            ``threshold=0.5``, which binarises the resized target as ``> threshold``).
        finest: sum only the ``finest`` last levels, each with its own weight (e.g. a costly VGG term on the
            full-size level alone); None: all levels.
    """
    level_weights = [k + 1.0 for k in range(len(preds))] if level_weights is None else list(level_weights)
    if not preds or len(level_weights) != len(preds):
        raise ValueError(f"multiscale_loss: {len(preds)} levels but {len(level_weights)} weights")
    if finest is not None:
        if not 1 <= finest <= len(preds):
            raise ValueError(f"multiscale_loss: finest must be in 1..{len(preds)}, got {finest}")
        preds, level_weights = preds[-finest:], level_weights[-finest:]
    extra = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    total = target.new_zeros(())
    for weight, pred in zip(level_weights, preds, strict=True):
        resized = target
        if pred.shape[-2:] != target.shape[-2:]:
            resized = F.interpolate(target, size=pred.shape[-2:], mode=mode, **extra)
        if threshold is not None:
            resized = (resized > threshold).to(target.dtype)
        total = total + weight * level_loss(pred, resized)
    return total
