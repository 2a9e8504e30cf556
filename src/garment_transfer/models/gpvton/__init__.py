"""GP-VTON's networks (Xie et al., CVPR 2023): the LFGP warp, the try-on generator and the two discriminators
(:mod:`~garment_transfer.models.gpvton.networks`). The stage ids below are the ones its checkpoints record."""

GPVTON_WARPING = "gpvton/warping"
GPVTON_TRYON = "gpvton/tryon"
