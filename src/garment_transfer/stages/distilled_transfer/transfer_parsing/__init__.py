"""Transfer parsing student ``S_P`` with three-phase distillation (arXiv 2401.12433, Sec. 3.2.3-3.2.4;
``docs/methods/distilled-transfer.md``, "Transfer parsing student")."""

from garment_transfer.stages.distilled_transfer.transfer_parsing.datamodule import TransferParsingDataModule
from garment_transfer.stages.distilled_transfer.transfer_parsing.lightning_module import (
    DEFAULT_PHASES,
    TransferParsingModule,
)

__all__ = ["DEFAULT_PHASES", "TransferParsingDataModule", "TransferParsingModule"]
