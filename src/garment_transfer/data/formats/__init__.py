"""On-disk layouts as the data sets ship them: the canonical (VITON-HD's) layout, DressCode, PF-AFN's VITON pack,
CP-VTON and GP-VTON (paths and raw reading), pair lists, and exporters to the DressCode and PF-AFN layouts."""
