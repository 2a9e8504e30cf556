"""The method of arXiv 2401.12433, "A Novel Garment Transfer Method Supervised by Distilled Knowledge of Virtual
Try-on Model" (``docs/methods/distilled-transfer.md``): try-on teachers ``T_P``, ``T_W`` distilled into transfer
students ``S_P``, ``S_W``, arm regrowth ``R`` and the end-to-end pipeline, one stage folder each."""
