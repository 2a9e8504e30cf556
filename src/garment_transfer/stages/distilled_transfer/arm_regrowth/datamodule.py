"""Data for the arm regrowth stage: (source, target) pairs of different people."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class ArmRegrowthDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` with the regrowth defaults: transfer pairs for training (the swap case needs the
    source's garment to dress the target in, ``M^s_{t<-s}``) and evaluation (on the synthetic set the true transfers).
    The Table 3 baselines augment inside the stage (``construction``), so the data stays the same for all of them."""

    def __init__(self, train_pairs: str = "transfer", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
