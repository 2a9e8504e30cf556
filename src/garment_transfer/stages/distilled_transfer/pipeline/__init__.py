"""The end-to-end garment-transfer pipeline ``S_P -> S_W -> R -> composition`` and its baselines, for ``test`` and
``predict`` (the networks and their composition: :mod:`garment_transfer.models.pipeline`)."""

from garment_transfer.stages.distilled_transfer.pipeline.datamodule import PipelineDataModule
from garment_transfer.stages.distilled_transfer.pipeline.lightning_module import GarmentTransferPipeline

__all__ = ["GarmentTransferPipeline", "PipelineDataModule"]
