"""Comparisons that can be trusted: several training seeds, their spread, and a paired bootstrap interval of every
"ours vs X" difference over the evaluation pairs and the seeds.

A method's scores are a ``(seeds, pairs)`` array of per-pair values of one metric (the same evaluation pairs in the
same order for every method and seed), or ``(seeds, pairs, 2)`` of a numerator and a denominator for metrics that
are ratios of sums over the set (IoU: intersection and union pixel counts), so that every resample computes the
set-level metric exactly as the full set does.

Paired bootstrap of a difference A - B (:func:`bootstrap_difference`): each of ``resamples`` replicates draws the
evaluation pairs with replacement, once, shared by A and B (the pairing: both methods are judged on the same
pairs), and the seeds of each method with replacement, independently (seed ``i`` of one method has nothing to do
with seed ``i`` of another); the replicate's difference is the metric of A's resampled seeds x pairs minus B's.
The interval is the percentile interval of the replicates; a method with one seed (a deterministic baseline such as
the affine paste) keeps it in every replicate. An interval that holds 0 is "not significant" ("n.s.").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """``mean`` of A - B over all seeds and pairs, and the bootstrap interval ``[low, high]`` at ``level``."""

    mean: float
    low: float
    high: float
    level: float = LEVEL

    @property
    def significant(self) -> bool:
        return not (self.low <= 0.0 <= self.high)

    def __str__(self) -> str:
        text = f"{self.mean:+.3g} [{self.low:+.3g}, {self.high:+.3g}]"
        return text if self.significant else f"{text} n.s."


def _check(scores: np.ndarray, name: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim not in (2, 3) or (scores.ndim == 3 and scores.shape[2] != 2) or 0 in scores.shape[:2]:
        raise ValueError(
            f"{name}: expected (seeds, pairs) values or (seeds, pairs, 2) numerators and denominators, "
            f"got shape {scores.shape}"
        )
    return scores


def metric(scores: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray | float:
    """The set-level metric of ``scores``: the mean of per-pair values, or the sum of numerators over the sum of
    denominators, over ``axis`` (default: all seeds and pairs)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim >= 3 and scores.shape[-1] == 2:
        axis = tuple(range(scores.ndim - 1)) if axis is None else axis
        return scores[..., 0].sum(axis=axis) / np.maximum(scores[..., 1].sum(axis=axis), 1e-12)
    return scores.mean(axis=axis)


def per_seed(scores: np.ndarray) -> np.ndarray:
    """The metric of each seed over all pairs, shape (seeds,)."""
    scores = _check(scores, "scores")
    return np.asarray(metric(scores, axis=(1,)), dtype=np.float64)


def summary(scores: np.ndarray) -> tuple[float, float]:
    """``(metric over all seeds and pairs, standard deviation of the per-seed metrics (0 for one seed))``."""
    seeds = per_seed(scores)
    return float(metric(_check(scores, "scores"))), float(seeds.std(ddof=1)) if len(seeds) > 1 else 0.0


def bootstrap_difference(
    a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Difference:
    """The paired bootstrap interval of metric(A) - metric(B) (module docstring).

    Args:
        a, b: scores of the two methods, same pairs in the same order (their seed counts may differ).
        resamples: bootstrap replicates. level: the interval's coverage. seed: of the resampling.
    """
    a, b = _check(a, "a"), _check(b, "b")
    if a.shape[1] != b.shape[1] or a.ndim != b.ndim:
        raise ValueError(f"a {a.shape} and b {b.shape}: the methods must be scored on the same pairs the same way")
    rng = np.random.default_rng(seed)
    pairs = a.shape[1]
    differences = np.empty(resamples)
    for r in range(resamples):
        chosen = rng.integers(0, pairs, pairs)
        picks = [x[rng.integers(0, x.shape[0], x.shape[0])][:, chosen] for x in (a, b)]
        differences[r] = metric(picks[0]) - metric(picks[1])
    low, high = np.quantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return Difference(float(metric(a) - metric(b)), float(low), float(high), level)


def cell(scores: np.ndarray, reference: np.ndarray | None = None, digits: int = 2, **bootstrap) -> str:
    """A table cell: ``mean ± spread`` over seeds and, against ``reference`` (ours), the paired interval of
    ``reference - scores`` with "n.s." when it holds 0."""
    mean, spread = summary(scores)
    text = f"{mean:.{digits}f} ± {spread:.{digits}f}" if _check(scores, "scores").shape[0] > 1 else f"{mean:.{digits}f}"
    if reference is not None:
        text += f" (ours - this: {bootstrap_difference(reference, scores, **bootstrap)})"
    return text
