"""PF-AFN's parser-based warp PB-AFWM, trained alone (``train_PBAFN_stage1.py``)."""

from garment_transfer.stages.pfafn.pb_warping.datamodule import PBWarpingDataModule
from garment_transfer.stages.pfafn.pb_warping.lightning_module import PBWarpingModule

__all__ = ["PBWarpingDataModule", "PBWarpingModule"]
