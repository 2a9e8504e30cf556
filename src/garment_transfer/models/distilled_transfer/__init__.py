"""The networks of the garment transfer of arXiv 2401.12433 (Fang et al.): the parsing nets ``T_P`` / ``S_P``, the
warping nets ``T_W`` / ``S_W``, the arm regrowth net ``R``, their builders and input adapters, and the method's registry
entry (:mod:`~garment_transfer.models.distilled_transfer.method`). The stage ids below are the ones its checkpoints
record."""

TRYON_PARSING = "distilled_transfer/tryon_parsing"
TRANSFER_PARSING = "distilled_transfer/transfer_parsing"
TRYON_WARPING = "distilled_transfer/tryon_warping"
TRANSFER_WARPING = "distilled_transfer/transfer_warping"
ARM_REGROWTH = "distilled_transfer/arm_regrowth"
