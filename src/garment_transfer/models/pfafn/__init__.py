"""PF-AFN's networks (Ge et al., CVPR 2021): the parser-based and parser-free warps and try-on models, their inputs, the
distillation through the tutor, and the method's registry entry (:mod:`~garment_transfer.models.pfafn.method`). The
stage ids below are the ones its checkpoints record."""

PB_WARPING = "pfafn/pb_warping"
PB_TRYON = "pfafn/pb_tryon"
PF_WARPING = "pfafn/pf_warping"
PF_TRYON = "pfafn/pf_tryon"
