"""Transfer warping student ``S_W`` (``METHOD.md`` 4.4)."""

from garment_transfer.stages.distilled_transfer.transfer_warping.datamodule import TransferWarpingDataModule
from garment_transfer.stages.distilled_transfer.transfer_warping.lightning_module import TransferWarpingModule

__all__ = ["TransferWarpingDataModule", "TransferWarpingModule"]
