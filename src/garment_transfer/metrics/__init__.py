"""``torchmetrics.Metric`` subclasses whose states reduce correctly under DDP."""

from garment_transfer.metrics.parsing import ParsingMetrics, parsing_metric_names

__all__ = ["ParsingMetrics", "parsing_metric_names"]
