"""Transfer warping student ``S_W`` (arXiv 2401.12433, Sec. 3.3; ``docs/methods/distilled-transfer.md``,
"Transfer warping student")."""

from garment_transfer.stages.distilled_transfer.transfer_warping.datamodule import TransferWarpingDataModule
from garment_transfer.stages.distilled_transfer.transfer_warping.lightning_module import TransferWarpingModule

__all__ = ["TransferWarpingDataModule", "TransferWarpingModule"]
