"""Composition of the transfer result ``I_{t<-s}`` (arXiv 2401.12433, Sec. 3.1 and 3.4;
``docs/methods/distilled-transfer.md``, "Composition"). Pure tensor code.

With the target parsing ``M_t``, the transfer parsing ``M_{t<-s}``, the warped garment ``W`` and the regrowth
output ``skin``, every pixel falls in exactly one region (masks (B, 1, H, W)):

- ``garment``: garment in ``M_{t<-s}`` -> ``W``;
- ``inherit``: skin in ``M_{t<-s}`` and in ``M_t`` (new skin inside old skin) -> ``I_t``;
- ``regrow``: skin in ``M_{t<-s}`` but not in ``M_t`` (new skin outside old skin) -> ``skin``;
- ``keep``: neither garment nor skin in ``M_{t<-s}`` nor in ``M_t`` -> ``I_t``, bit for bit;
- ``holes``: garment or skin in ``M_t``, neither in ``M_{t<-s}`` (e.g. the rest of a long garment replaced by a
  shorter one) -> filled by ``fill``.

Fills: ``inpaint`` (default; the paper is silent) fills each hole pixel from the target pixels of the class it
takes in ``M_{t<-s}`` (background holes from background, lower-garment holes from the lower garment): known pixels
are the ``keep`` pixels of that class in ``M_t`` (of a sample without any: all its ``keep`` pixels; without those:
every non-hole pixel), spread by :func:`inpaint` (push-pull, then diffusion). ``none`` leaves the target's pixels
(the old garment shows through: the no-filling baseline).

Speed: on a GPU (and while compiled) nothing waits for the device (no ``.any()``, ``torch.unique`` or ``.tolist()``
on the masks): the fill runs one batched :func:`inpaint` over every class a hole can take (the :data:`HOLE_CLASSES`
classes other than upper skin and garment), whether or not a hole has it, and each hole pixel picks its class's
result. On the CPU, where reading the masks costs no wait, the same batched call covers only the classes the holes
take. Both give the values of inpainting the classes present one by one.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from garment_transfer.data.label_maps import NUM_CLASSES, UPPER_GARMENT, UPPER_SKIN

FILLS = ("inpaint", "none")
DIFFUSION_STEPS = 16
PLACED = (UPPER_SKIN, UPPER_GARMENT)  # the classes composition places; a hole takes any other class
HOLE_CLASSES = NUM_CLASSES - len(PLACED)


class SkinCases(NamedTuple):
    """``inherit``: new skin inside old skin (copied from ``I_t``); ``regrow``: new skin outside it (from ``R``)."""

    inherit: torch.Tensor
    regrow: torch.Tensor


def skin_cases(old_skin: torch.Tensor, new_skin: torch.Tensor) -> SkinCases:
    """Split the new skin ``M^s_{t<-s}`` by the old skin ``M^s_t``: both (B, 1, H, W) in {0, 1} (``> 0.5``);
    the two masks (same shape and dtype as ``new_skin``) are disjoint and cover the new skin."""
    if old_skin.shape != new_skin.shape or new_skin.ndim != 4 or new_skin.shape[1] != 1:
        raise ValueError(
            f"old_skin, new_skin: expected two (B, 1, H, W) masks, got {tuple(old_skin.shape)} and "
            f"{tuple(new_skin.shape)}"
        )
    old, new = old_skin > 0.5, new_skin > 0.5
    return SkinCases((new & old).to(new_skin.dtype), (new & ~old).to(new_skin.dtype))


def inpaint(image: torch.Tensor, known: torch.Tensor, steps: int = DIFFUSION_STEPS) -> torch.Tensor:
    """Values for the unknown pixels spread from the known ones; known pixels are returned unchanged.

    Push-pull: sums of known values and their counts are 2x2-pooled down to one pixel; coming back up, a pixel
    with known values at its level takes their mean, the others the bilinearly upsampled coarser estimate. Then
    ``steps`` Jacobi iterations of the 4-neighbour Laplace equation on the unknown pixels (replicated border) smooth
    the blocks away. Deterministic. A sample with no known pixel gets zeros.

    Args:
        image: (B, C, H, W). known: (B, 1, H, W) in {0, 1} (``> 0.5``).

    Returns:
        (B, C, H, W).
    """
    if image.ndim != 4 or known.shape != (image.shape[0], 1, *image.shape[-2:]):
        raise ValueError(
            f"inpaint: image (B, C, H, W) and known (B, 1, H, W) of one size expected, got "
            f"{tuple(image.shape)} and {tuple(known.shape)}"
        )
    weight = (known > 0.5).to(image.dtype)
    levels = [(image * weight, weight)]
    while max(levels[-1][1].shape[-2:]) > 1:
        total, count = levels[-1]
        levels.append((F.avg_pool2d(total, 2, ceil_mode=True), F.avg_pool2d(count, 2, ceil_mode=True)))
    estimate = None
    for total, count in reversed(levels):
        mean = total / count.clamp(min=torch.finfo(image.dtype).tiny)
        if estimate is None:
            estimate = torch.where(count > 0, mean, torch.zeros_like(mean))
        else:
            up = F.interpolate(estimate, size=total.shape[-2:], mode="bilinear", align_corners=False)
            estimate = torch.where(count > 0, mean, up)
    unknown = weight < 0.5
    for _ in range(steps):
        padded = F.pad(estimate, (1, 1, 1, 1), mode="replicate")
        neighbours = (
            padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1] + padded[..., 1:-1, :-2] + padded[..., 1:-1, 2:]
        ) / 4
        estimate = torch.where(unknown, neighbours, estimate)
    return torch.where(unknown, estimate, image)


def _hole_class(parsing: torch.Tensor) -> torch.Tensor:
    """Class indices -> ``0 .. HOLE_CLASSES - 1``, the index among the classes a hole can take (a placed class
    shares its index with another class: it is never a hole's, nor a known pixel's)."""
    return parsing - sum(parsing > c for c in PLACED)


def fill_holes(
    image: torch.Tensor,
    old: torch.Tensor,
    new: torch.Tensor,
    keep: torch.Tensor,
    holes: torch.Tensor,
    classes: list[int] | None = None,
) -> torch.Tensor:
    """Every pixel's value inpainted from the known pixels of its new class (module docstring); read at the holes.

    Args:
        image: (B, C, H, W). old, new: ``M_t`` and ``M_{t<-s}`` (B, 1, H, W) class indices. keep, holes: (B, 1, H, W)
            boolean regions of :func:`compose`.
        classes: the hole classes (``0 .. HOLE_CLASSES - 1``, :func:`_hole_class`) to inpaint; None: all of them.
            Holes of a class left out get another class's fill.

    Returns:
        (B, C, H, W): at a hole pixel the fill of its class in ``new``; elsewhere some class's fill.
    """
    if classes is None:
        slots = torch.arange(HOLE_CLASSES, device=image.device)
        lookup = None
    else:
        slots = torch.tensor(classes, device=image.device, dtype=torch.long)
        lookup = torch.zeros(HOLE_CLASSES, device=image.device, dtype=torch.long)
        lookup[slots] = torch.arange(len(classes), device=image.device)
    known = keep & (_hole_class(old) == slots.view(-1, 1, 1, 1, 1))  # (K, B, 1, H, W): keep pixels of each class
    known = torch.where(known.flatten(2).any(2)[..., None, None, None], known, keep)
    known = torch.where(known.flatten(2).any(2)[..., None, None, None], known, ~holes)
    count, batch = known.shape[:2]
    filled = inpaint(
        image.expand(count, *image.shape).reshape(count * batch, *image.shape[1:]),
        known.reshape(count * batch, *known.shape[2:]),
    ).view(count, *image.shape)
    index = _hole_class(new).clamp(max=HOLE_CLASSES - 1)
    index = index if lookup is None else lookup[index]
    return filled.gather(0, index.unsqueeze(0).expand(1, *image.shape))[0]


def _present_hole_classes(new: torch.Tensor, holes: torch.Tensor) -> list[int] | None:
    """The hole classes present, read from the masks where that costs no wait (a CPU tensor, not being compiled):
    the fill then inpaints only those (the same values, a fraction of the work). None elsewhere: all classes."""
    if new.device.type != "cpu" or torch.compiler.is_compiling():
        return None
    return torch.unique(_hole_class(new)[holes]).tolist()


def _check(target_image, target_parsing, transfer_parsing, warped_garment, skin_image) -> None:
    if target_image.ndim != 4 or target_image.shape[1] != 3:
        raise ValueError(f"target_image: expected (B, 3, H, W), got {tuple(target_image.shape)}")
    b, _, h, w = target_image.shape
    for name, value in (("target_parsing", target_parsing), ("transfer_parsing", transfer_parsing)):
        if value.shape != (b, h, w) or value.is_floating_point():
            raise ValueError(
                f"{name}: expected (B, H, W) = {(b, h, w)} class indices, got {tuple(value.shape)} {value.dtype}"
            )
    for name, value in (("warped_garment", warped_garment), ("skin_image", skin_image)):
        if value.shape != (b, 3, h, w):
            raise ValueError(f"{name}: expected (B, 3, H, W) = {(b, 3, h, w)}, got {tuple(value.shape)}")


def compose(
    target_image: torch.Tensor,
    target_parsing: torch.Tensor,
    transfer_parsing: torch.Tensor,
    warped_garment: torch.Tensor,
    skin_image: torch.Tensor,
    fill: str = "inpaint",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``I_{t<-s} = W * M^g_{t<-s} + skin * M^s_{t<-s} + I_t * M^keep`` with holes filled (module docstring).

    Args:
        target_image: ``I_t`` (B, 3, H, W) in [-1, 1].
        target_parsing: ``M_t`` (B, H, W) class indices. transfer_parsing: ``M_{t<-s}`` (B, H, W) class indices.
        warped_garment: ``W`` (B, 3, H, W). skin_image: the regrowth output (B, 3, H, W), read only where regrown.
        fill: one of :data:`FILLS`.

    Returns:
        The image (B, 3, H, W) and the masks ``garment``, ``skin``, ``inherit``, ``regrow``, ``keep``, ``holes``
        ((B, 1, H, W) in {0, 1}, the image's dtype).
    """
    if fill not in FILLS:
        raise ValueError(f"fill {fill!r}: choose one of {FILLS}")
    _check(target_image, target_parsing, transfer_parsing, warped_garment, skin_image)
    old, new = target_parsing.unsqueeze(1), transfer_parsing.unsqueeze(1)
    garment, new_skin, old_skin = new == UPPER_GARMENT, new == UPPER_SKIN, old == UPPER_SKIN
    placed, was_upper = garment | new_skin, (old == UPPER_GARMENT) | old_skin
    keep, holes = ~placed & ~was_upper, ~placed & was_upper
    dtype = target_image.dtype
    inherit, regrown = new_skin & old_skin, new_skin & ~old_skin  # skin_cases on the boolean masks
    image = torch.where(garment, warped_garment, torch.where(regrown, skin_image, target_image))
    classes = _present_hole_classes(new, holes) if fill == "inpaint" else []
    if classes != []:
        image = torch.where(holes, fill_holes(image, old, new, keep, holes, classes), image)
    masks = {"garment": garment, "skin": new_skin, "inherit": inherit, "regrow": regrown, "keep": keep, "holes": holes}
    return image, {name: mask.to(dtype) for name, mask in masks.items()}
