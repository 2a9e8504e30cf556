"""GP-VTON's networks (Xie et al., *GP-VTON: Towards General Purpose Virtual Try-on via Collaborative Local-Flow
Global-Parsing Learning*, CVPR 2023; ``docs/methods/other-systems.md``) with their builders: the warp LFGP
(:class:`LFGP`), its part assembly at inference (:func:`assemble`), the try-on generator (a
:class:`~garment_transfer.models.resunet.ResUnetGenerator`) and the two PatchGAN discriminators.

**LFGP** (local-flow global-parsing). Two :class:`~garment_transfer.models.pyramid.FeaturePyramid` +
:class:`~garment_transfer.models.pyramid.FPN` branches as PF-AFN's (level 0 pre-activated), with InstanceNorm without
learnt parameters: the garment branch reads the masked cloth ``C * C^m`` and the flat garment's part label (4
channels), the person branch the 51-channel person (DensePose one-hot 25, BODY_25 maps 25, preserve mask 1). With
``P`` garment parts (3: left sleeve, torso, right sleeve), folded into the batch part-major (part ``p`` of sample
``b`` at index ``p B + b``), level ``k`` runs, with ``f_p`` the incoming grid of part ``p``:

1. one correlation (49 channels at displacement 3) of the garment features warped by each detached ``f_p`` against
   the person features, batched over the parts; part ``p``'s main head gives offsets composed into ``f_p``;
2. attention: ``softmax(tanh(Att(cat(warp(g_k, f_1) .. warp(g_k, f_P), p_k))))``, (P + 1) fpn -> 128 -> 64 -> 32 ->
   P; then part ``p``'s refine head reads ``cat(warp(g_k, f_p), p_k)`` and its offsets are composed into ``f_p``;
3. the part grids are upsampled to the next level's size (:func:`~garment_transfer.models.flow.coarse_to_fine`),
   each part garment and part mask warped by its grid; the attention, upsampled bilinearly to that size, fuses the
   part grids into the full-garment grid ``sum_p a_p f_p``, which warps the whole garment and its mask (GP-VTON fuses
   at the level's size and upsamples the sum; the two differ only where both factors vary);
4. global parsing: ``g_k`` upsampled to that size, warped by each ``f_p``, times the warped part mask and
   ``1 - preserve``, the ``P`` maps concatenated (P fpn), a part-fusion block (1x1 conv to fpn + an InstanceNorm
   residual block), concatenated with ``p_k`` upsampled, and a parsing head 2 fpn -> 128 -> 64 -> 32 -> classes
   ending in tanh: logits in [-1, 1] (so that GP-VTON's parsing discriminator compares them with a one-hot map in
   {-1, 1}). Classes (``variant="vitonhd"``, 7): background, left sleeve, torso, right sleeve, left arm, right arm,
   neck; (``"dresscode"``, 10): background, left sleeve, torso, right sleeve, left leg, skirt, right leg, left arm,
   right arm, neck.

Heads are :func:`~garment_transfer.models.flow.flow_head` layouts (3x3 convs, LeakyReLU 0.1). The flow heads start at
zero by default (``zero_init_heads``, every part's first warp is the identity); the attention and parsing heads keep
PyTorch's initialisation. ``variant="dresscode"``: the garment branch's residual blocks and every main, refine and
parsing head are SPADE-modulated (:mod:`~garment_transfer.models.spade`, hidden 128) by a 1-channel condition, the
garment category as a constant map (1/3 upper, 2/3 lower, 1 dresses in GP-VTON's data code); the attention head is
not. ``global_parsing=False`` is the paper's ablation without LFGP: one flow for the whole garment (one main and one
refine head per level, as PF-AFN), no attention, part-fusion or parsing heads.

Grids, offsets and warps follow :mod:`garment_transfer.geometry` (``flow_convention`` "ours", or "pfafn" for the
official code's PyTorch-1.1 behaviour: :mod:`~garment_transfer.models.afwm`).

**Generator**: ResUNet 36 -> 4 (5 levels, ngf 64, BatchNorm), inputs: preserved image 3, warped garment 3, warped mask
1, arm and neck label 1, median skin colour 3, pose 25 (GP-VTON's ``train_tryon.py``). **Discriminators**
(:class:`~garment_transfer.models.discriminator.PatchDiscriminator`, spectral norm, ``ndf`` 64, 3 layers, no norm,
padding 1): the warping one judges the person input (51), the flat-garment label (1) and a parsing (7: the predicted
logits or the one-hot target in {-1, 1}), 59 channels (62 for DressCode's 10 classes); the generator's judges the
generator input (36) and an image (3: the rendered person or the real one), 39 channels.

Sizes at width "full" (those of GP-VTON's official classes): LFGP 54,304,622 (VITON-HD) and 81,406,877 (DressCode),
warping discriminator 2,822,081, generator 43,916,672, generator discriminator 2,801,601.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import correlation, warp
from garment_transfer.models.discriminator import PatchDiscriminator
from garment_transfer.models.flow import FlowConventions, FlowOutput, coarse_to_fine, flow_head, width_spec
from garment_transfer.models.pyramid import FPN, FeaturePyramid, ResidualBlock
from garment_transfer.models.resunet import ResUnetGenerator, width_ngf

PERSON_CHANNELS = 51  # DensePose one-hot 25 + BODY_25 maps 25 + preserve mask 1
GARMENT_CHANNELS = 4  # masked cloth 3 + flat-garment part label 1
CONDITION_CHANNELS = 1  # DressCode: the garment category as a constant map
GENERATOR_CHANNELS = 36  # preserved image 3, warped garment 3, warped mask 1, arm/neck label 1, skin colour 3, pose 25
GENERATOR_OUTPUTS = 4  # RGB + composition mask
NUM_PARTS = 3  # left sleeve, torso, right sleeve
PARSING_CLASSES = {"vitonhd": 7, "dresscode": 10}
VARIANTS = tuple(PARSING_CLASSES)
# Parsing classes of the three garment parts: upper garments and dresses, and DressCode's lower garments.
PART_CLASSES = {"upper": (1, 2, 3), "lower": (4, 5, 6)}
SPADE_HIDDEN = {"full": 128, "tiny": 16}
DISCRIMINATOR_PADDING = 1


def warp_discriminator_channels(variant: str = "vitonhd") -> int:
    """The warping discriminator's input: person 51 + flat-garment label 1 + parsing classes (59 or 62)."""
    return PERSON_CHANNELS + 1 + PARSING_CLASSES[_variant(variant)]


def _variant(variant: str) -> str:
    if variant not in PARSING_CLASSES:
        raise ValueError(f"GP-VTON: variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def fold_parts(x: torch.Tensor) -> torch.Tensor:
    """(B, P, ...) -> (P B, ...), part-major (part ``p`` of sample ``b`` at ``p B + b``)."""
    return x.transpose(0, 1).flatten(0, 1)


def split_parts(x: torch.Tensor, num_parts: int) -> torch.Tensor:
    """(P B, ...) part-major -> (B, P, ...), the inverse of :func:`fold_parts`."""
    if x.shape[0] % num_parts:
        raise ValueError(f"split_parts: batch {x.shape[0]} is not a multiple of {num_parts} parts")
    return x.unflatten(0, (num_parts, x.shape[0] // num_parts)).transpose(0, 1)


class LFGPOutput(NamedTuple):
    """What :class:`LFGP` returns; lists are per level, coarse -> fine, each at the next level's size (the finest at
    (H, W)).

    Attributes:
        parts: the part flows, batch ``P B`` part-major (:func:`split_parts`): grids (P B, h_k, w_k, 2), every offset
            field, and per level the part garments and part masks warped by their grids.
        full: the full-garment flow, batch ``B``: the fused grids ``sum_p a_p f_p`` and the whole garment and its mask
            warped by them (``offsets`` empty). Without global parsing, the one flow (``parts`` is the same object).
        attention: per level (B, P, h_k, w_k) the fusion weights (softmax over the parts), or None.
        parsing: per level (B, classes, h_k, w_k) the global parsing's logits in [-1, 1], or None.
        num_parts: ``P``.
    """

    parts: FlowOutput
    full: FlowOutput
    attention: list[torch.Tensor] | None
    parsing: list[torch.Tensor] | None
    num_parts: int


class LFGP(nn.Module):
    """GP-VTON's local-flow global-parsing warp (module docstring).

    Args:
        width: "full" (pyramids (64, 128, 256, 256, 256), FPN 256, heads (128, 64, 32), SPADE hidden 128: GP-VTON)
            or "tiny" (16, 32, 64, 64, 64; 64; (32, 32, 16); 16: CPU training).
        variant: "vitonhd" (7 parsing classes) or "dresscode" (10 classes, SPADE-modulated garment branch and heads).
        num_parts: garment parts ``P`` (3); must be 1 without global parsing.
        global_parsing: the attention, part-fusion and parsing heads (True); False: the ablation with one flow.
        person_channels: the person input's channels (51).
        flow_convention, zero_init_heads: as :class:`~garment_transfer.models.afwm.AFWM`.
        max_displacement: correlation range (3: 49 channels).
    """

    def __init__(
        self,
        width: str = "full",
        variant: str = "vitonhd",
        num_parts: int | None = None,
        global_parsing: bool = True,
        person_channels: int = PERSON_CHANNELS,
        flow_convention: str = "ours",
        zero_init_heads: bool = True,
        max_displacement: int = 3,
    ) -> None:
        super().__init__()
        spec = width_spec(width, "LFGP: width")
        num_parts = (NUM_PARTS if global_parsing else 1) if num_parts is None else num_parts
        if num_parts < 1 or (not global_parsing and num_parts != 1):
            raise ValueError(f"LFGP: num_parts must be positive, and 1 without global parsing; got {num_parts}")
        self.width, self.variant, self.num_parts = width, _variant(variant), num_parts
        self.global_parsing, self.person_channels = global_parsing, person_channels
        self.max_displacement, self.conventions = max_displacement, FlowConventions(flow_convention)
        self.conditioned = variant == "dresscode"
        self.classes = PARSING_CLASSES[variant]
        fpn, head, levels = spec["fpn"], spec["head"], len(spec["pyramid"])
        cond = CONDITION_CHANNELS if self.conditioned else 0
        hidden = SPADE_HIDDEN[width]
        self.garment_pyramid = FeaturePyramid(
            GARMENT_CHANNELS, spec["pyramid"], True, "spade" if cond else "instance", CONDITION_CHANNELS, hidden
        )
        self.garment_fpn = FPN(spec["pyramid"], fpn)
        self.person_pyramid = FeaturePyramid(person_channels, spec["pyramid"], True, "instance")
        self.person_fpn = FPN(spec["pyramid"], fpn)
        cost = (2 * max_displacement + 1) ** 2

        def per_level(make) -> nn.ModuleList:
            return nn.ModuleList(make() for _ in range(levels))

        def per_part(in_channels: int):
            return lambda: nn.ModuleList(
                flow_head(in_channels, head, zero_init_heads, 2, cond, hidden) for _ in range(num_parts)
            )

        self.main_heads = per_level(per_part(cost))
        self.refine_heads = per_level(per_part(2 * fpn))
        if global_parsing:
            self.attention_heads = per_level(
                lambda: nn.Sequential(*flow_head((num_parts + 1) * fpn, head, False, num_parts), nn.Tanh())
            )
            self.fusion_blocks = per_level(
                lambda: nn.Sequential(nn.Conv2d(num_parts * fpn, fpn, 1), ResidualBlock(fpn, "instance"))
            )
            self.parsing_heads = per_level(lambda: flow_head(2 * fpn, head, False, self.classes, cond, hidden))

    def _heads(self, heads: nn.ModuleList, x: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """Part ``p``'s head on part ``p``'s chunk of the folded batch."""
        chunks = x.chunk(self.num_parts)
        if condition is None:
            return torch.cat([h(c) for h, c in zip(heads, chunks)])
        return torch.cat([h(c, condition) for h, c in zip(heads, chunks)])

    def _check(self, name: str, x: torch.Tensor | None, channels: int, like: torch.Tensor) -> None:
        expected = (like.shape[0], channels, *like.shape[-2:])
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != expected:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"LFGP: {name} must be {expected}, got {got}")

    def forward(
        self,
        garment: torch.Tensor,
        garment_mask: torch.Tensor,
        garment_label: torch.Tensor,
        person: torch.Tensor,
        part_masks: torch.Tensor | None = None,
        preserve: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> LFGPOutput:
        """Warp the in-shop garment's parts onto the person and parse the result.

        Args:
            garment: (B, 3, H, W) in-shop garment in [-1, 1] (masked here by ``garment_mask``).
            garment_mask: (B, 1, H, W) its mask in {0, 1}.
            garment_label: (B, 1, H, W) the flat garment's part label (GP-VTON: part index / 3, 0 outside).
            person: (B, person_channels, H, W) the person representation (its last channel the preserve mask).
            part_masks: (B, P, H, W) in {0, 1} the flat garment's part masks (left sleeve, torso, right sleeve); None
                without global parsing (the garment mask is the one part).
            preserve: (B, 1, H, W) in {0, 1} what the garment must not cover (parsing path only); None: the person
                input's last channel.
            condition: (B, 1, H, W) the SPADE condition (``variant="dresscode"`` only, then required).

        Returns:
            :class:`LFGPOutput`.
        """
        self._check("garment", garment, 3, garment)
        self._check("garment_mask", garment_mask, 1, garment)
        self._check("garment_label", garment_label, 1, garment)
        self._check("person", person, self.person_channels, garment)
        if part_masks is None:
            if self.num_parts != 1:
                raise ValueError(f"LFGP: part_masks (B, {self.num_parts}, H, W) are required")
            part_masks = garment_mask
        self._check("part_masks", part_masks, self.num_parts, garment)
        if self.conditioned:
            self._check("condition", condition, CONDITION_CHANNELS, garment)
        elif condition is not None:
            raise ValueError("LFGP: a condition is read by the dresscode variant only")
        preserve = person[:, -1:] if preserve is None else preserve
        self._check("preserve", preserve, 1, garment)
        batch, parts = garment.shape[0], self.num_parts

        masked = garment * garment_mask
        g_feats = self.garment_fpn(self.garment_pyramid(torch.cat([masked, garment_label], 1), condition))[::-1]
        p_feats = self.person_fpn(self.person_pyramid(person))[::-1]
        folded = [f.repeat(parts, 1, 1, 1) for f in g_feats]
        p_folded = [f.repeat(parts, 1, 1, 1) for f in p_feats]
        part_garments = fold_parts(masked[:, None] * part_masks[:, :, None])  # (P B, 3, H, W)
        part_mask_folded = fold_parts(part_masks[:, :, None])  # (P B, 1, H, W)
        attention_raw: list[torch.Tensor] = []

        def main(k: int):
            def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor | None) -> torch.Tensor:
                searched = g if grid is None else warp(g, grid.detach(), "feature")
                cost = F.leaky_relu(correlation(searched, p, self.max_displacement), 0.1)
                return self._heads(self.main_heads[k], cost, condition)

            return step

        def refine(k: int):
            def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
                warped = warp(g, grid, "feature")
                if self.global_parsing:
                    stacked = torch.cat([*warped.chunk(parts), p[:batch]], 1)
                    attention_raw.append(torch.softmax(self.attention_heads[k](stacked), 1))
                return self._heads(self.refine_heads[k], torch.cat([warped, p], 1), condition)

            return step

        steps = [(main(k), refine(k)) for k in range(len(g_feats))]
        out = coarse_to_fine(steps, folded, p_folded, part_garments, part_mask_folded, self.conventions)
        if not self.global_parsing:
            return LFGPOutput(out, out, None, None, parts)

        attention, grids, warped_garments, warped_masks, parsing = [], [], [], [], []
        for k, (grid, raw) in enumerate(zip(out.grids, attention_raw)):
            size = tuple(grid.shape[1:3])
            a = F.interpolate(raw, size=size, mode="bilinear", align_corners=False)
            fused = (split_parts(grid, parts) * a[..., None]).sum(1)  # (B, h, w, 2)
            attention.append(a)
            grids.append(fused)
            warped_garments.append(warp(self.conventions.resize(masked, size), fused, "image"))
            warped_masks.append(warp(self.conventions.resize(garment_mask, size), fused, "mask"))
            keep = 1 - F.interpolate(preserve, size=size, mode="bilinear", align_corners=False)
            g_up = F.interpolate(folded[k], size=size, mode="bilinear", align_corners=False)
            part_feats = warp(g_up, grid, "feature") * out.warped_masks[k] * keep.repeat(parts, 1, 1, 1)
            fused_feats = self.fusion_blocks[k](torch.cat(part_feats.chunk(parts), 1))
            p_up = F.interpolate(p_feats[k], size=size, mode="bilinear", align_corners=False)
            head_in = torch.cat([fused_feats, p_up], 1)
            logits = self.parsing_heads[k](head_in) if condition is None else self.parsing_heads[k](head_in, condition)
            parsing.append(torch.tanh(logits))
        full = FlowOutput(warped_garments[-1], warped_masks[-1], grids[-1], grids, [], warped_garments, warped_masks)
        return LFGPOutput(out, full, attention, parsing, parts)


def assemble(
    part_warps: torch.Tensor,
    part_masks: torch.Tensor,
    parsing_logits: torch.Tensor,
    preserve: torch.Tensor,
    part_classes: Sequence[int] = PART_CLASSES["upper"],
) -> tuple[torch.Tensor, torch.Tensor]:
    """GP-VTON's assembly at inference (``test_warping.py``): a pixel takes the warped part that the parsing's argmax
    names, and nothing goes into the preserve region.

    Args:
        part_warps: (B, P, C, H, W) the part garments, each warped by its own flow.
        part_masks: (B, P, 1, H, W) in [0, 1] the part masks warped likewise.
        parsing_logits: (B, classes, H, W) the global parsing (the finest level's).
        preserve: (B, 1, H, W) in {0, 1}.
        part_classes: the parsing class of each part (upper garments and dresses 1, 2, 3; DressCode lower 4, 5, 6).

    Returns:
        ``(garment, mask)``: (B, C, H, W) and (B, 1, H, W), zero where no part class wins and in the preserve region.
    """
    b, parts, _, h, w = part_warps.shape
    if part_masks.shape != (b, parts, 1, h, w) or len(part_classes) != parts:
        raise ValueError(
            f"assemble: part_masks must be {(b, parts, 1, h, w)} and part_classes hold {parts} classes, got "
            f"{tuple(part_masks.shape)} and {tuple(part_classes)}"
        )
    if parsing_logits.ndim != 4 or parsing_logits.shape[0] != b or parsing_logits.shape[-2:] != (h, w):
        raise ValueError(
            f"assemble: parsing_logits must be ({b}, classes, {h}, {w}), got {tuple(parsing_logits.shape)}"
        )
    if preserve.shape != (b, 1, h, w):
        raise ValueError(f"assemble: preserve must be {(b, 1, h, w)}, got {tuple(preserve.shape)}")
    label = parsing_logits.argmax(1, keepdim=True)  # (B, 1, H, W)
    chosen = torch.stack([(label == c) for c in part_classes], 1).to(part_warps.dtype)  # (B, P, 1, H, W)
    keep = 1 - preserve
    return (part_warps * chosen).sum(1) * keep, (part_masks * chosen).sum(1) * keep


def build_lfgp(hparams: dict) -> LFGP:
    """The LFGP warp from hyper-parameters: ``width`` ("full"), ``variant`` ("vitonhd"), ``num_parts``,
    ``global_parsing`` (True), ``flow_convention`` ("ours"), ``zero_init_heads`` (True)."""
    return LFGP(
        hparams.get("width", "full"),
        hparams.get("variant", "vitonhd"),
        hparams.get("num_parts"),
        hparams.get("global_parsing", True),
        flow_convention=hparams.get("flow_convention", "ours"),
        zero_init_heads=hparams.get("zero_init_heads", True),
    )


def build_gpvton_generator(hparams: dict) -> ResUnetGenerator:
    """The try-on generator: ResUNet 36 -> 4, 5 levels, ``width`` (ngf: full 64, small 32, tiny 16)."""
    return ResUnetGenerator(GENERATOR_CHANNELS, GENERATOR_OUTPUTS, 5, width_ngf(hparams.get("width", "full")))


DISCRIMINATOR_NDF = {"full": 64, "tiny": 16}


def _ndf(hparams: dict) -> int:
    width = hparams.get("width", "full")
    if width not in DISCRIMINATOR_NDF:
        raise ValueError(f"GP-VTON discriminator: width must be one of {sorted(DISCRIMINATOR_NDF)}, got {width!r}")
    return DISCRIMINATOR_NDF[width]


def build_warp_discriminator(hparams: dict) -> PatchDiscriminator:
    """The parsing discriminator of the warping stage: person 51 + flat-garment label 1 + parsing (7, or 10 for
    ``variant="dresscode"``) channels; ``width`` "full" (ndf 64) or "tiny" (16)."""
    channels = warp_discriminator_channels(hparams.get("variant", "vitonhd"))
    return PatchDiscriminator(channels, _ndf(hparams), 3, "none", True, DISCRIMINATOR_PADDING)


def build_generator_discriminator(hparams: dict) -> PatchDiscriminator:
    """The try-on stage's discriminator: the generator's 36 inputs + an image (3) = 39 channels; ``width`` as
    :func:`build_warp_discriminator`."""
    return PatchDiscriminator(GENERATOR_CHANNELS + 3, _ndf(hparams), 3, "none", True, DISCRIMINATOR_PADDING)
