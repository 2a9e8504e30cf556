"""Try-on warping teacher: it starts at the identity, learns a batch, each loss term reads its input, it fits and
validates under Lightning (logging the random-VGG choice), a missing VGG file is refused, and its configs load."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml
from conftest import training_losses

from garment_transfer.cli import lightning_cli
from garment_transfer.models.distilled_transfer import TRYON_WARPING
from garment_transfer.models.distilled_transfer.warping import build_warping_teacher
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.distilled_transfer.tryon_warping import TryOnWarpingDataModule, TryOnWarpingModule

SIZE = "64x48"
CONF = Path(__file__).parents[1] / "conf" / "distilled_transfer" / "tryon_warping"


def module(**kwargs) -> TryOnWarpingModule:
    with pytest.warns(UserWarning, match="random"):
        return TryOnWarpingModule(width="tiny", allow_random_vgg=True, **kwargs)


def a_batch(synthetic_root, split="train", size=2):
    data = TryOnWarpingDataModule(root=str(synthetic_root), size=SIZE, batch_size=size, eval_batch_size=size)
    data.setup("fit")
    loader = data.train_dataloader() if split == "train" else data.val_dataloader()
    return next(iter(loader))


def test_initial_flow_is_the_identity(synthetic_root):
    batch = a_batch(synthetic_root)
    source, target = batch.source, batch.target
    out = module().teach(source.cloth, source.cloth_mask, target.parsing_one_hot, target.densepose)
    assert torch.allclose(out.warped_garment, source.cloth * source.cloth_mask, atol=1e-5)
    assert torch.allclose(out.warped_mask, source.cloth_mask, atol=1e-5)


def test_teacher_fits_a_batch(synthetic_root):
    torch.manual_seed(0)
    stage = module(lr=1e-3)
    losses = training_losses(stage, a_batch(synthetic_root), 6)
    assert losses[-1] < losses[0]


def test_each_loss_term_responds_to_its_input(synthetic_root):
    stage = module()
    batch = a_batch(synthetic_root)
    source, target = batch.source, batch.target
    out = stage(source.cloth, source.cloth_mask, target.parsing_one_hot, target.densepose)
    base = stage.losses(out, target.garment, target.garment_mask)
    moved = torch.roll(target.garment, 5, dims=-1)
    other_garment = stage.losses(out, moved, target.garment_mask)
    assert other_garment["l1"] != base["l1"] and other_garment["vgg"] != base["vgg"]
    assert other_garment["mask"] == base["mask"]
    assert stage.losses(out, target.garment, 1 - target.garment_mask)["mask"] != base["mask"]
    wavy = [g + 0.05 * torch.randn_like(g) for g in out.grids]
    bent = out._replace(grids=wavy, offsets=[o + torch.randn_like(o) for o in out.offsets])
    bent_terms = stage.losses(bent, target.garment, target.garment_mask)
    assert bent_terms["smooth"] > base["smooth"] and bent_terms["tv"] > base["tv"] == 0
    hp = stage.hparams
    assert torch.isclose(base["total"], sum(hp[f"w_{k}"] * base[k] for k in ("l1", "vgg", "mask", "smooth", "tv")))


def test_vgg_levels_restricts_the_perceptual_term_to_the_finest_levels(synthetic_root):
    stage = module(vgg_levels=1)
    batch = a_batch(synthetic_root)
    source, target = batch.source, batch.target
    out = stage(source.cloth, source.cloth_mask, target.parsing_one_hot, target.densepose)
    terms = stage.losses(out, target.garment, target.garment_mask)
    assert torch.isclose(terms["vgg"], 5 * stage.vgg(out.warped_garments[-1], target.garment))  # level k = 4
    with pytest.raises(ValueError, match="vgg_levels must be 1..5"):
        TryOnWarpingModule(width="tiny", vgg_levels=6)


def test_missing_vgg_file_is_refused_at_construction(tmp_path):
    missing = tmp_path / "vgg19-dcbb9e9d.pth"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        TryOnWarpingModule(width="tiny", vgg_weights=str(missing))


def test_fit_validates_and_logs_the_random_vgg_choice(synthetic_root, tmp_path):
    stage = module()
    data = TryOnWarpingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2, eval_batch_size=2)
    run = pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        default_root_dir=str(tmp_path),
    )
    run.fit(stage, data)
    metrics = run.callback_metrics
    assert metrics["train/vgg_random"] == 1.0
    assert {"val/loss", "val/tryon/mse", "val/tryon/psnr", "val/tryon/ssim", "val/tryon/mask_iou"} <= set(metrics)
    assert 0 <= metrics["val/tryon/mask_iou"] <= 1
    path = tmp_path / "teacher.ckpt"
    run.save_checkpoint(path)
    net = FrozenNet.from_checkpoint(path, {TRYON_WARPING: build_warping_teacher}).net
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), stage.net.state_dict().values()))
    visuals = stage.visuals(a_batch(synthetic_root, "val"))
    assert list(visuals) == ["cloth", "target", "warped", "target_garment"]
    assert all(v.shape == (2, 3, 64, 48) and 0 <= v.min() and v.max() <= 1 for v in visuals.values())


def test_pose_channel_mismatch_is_explained(synthetic_root):
    batch = a_batch(synthetic_root)
    with pytest.raises(ValueError, match="pose_channels=25"):
        module(pose_channels=25).training_step(copy.copy(batch), 0)


@pytest.mark.parametrize("name", ["cpu.yaml", "paper.yaml"])
def test_configs_load_through_the_cli(name, capsys):
    with pytest.raises(SystemExit) as done:
        lightning_cli(["fit", "-c", str(CONF / name), "--print_config"])
    assert done.value.code in (0, None)
    config = yaml.safe_load(capsys.readouterr().out)
    module = "garment_transfer.stages.distilled_transfer.tryon_warping.TryOnWarpingModule"
    assert config["model"]["class_path"] == module
    assert config["trainer"]["default_root_dir"].startswith("runs/")
