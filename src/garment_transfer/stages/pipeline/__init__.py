"""The end-to-end garment-transfer pipeline ``S_P -> S_W -> R -> composition`` and its baselines."""

from garment_transfer.stages.pipeline.datamodule import PipelineDataModule
from garment_transfer.stages.pipeline.lightning_module import GarmentTransferPipeline
from garment_transfer.stages.pipeline.transfer import METHODS, GarmentTransfer, TransferOutput, affine_paste

__all__ = ["METHODS", "GarmentTransfer", "GarmentTransferPipeline", "PipelineDataModule", "TransferOutput",
           "affine_paste"]
