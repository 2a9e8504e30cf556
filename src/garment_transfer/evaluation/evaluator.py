"""The project's one evaluator of generated person images, in memory or over folders (``docs/evaluation.md``).

Protocols (``evaluate_folder`` and the pipeline's ``test`` name them):

- ``transfer``: ``I_{t<-s}`` against the true transfer (synthetic data): MSE, PSNR, SSIM, LPIPS, and FID / KID
  between the generated set and the true transfers; IS of the generated set.
- ``retransfer``: ``I_{s<-t<-s}`` (the result dressed back onto the source) against ``I_s``: the same metrics, the
  real set being the source persons.
- ``unpaired``: ``I_{t<-s}`` alone: IS, and FID / KID between the generated set and the real target persons. No
  paired metric applies (reported as skipped); the paper's no-reference hyperIQA is not implemented.
- try-on (PF-AFN and the try-on teachers): ``tryon``, the target dressed in the source's in-shop garment against the
  true transfer (on synthetic data also the true unpaired try-on); ``tryon_paired``, each person in their own in-shop
  garment against the person; ``tryon_unpaired``, as ``unpaired``.

An :class:`Evaluator` is one protocol's accumulator: ``update`` per batch, ``compute`` once, ``reset``. Its states
are torchmetrics states (:class:`ImageMetrics`, :class:`InceptionStatistics`, means), so under DDP ``compute``
gathers every process's images and all processes return the same result. The pre-processing is
:data:`~garment_transfer.evaluation.preprocessing.PREPROCESSING` (also in ``garment-transfer evaluate --help`` and in
every metrics.json).

FID, KID and IS need the FID Inception-v3 weights file, LPIPS its linear-layer file and the backbone file (see
``inception.py`` and ``lpips.py``); a metric whose file is not configured is reported as skipped with the reason,
never as a number, and a configured file that is missing or of the wrong format is an error naming it. The networks
are frozen helpers outside the module's ``state_dict`` (checkpoints of a module holding an evaluator stay small);
they follow the device of the images given to ``update`` and always run in float32, autocast off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torchmetrics.aggregation import MeanMetric, SumMetric

from garment_transfer.evaluation.inception import INPUT_SIZE, WEIGHTS_FILE, InceptionV3Features
from garment_transfer.evaluation.lpips import LPIPS
from garment_transfer.evaluation.preprocessing import from_uint8, to_uint8
from garment_transfer.evaluation.results import METRICS, EvaluationResult
from garment_transfer.evaluation.statistics import IS_SPLITS, KID_SUBSET_SIZE, KID_SUBSETS, SEED, InceptionStatistics
from garment_transfer.metrics.image import ImageMetrics

PIXEL_METRICS = ("mse", "psnr", "ssim")
PAIRED_METRICS = PIXEL_METRICS + ("lpips",)
INCEPTION_METRICS = ("fid", "kid", "is")
NO_REFERENCE = "unpaired protocol: no reference image to compare with"
NO_INCEPTION = f"no Inception weights file configured (inception / --inception: torch-fidelity's {WEIGHTS_FILE})"
NO_LPIPS = (
    "no LPIPS weights configured (lpips / --lpips: the lpips package's v0.1 vgg.pth or alex.pth, with "
    "lpips_backbone / --lpips-backbone: torchvision's vgg16-397923af.pth or alexnet-owt-7be5be79.pth)"
)


def _check_images(name: str, images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{name}: expected (B, 3, H, W) in [-1, 1], got {tuple(images.shape)}")


class Evaluator(nn.Module):
    """Accumulates one protocol's metrics over batches of generated images.

    Args:
        inception: the FID Inception-v3 weights file; None skips FID, KID and IS.
        lpips, lpips_backbone: the LPIPS linear-layer file and its backbone file; None (both) skips LPIPS.
        metrics: the metrics to report, a subset of :data:`METRICS`.
        reference: the protocol has a reference image per result (``transfer``, ``retransfer``); False for
            ``unpaired``, whose paired metrics are skipped.
        kid_subsets, kid_subset_size, is_splits, seed: KID / IS sampling (``statistics.py``; torch-fidelity's
            defaults). KID is skipped while either set has fewer than ``kid_subset_size`` images.
        inception_size: 299 for FID / KID / IS comparable with every other implementation; smaller only in tests.

    Raises:
        ValueError: an unknown metric, only one of the two LPIPS files, or a weights file of the wrong format.
        FileNotFoundError: a configured weights file does not exist.
    """

    def __init__(
        self,
        inception: str | Path | None = None,
        lpips: str | Path | None = None,
        lpips_backbone: str | Path | None = None,
        metrics: Sequence[str] = METRICS,
        reference: bool = True,
        kid_subsets: int = KID_SUBSETS,
        kid_subset_size: int = KID_SUBSET_SIZE,
        is_splits: int = IS_SPLITS,
        seed: int = SEED,
        inception_size: int = INPUT_SIZE,
    ) -> None:
        super().__init__()
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown or not metrics:
            raise ValueError(f"metrics: unknown or none {unknown or list(metrics)}; choose from {list(METRICS)}")
        self.metrics = tuple(m for m in METRICS if m in metrics)
        self.reference = reference
        self.unavailable: dict[str, str] = {}
        if not reference:
            self.unavailable.update({m: NO_REFERENCE for m in PAIRED_METRICS if m in self.metrics})
        self._networks: dict[str, nn.Module] = {}  # a plain dict: not submodules, not in the state dict
        wanted = [m for m in INCEPTION_METRICS if m in self.metrics]
        if wanted and inception is None:
            self.unavailable.update({m: NO_INCEPTION for m in wanted})
        elif wanted:
            self._networks["inception"] = InceptionV3Features(inception, inception_size)
        if "lpips" in self.metrics and reference:
            if lpips is None and lpips_backbone is None:
                self.unavailable["lpips"] = NO_LPIPS
            else:
                self._networks["lpips"] = LPIPS(lpips, lpips_backbone)
        self.count = SumMetric()
        self.pixels = ImageMetrics() if self._active(PIXEL_METRICS) else None
        self.lpips_mean = MeanMetric(nan_strategy="error") if "lpips" in self._networks else None
        self.fidelity = None
        if "inception" in self._networks:
            self.fidelity = InceptionStatistics(
                fid="fid" in self.metrics,
                kid="kid" in self.metrics,
                inception_score="is" in self.metrics,
                kid_subsets=kid_subsets,
                kid_subset_size=kid_subset_size,
                is_splits=is_splits,
                seed=seed,
            )

    def _active(self, names: Sequence[str]) -> bool:
        return any(m in self.metrics and m not in self.unavailable for m in names)

    def _network(self, name: str, device: torch.device) -> nn.Module:
        network = self._networks[name]
        if next(network.parameters()).device != device:
            network.to(device)
        return network

    @torch.no_grad()
    def update(
        self,
        pred: torch.Tensor,
        reference: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        real: torch.Tensor | None = None,
    ) -> None:
        """Add a batch.

        Args:
            pred: (B, 3, H, W) generated images in [-1, 1].
            reference: (B, 3, H, W) the reference of each image in [-1, 1]; required when the evaluator was built
                with ``reference=True``, refused otherwise. It is also the real set of FID / KID unless ``real``
                is given.
            mask: optional (B, 1, H, W) region of the paired metrics (``> 0.5``; preprocessing item 5).
            real: (N, 3, H', W') real images in [-1, 1] for FID / KID (any count and size); the unpaired
                protocol's real set.
        """
        _check_images("pred", pred)
        if self.reference and reference is None:
            raise ValueError(
                "reference: this evaluator compares each result with a reference (reference=True); "
                "pass the reference images, or build it with reference=False (unpaired protocol)"
            )
        if not self.reference and (reference is not None or mask is not None):
            raise ValueError(
                "reference / mask: an unpaired evaluator (reference=False) takes no reference or mask; "
                "pass real images as real="
            )
        if reference is not None and reference.shape != pred.shape:
            raise ValueError(f"reference: expected the shape of pred {tuple(pred.shape)}, got {tuple(reference.shape)}")
        if real is not None:
            _check_images("real", real)
        fake8 = to_uint8(pred)
        reference8 = None if reference is None else to_uint8(reference)
        self.count.update(torch.tensor(float(pred.shape[0]), device=pred.device))
        with torch.autocast(pred.device.type, enabled=False):
            if self.pixels is not None:
                self.pixels.update(from_uint8(fake8, torch.float64), from_uint8(reference8, torch.float64), mask)
            if self.lpips_mean is not None:
                self._update_lpips(fake8, reference8, mask)
            if self.fidelity is not None:
                inception = self._network("inception", pred.device)
                self.fidelity.update(inception(fake8), real=False)
                real8 = reference8 if real is None else to_uint8(real)
                if real8 is not None:
                    self.fidelity.update(inception(real8), real=True)

    def _update_lpips(self, fake8: torch.Tensor, reference8: torch.Tensor, mask: torch.Tensor | None) -> None:
        x, y = from_uint8(fake8), from_uint8(reference8)
        if mask is not None:
            inside = mask > 0.5
            keep = inside.flatten(1).any(dim=1)
            x, y = torch.where(inside, x, -1.0)[keep], torch.where(inside, y, -1.0)[keep]
        distances = self._network("lpips", x.device)(x, y) if len(x) else x.new_zeros(0)
        self.lpips_mean.update(distances)  # also when empty: every process updates, and compute gives NaN

    def compute(self) -> EvaluationResult:
        """The metrics over every image seen (all processes under DDP); skipped metrics carry their reason.

        Every process calls every child metric's ``compute`` (a collective under DDP), and the decisions to skip are
        taken on the gathered values, so all processes return the same result.
        """
        skipped = dict(self.unavailable)
        images = int(self.count.compute())
        empty = "no images were evaluated" if images == 0 else "every image's mask was empty"
        values, std = {}, {}
        if self.pixels is not None:
            values.update({m: float(v) for m, v in self.pixels.compute().items() if m in self.metrics})
        if self.lpips_mean is not None:
            values["lpips"] = float(self.lpips_mean.compute())
        for m in [m for m, v in values.items() if v != v]:  # NaN: no image counted
            skipped[m] = empty
        if self.fidelity is not None:
            fidelity, std, fidelity_skipped = self.fidelity.compute()
            values.update(fidelity)
            skipped.update({m: empty if images == 0 else reason for m, reason in fidelity_skipped.items()})
        return EvaluationResult(
            {m: values[m] for m in METRICS if m in values and m not in skipped},
            {m: skipped[m] for m in METRICS if m in skipped},
            images,
            std,
        )

    def reset(self) -> None:
        """Forget every image seen (the networks stay loaded)."""
        for metric in (self.count, self.pixels, self.lpips_mean, self.fidelity):
            if metric is not None:
                metric.reset()
