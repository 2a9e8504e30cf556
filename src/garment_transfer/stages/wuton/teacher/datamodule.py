"""Data for WUTON's teacher: the target ``t`` gives the paired input ``(p*_t, C_t)`` and its supervision (the worn
garment, the image), the source ``s`` the unpaired cloth ``C_s`` of the adversarial input ``(p*_t, C_s)``."""

from __future__ import annotations

from garment_transfer.stages.wuton.shared import WUTONDataModule


class WUTONTeacherDataModule(WUTONDataModule):
    """The teacher's data (:class:`~garment_transfer.stages.wuton.shared.WUTONDataModule`)."""
