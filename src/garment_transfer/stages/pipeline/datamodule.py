"""Data for the end-to-end pipeline: evaluation pairs only (``test`` and ``predict`` read the same fixed pairs, and
only the test split: a folder holding ``test/`` and its list is enough)."""

from __future__ import annotations

from torch.utils.data import DataLoader

from garment_transfer.data.datamodule import GarmentDataModule


class PipelineDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` whose ``test`` and ``predict`` loaders give the fixed evaluation pairs: the true
    transfers where the data set has them (synthetic); else the data set's own unpaired list (VITON-HD's official
    ``test_pairs.txt``, DressCode's ``test_pairs_unpaired.txt``, ...) for ``eval_pairs`` ``transfer`` or
    ``unpaired``, its paired list for ``paired``; else pairs drawn with ``eval_seed``. ``eval_pairs_source`` names
    the one used."""

    def __init__(self, eval_pairs: str = "transfer", **kwargs):
        super().__init__(eval_pairs=eval_pairs, **kwargs)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
