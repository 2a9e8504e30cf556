"""garment-transfer: dress one person in another person's garment by distilling virtual try-on networks."""

__version__ = "0.1.0"
