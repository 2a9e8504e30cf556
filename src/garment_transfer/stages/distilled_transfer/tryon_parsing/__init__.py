"""Try-on parsing teacher ``T_P`` (arXiv 2401.12433, Sec. 3.2.2; ``docs/methods/distilled-transfer.md``,
"Try-on parsing teacher")."""

from garment_transfer.stages.distilled_transfer.tryon_parsing.datamodule import TryOnParsingDataModule
from garment_transfer.stages.distilled_transfer.tryon_parsing.lightning_module import TryOnParsingModule

__all__ = ["TryOnParsingDataModule", "TryOnParsingModule"]
