"""Data for the transfer parsing student: (source, target) pairs of different people."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class TransferParsingDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` with the student's defaults: transfer pairs for training and evaluation. The
    self-supervised baselines train on ``paired`` samples with ``augment_source``
    (``conf/distilled_transfer/transfer_parsing/ablations``)."""

    def __init__(self, train_pairs: str = "transfer", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
