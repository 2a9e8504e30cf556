"""Data for the parser-free warp PF-AFWM: unpaired training pairs (the real person, and a random other
person's in-shop garment that the tutor dresses them in)."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule


class PFWarpingDataModule(GarmentDataModule):
    """The data of the parser-free warp: ``unpaired`` training pairs, the target ``t`` the
    real person (their own in-shop garment ``C_t`` and image ``I_t`` supervise the student) and the source ``s`` a
    random other person lending ``C_s`` to the tutor (PF-AFN draws it from every garment); evaluation on transfer
    pairs, whose synthetic truth is the true try-on of ``t`` in ``C_s``. The tutor's parser-based inputs need
    keypoints: leave augmentation off."""

    def __init__(self, train_pairs: str = "unpaired", eval_pairs: str = "transfer", **kwargs):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
