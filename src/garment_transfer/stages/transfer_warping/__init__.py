"""Transfer warping student ``S_W`` (``METHOD.md`` 4.4)."""

from garment_transfer.stages.transfer_warping.datamodule import TransferWarpingDataModule
from garment_transfer.stages.transfer_warping.lightning_module import (TransferWarpingModule, build_warping_student,
                                                                       warp_garment)

__all__ = ["TransferWarpingDataModule", "TransferWarpingModule", "build_warping_student", "warp_garment"]
