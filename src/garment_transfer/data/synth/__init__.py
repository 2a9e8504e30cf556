"""The synthetic garment-transfer data engine (``docs/data.md``, "The synthetic engine").

Procedurally rendered people, garments defined in garment coordinates (upper garments, and with ``categories`` lower
garments and dresses), their flat in-shop images, CIHP parsings, DensePose IUV for the body under the clothes, BODY_25
keypoints, garment parts, HR-VITON's agnostic inputs, and **true transfers** (person B in person A's garment) with the
correspondence of every transferred garment pixel to the source image.
"""

from garment_transfer.data.synth.engine import SyntheticEngine, sample_id
from garment_transfer.data.synth.params import CATEGORIES, ENGINE_VERSION, EngineConfig
from garment_transfer.data.synth.writer import SynthSettings, generate, read_meta

__all__ = [
    "CATEGORIES",
    "ENGINE_VERSION",
    "EngineConfig",
    "SynthSettings",
    "SyntheticEngine",
    "generate",
    "read_meta",
    "sample_id",
]
