"""The try-on warping teacher ``T_W``: ``T_W(repr(M_a, P_a), C_a, C^m_a) -> C_a`` warped to the person's shape,
self-supervised on paired samples (arXiv 2401.12433, Sec. 3.3.1; ``docs/methods/distilled-transfer.md``,
"Try-on warping teacher").

Person representation: the parsing one-hot (7 channels) followed by DensePose (``pose_channels``, as the data
module encodes it), so the net is a :class:`FlowTeacher` with ``7 + pose_channels`` person channels. Garment branch:
the in-shop garment ``C`` and its mask ``C^m`` (the net warps ``C * C^m``).

Loss (FS-VTON's / PF-AFN's), per level ``k = 0`` (coarsest) .. 4 (full size), with ``G_a = I_a * M^g_a`` and
``M^g_a`` resized to the level by area averaging (soft, like the bilinearly resized and warped prediction):
``(k + 1) * [w_l1 L1(warped, G) + w_vgg VGG(warped, G) + w_mask L1(warped mask, M^g) + w_smooth second_order(grid)]``
plus ``w_tv * sum TV(offsets)`` over all ten offset fields. ``vgg_levels`` restricts the VGG term to the finest levels
(a CPU-preset choice: VGG is most of a step's cost; the paper preset keeps all five).

Evaluation warps the SOURCE's in-shop garment onto the TARGET. The person representation takes the parsing of the
true transfer where there is one (the shape the source's garment must take on the target: a try-on teacher is given
the try-on parsing, as in teaching use), else the target's own; the reference is the true worn garment
``truth.image * (truth.parsing == upper garment)`` and its mask, or the target's own ``G`` and ``M^g`` on paired
pairs. Unpaired pairs without truth have no reference and are skipped. Teaching use: :meth:`TryOnWarpingModule.teach`,
or a :class:`~garment_transfer.models.frozen.FrozenNet` of its checkpoint (``models.warping.build_warping_teacher``)
called with ``models.warping.person_representation``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F

from garment_transfer.data.label_maps import UPPER_GARMENT
from garment_transfer.data.samples import PairSample, one_hot
from garment_transfer.losses.warping import multiscale_loss, second_order_smoothness, total_variation
from garment_transfer.metrics.image import ImageMetrics, mask_iou
from garment_transfer.models.checks import check_pose_channels
from garment_transfer.models.distilled_transfer.warping import build_warping_teacher, person_representation
from garment_transfer.models.flow import FlowOutput
from garment_transfer.stages.base import StageModule
from garment_transfer.visuals import image_to_rgb

TERMS = ("l1", "vgg", "mask", "smooth", "tv")


class TryOnWarpingModule(StageModule):
    """The try-on warping teacher ``T_W``, self-supervised on paired samples (module docstring).

    Args:
        width: :class:`FlowTeacher` width, ``full`` (paper) or ``tiny`` (CPU).
        pose_channels: channels of the DensePose encoding the data module gives (linked by the CLI).
        lr, betas: Adam (lr 5e-5 by default: our choice, the paper's rates were lost).
        w_l1, w_vgg, w_mask, w_smooth, w_tv: loss weights (FS-VTON's / PF-AFN's).
        vgg_weights: torchvision-format ``vgg19-dcbb9e9d.pth``; allow_random_vgg: train with random VGG features
            when the file is absent (an explicit choice: warned, and logged as ``train/vgg_random``).
        vgg_levels: apply the VGG term to the finest ``vgg_levels`` levels only (each keeps its weight ``k + 1``);
            None: all five (paper).
        channels_last, compile: speed switches of the net and the VGG loss network
            (:func:`~garment_transfer.models.acceleration.accelerate`; off: the eager reference); bf16 autocast is the
            trainer's ``precision: bf16-mixed``.
    """

    def __init__(
        self,
        width: str = "full",
        pose_channels: int = 3,
        lr: float = 5e-5,
        betas: tuple[float, float] = (0.5, 0.999),
        w_l1: float = 1.0,
        w_vgg: float = 0.2,
        w_mask: float = 2.0,
        w_smooth: float = 6.0,
        w_tv: float = 0.01,
        vgg_weights: str | None = None,
        allow_random_vgg: bool = False,
        vgg_levels: int | None = None,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        if vgg_levels is not None and not 1 <= vgg_levels <= 5:
            raise ValueError(f"vgg_levels must be 1..5 or None, got {vgg_levels}")
        self.net = build_warping_teacher(self.hparams)
        self.setup_vgg(vgg_weights, allow_random_vgg, w_vgg > 0)
        self.metrics = torch.nn.ModuleDict({"tryon": ImageMetrics()})
        self.accelerate_nets(channels_last, compile)

    def forward(self, cloth, cloth_mask, parsing_one_hot, densepose) -> FlowOutput:
        check_pose_channels(densepose, self.hparams.pose_channels)
        return self.net(cloth, cloth_mask, person_representation(parsing_one_hot, densepose))

    @torch.no_grad()
    def teach(
        self, cloth: torch.Tensor, cloth_mask: torch.Tensor, parsing_one_hot: torch.Tensor, densepose: torch.Tensor
    ) -> FlowOutput:
        """Teaching use ``C^T_{t<-s} = T_W(repr(M_{t<-s}, P_t), C_s)``: the source's in-shop garment ``C_s``
        (B, 3, H, W) and ``C^m_s`` (B, 1, H, W) warped to the shape ``M_{t<-s}`` (B, 7, H, W) on the pose ``P_t``."""
        return self(cloth, cloth_mask, parsing_one_hot, densepose)

    def losses(self, out: FlowOutput, garment: torch.Tensor, garment_mask: torch.Tensor) -> dict:
        """Unweighted terms (each already summed over levels with weights ``k + 1``) and the weighted ``total``.

        Args:
            out: the net's output. garment: ``G`` (B, 3, H, W) in [-1, 1]. garment_mask: ``M^g`` (B, 1, H, W).
        """
        hp = self.hparams
        terms = {
            "l1": multiscale_loss(out.warped_garments, garment, F.l1_loss),
            "mask": multiscale_loss(out.warped_masks, garment_mask, F.l1_loss),
            "smooth": sum(
                (k + 1) * second_order_smoothness(grid.permute(0, 3, 1, 2)) for k, grid in enumerate(out.grids)
            ),
            "tv": sum(total_variation(o) for o in out.offsets),
        }
        no_vgg = self.vgg is None
        terms["vgg"] = (
            0 * terms["l1"] if no_vgg else multiscale_loss(out.warped_garments, garment, self.vgg, finest=hp.vgg_levels)
        )
        terms["total"] = sum(hp[f"w_{name}"] * terms[name] for name in TERMS)
        return terms

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        source, target = batch.source, batch.target  # paired: the same person
        out = self(source.cloth, source.cloth_mask, target.parsing_one_hot, target.densepose)
        terms = self.losses(out, target.garment, target.garment_mask)
        self.log_train(
            {
                "train/loss": terms["total"],
                **{f"train/{name}": terms[name] for name in TERMS},
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=target.image.shape[0],
        )
        return terms["total"]

    def reference(self, batch: PairSample):
        """``(parsing one-hot for the person representation, reference garment, its mask)``, or None."""
        source, target, truth = batch.source, batch.target, batch.truth
        if truth is not None:
            mask = (truth.parsing == UPPER_GARMENT)[:, None].to(truth.image.dtype)
            return one_hot(truth.parsing, dtype=truth.image.dtype), truth.image * mask, mask
        if source.id == target.id:
            return target.parsing_one_hot, target.garment, target.garment_mask
        return None

    def evaluate(self, batch: PairSample, split: str) -> None:
        reference = self.reference(batch)
        if reference is None:
            return
        one_hot, garment, mask = reference
        out = self(batch.source.cloth, batch.source.cloth_mask, one_hot, batch.target.densepose)
        self.log_eval(
            {
                f"{split}/loss": self.losses(out, garment, mask)["total"],
                f"{split}/tryon/mask_iou": mask_iou(out.warped_mask, mask),
            },
            batch_size=garment.shape[0],
        )
        self.metrics["tryon"].update(out.warped_garment, garment, mask=mask)

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        source, target = batch.source, batch.target
        reference = self.reference(batch)
        one_hot = target.parsing_one_hot if reference is None else reference[0]
        out = self(source.cloth, source.cloth_mask, one_hot, target.densepose)
        views = OrderedDict(
            cloth=image_to_rgb(source.cloth), target=image_to_rgb(target.image), warped=image_to_rgb(out.warped_garment)
        )
        views["target_garment"] = image_to_rgb(target.garment if reference is None else reference[1])
        return views
