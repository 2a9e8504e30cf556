"""What dressing a person returns, whichever method did it (:class:`TransferOutput`), and the fields of a sample
that hold each kind of garment (:data:`GARMENT_FIELDS`)."""

from __future__ import annotations

from typing import NamedTuple

import torch

GARMENT_FIELDS = {"worn": ("garment", "garment_mask"), "in_shop": ("cloth", "cloth_mask")}  # PersonSample fields
INTERMEDIATES = ("parsing", "aligned_garment", "warped_garment", "skin")  # TransferOutput fields worth saving


class TransferOutput(NamedTuple):
    """One transfer or try-on, batched. ``image`` (B, 3, H, W) in [-1, 1] is the result; ``parsing`` (B, H, W) the
    result's 7-class parsing (what a re-transfer reads back); ``aligned_garment`` / ``warped_garment``
    (B, 3, H, W) and ``warped_mask`` (B, 1, H, W) the warp's outputs; ``skin`` (B, 3, H, W) regrown skin (zeros
    where not run); ``masks`` composition masks by name ((B, 1, H, W) each)."""

    image: torch.Tensor
    parsing: torch.Tensor
    aligned_garment: torch.Tensor
    warped_garment: torch.Tensor
    warped_mask: torch.Tensor
    skin: torch.Tensor
    masks: dict
