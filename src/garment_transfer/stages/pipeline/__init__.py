"""The end-to-end pipeline of any registered method (garment transfer and try-on), for ``test`` and ``predict``: shared
by every method, not a method's stage (the networks and how each method dresses a person:
:mod:`garment_transfer.models.pipeline` and the method registry)."""

from garment_transfer.stages.pipeline.datamodule import PipelineDataModule
from garment_transfer.stages.pipeline.lightning_module import GarmentTransferPipeline

__all__ = ["GarmentTransferPipeline", "PipelineDataModule"]
