"""Image grids and the ImageLogger callback with TensorBoard, W&B (offline) and CSV loggers at once."""

from __future__ import annotations

import os
import time

os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"

from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from garment_transfer.callbacks.image_logger import ImageLogger  # noqa: E402
from garment_transfer.data.label_maps import NUM_CLASSES  # noqa: E402
from garment_transfer.visuals import image_to_rgb, make_grid, mask_to_rgb, parsing_to_rgb  # noqa: E402

H, W = 12, 8


def test_make_grid_puts_samples_in_rows_and_visuals_in_columns():
    a, b = torch.zeros(5, 3, H, W), torch.ones(5, 1, H, W)  # a grey (1-channel) visual is allowed
    a[1] = 0.5
    grid = make_grid({"a": a, "b": b}, nrow=3, padding=2, pad_value=1.0)
    assert grid.shape == (3, 3 * H + 4 * 2, 2 * W + 3 * 2)
    assert grid.min() >= 0 and grid.max() <= 1
    assert torch.all(grid[:, 2 : 2 + H, 2 : 2 + W] == 0)  # row 0, column a
    assert torch.all(grid[:, 4 + H : 4 + 2 * H, 2 : 2 + W] == 0.5)  # row 1, column a
    assert torch.all(grid[:, 2 : 2 + H, 4 + W : 4 + 2 * W] == 1)  # row 0, column b
    assert torch.equal(make_grid([a, b], nrow=3), grid)
    assert make_grid([a * 3 - 1]).max() <= 1 and make_grid([a * 3 - 1], nrow=None).shape[1] == 5 * H + 6 * 2
    with pytest.raises(ValueError, match="shape"):
        make_grid([a, torch.zeros(5, 3, H, W + 1)])


def test_parsing_to_rgb_gives_each_class_its_own_colour():
    labels = torch.arange(NUM_CLASSES).reshape(1, 1, NUM_CLASSES)
    rgb = parsing_to_rgb(labels)
    assert rgb.shape == (1, 3, 1, NUM_CLASSES) and rgb.min() >= 0 and rgb.max() <= 1
    colours = {tuple(rgb[0, :, 0, i].tolist()) for i in range(NUM_CLASSES)}
    assert len(colours) == NUM_CLASSES
    scores = torch.nn.functional.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2).float()
    assert torch.equal(parsing_to_rgb(scores), rgb)


def test_image_and_mask_helpers_map_to_unit_range():
    assert torch.equal(
        image_to_rgb(torch.tensor([-1.0, 0.0, 1.0]).reshape(1, 3, 1, 1)).flatten(), torch.tensor([0.0, 0.5, 1.0])
    )
    grey = mask_to_rgb(torch.full((2, 1, H, W), 0.25))
    assert grey.shape == (2, 3, H, W) and torch.all(grey == 0.25)


class TinyModule(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.visual_calls = []

    def training_step(self, batch, batch_idx):
        return (self.net(batch[0]) - batch[0]).abs().mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", (self.net(batch[0]) - batch[0]).abs().mean())

    def visuals(self, batch):
        self.visual_calls.append((self.trainer.sanity_checking, self.current_epoch))
        image = batch[0]
        return OrderedDict(input=image_to_rgb(image), output=image_to_rgb(self.net(image).tanh()))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _loader():
    return DataLoader(TensorDataset(torch.rand(12, 3, H, W) * 2 - 1), batch_size=6)


def _eventually(found, attempts: int = 120, pause: float = 0.25) -> list:
    """Poll ``found()`` until it returns something non-empty (at most ``attempts`` times); its last result."""
    for _ in range(attempts):
        result = found()
        if result:
            return result
        time.sleep(pause)
    return found()


def test_image_logger_logs_to_tensorboard_wandb_and_png(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tensorboard = TensorBoardLogger(tmp_path, name="tb")
    loggers = [tensorboard, WandbLogger(save_dir=tmp_path, offline=True), CSVLogger(tmp_path, name="csv")]
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=loggers,
        callbacks=[ImageLogger(out_dir=str(tmp_path), max_samples=4)],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        accelerator="cpu",
    )
    trainer.fit(TinyModule(), _loader(), _loader())
    loggers[1].experiment.finish()

    png = np.asarray(Image.open(tmp_path / "images" / "val_epoch000.png"))
    assert png.shape == (4 * H + 5 * 2, 2 * W + 3 * 2, 3) and png.dtype == np.uint8

    events = EventAccumulator(tensorboard.log_dir, size_guidance={"images": 0}).Reload()
    assert events.Tags()["images"] == ["val/visuals/input,output"]

    # wandb-core writes the offline run in its own process, possibly after finish() returns: wait for it
    media = _eventually(lambda: list(tmp_path.glob("wandb/offline-run-*/files/media/images/**/*.png")))
    assert len(media) == 1 and Image.open(media[0]).size == (2 * W + 3 * 2, 4 * H + 5 * 2)  # "val/visuals"
    run_file = _eventually(
        lambda: [p for p in tmp_path.glob("wandb/offline-run-*/run-*.wandb") if b"input | output" in p.read_bytes()]
    )  # the caption names the columns
    assert run_file


def test_image_logger_without_loggers_skips_sanity_check_and_honours_every_n_epochs(tmp_path):
    trainer = pl.Trainer(
        max_epochs=2,
        limit_train_batches=1,
        limit_val_batches=2,
        logger=False,
        callbacks=[ImageLogger(every_n_epochs=2)],
        default_root_dir=tmp_path,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=1,
        accelerator="cpu",
    )
    module = TinyModule()
    trainer.fit(module, _loader(), _loader())
    assert module.visual_calls == [(False, 1)]  # not in the sanity check, not epoch 0, first batch only
    assert [p.name for p in (tmp_path / "images").iterdir()] == ["val_epoch001.png"]
