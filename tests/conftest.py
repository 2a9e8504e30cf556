"""Shared fixtures: tiny synthetic data sets written in the real on-disk format, no network."""

from __future__ import annotations

import os

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # one thread per pytest-xdist worker: two workers on two cores, no oversubscription

from garment_transfer.data.synth import SynthSettings, generate  # noqa: E402
from garment_transfer.stages.distilled_transfer.arm_regrowth import ArmRegrowthDataModule, ArmRegrowthModule  # noqa: E402
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingDataModule, TransferParsingModule  # noqa: E402
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule, TransferWarpingModule  # noqa: E402
from garment_transfer.stages.distilled_transfer.tryon_parsing import TryOnParsingDataModule, TryOnParsingModule  # noqa: E402
from garment_transfer.stages.distilled_transfer.tryon_warping import TryOnWarpingDataModule, TryOnWarpingModule  # noqa: E402
from garment_transfer.stages.pfafn.pb_tryon import PBTryOnDataModule, PBTryOnModule  # noqa: E402
from garment_transfer.stages.pfafn.pb_warping import PBWarpingDataModule, PBWarpingModule  # noqa: E402
from garment_transfer.stages.pfafn.pf_tryon import PFTryOnDataModule, PFTryOnModule  # noqa: E402
from garment_transfer.stages.pfafn.pf_warping import PFWarpingDataModule, PFWarpingModule  # noqa: E402

TINY = dict(seed=0, height=64, width=48)


def tiny_settings(train: int = 6, test: int = 4, val: int = 4, **overrides) -> SynthSettings:
    values = {
        **TINY,
        "counts": {"train": train, "val": val, "test": test},
        "transfers_per_target": {"train": 0, "val": 1, "test": 1},
        **overrides,
    }
    return SynthSettings(**values)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A 64 x 48 canonical data set (6 train, 4 val, 4 test, one true transfer per val and test target). Read-only
    for tests."""
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


def tiny_parsing_config(data_root, run_dir, **trainer) -> dict:
    """A complete ``garment-transfer fit -c`` config of the try-on parsing teacher on ``data_root`` (64 x 48, tiny
    U-2-Net, batch 1, no sanity check, CPU); ``trainer`` entries override the trainer section."""
    return {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "max_epochs": 1,
            "log_every_n_steps": 1,
            "default_root_dir": str(run_dir),
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "num_sanity_val_steps": 0,
            **trainer,
        },
        "model": {
            "class_path": "garment_transfer.stages.distilled_transfer.tryon_parsing.TryOnParsingModule",
            "init_args": {"width": "tiny", "lr": 1e-3},
        },
        "data": {
            "class_path": "garment_transfer.stages.distilled_transfer.tryon_parsing.TryOnParsingDataModule",
            "init_args": {"root": str(data_root), "size": "64x48", "batch_size": 1, "eval_batch_size": 1},
        },
    }


def differing_tensors(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> list[str]:
    """Names of the state-dict entries that are not bit-identical (both dicts must have the same names)."""
    assert first.keys() == second.keys()
    return [name for name in first if not torch.equal(first[name], second[name])]


def subprocess_env() -> dict[str, str]:
    """The environment of a test's ``python -m garment_transfer`` subprocess: no W&B, one thread, and this folder
    on the path (so configs may name classes defined in test modules)."""
    path = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "WANDB_MODE": "disabled",
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": path,
    }


def quiet_trainer(tmp_path, **kwargs) -> pl.Trainer:
    """A CPU trainer with no logger, progress bar, summary, sanity check or checkpointing; ``kwargs`` override."""
    options = dict(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=1,
        default_root_dir=str(tmp_path),
        enable_checkpointing=False,
    )
    options.update(kwargs)
    return pl.Trainer(**options)


def untrained_checkpoint(module: pl.LightningModule, path: Path) -> Path:
    """Save ``module`` as it is (weights, hyper-parameters, stage id and class path) where a stage checkpoint would
    be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return path


def one_step_checkpoint(module, data, path: Path) -> str:
    """Fit ``module`` one optimiser step on ``data`` (no validation) and save its Lightning checkpoint at ``path``."""
    run = quiet_trainer(path.parent, max_steps=1, limit_val_batches=0)
    run.fit(module, data)
    run.save_checkpoint(path)
    return str(path)


@pytest.fixture(scope="session")
def stage_checkpoints(synthetic_root, tmp_path_factory) -> dict[str, str]:
    """One optimiser step of each of the five stages, in dependency order, at 64 x 48 (tiny widths)."""
    folder = tmp_path_factory.mktemp("stages")
    pl.seed_everything(0)  # the same tiny networks whichever test asks first
    data = dict(root=str(synthetic_root), size="64x48", batch_size=2, eval_batch_size=4)
    paths = {}
    paths["tryon_parsing"] = one_step_checkpoint(
        TryOnParsingModule(width="tiny"), TryOnParsingDataModule(**data), folder / "tryon_parsing.ckpt"
    )
    paths["transfer_parsing"] = one_step_checkpoint(
        TransferParsingModule(teacher_checkpoint=paths["tryon_parsing"], width="tiny"),
        TransferParsingDataModule(**data),
        folder / "transfer_parsing.ckpt",
    )
    paths["tryon_warping"] = one_step_checkpoint(
        TryOnWarpingModule(width="tiny", w_vgg=0), TryOnWarpingDataModule(**data), folder / "tryon_warping.ckpt"
    )
    paths["transfer_warping"] = one_step_checkpoint(
        TransferWarpingModule(
            teacher_checkpoint=paths["tryon_warping"],
            parsing_checkpoint=paths["transfer_parsing"],
            width="tiny",
            w_vgg=0,
        ),
        TransferWarpingDataModule(**data),
        folder / "transfer_warping.ckpt",
    )
    paths["arm_regrowth"] = one_step_checkpoint(
        ArmRegrowthModule(width="tiny", parsing_checkpoint=paths["transfer_parsing"], w_vgg=0),
        ArmRegrowthDataModule(**data),
        folder / "arm_regrowth.ckpt",
    )
    return paths


@pytest.fixture(scope="session")
def pfafn_checkpoints(synthetic_root, tmp_path_factory) -> dict[str, str]:
    """One optimiser step of each of PF-AFN's four stages, in dependency order, at 64 x 48 (tiny widths, no VGG)."""
    folder = tmp_path_factory.mktemp("pfafn_stages")
    pl.seed_everything(0)
    data = dict(root=str(synthetic_root), size="64x48", batch_size=2, eval_batch_size=4)
    no_vgg = {"warp_weights": {"l1": 1.0, "vgg": 0.0, "mask": 2.0, "smooth": 6.0, "tv": 0.01}}
    generator = {"generator_weights": {"l1": 5.0, "vgg": 0.0, "rendered_l1": 5.0, "rendered_vgg": 0.0, "mask": 1.0}}
    paths = {}
    paths["pb_warping"] = one_step_checkpoint(
        PBWarpingModule(width="tiny", lr=1e-3, **no_vgg), PBWarpingDataModule(**data), folder / "pb_warping.ckpt"
    )
    paths["pb_tryon"] = one_step_checkpoint(
        PBTryOnModule(warp_checkpoint=paths["pb_warping"], width="tiny", lr=1e-3, **no_vgg, **generator),
        PBTryOnDataModule(**data),
        folder / "pb_tryon.ckpt",
    )
    paths["pf_warping"] = one_step_checkpoint(
        PFWarpingModule(tutor_checkpoint=paths["pb_tryon"], width="tiny", lr=1e-3, **no_vgg),
        PFWarpingDataModule(**data),
        folder / "pf_warping.ckpt",
    )
    skin = {
        "skin_phases": {
            "before_niter": {"skin_l1": 30.0, "skin_vgg": 0.0},
            "after_niter": {"skin_l1": 60.0, "skin_vgg": 0.0},
        }
    }
    paths["pf_tryon"] = one_step_checkpoint(
        PFTryOnModule(
            tutor_checkpoint=paths["pb_tryon"],
            warp_checkpoint=paths["pf_warping"],
            width="tiny",
            lr=1e-3,
            **no_vgg,
            **generator,
            **skin,
        ),
        PFTryOnDataModule(**data),
        folder / "pf_tryon.ckpt",
    )
    return paths


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty current folder: a command must leave it empty when it fails."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder
