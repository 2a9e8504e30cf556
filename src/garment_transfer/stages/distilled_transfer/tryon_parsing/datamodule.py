"""Data for the try-on parsing teacher: paired training (a person with their own in-shop garment)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class TryOnParsingDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` with the teacher's defaults: paired training; evaluation on transfer pairs,
    where the synthetic truth is the try-on ground truth (the target wearing the source's garment)."""

    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
