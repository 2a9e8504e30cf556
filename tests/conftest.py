"""Shared fixtures: tiny synthetic data sets written in the real on-disk format, no network."""

from __future__ import annotations

import os

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # one thread per pytest-xdist worker: two workers on two cores, no oversubscription

from garment_transfer.data.synth import SynthSettings, generate  # noqa: E402

TINY = dict(seed=0, height=64, width=48)


def tiny_settings(train: int = 6, test: int = 4, **overrides) -> SynthSettings:
    values = {**TINY, "counts": {"train": train, "test": test}, **overrides}
    return SynthSettings(**values)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A 64 x 48 canonical data set (6 train, 4 test, one true transfer per test target). Read-only for tests."""
    root = tmp_path_factory.mktemp("synthetic") / "data"
    generate(root, tiny_settings(), workers=1, progress=False)
    return root


def training_losses(module, batch, steps: int) -> list[float]:
    """Run ``steps`` optimiser steps of ``module.training_step`` on one batch; the losses before each step."""
    optimizer = module.configure_optimizers()
    losses = []
    for _ in range(steps):
        loss = module.training_step(batch, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
