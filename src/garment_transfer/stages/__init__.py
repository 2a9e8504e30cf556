"""Pipeline stages: one folder per stage with a LightningModule and its DataModule."""
