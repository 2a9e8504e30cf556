"""Seeds, spreads and paired bootstrap intervals: the statistics behind every "ours vs X" in the benchmarks."""

from __future__ import annotations

import numpy as np
import pytest

from garment_transfer.evaluation.comparison import Difference, bootstrap_difference, cell, metric, per_seed, summary


def test_pairing_removes_the_spread_between_pairs():
    rng = np.random.default_rng(0)
    pairs = rng.normal(20, 5, size=200)  # pairs differ a lot from each other ...
    a = np.stack([pairs + 0.3 + rng.normal(0, 0.05, 200) for _ in range(3)])  # ... ours is 0.3 better on each
    b = np.stack([pairs + rng.normal(0, 0.05, 200) for _ in range(3)])
    paired = bootstrap_difference(a, b)
    assert paired.significant and paired.low < 0.3 < paired.high
    assert paired.high - paired.low < 0.05, "the between-pair spread (sd 5) must not widen a paired interval"


def test_an_interval_holding_zero_is_not_significant_and_says_so():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, size=(3, 100)), rng.normal(0, 1, size=(3, 100))
    difference = bootstrap_difference(a, b)
    assert not difference.significant and str(difference).endswith("n.s.")
    assert str(Difference(1.0, 0.5, 1.5)) == "+1 [+0.5, +1.5]"


def test_seed_spread_counts_in_the_interval():
    """Two methods equal on average, but each seed of A shifted by a seed-level offset: few seeds, wide interval."""
    rng = np.random.default_rng(2)
    pairs = rng.normal(0, 1, size=100)
    a = np.stack([pairs + offset for offset in (-1.0, 0.0, 1.0)])
    b = np.stack([pairs, pairs, pairs])
    difference = bootstrap_difference(a, b)
    assert difference.low < -0.5 and difference.high > 0.5 and not difference.significant


def test_ratio_metrics_are_resampled_as_sums_and_one_seed_methods_are_kept():
    inter_union = np.array([[[1, 2], [3, 4], [0, 10]]], dtype=float)  # (1 seed, 3 pairs, 2)
    assert metric(inter_union) == pytest.approx(4 / 16)
    assert per_seed(inter_union) == pytest.approx([4 / 16])
    assert bootstrap_difference(inter_union, inter_union).mean == 0
    ours = np.concatenate([inter_union, inter_union], axis=0)  # two seeds vs a one-seed baseline
    assert bootstrap_difference(ours, inter_union).mean == 0
    with pytest.raises(ValueError, match="same pairs"):
        bootstrap_difference(ours[:, :2], inter_union)


def test_summary_and_cells_give_mean_spread_and_the_interval():
    scores = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    assert summary(scores) == (pytest.approx(3.0), pytest.approx(1.0))
    assert cell(scores).startswith("3.00 ± 1.00")
    assert "n.s." in cell(scores, reference=scores) and "ours - this: +0" in cell(scores, reference=scores)
    assert bootstrap_difference(scores, scores - 1, seed=3) == bootstrap_difference(scores, scores - 1, seed=3)
