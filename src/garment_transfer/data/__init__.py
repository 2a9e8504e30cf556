"""Data: label sets, on-disk formats, and the synthetic garment-transfer engine."""
