"""Data for the parser-based try-on model: paired training (a person with their own in-shop garment)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class PBTryOnDataModule(GarmentDataModule):
    """The data of the parser-based try-on model: paired training on a person with their own in-shop garment, evaluation
    on transfer pairs (as the parser-based warp's)."""

    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
