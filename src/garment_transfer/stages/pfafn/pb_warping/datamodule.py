"""Data for the parser-based warp: paired training (a person with their own in-shop garment, PF-AFN's self-supervision)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class PBWarpingDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` with PF-AFN's parser-based defaults: paired training (``C_t`` onto ``I_t``);
    evaluation on transfer pairs, whose synthetic truth ``I_{t<-s}`` is the true try-on of ``t`` in ``s``'s
    in-shop garment (a data set without truth: its own unpaired list, scored without reference). The parser-based
    inputs need keypoints: leave augmentation off (augmented samples carry none)."""

    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
