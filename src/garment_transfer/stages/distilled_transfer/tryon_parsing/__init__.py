"""Try-on parsing teacher ``T_P`` (``METHOD.md`` 4.1)."""

from garment_transfer.stages.distilled_transfer.tryon_parsing.datamodule import TryOnParsingDataModule
from garment_transfer.stages.distilled_transfer.tryon_parsing.lightning_module import TryOnParsingModule

__all__ = ["TryOnParsingDataModule", "TryOnParsingModule"]
