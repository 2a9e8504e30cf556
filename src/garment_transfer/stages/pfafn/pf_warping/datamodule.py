"""Data for the parser-free warp PF-AFWM: unpaired training pairs (the real person, and a random other
person's in-shop garment that the tutor dresses them in)."""

from __future__ import annotations

from garment_transfer.stages.pfafn.common import ParserFreeData


class PFWarpingDataModule(ParserFreeData):
    """The data of the parser-free warp: :class:`~garment_transfer.stages.pfafn.common.ParserFreeData`'s defaults."""
