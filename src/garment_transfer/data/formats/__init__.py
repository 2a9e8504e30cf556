"""On-disk layouts: the canonical (VITON-HD style) layout and exporters to the DressCode and VITON 256 x 192 packs."""
