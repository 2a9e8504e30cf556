"""Training examples for the arm regrowth net ``R`` (arXiv 2401.12433, Sec. 3.4 and Table 3;
``docs/methods/distilled-transfer.md``, "Arm regrowth").

Every construction turns a target ``(I_t, M^s_t)`` into an :class:`Example`: source content (skin pixels the net may
copy), the target skin shape to fill, and the ground truth ``I_t * M^s_t``. Images (B, 3, H, W) in [-1, 1], masks
(B, 1, H, W) in {0, 1}; content and truth are zero outside their masks.

- case 1, **swap** (:func:`swap_case`): the source shape is the skin mask of the target wearing another garment,
  ``M^s_{t<-s}``. In the paper's case 1 (long sleeves onto a short-sleeved target) it lies inside ``M^s_t``; for
  other pairs it is intersected with ``M^s_t`` so that no garment pixel enters the skin content.
- case 2, **crop** (:func:`crop_case`): ``M^s_t`` cut by a random axis-aligned half-plane: a horizontal or a vertical
  cut line (equal probability) at a uniform position within the mask's extent along that axis, keeping the side
  below or above the line (equal probability).
- Table 3 baselines (:func:`augment_case`): an augmented copy of ``I_t * M^s_t`` (one geometric draw of
  ``data.augment`` applied to image and mask together) as source content.

Random draws come from a ``torch.Generator`` on the CPU (None: the global generator), so a fixed seed repeats them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from garment_transfer.data.augment import Augmenter

CASES = ("swap", "crop")
AUGMENTATIONS = ("affine", "affine_crop", "affine_crop_flip")
CONSTRUCTIONS = ("cases",) + AUGMENTATIONS


class Example(NamedTuple):
    """One regrowth task: ``R(content, shape) ~ truth``. content, truth: (B, 3, H, W); shape, source_shape:
    (B, 1, H, W); ``source_shape`` is where ``content`` holds skin (``shape`` minus it is what must be regrown)."""

    content: torch.Tensor
    shape: torch.Tensor
    truth: torch.Tensor
    source_shape: torch.Tensor


def _check(image: torch.Tensor, masks: dict[str, torch.Tensor]) -> None:
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image: expected (B, 3, H, W), got {tuple(image.shape)}")
    b, _, h, w = image.shape
    for name, mask in masks.items():
        if mask.shape != (b, 1, h, w):
            raise ValueError(f"{name}: expected (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(mask.shape)}")


def example(image: torch.Tensor, skin_mask: torch.Tensor, content: torch.Tensor, source_shape: torch.Tensor) -> Example:
    """The :class:`Example` with target shape ``M^s_t`` and truth ``I_t * M^s_t``."""
    return Example(content, skin_mask, image * skin_mask, source_shape)


def swap_case(image: torch.Tensor, skin_mask: torch.Tensor, other_skin_mask: torch.Tensor) -> Example:
    """Case 1: content ``I_t * (M^s_{t<-s} * M^s_t)``, shape ``M^s_t``, truth ``I_t * M^s_t``.

    Args:
        image: ``I_t`` (B, 3, H, W). skin_mask: ``M^s_t`` (B, 1, H, W).
        other_skin_mask: ``M^s_{t<-s}`` (B, 1, H, W), the target's skin when wearing another garment.
    """
    _check(image, {"skin_mask": skin_mask, "other_skin_mask": other_skin_mask})
    source = other_skin_mask * skin_mask
    return example(image, skin_mask, image * source, source)


def crop_draws(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The random draws of :func:`crop_case`: (B, 3) in [0, 1) on the CPU (axis, position, side), three per sample."""
    return torch.rand(batch, 3, generator=generator)


def crop_case(
    mask: torch.Tensor, generator: torch.Generator | None = None, draws: torch.Tensor | None = None
) -> torch.Tensor:
    """Case 2: ``M~^s_t``, each mask cut by its own random half-plane (module docstring); a subset of ``mask``.

    Args:
        mask: (B, 1, H, W) in {0, 1}. generator: CPU generator of the draws (three per sample).
        draws: the (B, 3) draws themselves (:func:`crop_draws`), e.g. from one generator per sample; then
            ``generator`` is not used.

    Returns:
        (B, 1, H, W), ``mask`` times a half-plane indicator; an empty mask stays empty.
    """
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask: expected (B, 1, H, W), got {tuple(mask.shape)}")
    b, _, h, w = mask.shape
    draws = (crop_draws(b, generator) if draws is None else draws).to(mask.device)  # axis, position, side
    if draws.shape != (b, 3):
        raise ValueError(f"draws: expected ({b}, 3), got {tuple(draws.shape)}")
    vertical = (draws[:, 0] < 0.5).view(b, 1, 1)  # a vertical cut line x = c, else a horizontal one y = c
    present = mask[:, 0] > 0.5
    ys = torch.arange(h, device=mask.device, dtype=mask.dtype).view(1, h, 1).expand(b, h, w)
    xs = torch.arange(w, device=mask.device, dtype=mask.dtype).view(1, 1, w).expand(b, h, w)
    coord = torch.where(vertical, xs, ys)
    inf = torch.tensor(float("inf"), device=mask.device, dtype=mask.dtype)
    lo = torch.where(present, coord, inf).flatten(1).amin(1)
    hi = torch.where(present, coord, -inf).flatten(1).amax(1)
    lo, hi = torch.where(torch.isfinite(lo), lo, 0), torch.where(torch.isfinite(hi), hi, 0)
    cut = (lo + draws[:, 1] * (hi - lo + 1)).view(b, 1, 1)  # in [lo, hi + 1)
    keep = torch.where((draws[:, 2] < 0.5).view(b, 1, 1), coord < cut, coord >= cut)
    return mask * keep.unsqueeze(1).to(mask.dtype)


def crop_example(
    image: torch.Tensor,
    skin_mask: torch.Tensor,
    generator: torch.Generator | None = None,
    draws: torch.Tensor | None = None,
) -> Example:
    """Case 2 as an :class:`Example`: content ``I_t * M~^s_t``, shape ``M^s_t``, truth ``I_t * M^s_t`` (``generator``,
    ``draws``: as :func:`crop_case`)."""
    _check(image, {"skin_mask": skin_mask})
    source = crop_case(skin_mask, generator, draws)
    return example(image, skin_mask, image * source, source)


def augment_case(
    image: torch.Tensor, skin_mask: torch.Tensor, augmenter: Augmenter, generator: torch.Generator | None = None
) -> Example:
    """Table 3 baselines: content = an augmented copy of ``I_t * M^s_t``, shape ``M^s_t``, truth ``I_t * M^s_t``.

    Each sample gets one draw of ``augmenter`` (seeded from ``generator``) applied to ``I_t`` (as 8-bit RGB, border
    replicated) and ``M^s_t`` (nearest) together; the content is the augmented image times the augmented mask.
    """
    _check(image, {"skin_mask": skin_mask})
    seeds = torch.randint(2**31 - 1, (image.shape[0],), generator=generator).tolist()
    rgb = ((image.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    masks = (skin_mask.detach().cpu()[:, 0] > 0.5).to(torch.uint8)
    contents, shapes = [], []
    for sample_rgb, sample_mask, seed in zip(rgb.numpy(), masks.numpy(), seeds):
        out = augmenter({"image": sample_rgb, "mask": sample_mask}, {"image": "image", "mask": "mask"}, seed)
        contents.append(torch.from_numpy(np.ascontiguousarray(out["image"])).permute(2, 0, 1))
        shapes.append(torch.from_numpy(out["mask"].astype(np.float32))[None])
    moved = (torch.stack(contents).to(image) / 127.5 - 1, torch.stack(shapes).to(skin_mask))
    return example(image, skin_mask, moved[0] * moved[1], moved[1])


def mix(first: Example, second: Example, choose_first: torch.Tensor) -> Example:
    """Per sample, ``first`` where ``choose_first`` (B,) bool, else ``second``."""
    pick = choose_first.view(-1, 1, 1, 1).to(first.content.device)
    return Example(*(torch.where(pick, a, b) for a, b in zip(first, second)))
