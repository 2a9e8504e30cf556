"""Data for the parser-free try-on model: unpaired training pairs (the real person, and a random other
person's in-shop garment that the tutor dresses them in)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class PFTryOnDataModule(GarmentDataModule):
    """The data of the parser-free try-on model: unpaired training pairs (the real person, and a random other person's
    in-shop garment for the tutor), evaluation on transfer pairs (as the parser-free warp's)."""

    def __init__(self, train_pairs: str = "unpaired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
