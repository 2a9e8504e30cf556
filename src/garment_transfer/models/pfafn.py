"""PF-AFN's networks with their builders and input adapters (``SYSTEMS.md`` 1): the parser-based warp PB-AFWM, the
parser-free warp PF-AFWM (:class:`~.afwm.AFWM`), and the try-on generators (:class:`~.resunet.ResUnetGenerator`,
5 levels, 4 outputs: RGB and a composition mask).

Inputs (PF-AFN's ``train_PBAFN_*.py``, mapped onto the 7 classes of ``METHOD.md`` 2):

- Parser-based person representation, 45 channels: two preserve masks, face = {hair, face} (ACGPN-14 ids {1, 12})
  and other clothes = {lower garment, thigh} (ACGPN-14 {5, 6, 8, 9, 10}: the shoes 5 and 6 are background in the 7
  classes, so the mask lacks them); 25 one-hot DensePose parts; 18 COCO keypoint maps (:func:`keypoint_maps`).
- Parser-based generator, 8 channels: the preserve-region image ``I * (face + other clothes + hands)``, hands =
  DensePose hand parts {3, 4} inside the arm labels (ACGPN-14 {11, 13}: our upper-body skin); the warped garment; the
  warped mask; the DensePose arm mask (parts 15..22) minus a covered mask (the person's own garment mask in
  parser-based end-to-end training, the warped garment mask when the tutor dresses a person in another garment).
- Parser-free: the warp reads the person image (3 channels), the generator the person image, the warped garment and
  the warped mask (7 channels).
- Try-on (:func:`tryon`): ``rendered = tanh(out[:3])``, ``m = sigmoid(out[3]) * warped mask`` (times the person's
  garment mask in PF-AFN's end-to-end training), ``warped * m + rendered * (1 - m)``.

Sizes at width "full": PB-AFWM 29,328,692, PF-AFWM 29,304,416, generators 43,900,544 (8 -> 4) and 43,899,968
(7 -> 4) parameters, those of PF-AFN's official classes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from garment_transfer.data.label_maps import FACE, HAIR, LOWER_GARMENT, THIGH, UPPER_SKIN
from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS
from garment_transfer.models.afwm import AFWM
from garment_transfer.models.resunet import ResUnetGenerator, width_ngf

NUM_KEYPOINTS = 18  # COCO-18 (OpenPose order)
PRESERVE_CHANNELS = 2
PB_PERSON_CHANNELS = PRESERVE_CHANNELS + DENSEPOSE_NUM_PARTS + NUM_KEYPOINTS  # 45
PF_PERSON_CHANNELS = 3
GENERATOR_CHANNELS = {"parser_based": 8, "parser_free": 7}
GENERATOR_OUTPUTS = 4  # RGB + composition mask
FACE_CLASSES = (HAIR, FACE)
OTHER_CLOTHES_CLASSES = (LOWER_GARMENT, THIGH)
HAND_PARTS = (3, 4)
ARM_PARTS = tuple(range(15, 23))  # upper and lower arms, front and back
KEYPOINT_RADIUS = 5  # 11 x 11 squares at 256 x 192
# What the parser-free student does not copy from the parser-based warp, and trains alone for the first epochs.
PF_OWN_PREFIXES = ("person_pyramid.", "person_fpn.", "flow.refine_heads.")


def _afwm(person_channels: int, hparams: dict) -> AFWM:
    return AFWM(person_channels, hparams.get("width", "full"), hparams.get("flow_convention", "ours"),
                hparams.get("zero_init_heads", True), hparams.get("detach_correlation_flow", True))


def build_pb_afwm(hparams: dict) -> AFWM:
    """The parser-based warp (45-channel person input) from hyper-parameters (``width``, and optionally
    ``flow_convention``, ``zero_init_heads``, ``detach_correlation_flow``; see :class:`AFWM`)."""
    return _afwm(PB_PERSON_CHANNELS, hparams)


def build_pf_afwm(hparams: dict) -> AFWM:
    """The parser-free warp (the person image as input), hyper-parameters as :func:`build_pb_afwm`."""
    return _afwm(PF_PERSON_CHANNELS, hparams)


def build_pfafn_generator(hparams: dict) -> ResUnetGenerator:
    """The try-on generator from hyper-parameters: ``variant`` ("parser_based": 8 inputs, "parser_free": 7) and
    ``width`` (ResUNet ``ngf``: full 64, small 32, tiny 16); 5 levels, 4 outputs."""
    variant = hparams.get("variant")
    if variant not in GENERATOR_CHANNELS:
        raise ValueError(f"PF-AFN generator: variant must be one of {tuple(GENERATOR_CHANNELS)}, got {variant!r}")
    return ResUnetGenerator(GENERATOR_CHANNELS[variant], GENERATOR_OUTPUTS, 5, width_ngf(hparams.get("width", "full")))


def _check_maps(name: str, x: torch.Tensor, channels: int, like: torch.Tensor | None = None) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be (B, {channels}, H, W), got {got}")
    if like is not None and (x.shape[0], *x.shape[2:]) != (like.shape[0], *like.shape[-2:]):
        raise ValueError(f"{name} {tuple(x.shape)} does not match the batch and size of {tuple(like.shape)}")


def _check_parsing(parsing: torch.Tensor) -> None:
    if not isinstance(parsing, torch.Tensor) or parsing.ndim != 3 or parsing.is_floating_point():
        got = tuple(parsing.shape) if isinstance(parsing, torch.Tensor) else type(parsing).__name__
        raise ValueError(f"parsing must be (B, H, W) integer class indices 0..6, got {got}")


def _classes(parsing: torch.Tensor, classes: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return torch.isin(parsing, torch.tensor(classes, device=parsing.device))[:, None].to(dtype)


def _parts(parts: torch.Tensor, indices: tuple[int, ...]) -> torch.Tensor:
    return parts[:, list(indices)].sum(1, keepdim=True)


def preserve_masks(parsing: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """PF-AFN's two preserve masks: face {hair, face} and other clothes {lower garment, thigh}.

    Args:
        parsing: (B, H, W) int64 class indices 0..6.

    Returns:
        (B, 2, H, W) in {0, 1}.
    """
    _check_parsing(parsing)
    return torch.cat([_classes(parsing, FACE_CLASSES, dtype), _classes(parsing, OTHER_CLOTHES_CLASSES, dtype)], 1)


def keypoint_maps(keypoints: torch.Tensor, height: int, width: int, radius: int = KEYPOINT_RADIUS,
                  present: torch.Tensor | None = None) -> torch.Tensor:
    """PF-AFN's pose maps: one channel per keypoint, +1 on the ``(2 radius + 1)^2`` square centred on the point
    rounded to the nearest pixel (clipped at the image border), -1 elsewhere.

    Args:
        keypoints: (B, K, 2) pixel coordinates (x, y), pixel centres at integers (K = 18 for COCO-18).
        height, width: map size.
        radius: half side of the square (5 at 256 x 192; scale it with the image).
        present: (B, K) bool; default PF-AFN's rule, a keypoint is drawn when x > 1 and y > 1 (OpenPose writes
            0, 0 for undetected points).

    Returns:
        (B, K, H, W) in {-1, 1}.
    """
    if not isinstance(keypoints, torch.Tensor) or keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        got = tuple(keypoints.shape) if isinstance(keypoints, torch.Tensor) else type(keypoints).__name__
        raise ValueError(f"keypoints must be (B, K, 2) pixel (x, y), got {got}")
    if radius < 0:
        raise ValueError(f"keypoint radius must be >= 0, got {radius}")
    if present is None:
        present = (keypoints > 1).all(-1)
    elif tuple(present.shape) != tuple(keypoints.shape[:2]):
        raise ValueError(f"present must be {tuple(keypoints.shape[:2])} like keypoints, got {tuple(present.shape)}")
    centre = keypoints.round()
    ys = torch.arange(height, device=keypoints.device, dtype=keypoints.dtype)
    xs = torch.arange(width, device=keypoints.device, dtype=keypoints.dtype)
    inside_y = (ys[None, None] - centre[..., 1:2]).abs() <= radius  # (B, K, H)
    inside_x = (xs[None, None] - centre[..., 0:1]).abs() <= radius  # (B, K, W)
    inside = inside_y[..., :, None] & inside_x[..., None, :] & present[..., None, None].bool()
    return inside.to(keypoints.dtype) * 2 - 1


def pb_person_representation(parsing: torch.Tensor, parts: torch.Tensor, pose_maps: torch.Tensor) -> torch.Tensor:
    """The parser-based warp's person input: preserve masks (2), DensePose parts (25), keypoint maps (18).

    Args:
        parsing: (B, H, W) int64 class indices 0..6.
        parts: (B, 25, H, W) one-hot DensePose parts (the data module's ``densepose: parts`` encoding).
        pose_maps: (B, 18, H, W) in [-1, 1], from :func:`keypoint_maps`.

    Returns:
        (B, 45, H, W).
    """
    _check_parsing(parsing)
    _check_maps("parts", parts, DENSEPOSE_NUM_PARTS, parsing[:, None])
    _check_maps("pose_maps", pose_maps, NUM_KEYPOINTS, parsing[:, None])
    return torch.cat([preserve_masks(parsing, parts.dtype), parts, pose_maps], 1)


def pb_generator_input(image: torch.Tensor, parsing: torch.Tensor, parts: torch.Tensor,
                       warped_garment: torch.Tensor, warped_mask: torch.Tensor,
                       covered_mask: torch.Tensor) -> torch.Tensor:
    """The parser-based generator's 8-channel input (module docstring).

    Args:
        image: (B, 3, H, W) the person in [-1, 1].
        parsing: (B, H, W) int64 class indices 0..6.
        parts: (B, 25, H, W) one-hot DensePose parts.
        warped_garment: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1].
        covered_mask: (B, 1, H, W) in [0, 1], removed from the DensePose arm mask: the person's own garment mask
            (parser-based end-to-end training) or the warped garment mask (dressing another garment, the tutor).

    Returns:
        (B, 8, H, W): preserve-region image (3), warped garment (3), warped mask (1), arm mask (1).
    """
    _check_maps("image", image, 3)
    _check_parsing(parsing)
    for name, x, c in (("parts", parts, DENSEPOSE_NUM_PARTS), ("warped_garment", warped_garment, 3),
                       ("warped_mask", warped_mask, 1), ("covered_mask", covered_mask, 1)):
        _check_maps(name, x, c, image)
    hands = _parts(parts, HAND_PARTS) * _classes(parsing, (UPPER_SKIN,), image.dtype)
    preserve = preserve_masks(parsing, image.dtype).sum(1, keepdim=True) + hands
    arms = _parts(parts, ARM_PARTS) * (1 - covered_mask)
    return torch.cat([image * preserve, warped_garment, warped_mask, arms], 1)


def pf_generator_input(person: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """The parser-free generator's 7-channel input: person image (B, 3, H, W), warped garment (B, 3, H, W) both in
    [-1, 1], warped mask (B, 1, H, W) in [0, 1]."""
    _check_maps("person", person, 3)
    _check_maps("warped_garment", warped_garment, 3, person)
    _check_maps("warped_mask", warped_mask, 1, person)
    return torch.cat([person, warped_garment, warped_mask], 1)


class TryOn(NamedTuple):
    """A generator's try-on. image: (B, 3, H, W) in [-1, 1]; rendered: (B, 3, H, W) in [-1, 1]; mask: the
    composition mask ``m`` (B, 1, H, W) in [0, 1], zero outside the warped garment."""

    image: torch.Tensor
    rendered: torch.Tensor
    mask: torch.Tensor


def tryon(generator_output: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor,
          garment_mask: torch.Tensor | None = None) -> TryOn:
    """Compose the try-on: ``warped * m + rendered * (1 - m)``, ``m = sigmoid(out[:, 3]) * warped_mask``.

    Args:
        generator_output: (B, 4, H, W) raw outputs of a PF-AFN generator.
        warped_garment: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1].
        garment_mask: (B, 1, H, W) in {0, 1}, also multiplied into ``m`` when given: PF-AFN's end-to-end training
            on the paired person (the garment may only show where the person wears it); None at test time and for
            the tutor.
    """
    _check_maps("generator_output", generator_output, GENERATOR_OUTPUTS)
    _check_maps("warped_garment", warped_garment, 3, generator_output)
    _check_maps("warped_mask", warped_mask, 1, generator_output)
    rendered = torch.tanh(generator_output[:, :3])
    mask = torch.sigmoid(generator_output[:, 3:]) * warped_mask
    if garment_mask is not None:
        _check_maps("garment_mask", garment_mask, 1, generator_output)
        mask = mask * garment_mask
    return TryOn(warped_garment * mask + rendered * (1 - mask), rendered, mask)


def init_pf_from_pb(student: AFWM, teacher: AFWM) -> list[str]:
    """PF-AFN's student initialisation: copy the parser-based warp's weights and buffers into the parser-free one,
    except the person branch and the refine heads (:data:`PF_OWN_PREFIXES`), which keep their initialisation.

    Returns:
        The copied state-dict keys.
    """
    if student.width != teacher.width:
        raise ValueError(f"init_pf_from_pb: widths differ (student {student.width!r}, teacher {teacher.width!r})")
    source, target = teacher.state_dict(), student.state_dict()
    copied = [key for key in target if not key.startswith(PF_OWN_PREFIXES)]
    student.load_state_dict({**target, **{key: source[key] for key in copied}})
    return copied


def pf_own_parameters(student: AFWM) -> list[nn.Parameter]:
    """The parameters PF-AFN trains alone for the first ``niter`` epochs: person branch and refine heads."""
    return [p for name, p in student.named_parameters() if name.startswith(PF_OWN_PREFIXES)]
