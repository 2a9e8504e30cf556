"""Training reproduces: the same config (seed, data, thread count) trains bit-identical weights through the CLI, with
unpaired pairs drawn at random and albumentations augmentation on, with or without loader workers; another seed
trains different ones."""

from __future__ import annotations

import pytest
import torch
import yaml
from conftest import differing_tensors, tiny_parsing_config

from garment_transfer.cli import lightning_cli


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


def trained_weights(synthetic_root, tmp_path, name: str, seed: int, workers: int = 0) -> dict[str, torch.Tensor]:
    config = tiny_parsing_config(
        synthetic_root,
        tmp_path / "runs" / "test" / name,
        max_epochs=2,
        limit_train_batches=3,
        limit_val_batches=1,
        enable_checkpointing=False,
    )
    config["seed_everything"] = seed
    config["data"]["init_args"].update(
        batch_size=2, train_pairs="unpaired", augment_target="affine_crop_flip", num_workers=workers
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    cli = lightning_cli(["fit", "-c", str(path)])
    assert cli.trainer.global_step == 6
    return {key: value.detach().clone() for key, value in cli.model.state_dict().items()}


def test_the_same_config_trains_bit_identical_weights_and_another_seed_does_not(synthetic_root, tmp_path):
    first = trained_weights(synthetic_root, tmp_path, "first", seed=0)
    again = trained_weights(synthetic_root, tmp_path, "again", seed=0)
    worker = trained_weights(synthetic_root, tmp_path, "worker", seed=0, workers=1)
    other = trained_weights(synthetic_root, tmp_path, "other", seed=1)
    for name, run in (("the same config", again), ("a loader worker", worker)):
        different = differing_tensors(first, run)
        assert not different, f"{name}: different weights {different[:5]}"
    assert any(first[key].is_floating_point() for key in differing_tensors(first, other))
