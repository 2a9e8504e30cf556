"""Stages, one folder per method and stage (``stages/<method>/<stage>/``: a LightningModule and its DataModule)."""

from garment_transfer.checkpoints import install_legacy_stage_modules

install_legacy_stage_modules()  # checkpoints written before the method folders name garment_transfer.stages.<stage>
