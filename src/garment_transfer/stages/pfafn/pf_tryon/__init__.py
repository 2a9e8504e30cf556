"""PF-AFN's parser-free try-on model trained end to end through the tutor (``train_PFAFN_e2e.py``)."""

from garment_transfer.stages.pfafn.pf_tryon.datamodule import PFTryOnDataModule
from garment_transfer.stages.pfafn.pf_tryon.lightning_module import PFTryOnModule

__all__ = ["PFTryOnDataModule", "PFTryOnModule"]
