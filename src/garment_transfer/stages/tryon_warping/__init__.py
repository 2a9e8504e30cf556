"""Try-on warping teacher ``T_W`` (``METHOD.md`` 4.3)."""

from garment_transfer.stages.tryon_warping.datamodule import TryOnWarpingDataModule
from garment_transfer.stages.tryon_warping.lightning_module import (TryOnWarpingModule, build_warping_teacher,
                                                                    person_representation)

__all__ = ["TryOnWarpingDataModule", "TryOnWarpingModule", "build_warping_teacher", "person_representation"]
