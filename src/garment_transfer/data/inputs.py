"""Derived per-person inputs: tensors a stage computes from a :class:`PersonSample`, by name.

A data module asked for some of them (``GarmentDataModule(inputs=[...])``) computes them in its dataset's
``__getitem__``, i.e. in the loader workers, for the source and the target of each pair (not for the true transfer),
into ``PersonSample.inputs``; ``collate`` stacks them per name. :data:`INPUTS` lists every name:

- ``pose_maps``: PF-AFN's 18 COCO-18 keypoint maps (BODY_25 points reduced to COCO-18), squares of PF-AFN's radius
  scaled to the height (``keypoints.system_radius("pfafn", H)``); (18, H, W) float32 in {-1, 1}.
- ``wuton_person``: WUTON's p* (``agnostic.wuton_person``): the image with the upper garment, upper-body skin and a box
  around the neck grey; (3, H, W) float32 in [-1, 1].
- ``gpvton_preserve``: GP-VTON's preserve mask for a garment of the person's own category (``agnostic``); (1, H, W)
  float32 in {0, 1}.

Each function takes one person (not a batch); a person that lacks what an input needs (keypoints) is a ValueError
naming the sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from garment_transfer.data import agnostic
from garment_transfer.data.keypoints import BODY_25, BODY_25_TO_COCO_18, COCO_18, keypoint_maps, system_radius
from garment_transfer.data.samples import PersonSample


def _keypoints(person: PersonSample, name: str) -> torch.Tensor:
    """The person's (K, 3) keypoints, or a ValueError saying that the input ``name`` needs them."""
    if person.keypoints is None:
        raise ValueError(
            f"sample {person.id!r} has no keypoints, which the {name} input needs (a data set without "
            "keypoint files, or an augmented sample: augmentation drops them)"
        )
    return person.keypoints


def pose_maps(person: PersonSample) -> torch.Tensor:
    """PF-AFN's pose maps of one person: (18, H, W) float32 in {-1, 1}, a square of side ``2 r + 1`` around each
    present COCO-18 point (BODY_25 reduced to COCO-18), ``r = system_radius("pfafn", H)``."""
    points = _keypoints(person, "pose_maps")
    if points.ndim != 2 or points.shape not in ((COCO_18, 3), (BODY_25, 3)):
        raise ValueError(f"sample {person.id!r}: keypoints must be (18 or 25, 3), got {tuple(points.shape)}")
    if points.shape[0] == BODY_25:
        points = points[list(BODY_25_TO_COCO_18)]
    size = tuple(person.image.shape[-2:])
    return keypoint_maps(points, size, system_radius("pfafn", size[0]))


def wuton_person(person: PersonSample) -> torch.Tensor:
    """WUTON's p* of one person (``agnostic.wuton_person``, default neck box): (3, H, W) float32 in [-1, 1]."""
    return agnostic.wuton_person(person)


def gpvton_preserve(person: PersonSample) -> torch.Tensor:
    """GP-VTON's preserve mask of one person for a garment of its own category (``agnostic.gpvton_preserve``):
    (1, H, W) float32 in {0, 1}."""
    _keypoints(person, "gpvton_preserve")
    return agnostic.gpvton_preserve(person, person.category)


INPUTS: dict[str, Callable[[PersonSample], torch.Tensor]] = {
    "pose_maps": pose_maps,
    "wuton_person": wuton_person,
    "gpvton_preserve": gpvton_preserve,
}


def check_inputs(names: Iterable[str] | None, argument: str = "inputs") -> tuple[str, ...]:
    """``names`` as a tuple of known input names (None: none), each once in the order given.

    Raises:
        ValueError: naming ``argument`` and the known names for a name not in :data:`INPUTS` (or a value that is not
            a list of names).
    """
    if names is None:
        return ()
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{argument} {names!r}: a list of derived input names, from {tuple(INPUTS)}")
    names = tuple(dict.fromkeys(names))
    for name in names:
        if name not in INPUTS:
            raise ValueError(f"{argument} {name!r}: not a derived input; choose from {tuple(INPUTS)}")
    return names


def compute_inputs(person: PersonSample, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The inputs ``names`` (known names, :func:`check_inputs`) of one person, by name."""
    return {name: INPUTS[name](person) for name in names}
