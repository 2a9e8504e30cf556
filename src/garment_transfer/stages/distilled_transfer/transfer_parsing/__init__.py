"""Transfer parsing student ``S_P`` with three-phase distillation (``METHOD.md`` 4.2)."""

from garment_transfer.stages.distilled_transfer.transfer_parsing.datamodule import TransferParsingDataModule
from garment_transfer.stages.distilled_transfer.transfer_parsing.lightning_module import (
    DEFAULT_PHASES,
    TransferParsingModule,
)

__all__ = ["DEFAULT_PHASES", "TransferParsingDataModule", "TransferParsingModule"]
