"""Data for the parser-based warp PB-AFWM: paired training (a person with their own in-shop garment)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class PBWarpingDataModule(GarmentDataModule):
    """The data of the parser-based warp: paired training (``C_t`` onto ``I_t``, PF-AFN's
    self-supervision); evaluation on transfer pairs, whose synthetic truth ``I_{t<-s}`` is the true try-on of ``t`` in
    ``s``'s in-shop garment (a data set without truth: its own unpaired list, scored without reference). The
    parser-based inputs need keypoints: leave augmentation off (augmented samples carry none)."""

    def __init__(self, train_pairs: str = "paired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
