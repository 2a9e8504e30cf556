"""Weighting a stage's loss terms: every stage keeps its unweighted terms by name and a table of weights."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def weighted_sum(terms: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """``sum_name weights[name] * terms[name]``; every weighted name must be a term."""
    missing = sorted(set(weights) - set(terms))
    if missing:
        raise ValueError(f"weighted_sum: no term for weights {missing}; terms are {sorted(terms)}")
    return sum(float(w) * terms[name] for name, w in weights.items())
