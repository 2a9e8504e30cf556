"""Arm regrowth ``R`` (``METHOD.md`` 4.5)."""

from garment_transfer.stages.arm_regrowth.datamodule import ArmRegrowthDataModule
from garment_transfer.stages.arm_regrowth.lightning_module import ArmRegrowthModule, build_regrowth_net, regrow

__all__ = ["ArmRegrowthDataModule", "ArmRegrowthModule", "build_regrowth_net", "regrow"]
