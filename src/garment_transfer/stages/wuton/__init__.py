"""WUTON's stages (Issenhuth et al., ECCV 2020): the teacher T-WUTON on the masked person ``p*`` and the parser-free
student S-WUTON on the whole person, taught by the frozen teacher and judged by its own discriminator."""
