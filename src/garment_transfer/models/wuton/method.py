"""WUTON's registry entry: its two stages, the ways it dresses a person, its evaluations and its networks' sizes.

Dressing a target ``t``: the student (``wuton``) reads ``t``'s whole image, the teacher (``wuton_teacher``) ``t``'s
``p*`` (from its parsing and keypoints); both read the garment as their in-shop input. For transfer ("WUTON used for
transfer") the source's worn garment, cut out of the source image, is that input. The U-Net renders the whole
person; the result's parsing (what a re-transfer reads back) is the target's with the upper garment where the warped
mask covers (> 0.5) and the target's old garment elsewhere counted as skin.
"""

from __future__ import annotations

from garment_transfer.models.transfer import TransferOutput
from garment_transfer.models.tryon import as_transfer
from garment_transfer.models.wuton import WUTON_STUDENT, WUTON_TEACHER
from garment_transfer.models.wuton.networks import (
    CPVTON_AGNOSTIC_CHANNELS,
    PERSON_CHANNELS,
    GeometricMatcher,
    build_discriminator,
    build_generator,
    build_wuton,
    masked_person,
)
from garment_transfer.registry import Dresser, Evaluation, Group, Method, Network, Stage

_STAGES = "garment_transfer.stages.wuton"
_EVALUATE = "conf/wuton/evaluate"


def _stage(name: str, cls: str, reads: tuple[str, ...], title: str) -> Stage:
    return Stage(
        f"wuton/{name}",
        f"{_STAGES}.{name}.lightning_module.{cls}Module",
        f"{_STAGES}.{name}.{cls}DataModule",
        build_wuton,
        f"wuton/{name}",
        reads,
        title=title,
    )


def dresser(role: str, person):
    """The dressing function of the WUTON network held under ``role``, reading ``person(target)``."""

    def run(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
        out = nets[role](person(target), garment, garment_mask)
        return as_transfer(out, target.parsing, garment, out.warp.warped_mask)

    return run


def _matcher(inputs: str, channels: int, published: str) -> Network:
    """The matcher's row of ``sizes``, built at the size measured (its parameters depend on it)."""
    return Network(
        f"WUTON matcher, {inputs} ({channels} channels)",
        lambda w, p, size: GeometricMatcher(size, channels, "full" if w == "full" else "tiny"),
        lambda p: (channels, 3),
        published,
        sized=True,
    )


METHOD = Method(
    name="wuton",
    title="WUTON (Issenhuth et al., ECCV 2020)",
    stages=(
        _stage("teacher", "WUTONTeacher", (), "T-WUTON, the teacher on the masked person p*"),
        _stage("student", "WUTONStudent", (WUTON_TEACHER,), "S-WUTON, the parser-free student"),
    ),
    dressers=(
        Dresser(
            "wuton",
            {"student": WUTON_STUDENT},
            ("worn", "in_shop"),
            dresser("student", lambda t: t.image),
            title="WUTON",
        ),
        Dresser(
            "wuton_teacher",
            {"teacher": WUTON_TEACHER},
            ("worn", "in_shop"),
            dresser("teacher", masked_person),
            reads=("keypoints",),
            title="WUTON teacher",
        ),
    ),
    evaluations=(
        Evaluation("wuton", "wuton", "WUTON", "baselines/wuton", f"{_EVALUATE}/wuton.yaml"),
        Evaluation(
            "wuton_teacher",
            "wuton_teacher",
            "WUTON teacher",
            "baselines/wuton_teacher",
            f"{_EVALUATE}/wuton_teacher.yaml",
        ),
    ),
    networks=(
        _matcher("p*", PERSON_CHANNELS, "19,038,194 at 256 x 192 (CP-VTON's GMM, 3-channel input)"),
        _matcher("CP-VTON agnostic", CPVTON_AGNOSTIC_CHANNELS, "19,057,650 at 256 x 192 (CP-VTON's GMM)"),
        Network(
            "WUTON U-Net (two encoders, 3 -> 3)",
            lambda w, p: build_generator({"width": "full" if w == "full" else "tiny"}),
            lambda p: (PERSON_CHANNELS, 3),
            "- (widths not published; ours)",
        ),
        Network(
            "WUTON discriminator (PatchGAN, 3 channels)",
            lambda w, p: build_discriminator({"width": "full" if w == "full" else "tiny"}),
            lambda p: (3,),
            "- (not published; ours)",
        ),
        Group(
            "inference WUTON matcher + U-Net",
            ("WUTON matcher, p* (3 channels)", "WUTON U-Net (two encoders, 3 -> 3)"),
        ),
    ),
)
