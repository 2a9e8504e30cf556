"""Arm regrowth ``R`` (``METHOD.md`` 4.5)."""

from garment_transfer.stages.distilled_transfer.arm_regrowth.datamodule import ArmRegrowthDataModule
from garment_transfer.stages.distilled_transfer.arm_regrowth.lightning_module import ArmRegrowthModule

__all__ = ["ArmRegrowthDataModule", "ArmRegrowthModule"]
