"""WUTON's student S-WUTON: the warping U-Net on the whole person, taught by the frozen teacher (WUTON, Sec. 3.3)."""

from garment_transfer.stages.wuton.student.datamodule import WUTONStudentDataModule
from garment_transfer.stages.wuton.student.lightning_module import WUTONStudentModule

__all__ = ["WUTONStudentDataModule", "WUTONStudentModule"]
