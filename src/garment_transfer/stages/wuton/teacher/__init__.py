"""WUTON's teacher T-WUTON: the warping U-Net on the masked person ``p*`` (WUTON, Sec. 3.2)."""

from garment_transfer.stages.wuton.teacher.datamodule import WUTONTeacherDataModule
from garment_transfer.stages.wuton.teacher.lightning_module import WUTONTeacherModule

__all__ = ["WUTONTeacherDataModule", "WUTONTeacherModule"]
