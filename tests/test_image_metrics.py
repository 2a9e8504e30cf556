"""ImageMetrics and its functional helpers: exact known values, numpy / torchmetrics references, masks, accumulation,
merged states and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional import structural_similarity_index_measure as tm_ssim

from garment_transfer.metrics.image import ImageMetrics, mse_255, psnr_255, ssim_255, to_255


def _images(seed: int, b: int = 3, h: int = 24, w: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g) * 2 - 1, torch.rand(b, 3, h, w, generator=g) * 2 - 1


def _smooth(seed: int, b: int = 2, h: int = 32, w: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    phase = torch.rand(b, 3, 1, 1, generator=g) * 6
    base = 0.8 * torch.sin(3 * xs + 2 * ys + phase)
    return base, (base + 0.1 * torch.sin(5 * ys + phase)).clamp(-1, 1)


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() == {"mse", "psnr", "ssim"}
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-6, msg=key)


def test_identical_images_give_mse_0_psnr_100_ssim_1():
    x, _ = _images(0)
    metric = ImageMetrics()
    metric.update(x, x.clone())
    out = metric.compute()
    assert out["mse"].item() == 0.0 and out["psnr"].item() == 100.0
    assert out["ssim"].item() == pytest.approx(1.0, abs=1e-7)
    assert all(v.ndim == 0 and v.dtype == torch.float32 for v in out.values())


@pytest.mark.parametrize("d", [1.0, 12.75, 51.0])
def test_constant_offset_d_on_255_scale_gives_d_squared_and_exact_psnr(d):
    target = torch.rand(2, 3, 16, 12, dtype=torch.float64) * 1.0 - 0.9  # stays below 1 - d / 127.5: no clamping
    pred = target + d / 127.5
    torch.testing.assert_close(mse_255(pred, target), torch.full((2,), d * d, dtype=torch.float64))
    expected = torch.full((2,), 10 * math.log10(255**2 / d**2), dtype=torch.float64)
    torch.testing.assert_close(psnr_255(pred, target), expected)


def test_mapping_to_255_is_not_rounded_and_is_clamped():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.001, 1.0, 2.0])
    torch.testing.assert_close(to_255(x), torch.tensor([0.0, 0.0, 127.5, 127.6275, 255.0, 255.0], dtype=torch.float64))


def test_mse_and_psnr_match_direct_numpy_computation():
    pred, target = _images(1)
    p = np.clip((pred.double().numpy() + 1) * 127.5, 0, 255)
    t = np.clip((target.double().numpy() + 1) * 127.5, 0, 255)
    mse = ((p - t) ** 2).mean(axis=(1, 2, 3))
    psnr = 10 * np.log10(255.0**2 / mse)
    np.testing.assert_allclose(mse_255(pred, target).numpy(), mse, rtol=1e-10)
    np.testing.assert_allclose(psnr_255(pred, target).numpy(), psnr, rtol=1e-10)
    metric = ImageMetrics()
    metric.update(pred, target)
    out = metric.compute()
    assert out["mse"].item() == pytest.approx(mse.mean(), rel=1e-6)
    assert out["psnr"].item() == pytest.approx(psnr.mean(), rel=1e-6)


@pytest.mark.parametrize("make", [_images, _smooth], ids=["random", "smooth"])
def test_ssim_agrees_with_torchmetrics_within_1e_4(make):
    pred, target = make(2)
    ours = ssim_255(pred, target)
    p, t = to_255(pred), to_255(target)
    # torchmetrics reflect-pads by 5; its per-pixel map cropped by 5 on each side is the valid-region map
    _, full = tm_ssim(p, t, data_range=255.0, reduction="none", return_full_image=True)
    ref = full[..., 5:-5, 5:-5].mean(dim=(1, 2, 3))
    torch.testing.assert_close(ours, ref.double(), rtol=0, atol=1e-4)
    assert (ours < 1).all() and (ours > -1).all()


def test_pixels_outside_the_mask_do_not_change_mse_or_psnr():
    pred, target = _images(3)
    mask = torch.zeros(3, 1, 24, 20)
    mask[:, :, 4:18, 3:15] = 1
    changed = torch.where(mask.bool(), pred, -pred)
    torch.testing.assert_close(mse_255(changed, target, mask), mse_255(pred, target, mask))
    torch.testing.assert_close(psnr_255(changed, target, mask), psnr_255(pred, target, mask))
    torch.testing.assert_close(ssim_255(changed, target, mask), ssim_255(pred, target, mask))
    # the masked MSE is the plain mean over the region's pixels and channels
    region = (to_255(pred) - to_255(target))[:, :, 4:18, 3:15].square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(mse_255(pred, target, mask), region)
    assert not torch.allclose(mse_255(changed, target), mse_255(pred, target))


def test_images_with_empty_mask_are_nan_and_skipped_by_the_metric():
    pred, target = _images(4, b=2)
    mask = torch.ones(2, 1, 24, 20)
    mask[1] = 0
    assert torch.isnan(mse_255(pred, target, mask)[1]) and torch.isnan(ssim_255(pred, target, mask)[1])
    metric, first = ImageMetrics(), ImageMetrics()
    metric.update(pred, target, mask)
    first.update(pred[:1], target[:1])
    _assert_same(metric.compute(), first.compute())
    assert metric.count.item() == 1


def test_several_updates_equal_one_update_on_the_concatenation():
    batches = [_images(seed, b=b) for seed, b in ((5, 1), (6, 3), (7, 2))]
    batches[0] = (batches[0][1], batches[0][1])  # one identical pair: PSNR 100 enters the mean
    split, whole = ImageMetrics(), ImageMetrics()
    for pred, target in batches:
        split.update(pred, target)
    whole.update(torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches]))
    _assert_same(split.compute(), whole.compute())


def test_merged_states_equal_one_metric_over_all_data():
    (p1, t1), (p2, t2) = _images(8, b=2), _images(9, b=3)
    a, b, whole = ImageMetrics(), ImageMetrics(), ImageMetrics()
    a.update(p1, t1)
    b.update(p2, t2)
    whole.update(torch.cat([p1, p2]), torch.cat([t1, t2]))
    summed = ImageMetrics()  # what DDP's "sum" reduction does
    for name in ("mse_sum", "psnr_sum", "ssim_sum", "count"):
        setattr(summed, name, getattr(a, name) + getattr(b, name))
    _assert_same(summed.compute(), whole.compute())
    a.merge_state(b)
    _assert_same(a.compute(), whole.compute())


def test_reset_and_no_data_give_nan():
    metric = ImageMetrics()
    assert all(torch.isnan(v) for v in metric.compute().values())
    metric.update(*_images(10, b=1))
    metric.reset()
    assert metric.count.item() == 0


@pytest.mark.parametrize(
    ("pred", "target", "mask", "name"),
    [
        ((2, 1, 16, 16), (2, 1, 16, 16), None, "pred"),
        ((2, 3, 16), (2, 3, 16), None, "pred"),
        ((2, 3, 16, 16), (2, 3, 16, 12), None, "target"),
        ((2, 3, 16, 16), (2, 3, 16, 16), (2, 3, 16, 16), "mask"),
        ((2, 3, 16, 16), (2, 3, 16, 16), (1, 1, 16, 16), "mask"),
        ((2, 3, 8, 16), (2, 3, 8, 16), None, "pred"),  # smaller than the SSIM window
    ],
)
def test_shape_errors_name_the_tensor(pred, target, mask, name):
    metric = ImageMetrics()
    with pytest.raises(ValueError, match=f"^{name}"):
        metric.update(torch.zeros(pred), torch.zeros(target), None if mask is None else torch.ones(mask))
