"""Data for the parser-free try-on model: unpaired training pairs (the real person, and a random other
person's in-shop garment that the tutor dresses them in)."""

from __future__ import annotations

from garment_transfer.stages.pfafn.common import ParserFreeData


class PFTryOnDataModule(ParserFreeData):
    """The data of the parser-free try-on model: the defaults of
    :class:`~garment_transfer.stages.pfafn.common.ParserFreeData`."""
