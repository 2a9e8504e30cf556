"""Try-on parsing teacher ``T_P`` (``METHOD.md`` 4.1)."""

from garment_transfer.stages.tryon_parsing.datamodule import TryOnParsingDataModule
from garment_transfer.stages.tryon_parsing.lightning_module import TryOnParsingModule, build_parsing_net

__all__ = ["TryOnParsingDataModule", "TryOnParsingModule", "build_parsing_net"]
