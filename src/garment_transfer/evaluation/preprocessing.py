"""Pre-processing, the same for every metric and every protocol:

1. Every image is an 8-bit RGB image at the evaluation size: files are read as RGB uint8; tensors in [-1, 1]
   (the models' outputs) are clamped and quantised exactly as a saved PNG would be, round(255 * (x + 1) / 2).
   Evaluating a folder of saved results and evaluating the same results in memory give the same numbers.
   The evaluation size is the results' size; references (true transfers, source persons) are resized to it by the
   data set's reader (bilinear, antialiased when shrinking), as the data module feeds them to the models.
2. MSE and PSNR on 0..255 (PSNR = 10 log10(255^2 / MSE), capped at 100 dB); SSIM with an 11 x 11 Gaussian window
   (sigma 1.5), K1 0.01, K2 0.03, data range 255 (the same as [0, 1] with range 1), over the valid region (no
   padding); each per image, then averaged over images (metrics/image.py).
3. LPIPS on the 8-bit images mapped back to [-1, 1] (q / 127.5 - 1), at the evaluation size, per image then averaged.
4. FID, KID, IS: the uint8 images resized to 299 x 299 with TensorFlow 1.x's bilinear resize (torch-fidelity's
   input pipeline) and mapped by (x - 128) / 128; FID / KID on the 2048-d pool3 features, IS on the 1008 unbiased
   logits. FID and KID compare the generated set with a real set: the references (transfer, re-transfer) or the real
   target persons (unpaired).
5. With a mask (paired metrics only): MSE and PSNR over the masked pixels, SSIM and LPIPS on both images with the
   outside set to black; images with an empty mask are not counted. FID, KID and IS always see whole images.
"""

from __future__ import annotations

import torch

PREPROCESSING = __doc__.strip()


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) float in [-1, 1] -> (B, 3, H, W) uint8, ``round(255 * clamp((x + 1) / 2, 0, 1))``."""
    return (((images.float() + 1) / 2).clamp(0, 1) * 255).round().to(torch.uint8)


def from_uint8(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, 3, H, W) uint8 -> [-1, 1] as ``q / 127.5 - 1`` in ``dtype``."""
    return images.to(dtype) / 127.5 - 1
