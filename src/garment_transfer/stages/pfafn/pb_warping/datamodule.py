"""Data for the parser-based warp PB-AFWM: paired training (a person with their own in-shop garment)."""

from __future__ import annotations

from garment_transfer.stages.pfafn.common import ParserBasedData


class PBWarpingDataModule(ParserBasedData):
    """The data of the parser-based warp: :class:`~garment_transfer.stages.pfafn.common.ParserBasedData`'s defaults."""
