"""Data for WUTON's student: the target ``t``'s whole image is its person input, the source ``s`` lends the cloth
``C_s`` that both the student and the frozen teacher (on ``p*_t``) dress ``t`` in."""

from __future__ import annotations

from garment_transfer.stages.wuton.shared import WUTONDataModule


class WUTONStudentDataModule(WUTONDataModule):
    """The student's data (:class:`~garment_transfer.stages.wuton.shared.WUTONDataModule`)."""
