"""The arm regrowth net ``R``: ``R(I * mask, shape, P_t) -> skin`` (arXiv 2401.12433, Sec. 3.4;
``docs/methods/distilled-transfer.md``, "Arm regrowth").

Inputs: source skin content (3), the target skin shape (1) and, by default, the target's DensePose ``P_t``
(``pose_channels``); output the skin image, ``tanh`` of a :class:`~garment_transfer.models.resunet.ResUnetGenerator`
times the shape (zero outside). Loss ``w_l1 * L1 + w_vgg * VGG`` between the prediction and the truth ``I_t * M^s_t``:
the L1 is averaged over the skin region only, the VGG term (relu1_1 .. relu4_1, as the paper's content loss) compares
the masked images.

Training examples (``construction``, :mod:`~garment_transfer.stages.distilled_transfer.arm_regrowth.cases`): ``cases``
(the paper's strategy I: per sample case 1 swap with probability ``swap_probability``, else case 2 crop) or a Table 3
baseline (``affine``, ``affine_crop``, ``affine_crop_flip``: an augmented copy of the target's skin as content). The
swap's ``M^s_{t<-s}`` (the target's skin when wearing the source's garment; ``s`` is the data module's source person, so
training needs transfer pairs) comes from ``swap_shape``:

- ``parsing`` (paper): the skin class of ``S_P(M^r_t, M^g_s, P_t)``, a frozen transfer parsing student loaded from
  ``parsing_checkpoint`` (referenced by path, not saved in this module's checkpoints);
- ``truth``: the skin class of the true transfer (synthetic evaluation batches; training batches carry none);
- ``source``: the source's own skin mask ``M^s_s``, a pose-unaligned stand-in that needs no model.

Evaluation (every construction alike, the paper's protocol for Table 3): both cases on the evaluation pairs, the
crop drawn per sample from ``eval_seed`` and the sample id (so the same in every run and batching), with
:class:`ImageMetrics` logged as ``<split>/<case>/<metric>`` over the skin region ``M^s_t`` and as ``<case>_new`` over
the regrown pixels only (``M^s_t`` minus the content's shape). Prediction and truth are both zero outside ``M^s_t``,
so a whole-image MSE (the paper's Table 3 reads like one) is the region's times the region's area fraction.
The net and its input adapter: :mod:`garment_transfer.models.distilled_transfer.regrowth`; ``S_P`` is held as a
:class:`~garment_transfer.models.frozen.FrozenNet`.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict

import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import nn

from garment_transfer.data.augment import Augmenter
from garment_transfer.data.label_maps import UPPER_SKIN
from garment_transfer.data.samples import PairSample
from garment_transfer.losses.warping import VGG_LAYERS, VGG_WEIGHTS
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.distilled_transfer import TRANSFER_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net, parsing_inputs
from garment_transfer.models.distilled_transfer.regrowth import build_regrowth_net, regrow
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.base import StageModule
from garment_transfer.stages.distilled_transfer.arm_regrowth.cases import (
    AUGMENTATIONS,
    CASES,
    CONSTRUCTIONS,
    Example,
    augment_case,
    crop_draws,
    crop_example,
    mix,
    swap_case,
)
from garment_transfer.visuals import image_to_rgb, mask_to_rgb

SWAP_SHAPES = ("parsing", "truth", "source")
REGIONS = ("", "_new")  # metric suffixes: the skin region, the regrown pixels only


def skin_of(parsing: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, H, W) class indices -> the upper-body skin mask (B, 1, H, W)."""
    return (parsing == UPPER_SKIN).unsqueeze(1).to(dtype)


class ArmRegrowthModule(StageModule):
    """The arm regrowth net ``R``, trained on the swap and crop cases (module docstring).

    Args:
        width: ResUNet width, ``full`` (ngf 64, the paper's 43.90 M parameters), ``small`` (32) or ``tiny`` (16, CPU).
        num_downs: ResUNet levels. pose_channels: of the data module's DensePose encoding (linked by the CLI).
        use_pose: feed ``P_t`` to the net.
        construction: one of :data:`CONSTRUCTIONS`. swap_probability: share of swap samples in ``cases``.
        swap_shape: where ``M^s_{t<-s}`` comes from, one of :data:`SWAP_SHAPES` (module docstring).
        parsing_checkpoint: a transfer parsing student (``S_P``) checkpoint, for ``swap_shape: parsing``.
        lr, betas: Adam. w_l1, w_vgg: loss weights (0 turns a term off; it is then logged as 0).
        vgg_weights, allow_random_vgg: as :class:`VGGLoss` (random features only as an explicit, logged choice).
        eval_seed: seed of the evaluation crops.
        channels_last, compile: speed switches of the net, the frozen nets it reads and the VGG loss network
            (:func:`~garment_transfer.models.acceleration.accelerate`; off: the eager reference); bf16 autocast is the
            trainer's ``precision: bf16-mixed``.
    """

    def __init__(
        self,
        width: str = "full",
        num_downs: int = 5,
        pose_channels: int = 3,
        use_pose: bool = True,
        construction: str = "cases",
        swap_probability: float = 0.5,
        swap_shape: str = "parsing",
        parsing_checkpoint: str | None = None,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        w_l1: float = 1.0,
        w_vgg: float = 0.2,
        vgg_weights: str | None = None,
        allow_random_vgg: bool = False,
        eval_seed: int = 0,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        if construction not in CONSTRUCTIONS:
            raise ValueError(f"construction {construction!r}: choose one of {CONSTRUCTIONS}")
        if swap_shape not in SWAP_SHAPES:
            raise ValueError(f"swap_shape {swap_shape!r}: choose one of {SWAP_SHAPES}")
        if not 0 <= swap_probability <= 1:
            raise ValueError(f"swap_probability must lie in [0, 1], got {swap_probability}")
        self.net = build_regrowth_net(self.hparams)
        self.transfer_parser = self._load_transfer_parser() if swap_shape == "parsing" else None
        self.augmenter = Augmenter(construction) if construction in AUGMENTATIONS else None
        self.setup_vgg(vgg_weights, allow_random_vgg, w_vgg > 0, VGG_LAYERS[:4], VGG_WEIGHTS[:4])
        if self.vgg is None:
            rank_zero_info("ArmRegrowthModule: w_vgg = 0, the VGG term is off (train/vgg is logged as 0)")
        self.metrics = nn.ModuleDict({case + region: ImageMetrics() for case in CASES for region in REGIONS})
        self.accelerate_nets(channels_last, compile)

    def _load_transfer_parser(self) -> FrozenNet:
        path = self.hparams.parsing_checkpoint
        if path is None:
            raise ValueError(
                "parsing_checkpoint: swap_shape 'parsing' needs the transfer parsing student S_P "
                "(e.g. runs/cpu/transfer_parsing/checkpoints/last.ckpt); or choose swap_shape "
                "'truth' or 'source'"
            )
        return FrozenNet.from_checkpoint(
            path, {TRANSFER_PARSING: build_parsing_net}, self.hparams.pose_channels, "parsing_checkpoint"
        )

    # -- computation
    def forward(self, content: torch.Tensor, shape: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return regrow(self.net, content, shape, pose)

    @torch.no_grad()
    def swap_mask(self, batch: PairSample, rows: torch.Tensor | None = None) -> torch.Tensor:
        """``M^s_{t<-s}`` (B, 1, H, W) by ``swap_shape``; with ``rows`` (B,) bool, S_P runs on those samples only
        (the others stay zero)."""
        target, dtype = batch.target, batch.target.image.dtype
        if self.hparams.swap_shape == "truth":
            if batch.truth is None:
                raise ValueError(
                    "swap_shape 'truth' needs batches with the true transfer (synthetic evaluation "
                    "pairs); training batches have none: use 'parsing' or 'source'"
                )
            return skin_of(batch.truth.parsing, dtype)
        if self.hparams.swap_shape == "source":
            return batch.source.skin_mask
        inputs = parsing_inputs(target.remaining, batch.source.garment_mask, target.densepose)
        if rows is None:
            return skin_of(self.transfer_parser(inputs).logits.argmax(1), dtype)
        index = rows.cpu().nonzero()[:, 0].to(inputs.device, non_blocking=True)  # rows: drawn on the CPU, no sync
        mask = torch.zeros_like(target.skin_mask)
        return mask.index_copy_(
            0, index, skin_of(self.transfer_parser(inputs.index_select(0, index)).logits.argmax(1), dtype)
        )

    def construct(self, batch: PairSample) -> Example:
        """A training :class:`Example` by ``construction`` (draws from the global torch generator)."""
        target = batch.target
        if self.augmenter is not None:
            return augment_case(target.image, target.skin_mask, self.augmenter)
        crop = crop_example(target.image, target.skin_mask)
        choose = torch.rand(target.image.shape[0]) < self.hparams.swap_probability
        if not choose.any():
            return crop
        if self.hparams.swap_shape != "truth" and any(s == t for s, t in zip(batch.source.id, target.id)):
            raise ValueError(
                "the swap case needs a source person other than the target: train on transfer pairs "
                "(data train_pairs: transfer)"
            )
        return mix(swap_case(target.image, target.skin_mask, self.swap_mask(batch, choose)), crop, choose)

    def evaluation_examples(self, batch: PairSample) -> dict[str, Example]:
        """Both cases, deterministic: the crop of each sample is drawn from ``eval_seed`` and its target id."""
        target = batch.target
        draws = []  # each sample's three draws from its own generator, on the CPU; the crops are one batched call
        for sample_id in target.id:
            seed = (self.hparams.eval_seed * 1_000_003 + zlib.crc32(str(sample_id).encode())) % 2**63
            draws.append(crop_draws(1, torch.Generator().manual_seed(seed)))
        return {
            "swap": swap_case(target.image, target.skin_mask, self.swap_mask(batch)),
            "crop": crop_example(target.image, target.skin_mask, draws=torch.cat(draws)),
        }

    def losses(self, pred: torch.Tensor, example: Example) -> dict[str, torch.Tensor]:
        """``l1`` (mean over the skin region), ``vgg`` (masked images) and the weighted ``total``."""
        hp = self.hparams
        area = example.shape.sum() * pred.shape[1]
        terms = {"l1": (pred - example.truth).abs().sum() / area.clamp(min=1)}
        terms["vgg"] = self.vgg(pred, example.truth) if self.vgg is not None else 0 * terms["l1"]
        terms["total"] = hp.w_l1 * terms["l1"] + hp.w_vgg * terms["vgg"]
        return terms

    def training_step(self, batch: PairSample, batch_idx: int) -> torch.Tensor:
        example = self.construct(batch)
        terms = self.losses(self(example.content, example.shape, batch.target.densepose), example)
        self.log_train(
            {
                "train/loss": terms["total"],
                "train/l1": terms["l1"],
                "train/vgg": terms["vgg"],
                "train/vgg_random": float(self.vgg_random),
            },
            batch_size=example.shape.shape[0],
        )
        return terms["total"]

    def evaluate(self, batch: PairSample, split: str) -> None:
        for case, example in self.evaluation_examples(batch).items():
            pred = self(example.content, example.shape, batch.target.densepose)
            self.log_eval({f"{split}/{case}/loss": self.losses(pred, example)["total"]}, batch_size=pred.shape[0])
            self.metrics[case].update(pred, example.truth, mask=example.shape)
            self.metrics[f"{case}_new"].update(pred, example.truth, mask=example.shape * (1 - example.source_shape))

    @torch.no_grad()
    def visuals(self, batch: PairSample) -> OrderedDict:
        target = batch.target
        views = OrderedDict(target=image_to_rgb(target.image), shape=mask_to_rgb(target.skin_mask))
        for case, example in self.evaluation_examples(batch).items():
            views[f"{case}_content"] = image_to_rgb(example.content)
            views[f"{case}_regrown"] = image_to_rgb(self(example.content, example.shape, target.densepose))
        views["truth"] = image_to_rgb(target.image * target.skin_mask)
        return views
