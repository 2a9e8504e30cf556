"""PF-AFN's registry entry: its four stages, the ways it dresses a person, its evaluations and its networks' sizes.

Dressing a target ``t``: the warp and the generator of a trained try-on model run on ``t``'s own inputs, the target
image for the parser-free model (``pfafn``), its parsing, DensePose and keypoints for the parser-based one, the tutor
(``pfafn_parser_based``). For transfer ("PF-AFN used for transfer") the source's worn garment, cut out of the
source image, is their in-shop input. The generators render the whole person themselves; their result's parsing
(what a re-transfer reads back) is the target's with the upper garment where the warped mask covers (> 0.5) and the
target's old garment elsewhere counted as skin.
"""

from __future__ import annotations

from garment_transfer.models.pfafn import PB_TRYON, PB_WARPING, PF_TRYON, PF_WARPING
from garment_transfer.models.pfafn.networks import (
    GENERATOR_CHANNELS,
    PB_PERSON_CHANNELS,
    PF_PERSON_CHANNELS,
    build_pb_afwm,
    build_pb_tryon,
    build_pf_afwm,
    build_pf_tryon,
    build_pfafn_generator,
    dress,
    teach_with_pb_afwm,
)
from garment_transfer.models.transfer import TransferOutput
from garment_transfer.models.tryon import as_transfer
from garment_transfer.registry import Dresser, Evaluation, Group, Method, Network, Stage

_STAGES = "garment_transfer.stages.pfafn"


def _stage(name: str, cls: str, build, reads: tuple[str, ...] = (), title: str = "", **extra) -> Stage:
    return Stage(
        f"pfafn/{name}",
        f"{_STAGES}.{name}.lightning_module.{cls}Module",
        f"{_STAGES}.{name}.{cls}DataModule",
        build,
        f"pfafn/{name}",
        reads,
        title=title,
        **extra,
    )


def dresser(role: str):
    """The dressing function of the try-on model held under ``role`` (module docstring)."""

    def run(nets, source, target, garment, garment_mask, fill) -> TransferOutput:
        out = dress(nets[role], target, garment, garment_mask)
        return as_transfer(out, target.parsing, garment, out.tryon.mask)

    return run


_EVALUATE = "conf/pfafn/evaluate"

METHOD = Method(
    name="pfafn",
    title="PF-AFN (Ge et al., CVPR 2021)",
    stages=(
        _stage(
            "pb_warping",
            "PBWarping",
            build_pb_afwm,
            title="PB-AFWM parser-based warp",
            offers={"tryon_warp": teach_with_pb_afwm},
        ),
        _stage(
            "pb_tryon",
            "PBTryOn",
            build_pb_tryon,
            (PB_WARPING,),
            "parser-based try-on model (the tutor)",
            offers={"tryon_warp": teach_with_pb_afwm},
        ),
        _stage("pf_warping", "PFWarping", build_pf_afwm, (PB_TRYON,), "PF-AFWM parser-free warp"),
        _stage("pf_tryon", "PFTryOn", build_pf_tryon, (PB_TRYON, PF_WARPING), "parser-free try-on model"),
    ),
    dressers=(
        Dresser("pfafn", {"pf_tryon": PF_TRYON}, ("worn", "in_shop"), dresser("pf_tryon"), title="PF-AFN"),
        Dresser(
            "pfafn_parser_based",
            {"pb_tryon": PB_TRYON},
            ("worn", "in_shop"),
            dresser("pb_tryon"),
            reads=("keypoints",),
            title="PF-AFN parser-based",
        ),
    ),
    evaluations=(
        Evaluation("pfafn", "pfafn", "PF-AFN", "baselines/pfafn", f"{_EVALUATE}/pfafn.yaml"),
        Evaluation(
            "pfafn_parser_based",
            "pfafn_parser_based",
            "PF-AFN parser-based",
            "baselines/pfafn_parser_based",
            f"{_EVALUATE}/pfafn_parser_based.yaml",
        ),
    ),
    networks=(
        Network(
            "PB-AFWM parser-based warp",
            lambda w, p: build_pb_afwm({"width": w}),
            lambda p: (3, 1, PB_PERSON_CHANNELS),
            "29,328,692 (official code)",
        ),
        Network(
            "PB generator (8 -> 4)",
            lambda w, p: build_pfafn_generator({"width": w, "variant": "parser_based"}),
            lambda p: (GENERATOR_CHANNELS["parser_based"],),
            "43,900,544 (official code)",
        ),
        Network(
            "PF-AFWM parser-free warp",
            lambda w, p: build_pf_afwm({"width": w}),
            lambda p: (3, 1, PF_PERSON_CHANNELS),
            "29,304,416 (official code)",
        ),
        Network(
            "PF generator (7 -> 4)",
            lambda w, p: build_pfafn_generator({"width": w, "variant": "parser_free"}),
            lambda p: (GENERATOR_CHANNELS["parser_free"],),
            "43,899,968 (official code)",
        ),
        Group(
            "inference PF-AFWM + PF generator",
            ("PF-AFWM parser-free warp", "PF generator (7 -> 4)"),
            "73,204,384 (official code)",
        ),
    ),
)
