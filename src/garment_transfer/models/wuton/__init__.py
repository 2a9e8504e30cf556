"""WUTON's networks (Issenhuth et al., "Do Not Mask What You Do Not Need to Mask: a Parser-Free Virtual Try-On", ECCV
2020): the geometric matcher, the warping U-Net, the discriminator, and the method's registry entry
(:mod:`~garment_transfer.models.wuton.method`). The stage ids below are the ones its checkpoints record."""

WUTON_TEACHER = "wuton/teacher"
WUTON_STUDENT = "wuton/student"
