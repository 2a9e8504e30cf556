"""Typed samples: what every stage reads, as dataclasses rather than tuples (the notation:
``docs/methods/distilled-transfer.md``, "Task and notation").

Shapes are for one sample; :func:`collate` stacks a list into a batch of the same type with a leading ``B``
(strings and file records become lists, a dict of derived inputs a dict of stacked tensors). Lightning moves these
dataclasses between devices as they are; a loader with ``pin_memory=True`` pins their tensors through
:meth:`Pinnable.pin_memory` (page-locked host memory, so that the non-blocking copy to a GPU overlaps with compute).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

import torch
from lightning_utilities.core.apply_func import apply_to_collection

from garment_transfer.data.label_maps import NUM_CLASSES, REMAINING, UPPER_GARMENT, UPPER_SKIN

SIZE_MULTIPLE = 16  # the networks halve the resolution at least four times
MIN_SIZE = (64, 48)  # the smallest size (height, width)
MAX_SIDE = 2048  # the largest height or width (VITON-HD's 1024 x 768 is the largest real data set)


def parse_size(text: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``"HxW"`` (as configs and checkpoints hold it) or ``(H, W)`` -> ``(H, W)``, checked: both multiples of 16 and
    at least 64 x 48. The one conversion of a size, wherever it comes from."""
    try:
        parts = text.lower().split("x") if isinstance(text, str) else list(text)
        height, width = (int(part) for part in parts)
    except (ValueError, TypeError):
        raise ValueError(f"size {text!r}: expected HEIGHTxWIDTH, e.g. 128x96") from None
    check_size(height, width)
    return height, width


def check_size(height: int, width: int) -> None:
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(
            f"size {height}x{width}: height and width must be multiples of {SIZE_MULTIPLE} "
            f"(the networks halve the resolution at least four times), e.g. 128x96 or 256x192"
        )
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise ValueError(f"size {height}x{width}: the smallest size is {MIN_SIZE[0]}x{MIN_SIZE[1]}")
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"size {height}x{width}: the largest side allowed is {MAX_SIDE} pixels")


def one_hot(parsing: torch.Tensor, classes: int = NUM_CLASSES, dtype=torch.float32) -> torch.Tensor:
    """Class indices (..., H, W) -> one-hot (..., classes, H, W) of ``dtype``."""
    return torch.nn.functional.one_hot(parsing, classes).to(dtype).movedim(-1, -3)


class Pinnable:
    """``pin_memory()`` for a sample dataclass: what PyTorch's loader calls on a batch when ``pin_memory=True``."""

    def pin_memory(self):
        """A copy with every tensor in page-locked memory, through the nested dataclasses, lists and dicts (the
        traversal Lightning uses to move the batch to the device)."""
        return apply_to_collection(self, torch.Tensor, torch.Tensor.pin_memory)


@dataclass
class PersonSample(Pinnable):
    """One person.

    Attributes:
        image: ``I_x`` (3, H, W) float in [-1, 1].
        parsing: ``M_x`` (H, W) int64 class indices 0..6 (``label_maps.CLASSES``).
        densepose: ``P_x`` (C, H, W) float, C set by the configured encoding (``densepose.ENCODINGS``).
        cloth: ``C_x`` in-shop garment (3, H, W) in [-1, 1], white background.
        cloth_mask: ``C^m_x`` (1, H, W) in {0, 1}.
        garment_mask: ``M^g_x`` (1, H, W) in {0, 1}, the upper garment as worn.
        skin_mask: ``M^s_x`` (1, H, W) in {0, 1}, upper-body skin (arms, neck, exposed chest).
        remaining: ``M^r_x`` (4, H, W) one-hot of hair, face, lower garment, thigh.
        id: the sample id; ``files``: the files it was read from, by role.
        keypoints: (K, 3) float32 ``x, y, score`` in pixels at the sample's size (K = 25 BODY_25 or 18 COCO-18;
            a missing point is ``(-1, -1, 0)``, see :mod:`garment_transfer.data.keypoints`), or None where the data
            set has none (and for an augmented sample: augmentation does not move keypoints, it drops them).
        category: the garment class of the person's garment, ``upper``, ``lower`` or ``dresses`` (it decides which
            parsing class ``garment_mask`` holds).
        garment_parts: (H, W) int64 ids of ``labels.GARMENT_PARTS`` (sleeves, torso, trouser legs and the skin the
            garment can cover: the engine's ``image-parse-parts``), resized nearest as ``parsing``, or None where the
            data set has none. Augmentation moves them with the parsing (a flip swaps left and right ids).
        cloth_parts: (H, W) int64 ``labels.GARMENT_PARTS`` ids of the in-shop garment (``cloth-parse-parts``), or
            None where the data set has none.
        inputs: derived inputs by name (``data.inputs.INPUTS``), computed in the loader workers when the data module
            is asked for them (``GarmentDataModule(inputs=...)``); empty by default.
    """

    image: torch.Tensor
    parsing: torch.Tensor
    densepose: torch.Tensor
    cloth: torch.Tensor
    cloth_mask: torch.Tensor
    garment_mask: torch.Tensor
    skin_mask: torch.Tensor
    remaining: torch.Tensor
    id: str
    files: dict = field(default_factory=dict)
    keypoints: torch.Tensor | None = None
    category: str = "upper"
    garment_parts: torch.Tensor | None = None
    cloth_parts: torch.Tensor | None = None
    inputs: dict[str, torch.Tensor] = field(default_factory=dict, metadata={"collate": "stack"})

    @property
    def garment(self) -> torch.Tensor:
        """``G_x = I_x * M^g_x``: the worn garment cut out of the image, (3, H, W) (zeros elsewhere)."""
        return self.image * self.garment_mask

    @property
    def parsing_one_hot(self) -> torch.Tensor:
        """(7, H, W) float one-hot of ``parsing`` (with a leading B for batches)."""
        return one_hot(self.parsing, dtype=self.image.dtype)


@dataclass
class TransferTruth(Pinnable):
    """The true transfer ``I_{t<-s}`` where a data set has one (the synthetic engine).

    Attributes:
        image: (3, H, W) in [-1, 1]. parsing: (H, W) int64 class indices.
        flow: (2, H, W) float, for each garment pixel the source pixel ``(x, y)`` it comes from, -1 where unseen;
            None where the data set has no correspondence (the layout makes it optional).
    """

    image: torch.Tensor
    parsing: torch.Tensor
    flow: torch.Tensor | None = None


@dataclass
class PairSample(Pinnable):
    """A source (garment donor) and a target person; ``truth`` is None where the data set has no ground truth.

    In the paired case source and target are the same person.
    """

    source: PersonSample
    target: PersonSample
    truth: TransferTruth | None = None


def collate(items: list):
    """Stack a list of samples (any of the dataclasses above, nested) into one batch of the same type.

    Tensors are stacked, None stays None (all items must lack the value), other values (ids, categories, file
    records) become lists; a field marked ``metadata={"collate": "stack"}`` (``PersonSample.inputs``) is a dict of
    tensors stacked per key (all items must have the same keys).
    """
    first = items[0]
    if 0 < sum(item is None for item in items) < len(items):
        raise ValueError("collate: some samples have a value (a true transfer, flow, garment parts) that others lack")
    if isinstance(first, torch.Tensor):
        return torch.stack(items)
    if first is None:
        return None
    if is_dataclass(first):
        return type(first)(
            **{
                f.name: (_stack_dict if f.metadata.get("collate") == "stack" else collate)(
                    [getattr(item, f.name) for item in items]
                )
                for f in fields(first)
            }
        )
    return list(items)


def _stack_dict(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Dicts of tensors with the same keys -> one dict of the tensors stacked per key."""
    keys = list(items[0])
    if any(list(item) != keys for item in items):
        raise ValueError(f"collate: samples have different derived inputs ({sorted({tuple(i) for i in items})})")
    return {key: torch.stack([item[key] for item in items]) for key in keys}


def person_from_parsing(
    image: torch.Tensor,
    parsing: torch.Tensor,
    densepose: torch.Tensor,
    id,
    cloth: torch.Tensor | None = None,
    cloth_mask: torch.Tensor | None = None,
) -> PersonSample:
    """A :class:`PersonSample` (single or batched) from an image, its 7-class parsing and DensePose, the masks
    derived as the readers derive them (an upper garment). A person built from a prediction (a transfer result) or
    from a user's photo has no in-shop garment: by default its worn garment ``G`` and ``M^g`` stand in for ``C`` and
    ``C^m``.

    Args:
        image: (..., 3, H, W) in [-1, 1]. parsing: (..., H, W) int64 class indices. densepose: (..., C, H, W).
        id: the sample id (a list of ids for a batch).
    """
    garment_mask = (parsing == UPPER_GARMENT).unsqueeze(-3).to(image.dtype)
    return PersonSample(
        image=image,
        parsing=parsing,
        densepose=densepose,
        cloth=image * garment_mask if cloth is None else cloth,
        cloth_mask=garment_mask if cloth_mask is None else cloth_mask,
        garment_mask=garment_mask,
        skin_mask=(parsing == UPPER_SKIN).unsqueeze(-3).to(image.dtype),
        remaining=torch.stack([parsing == c for c in REMAINING], dim=-3).to(image.dtype),
        id=id,
        category="upper" if isinstance(id, str) else ["upper"] * len(id),
    )
