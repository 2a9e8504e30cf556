"""Try-on warping teacher ``T_W`` (``METHOD.md`` 4.3)."""

from garment_transfer.stages.distilled_transfer.tryon_warping.datamodule import TryOnWarpingDataModule
from garment_transfer.stages.distilled_transfer.tryon_warping.lightning_module import TryOnWarpingModule

__all__ = ["TryOnWarpingDataModule", "TryOnWarpingModule"]
