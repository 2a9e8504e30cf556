"""PF-AFN (Ge et al., CVPR 2021): the parser-based warp and try-on model, then the parser-free warp and try-on model
distilled through them ("teacher-tutor-student"), one stage folder each; what they share is in
``garment_transfer.models.pfafn``, ``garment_transfer.losses.pfafn`` and ``garment_transfer.stages.tryon``."""
