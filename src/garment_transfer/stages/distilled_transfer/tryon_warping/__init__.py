"""Try-on warping teacher ``T_W`` (arXiv 2401.12433, Sec. 3.3.1; ``docs/methods/distilled-transfer.md``,
"Try-on warping teacher")."""

from garment_transfer.stages.distilled_transfer.tryon_warping.datamodule import TryOnWarpingDataModule
from garment_transfer.stages.distilled_transfer.tryon_warping.lightning_module import TryOnWarpingModule

__all__ = ["TryOnWarpingDataModule", "TryOnWarpingModule"]
