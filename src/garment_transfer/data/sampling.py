"""The samplers. Training: an epoch's order and every item's random draws follow from ``(seed, epoch, position)``
alone, so a run repeats whatever the number of loader workers, and a run resumed mid-epoch trains on exactly the
batches the interrupted run had not reached.

Each item is ``(index, item_seed)``: :class:`~garment_transfer.data.datamodule.PairDataset` draws the item's
partner and augmentation from ``item_seed`` instead of the global generator. Under DDP the epoch's order is padded
to a multiple of the number of processes and dealt out by rank, like ``DistributedSampler`` (a subclass, so
Lightning keeps it instead of wrapping it in a sampler of its own).

Evaluation under DDP: :class:`EvaluationShards` deals every evaluation pair to exactly one process, without the
padding of ``DistributedSampler`` (which would count some pairs twice). Metrics stay exact with unequal shares:
torchmetrics states are summed over processes, and a stage's evaluation-step ``self.log`` values are weighted
torchmetrics means (:mod:`garment_transfer.stages.base`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from torch.utils.data import DistributedSampler

Position = Callable[[], tuple[int, int]]  # (epoch, items of this process already trained in it)


class ResumableSampler(DistributedSampler):
    """Shuffled ``(index, item_seed)`` items of a data set of ``size`` items, for process ``rank`` of ``replicas``.

    Args:
        size: number of items.
        seed: the run's seed (the same seed repeats every epoch's order and draws).
        replicas, rank: DDP processes and this one's rank.
        position: called when an epoch's iteration starts; ``(epoch, done)`` skips the first ``done`` items of this
            process in ``epoch`` (a resumed run). None: ``set_epoch`` epochs from the start.
    """

    def __init__(self, size: int, seed: int = 0, replicas: int = 1, rank: int = 0, position: Position | None = None):
        if size < 1:
            raise ValueError(f"ResumableSampler: the data set is empty (size {size})")
        if not 0 <= rank < replicas:
            raise ValueError(f"ResumableSampler: rank {rank} is not in 0..{replicas - 1}")
        super().__init__(range(size), num_replicas=replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.position = position

    def epoch_items(self, epoch: int) -> list[tuple[int, int]]:
        """This process's ``(index, item_seed)`` items of ``epoch``, in order."""
        size = len(self.dataset)
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(size)
        seeds = rng.integers(2**31 - 1, size=size)
        positions = np.resize(np.arange(size), self.total_size)  # pad by wrapping round, as DistributedSampler
        mine = positions[self.rank :: self.num_replicas]
        return [(int(order[p]), int(seeds[p])) for p in mine]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, done = self.position() if self.position is not None else (self.epoch, 0)
        return iter(self.epoch_items(epoch)[done:])


class EvaluationShards(DistributedSampler):
    """Process ``rank`` of ``replicas`` takes evaluation items ``rank, rank + replicas, ...`` of ``size``, in order:
    every item exactly once over the processes, no padding (shares differ by at most one item)."""

    def __init__(self, size: int, replicas: int, rank: int):
        if size < replicas:
            raise ValueError(
                f"the evaluation set has {size} pairs, fewer than the {replicas} processes: every "
                "process needs at least one (raise data.eval_limit or use fewer devices)"
            )
        super().__init__(range(size), num_replicas=replicas, rank=rank, shuffle=False, drop_last=False)
        self.total_size = size
        self.num_samples = len(range(rank, size, replicas))

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.total_size, self.num_replicas))
