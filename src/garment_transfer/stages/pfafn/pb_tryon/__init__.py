"""PF-AFN's parser-based try-on model trained end to end: PB-AFWM and its generator (``train_PBAFN_e2e.py``)."""

from garment_transfer.stages.pfafn.pb_tryon.datamodule import PBTryOnDataModule
from garment_transfer.stages.pfafn.pb_tryon.lightning_module import PBTryOnModule

__all__ = ["PBTryOnDataModule", "PBTryOnModule"]
