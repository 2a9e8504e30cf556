"""MSE, PSNR and SSIM of RGB images on the 0..255 scale (the scale of arXiv 2401.12433, Tables 3-5).

One pre-processing for every metric: an image in [-1, 1] is mapped to ``(x + 1) * 127.5`` (float, NOT rounded to
integers) and clamped to [0, 255]; all arithmetic is then done in float64. Per image:

- MSE = mean over pixels and channels of the squared difference (the paper's 389.0 is on this scale);
- PSNR = 10 log10(255^2 / MSE), capped at 100 dB (so identical images, MSE 0, give exactly 100);
- SSIM = the standard Wang et al. (2004) index: 11 x 11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data
  range 255, the SSIM map taken over the valid region only (no padding), averaged per channel, then over channels.
  Note: torchmetrics 1.9's ``structural_similarity_index_measure`` reflect-pads the images and so also averages
  over border windows; its per-pixel map (``return_full_image=True``) cropped by 5 pixels on each side is ours.

The metric reports the mean over images of these per-image values (per image first, then averaged, as try-on papers
report them). Optional mask (B, 1, H, W), binarised as ``mask > 0.5``: MSE and PSNR average only over the masked
pixels (e.g. only the garment region when evaluating warping); SSIM, which needs whole windows, is computed on both
images multiplied by the mask on the 0..255 scale, i.e. the outside is black (0) in both, the usual try-on practice
for warped garments. An image whose mask is empty has NaN values in the functional helpers and is skipped (not
counted) by :class:`ImageMetrics`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchmetrics import Metric

PSNR_CAP = 100.0
SSIM_KERNEL, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> None:
    if pred.ndim != 4 or pred.shape[1] != 3:
        raise ValueError(f"pred: expected (B, 3, H, W) in [-1, 1], got {tuple(pred.shape)}")
    if target.shape != pred.shape:
        raise ValueError(f"target: expected the shape of pred {tuple(pred.shape)}, got {tuple(target.shape)}")
    if mask is not None:
        b, _, h, w = pred.shape
        if mask.shape != (b, 1, h, w):
            raise ValueError(f"mask: expected (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(mask.shape)}")


def to_255(image: torch.Tensor) -> torch.Tensor:
    """(..) in [-1, 1] -> float64 ``(x + 1) * 127.5`` clamped to [0, 255], not rounded."""
    return ((image.double() + 1.0) * 127.5).clamp(0.0, 255.0)


def _binary(mask: torch.Tensor) -> torch.Tensor:
    return (mask > 0.5).double()


def mse_255(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image MSE on 0..255.

    Args:
        pred, target: (B, 3, H, W) in [-1, 1].
        mask: optional (B, 1, H, W); only pixels with ``mask > 0.5`` count (NaN for an empty mask).

    Returns:
        (B,) float64.
    """
    _check(pred, target, mask)
    sq = (to_255(pred) - to_255(target)).square()
    if mask is None:
        return sq.mean(dim=(1, 2, 3))
    m = _binary(mask)
    count = m.sum(dim=(1, 2, 3)) * sq.shape[1]
    return (sq * m).sum(dim=(1, 2, 3)) / count  # 0 / 0 = NaN for an empty mask


def psnr_255(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR (dB) with data range 255, capped at :data:`PSNR_CAP`; arguments as :func:`mse_255`.

    Returns:
        (B,) float64.
    """
    return _psnr_from_mse(mse_255(pred, target, mask))


def _psnr_from_mse(mse: torch.Tensor) -> torch.Tensor:
    return (10.0 * torch.log10(255.0**2 / mse)).clamp(max=PSNR_CAP)  # mse 0 -> inf -> 100; NaN stays NaN


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(SSIM_KERNEL, dtype=dtype, device=device) - (SSIM_KERNEL - 1) / 2
    g = torch.exp(-(x**2) / (2 * SSIM_SIGMA**2))
    g = g / g.sum()
    return torch.outer(g, g).expand(3, 1, SSIM_KERNEL, SSIM_KERNEL)


def ssim_255(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image SSIM (Wang et al.) on 0..255; see the module docstring for the exact definition.

    Args:
        pred, target: (B, 3, H, W) in [-1, 1], H and W at least 11.
        mask: optional (B, 1, H, W); both images are multiplied by ``mask > 0.5`` (NaN for an empty mask).

    Returns:
        (B,) float64.
    """
    _check(pred, target, mask)
    if min(pred.shape[-2:]) < SSIM_KERNEL:
        raise ValueError(f"pred: SSIM needs H, W >= {SSIM_KERNEL}, got {tuple(pred.shape)}")
    x, y = to_255(pred), to_255(target)
    if mask is not None:
        m = _binary(mask)
        x, y = x * m, y * m
    window = _gaussian_window(x.dtype, x.device)
    stats = F.conv2d(torch.cat([x, y, x * x, y * y, x * y]), window, groups=3)  # valid region only
    mu_x, mu_y, xx, yy, xy = stats.chunk(5)
    var_x, var_y = (xx - mu_x**2).clamp(min=0), (yy - mu_y**2).clamp(min=0)
    cov = xy - mu_x * mu_y
    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    ssim = ssim_map.mean(dim=(1, 2, 3))  # per channel over the valid region, then over channels (equal sizes)
    if mask is not None:
        ssim = torch.where(m.sum(dim=(1, 2, 3)) > 0, ssim, torch.full_like(ssim, math.nan))
    return ssim


def mask_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of IoU(pred > 0.5, target > 0.5); masks (B, 1, H, W) in [0, 1]; both empty counts 1."""
    pred, target = (pred > 0.5).flatten(1), (target > 0.5).flatten(1)
    inter, union = (pred & target).sum(1).float(), (pred | target).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean()


class ImageMetrics(Metric):
    """Mean per-image MSE, PSNR and SSIM on the 0..255 scale (definitions in the module docstring).

    States are float64 sums of the per-image values and the image count, summed across processes, so DDP sync and
    ``merge_state`` give the exact mean over all images.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = None  # lower MSE, higher PSNR / SSIM

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in ("mse_sum", "psnr_sum", "ssim_sum"):
            self.add_state(name, torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Add a batch of images to the running MSE, PSNR and SSIM.

        Args:
            pred, target: (B, 3, H, W) in [-1, 1], H and W at least 11.
            mask: optional (B, 1, H, W) region (``> 0.5``); images with an empty mask are skipped.
        """
        mse = mse_255(pred, target, mask)
        psnr = _psnr_from_mse(mse)
        ssim = ssim_255(pred, target, mask)
        keep = ~torch.isnan(mse)
        self.mse_sum += mse[keep].sum()
        self.psnr_sum += psnr[keep].sum()
        self.ssim_sum += ssim[keep].sum()
        self.count += keep.sum()

    def compute(self) -> dict[str, torch.Tensor]:
        """``mse``, ``psnr``, ``ssim``: 0-dim float32 tensors, means over the images seen (NaN if none)."""
        n = self.count.double()
        nan = torch.tensor(math.nan, dtype=torch.float64, device=n.device)
        return {
            key: (total / n if self.count > 0 else nan).float()
            for key, total in (("mse", self.mse_sum), ("psnr", self.psnr_sum), ("ssim", self.ssim_sum))
        }
