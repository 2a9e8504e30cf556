"""Subcommands of the ``garment-transfer`` command (see ``garment_transfer.cli``)."""
