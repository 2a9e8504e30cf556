"""PF-AFN's parser-free warp PF-AFWM, distilled through the parser-based tutor (``train_PFAFN_stage1.py``)."""

from garment_transfer.stages.pfafn.pf_warping.datamodule import PFWarpingDataModule
from garment_transfer.stages.pfafn.pf_warping.lightning_module import PFWarpingModule

__all__ = ["PFWarpingDataModule", "PFWarpingModule"]
