"""Arm regrowth ``R`` (arXiv 2401.12433, Sec. 3.4; ``docs/methods/distilled-transfer.md``, "Arm regrowth")."""

from garment_transfer.stages.distilled_transfer.arm_regrowth.datamodule import ArmRegrowthDataModule
from garment_transfer.stages.distilled_transfer.arm_regrowth.lightning_module import ArmRegrowthModule

__all__ = ["ArmRegrowthDataModule", "ArmRegrowthModule"]
