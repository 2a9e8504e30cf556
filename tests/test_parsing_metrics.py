"""ParsingMetrics: hand-computed values, input forms, accumulation, reset and a DDP-style merge of states."""

from __future__ import annotations

import math

import pytest
import torch

from garment_transfer.data.label_maps import CLASSES, NUM_CLASSES
from garment_transfer.metrics import ParsingMetrics, parsing_metric_names

# classes 0 background, 3 upper skin, 4 upper garment; the others occur nowhere
TARGET = torch.tensor([[[0, 0, 4], [3, 4, 4], [3, 3, 4]]])
PRED = torch.tensor([[[0, 4, 4], [3, 3, 4], [3, 0, 4]]])
# by hand, (target, pred) pairs: bg TP 1, FP 1 (3->0), FN 1 (0->4); skin TP 2, FP 1 (4->3), FN 1 (3->0);
# garment TP 3, FP 1 (0->4), FN 1 (4->3)
EXPECTED = {
    "iou/background": 1 / 3,
    "cpa/background": 1 / 2,
    "iou/upper_skin": 2 / 4,
    "cpa/upper_skin": 2 / 3,
    "iou/upper_garment": 3 / 5,
    "cpa/upper_garment": 3 / 4,
    "iou/mean": (1 / 3 + 1 / 2 + 3 / 5) / 3,
    "cpa/mean": (1 / 2 + 2 / 3 + 3 / 4) / 3,
    "garment_iou": 3 / 5,
    "skin_iou": 1 / 2,
    "garment_cpa": 3 / 4,
    "skin_cpa": 2 / 3,
    "pixel_accuracy": 6 / 9,
}


def _random(seed: int, b: int = 3, h: int = 8, w: int = 6):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, NUM_CLASSES, (b, h, w), generator=g), torch.randint(0, NUM_CLASSES, (b, h, w), generator=g)


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], equal_nan=True, msg=key)


def test_hand_computed_3x3_example_gives_exact_values():
    metric = ParsingMetrics()
    metric.update(PRED, TARGET)
    out = metric.compute()
    assert list(out) == parsing_metric_names()
    assert all(v.ndim == 0 and v.dtype == torch.float32 for v in out.values())
    for key, value in EXPECTED.items():
        assert out[key].item() == pytest.approx(value), key
    for name in ("hair", "face", "lower_garment", "thigh"):  # absent: NaN per class, left out of the means
        assert math.isnan(out[f"iou/{name}"]) and math.isnan(out[f"cpa/{name}"])


def test_class_in_target_but_never_predicted_has_cpa_zero():
    metric = ParsingMetrics()
    metric.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.tensor([[[0, 0], [0, 5]]]))
    out = metric.compute()
    assert out["cpa/lower_garment"] == 0 and out["iou/lower_garment"] == 0
    assert out["cpa/background"].item() == pytest.approx(3 / 4)


def test_logits_input_equals_index_input():
    pred, target = _random(0)
    logits = torch.randn(*pred.shape, NUM_CLASSES).permute(0, 3, 1, 2) + 10 * torch.nn.functional.one_hot(
        pred, NUM_CLASSES
    ).permute(0, 3, 1, 2)
    a, b = ParsingMetrics(), ParsingMetrics()
    a.update(pred, target)
    b.update(logits, target)
    _assert_same(a.compute(), b.compute())


def test_several_updates_equal_one_update_on_the_concatenation():
    batches = [_random(seed) for seed in range(3)]
    split, whole = ParsingMetrics(), ParsingMetrics()
    for pred, target in batches:
        split.update(pred, target)
    whole.update(torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches]))
    assert torch.equal(split.confusion, whole.confusion)
    _assert_same(split.compute(), whole.compute())


def test_reset_clears_the_confusion_matrix():
    metric = ParsingMetrics()
    metric.update(*_random(0))
    metric.reset()
    assert metric.confusion.sum() == 0
    metric.update(PRED, TARGET)
    assert metric.compute()["pixel_accuracy"].item() == pytest.approx(6 / 9)


def test_ddp_style_merge_of_two_halves_equals_one_metric_on_all_data():
    pred, target = _random(1, b=4)
    first, second, whole = ParsingMetrics(), ParsingMetrics(), ParsingMetrics()
    first.update(pred[:2], target[:2])
    second.update(pred[2:], target[2:])
    whole.update(pred, target)
    assert torch.equal(first.confusion + second.confusion, whole.confusion)  # what the "sum" reduction does
    first.merge_state(second)
    _assert_same(first.compute(), whole.compute())


def test_ignore_index_pixels_are_not_counted():
    target = TARGET.clone()
    target[0, 0, 0] = 255
    metric = ParsingMetrics(ignore_index=255)
    metric.update(PRED, target)
    assert metric.confusion.sum() == 8
    assert metric.compute()["iou/background"].item() == pytest.approx(0 / 2)


def test_bad_shapes_and_out_of_range_classes_raise():
    metric = ParsingMetrics()
    with pytest.raises(ValueError, match="expected"):
        metric.update(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="target"):
        metric.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.full((1, 2, 2), 7))
    assert len(CLASSES) == NUM_CLASSES == 7
