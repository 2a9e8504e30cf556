"""The resumable training sampler: one epoch's order and item seeds from (seed, epoch), dealt out by rank, skipping
what a resumed run already trained; the pair dataset draws from the item seed alone; evaluation shards take every
pair exactly once."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DistributedSampler

from garment_transfer.data.augment import Augmenter
from garment_transfer.data.datamodule import PairDataset
from garment_transfer.data.readers import make_reader
from garment_transfer.data.sampling import EvaluationShards, ResumableSampler


def test_an_epoch_is_a_permutation_that_depends_on_seed_and_epoch_only():
    sampler = ResumableSampler(10, seed=3)
    first = list(sampler)
    assert sorted(index for index, _ in first) == list(range(10))
    assert list(ResumableSampler(10, seed=3)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(i for i, _ in sampler) == list(range(10))
    assert list(ResumableSampler(10, seed=4)) != first
    assert len(sampler) == 10 and isinstance(sampler, DistributedSampler)  # Lightning keeps it under DDP


def test_ranks_deal_out_one_epoch_padded_to_equal_shares():
    whole = ResumableSampler(7, seed=0).epoch_items(2)
    shares = [ResumableSampler(7, seed=0, replicas=3, rank=r).epoch_items(2) for r in range(3)]
    assert [len(s) for s in shares] == [3, 3, 3]
    dealt = [item for position in range(3) for item in (s[position] for s in shares)]
    assert dealt[:7] == whole and dealt[7:] == whole[:2]  # padded by wrapping round


def test_position_skips_the_items_already_trained():
    sampler = ResumableSampler(10, seed=1, position=lambda: (4, 6))
    assert list(sampler) == ResumableSampler(10, seed=1).epoch_items(4)[6:]


@pytest.mark.parametrize("size, rank, replicas", [(0, 0, 1), (5, 2, 2)])
def test_bad_arguments_are_refused(size, rank, replicas):
    with pytest.raises(ValueError, match="ResumableSampler"):
        ResumableSampler(size, rank=rank, replicas=replicas)


def test_pair_dataset_draws_partner_and_augmentation_from_the_item_seed(synthetic_root):
    reader = make_reader("canonical", synthetic_root, size=(64, 48))
    data = PairDataset(reader, "train", "unpaired", augment_target=Augmenter("affine"))
    one = data[(2, 12345)]
    torch.manual_seed(0)  # the global generator must not matter
    again = data[(2, 12345)]
    assert one.target.id == again.target.id == reader.ids("train")[2]
    assert one.source.id == again.source.id != one.target.id
    assert torch.equal(one.target.image, again.target.image)
    others = [data[(2, seed)] for seed in range(8)]
    assert any(not torch.equal(o.target.image, one.target.image) for o in others)  # the seed drives the draws


def test_evaluation_shards_take_every_pair_exactly_once_without_padding():
    shards = [EvaluationShards(7, replicas=3, rank=r) for r in range(3)]
    assert [list(s) for s in shards] == [[0, 3, 6], [1, 4], [2, 5]]
    assert [len(s) for s in shards] == [3, 2, 2] and all(isinstance(s, DistributedSampler) for s in shards)
    with pytest.raises(ValueError, match="2 pairs, fewer than the 3 processes"):
        EvaluationShards(2, replicas=3, rank=0)
