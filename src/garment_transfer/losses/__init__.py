"""Losses: a function and, where a stage configures one, an nn.Module; student first, teacher second."""
