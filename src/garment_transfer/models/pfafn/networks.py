"""PF-AFN's networks with their builders and input adapters (``docs/methods/pfafn.md``): the parser-based warp
PB-AFWM, the parser-free warp PF-AFWM (:class:`~garment_transfer.models.afwm.AFWM`), the try-on generators
(:class:`~garment_transfer.models.resunet.ResUnetGenerator`, 5 levels, 4 outputs: RGB and a composition mask), and
:class:`PFAFNTryOn`, a warp with its generator (what the end-to-end stages train and what the tutor, the pipeline and
the comparison run).

Inputs (PF-AFN's ``train_PBAFN_*.py``, mapped onto the 7 classes of ``docs/data.md``):

- Parser-based person representation, 45 channels (:func:`pb_person`): two preserve masks, face = {hair, face}
  (ACGPN-14 ids {1, 12}) and other clothes = {lower garment, thigh} (ACGPN-14 {5, 6, 8, 9, 10}: the shoes 5 and 6
  are background in the 7 classes, so the mask lacks them); 25 one-hot DensePose parts (:func:`densepose_parts`:
  from the ``parts``, ``parts_uv`` or ``iuv`` encoding of the data module); 18 COCO keypoint maps
  (:func:`pose_maps`: :func:`garment_transfer.data.keypoints.heatmaps`, PF-AFN's squares, radius 5 at 256 x 192
  scaled with the height; BODY_25 keypoints are reduced to COCO-18).
- Parser-based generator, 8 channels: the preserve-region image ``I * (face + other clothes + hands)``, hands =
  DensePose hand parts {3, 4} inside the arm labels (ACGPN-14 {11, 13}: our upper-body skin); the warped garment; the
  warped mask; the DensePose arm mask (parts 15..22) minus a covered mask (the person's own garment mask in
  parser-based end-to-end training, the warped garment mask when the tutor dresses a person in another garment).
  :func:`pb_generator_context` gives the parts that do not depend on the warp (preserve-region image, arm mask).
- Parser-free: the warp reads the person image (3 channels), the generator the person image, the warped garment and
  the warped mask (7 channels).
- Try-on (:func:`garment_transfer.models.tryon.tryon`): ``rendered = tanh(out[:3])``, ``m = sigmoid(out[3]) * warped
  mask`` (times the person's garment mask in PF-AFN's end-to-end training), ``warped * m + rendered * (1 - m)``.

Sizes at width "full": PB-AFWM 29,328,692, PF-AFWM 29,304,416, generators 43,900,544 (8 -> 4) and 43,899,968
(7 -> 4) parameters, those of PF-AFN's official classes.
"""

from __future__ import annotations

import torch
from torch import nn

from garment_transfer.data.keypoints import BODY_25, BODY_25_TO_COCO_18, COCO_18, keypoint_maps, system_radius
from garment_transfer.data.label_maps import FACE, HAIR, LOWER_GARMENT, THIGH, UPPER_SKIN
from garment_transfer.data.labels import DENSEPOSE_NUM_PARTS
from garment_transfer.data.samples import PersonSample, one_hot
from garment_transfer.models.afwm import AFWM
from garment_transfer.models.checks import check_maps
from garment_transfer.models.resunet import ResUnetGenerator, width_ngf
from garment_transfer.models.tryon import TRYON_OUTPUTS, TryOnOutput, tryon

NUM_KEYPOINTS = COCO_18  # OpenPose's COCO-18 order
PRESERVE_CHANNELS = 2
PB_PERSON_CHANNELS = PRESERVE_CHANNELS + DENSEPOSE_NUM_PARTS + NUM_KEYPOINTS  # 45
PF_PERSON_CHANNELS = 3
PERSON_CHANNELS = {"parser_based": PB_PERSON_CHANNELS, "parser_free": PF_PERSON_CHANNELS}
GENERATOR_CHANNELS = {"parser_based": 8, "parser_free": 7}
GENERATOR_OUTPUTS = TRYON_OUTPUTS  # RGB + composition mask
VARIANTS = tuple(GENERATOR_CHANNELS)  # parser_based, parser_free
PB_CONTEXT_CHANNELS = 4  # preserve-region image + arm mask
PF_CONTEXT_CHANNELS = 3  # the person image
FACE_CLASSES = (HAIR, FACE)
OTHER_CLOTHES_CLASSES = (LOWER_GARMENT, THIGH)
HAND_PARTS = (3, 4)
ARM_PARTS = tuple(range(15, 23))  # upper and lower arms, front and back
# What the parser-free student does not copy from the parser-based warp, and trains alone for the first epochs.
PF_OWN_PREFIXES = ("person_pyramid.", "person_fpn.", "flow.refine_heads.")


def _afwm(person_channels: int, hparams: dict) -> AFWM:
    return AFWM(
        person_channels,
        hparams.get("width", "full"),
        hparams.get("flow_convention", "ours"),
        hparams.get("zero_init_heads", True),
        hparams.get("detach_correlation_flow", True),
    )


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


def densepose_parts(densepose: torch.Tensor) -> torch.Tensor:
    """PF-AFN's 25 one-hot DensePose parts from the data module's encoding (``data.densepose``).

    Args:
        densepose: (B, C, H, W): ``parts`` (C = 25, returned as is), ``parts_uv`` (27: the first 25) or ``iuv``
            (3: ``I / 24``, ``U``, ``V`` in [0, 1]; the part index is ``round(24 I)``). The ``rendering`` encoding
            (3 channels in [-1, 1]) holds no part index and is refused.

    Returns:
        (B, 25, H, W) float in {0, 1}.
    """
    if not isinstance(densepose, torch.Tensor) or densepose.ndim != 4:
        raise ValueError(f"densepose must be (B, C, H, W), got {_shape(densepose)}")
    channels = densepose.shape[1]
    if channels in (DENSEPOSE_NUM_PARTS, DENSEPOSE_NUM_PARTS + 2):
        return densepose[:, :DENSEPOSE_NUM_PARTS]
    if channels == 3:
        if densepose.min() < 0:
            raise ValueError(
                "densepose: PF-AFN reads DensePose part indices; these 3 channels hold negative values "
                "(the 'rendering' encoding, which has none): use densepose iuv, parts or parts_uv"
            )
        index = (densepose[:, 0] * (DENSEPOSE_NUM_PARTS - 1)).round().long().clamp(0, DENSEPOSE_NUM_PARTS - 1)
        return one_hot(index, DENSEPOSE_NUM_PARTS, densepose.dtype)
    raise ValueError(f"densepose: {channels} channels is no encoding PF-AFN can read (iuv 3, parts 25, parts_uv 27)")


def keypoint_heatmaps(keypoints: torch.Tensor | None, size: tuple[int, int], radius: int | None = None) -> torch.Tensor:
    """PF-AFN's 18 pose maps of a batch, on the keypoints' device
    (:func:`garment_transfer.data.keypoints.keypoint_maps`, equal to the numpy ``heatmaps``: +1 on a square of side
    ``2 r + 1`` around each present point, -1 elsewhere and for a missing point).

    Args:
        keypoints: (B, K, 3) ``x, y, score`` in pixels at ``size`` (``PersonSample.keypoints``), K = 18 (COCO-18)
            or 25 (BODY_25, reduced to COCO-18); a missing point is ``(-1, -1, 0)``.
        size: (H, W). radius: default PF-AFN's 5 at 256 x 192 scaled to H (``system_radius("pfafn", H)``).

    Returns:
        (B, 18, H, W) in {-1, 1}, on the keypoints' device.

    Raises:
        ValueError: no keypoints (the data set has none, or the samples were augmented).
    """
    if keypoints is None:
        raise ValueError(
            "keypoints: PF-AFN's parser-based inputs need body keypoints, and these samples have none "
            "(a data set without keypoint files, or augmented samples: augmentation drops them)"
        )
    if (
        not isinstance(keypoints, torch.Tensor)
        or keypoints.ndim != 3
        or keypoints.shape[1:] not in ((COCO_18, 3), (BODY_25, 3))
    ):
        raise ValueError(f"keypoints must be (B, 18 or 25, 3) x, y, score, got {_shape(keypoints)}")
    points = keypoints[:, list(BODY_25_TO_COCO_18)] if keypoints.shape[1] == BODY_25 else keypoints
    radius = system_radius("pfafn", size[0]) if radius is None else radius
    return keypoint_maps(points.detach(), size, radius)


def person_pose_maps(person: PersonSample) -> torch.Tensor:
    """A batch of persons' pose maps (B, 18, H, W): those the loader workers computed (``PersonSample.inputs``, the
    data module's ``inputs: [pose_maps]``), else :func:`keypoint_heatmaps` of their keypoints (the same values)."""
    maps = person.inputs.get("pose_maps") if isinstance(person.inputs, dict) else None
    if maps is not None:
        return maps
    return keypoint_heatmaps(person.keypoints, tuple(person.image.shape[-2:]))


def pb_person(person: PersonSample) -> torch.Tensor:
    """The parser-based warp's 45-channel input of a batch of persons (:func:`pb_person_representation` from the
    person's parsing, DensePose (:func:`densepose_parts`) and pose maps (:func:`person_pose_maps`)), (B, 45, H, W)."""
    pose = person_pose_maps(person).to(person.image.dtype)
    return pb_person_representation(person.parsing, densepose_parts(person.densepose), pose)


def pf_person(person: PersonSample) -> torch.Tensor:
    """The parser-free warp's and generator's person input: the person image (B, 3, H, W) in [-1, 1]."""
    return person.image


def pb_context(person: PersonSample) -> torch.Tensor:
    """:func:`pb_generator_context` of a batch of persons, (B, 4, H, W)."""
    return pb_generator_context(person.image, person.parsing, densepose_parts(person.densepose))


def pb_person_representation(parsing: torch.Tensor, parts: torch.Tensor, pose_maps: torch.Tensor) -> torch.Tensor:
    """The parser-based warp's person input: preserve masks (2), DensePose parts (25), keypoint maps (18).

    Args:
        parsing: (B, H, W) int64 class indices 0..6.
        parts: (B, 25, H, W) one-hot DensePose parts (the data module's ``densepose: parts`` encoding).
        pose_maps: (B, 18, H, W) in [-1, 1], from :func:`pose_maps`.

    Returns:
        (B, 45, H, W).
    """
    _check_parsing(parsing)
    check_maps("parts", parts, DENSEPOSE_NUM_PARTS, parsing[:, None])
    check_maps("pose_maps", pose_maps, NUM_KEYPOINTS, parsing[:, None])
    return torch.cat([preserve_masks(parsing, parts.dtype), parts, pose_maps], 1)


def pb_generator_context(image: torch.Tensor, parsing: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """What the parser-based generator reads of the person, before the warp: the preserve-region image
    ``I * (face + other clothes + hands)`` and the DensePose arm mask (parts 15..22).

    Args:
        image: (B, 3, H, W) the person in [-1, 1]. parsing: (B, H, W) int64 class indices 0..6.
        parts: (B, 25, H, W) one-hot DensePose parts.

    Returns:
        (B, 4, H, W): preserve-region image (3), arm mask (1).
    """
    check_maps("image", image, 3)
    _check_parsing(parsing)
    check_maps("parts", parts, DENSEPOSE_NUM_PARTS, image)
    hands = _parts(parts, HAND_PARTS) * _classes(parsing, (UPPER_SKIN,), image.dtype)
    preserve = preserve_masks(parsing, image.dtype).sum(1, keepdim=True) + hands
    return torch.cat([image * preserve, _parts(parts, ARM_PARTS)], 1)


def _pb_generator_input(
    context: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor, covered_mask: torch.Tensor
) -> torch.Tensor:
    check_maps("context", context, PB_CONTEXT_CHANNELS)
    for name, x, c in (
        ("warped_garment", warped_garment, 3),
        ("warped_mask", warped_mask, 1),
        ("covered_mask", covered_mask, 1),
    ):
        check_maps(name, x, c, context)
    return torch.cat([context[:, :3], warped_garment, warped_mask, context[:, 3:] * (1 - covered_mask)], 1)


def pb_generator_input(
    image: torch.Tensor,
    parsing: torch.Tensor,
    parts: torch.Tensor,
    warped_garment: torch.Tensor,
    warped_mask: torch.Tensor,
    covered_mask: torch.Tensor,
) -> torch.Tensor:
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
    return _pb_generator_input(pb_generator_context(image, parsing, parts), warped_garment, warped_mask, covered_mask)


def pf_generator_input(person: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """The parser-free generator's 7-channel input: person image (B, 3, H, W), warped garment (B, 3, H, W) both in
    [-1, 1], warped mask (B, 1, H, W) in [0, 1]."""
    check_maps("person", person, 3)
    check_maps("warped_garment", warped_garment, 3, person)
    check_maps("warped_mask", warped_mask, 1, person)
    return torch.cat([person, warped_garment, warped_mask], 1)


def _pf_generator_input(
    context: torch.Tensor, warped_garment: torch.Tensor, warped_mask: torch.Tensor, covered_mask: torch.Tensor
) -> torch.Tensor:
    return pf_generator_input(context, warped_garment, warped_mask)


# Per variant: the warp's person input and the generator's context from a PersonSample, the generator input.
PERSON_INPUTS = {"parser_based": pb_person, "parser_free": pf_person}
CONTEXTS = {"parser_based": pb_context, "parser_free": pf_person}
GENERATOR_INPUTS = {"parser_based": _pb_generator_input, "parser_free": _pf_generator_input}


class PFAFNTryOn(nn.Module):
    """A PF-AFN try-on model: a warp (:class:`AFWM`) and its generator, run as PF-AFN's scripts run them.

    Args:
        variant: "parser_based" (45-channel warp input, 8-channel generator) or "parser_free" (the person image).
        warp: the :class:`AFWM` (``person_channels`` 45 or 3 to match).
        generator: the ResUNet from :func:`build_pfafn_generator` of the same variant.
    """

    def __init__(self, variant: str, warp: AFWM, generator: nn.Module) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"PFAFNTryOn: variant must be one of {VARIANTS}, got {variant!r}")
        expected = PERSON_CHANNELS[variant]
        if warp.person_channels != expected:
            raise ValueError(
                f"PFAFNTryOn: the {variant} warp reads {expected} person channels, got {warp.person_channels}"
            )
        self.variant, self.warp, self.generator = variant, warp, generator

    def person_input(self, person: PersonSample) -> torch.Tensor:
        """The warp's person input for a batch of persons: :func:`pb_person` or :func:`pf_person`."""
        return PERSON_INPUTS[self.variant](person)

    def context(self, person: PersonSample) -> torch.Tensor:
        """The generator's person input: :func:`pb_context` (B, 4, H, W) or the image (B, 3, H, W)."""
        return CONTEXTS[self.variant](person)

    def forward(
        self,
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
        person: torch.Tensor,
        context: torch.Tensor | None = None,
        covered_mask: torch.Tensor | None = None,
        garment_region: torch.Tensor | None = None,
    ) -> TryOnOutput:
        """Warp the garment onto the person and, given the generator's ``context``, render the try-on.

        Args:
            garment: (B, 3, H, W) in [-1, 1]; garment_mask: (B, 1, H, W) in {0, 1} (an in-shop garment, or a worn
                one cut out of a person when PF-AFN is used for transfer).
            person: the warp's person input (:meth:`person_input`).
            context: the generator's person input (:meth:`context`); None runs the warp alone (``tryon`` None).
            covered_mask: (B, 1, H, W) removed from the parser-based generator's arm mask; default the warped mask
                (a person dressed in a garment that is not their own: the tutor, test time).
            garment_region: (B, 1, H, W) multiplied into the composition mask (PF-AFN's end-to-end training on a
                person in their own garment: that person's garment mask); None at test time.

        Returns:
            :class:`TryOnOutput`.
        """
        warped = self.warp(garment, garment_mask, person)
        if context is None:
            return TryOnOutput(warped, None)
        covered = warped.warped_mask if covered_mask is None else covered_mask
        inputs = GENERATOR_INPUTS[self.variant](context, warped.warped_garment, warped.warped_mask, covered)
        return TryOnOutput(
            warped, tryon(self.generator(inputs), warped.warped_garment, warped.warped_mask, garment_region)
        )


def dress(
    model: nn.Module,
    person: PersonSample,
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    garment_region: torch.Tensor | None = None,
    covered_mask: torch.Tensor | None = None,
) -> TryOnOutput:
    """Dress a batch of persons in ``garment`` (B, 3, H, W) in [-1, 1] / ``garment_mask`` (B, 1, H, W):
    :meth:`PFAFNTryOn.forward` on the persons' own inputs, through ``model``'s call (so a
    :class:`~garment_transfer.models.frozen.FrozenNet` of a :class:`PFAFNTryOn` runs it under ``no_grad``).
    ``garment_region`` and ``covered_mask`` as :meth:`PFAFNTryOn.forward`."""
    return model(garment, garment_mask, model.person_input(person), model.context(person), covered_mask, garment_region)


def build_pb_tryon(hparams: dict) -> PFAFNTryOn:
    """The parser-based warp with its generator, from hyper-parameters (``width`` for both; the AFWM options of
    :func:`build_pb_afwm`)."""
    return PFAFNTryOn(
        "parser_based",
        build_pb_afwm(hparams),
        build_pfafn_generator({"variant": "parser_based", "width": hparams.get("width", "full")}),
    )


def build_pf_tryon(hparams: dict) -> PFAFNTryOn:
    """The parser-free warp with its generator, hyper-parameters as :func:`build_pb_tryon`."""
    return PFAFNTryOn(
        "parser_free",
        build_pf_afwm(hparams),
        build_pfafn_generator({"variant": "parser_free", "width": hparams.get("width", "full")}),
    )


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


def _shape(x: object) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


def teach_with_pb_afwm(
    teacher: nn.Module,
    garment: torch.Tensor,
    garment_mask: torch.Tensor,
    parsing_one_hot: torch.Tensor,
    target: PersonSample,
) -> torch.Tensor:
    """PB-AFWM as another method's try-on warping teacher (the ``tryon_warp`` capability of the ``pb_warping``
    and ``pb_tryon`` stages): its 45-channel person input from the shape ``M`` (B, 7, H, W one-hot; PB-AFWM reads
    its face and other-clothes preserve masks, not the garment's shape), the target's DensePose parts and keypoints;
    the garment (B, 3, H, W) / mask (B, 1, H, W) warped onto it, (B, 3, H, W). ``teacher``: an AFWM, or a
    :class:`PFAFNTryOn` whose warp runs alone."""
    person = pb_person_representation(
        parsing_one_hot.argmax(1), densepose_parts(target.densepose), person_pose_maps(target).to(garment.dtype)
    )
    out = teacher(garment, garment_mask, person)
    return (out.warp if isinstance(out, TryOnOutput) else out).warped_garment
