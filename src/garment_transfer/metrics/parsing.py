"""IoU and class pixel accuracy of 7-class parsings (arXiv 2401.12433, Sec. 4.2.1), from one confusion matrix.

The only state is a (C, C) long confusion matrix, rows = target class, columns = predicted class, summed across
processes, so DDP sync and ``merge_state`` are exact. Per class, with TP / FP / FN counted over all pixels seen:

- IoU = TP / (TP + FP + FN);
- CPA (class pixel accuracy) = TP / (TP + FP): of the pixels predicted as the class, the fraction that are right
  (the "class pixel accuracy" of common segmentation toolkits). A class that occurs in the target but is never
  predicted has CPA 0.

A class absent from both target and prediction is NaN in ``iou/<class>`` and ``cpa/<class>`` (and in the
``garment_*`` / ``skin_*`` shortcuts) and is left out of ``iou/mean`` and ``cpa/mean``, which therefore never
turn NaN because of it. With no pixels at all every value is NaN.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

from garment_transfer.data.label_maps import CLASSES, NUM_CLASSES, UPPER_GARMENT, UPPER_SKIN

_SHORTCUTS = {"garment": UPPER_GARMENT, "skin": UPPER_SKIN}


def parsing_metric_names() -> list[str]:
    """The keys of :meth:`ParsingMetrics.compute`, in order."""
    per_class = [f"{kind}/{name}" for kind in ("iou", "cpa") for name in (*CLASSES, "mean")]
    return per_class + [f"{part}_{kind}" for part in _SHORTCUTS for kind in ("iou", "cpa")] + ["pixel_accuracy"]


class ParsingMetrics(Metric):
    """Confusion-matrix metrics of the 7 classes of ``label_maps.CLASSES``.

    Args:
        ignore_index: target value whose pixels are not counted (e.g. 255 for "unlabelled"), or None.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, ignore_index: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ignore_index = ignore_index
        self.add_state("confusion", torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of parsings to the confusion matrix.

        Args:
            pred: (B, H, W) class indices, or (B, C, H, W) logits / probabilities (argmax over C).
            target: (B, H, W) class indices in 0..C-1 (or ``ignore_index``).
        """
        if pred.ndim == 4:
            if pred.shape[1] != NUM_CLASSES:
                raise ValueError(f"pred: expected (B, {NUM_CLASSES}, H, W) scores, got {tuple(pred.shape)}")
            pred = pred.argmax(1)
        if pred.ndim != 3 or pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)}: expected (B, H, W) both")
        pred, target = pred.long().flatten(), target.long().flatten()
        if self.ignore_index is not None:
            keep = target != self.ignore_index
            pred, target = pred[keep], target[keep]
        for name, t in (("pred", pred), ("target", target)):
            if t.numel() and (t.min() < 0 or t.max() >= NUM_CLASSES):
                raise ValueError(f"{name}: class indices must lie in 0..{NUM_CLASSES - 1}")
        counts = torch.bincount(target * NUM_CLASSES + pred, minlength=NUM_CLASSES**2)
        self.confusion += counts.reshape(NUM_CLASSES, NUM_CLASSES)

    def compute(self) -> dict[str, torch.Tensor]:
        """``iou/<class>``, ``cpa/<class>``, ``iou/mean``, ``cpa/mean``, ``garment_iou``, ``skin_iou``,
        ``garment_cpa``, ``skin_cpa``, ``pixel_accuracy``: 0-dim float32 tensors."""
        conf = self.confusion.double()
        tp = conf.diag()
        predicted, actual = conf.sum(0), conf.sum(1)
        union = predicted + actual - tp
        present = union > 0
        nan = torch.full_like(tp, float("nan"))
        scores = {
            "iou": torch.where(present, tp / union.clamp(min=1), nan),
            "cpa": torch.where(present, tp / predicted.clamp(min=1), nan),
        }
        out = {}
        for kind, values in scores.items():
            out.update({f"{kind}/{name}": values[i] for i, name in enumerate(CLASSES)})
            out[f"{kind}/mean"] = values[present].mean() if present.any() else nan[0]
        for part, index in _SHORTCUTS.items():
            out.update({f"{part}_{kind}": scores[kind][index] for kind in scores})
        out["pixel_accuracy"] = tp.sum() / conf.sum() if conf.sum() > 0 else nan[0]
        return {key: out[key].float() for key in parsing_metric_names()}
