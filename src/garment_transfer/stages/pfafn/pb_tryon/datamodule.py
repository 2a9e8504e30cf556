"""Data for the parser-based try-on model: paired training (a person with their own in-shop garment)."""

from __future__ import annotations

from garment_transfer.stages.pfafn.common import ParserBasedData


class PBTryOnDataModule(ParserBasedData):
    """The data of the parser-based try-on model: the defaults of
    :class:`~garment_transfer.stages.pfafn.common.ParserBasedData`."""
