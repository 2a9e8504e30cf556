"""The contract every data module honours: loaders for each split, typed batches with documented shapes, fixed
evaluation pairs. ``DATA_MODULES`` is the base, the pipeline's and every registered stage's data module."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest
import torch

from garment_transfer import registry
from garment_transfer.data.datamodule import GarmentDataModule, PairDataset, evaluation_pairs
from garment_transfer.data.densepose import channels
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.samples import PairSample, PersonSample
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule
from garment_transfer.stages.pipeline import PipelineDataModule


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


DATA_MODULES = [
    GarmentDataModule,
    PipelineDataModule,
    *dict.fromkeys(_class(stage.data_module) for stage in registry.stages().values()),
]
SIZE = (64, 48)


def _module(cls, root, **kwargs):
    module = cls(root=str(root), size=f"{SIZE[0]}x{SIZE[1]}", batch_size=3, **kwargs)
    module.prepare_data()
    module.setup("fit")
    module.setup("test")
    return module


def _check_person(person: PersonSample, batch: int, pose_channels: int) -> None:
    h, w = SIZE
    shapes = {
        "image": (batch, 3, h, w),
        "parsing": (batch, h, w),
        "densepose": (batch, pose_channels, h, w),
        "cloth": (batch, 3, h, w),
        "cloth_mask": (batch, 1, h, w),
        "garment_mask": (batch, 1, h, w),
        "skin_mask": (batch, 1, h, w),
        "remaining": (batch, 4, h, w),
    }
    for name, shape in shapes.items():
        assert tuple(getattr(person, name).shape) == shape, name
    assert person.parsing.dtype == torch.int64 and person.image.dtype == torch.float32
    assert len(person.id) == batch


@pytest.mark.parametrize("cls", DATA_MODULES)
def test_loaders_for_each_split_give_typed_batches(cls, synthetic_root):
    module = _module(cls, synthetic_root)
    for loader in (module.train_dataloader(), module.val_dataloader(), module.test_dataloader()):
        batch = next(iter(loader))
        assert isinstance(batch, PairSample)
        size = batch.target.image.shape[0]
        assert 1 <= size <= 3
        _check_person(batch.source, size, channels(module.hparams.densepose))
        _check_person(batch.target, size, channels(module.hparams.densepose))


@pytest.mark.parametrize("cls", DATA_MODULES)
def test_synthetic_evaluation_pairs_are_the_true_transfers(cls, synthetic_root):
    module = _module(cls, synthetic_root, eval_pairs="transfer")
    batch = next(iter(module.val_dataloader()))
    assert batch.truth is not None and batch.truth.image.shape == batch.target.image.shape
    assert batch.truth.flow.shape == (batch.target.image.shape[0], 2, *SIZE)
    pairs = module.datasets["val"].pairs
    assert [(s, t) for s, t in zip(batch.source.id, batch.target.id)] == pairs[: len(batch.source.id)]
    assert pairs == canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "val"))


@pytest.mark.parametrize("cls", DATA_MODULES)
@pytest.mark.parametrize("mode", ["paired", "unpaired"])
def test_evaluation_pairs_are_the_same_in_every_run(cls, synthetic_root, mode):
    first = _module(cls, synthetic_root, eval_pairs=mode, eval_seed=3)
    second = _module(cls, synthetic_root, eval_pairs=mode, eval_seed=3)
    ids = lambda m: [(b.source.id, b.target.id) for b in m.val_dataloader()]  # noqa: E731
    assert ids(first) == ids(second)
    assert first.datasets["test"].pairs == second.datasets["test"].pairs


def test_evaluation_pairs_are_a_seeded_derangement():
    ids = [f"p{i}" for i in range(9)]
    pairs = evaluation_pairs(ids, "transfer", seed=1)
    assert [t for _, t in pairs] == ids and sorted(s for s, _ in pairs) == ids
    assert all(s != t for s, t in pairs)
    assert evaluation_pairs(ids, "transfer", seed=2) != pairs
    assert evaluation_pairs(ids, "paired") == [(i, i) for i in ids]
    with pytest.raises(ValueError, match="at least two samples"):
        evaluation_pairs(["only"], "unpaired")


def test_training_transfer_pairs_draw_other_people(synthetic_root):
    module = _module(GarmentDataModule, synthetic_root, train_pairs="transfer")
    dataset: PairDataset = module.datasets["train"]
    torch.manual_seed(0)
    draws = [dataset[i] for i in range(len(dataset)) for _ in range(2)]
    assert all(d.source.id != d.target.id for d in draws)
    torch.manual_seed(0)
    again = [dataset[i] for i in range(len(dataset)) for _ in range(2)]
    assert [d.source.id for d in draws] == [d.source.id for d in again], "seeded draws repeat"


def test_training_augmentation_moves_the_person_and_spares_evaluation(synthetic_root):
    plain = _module(GarmentDataModule, synthetic_root)
    augmented = _module(GarmentDataModule, synthetic_root, augment_target="affine_crop_flip")
    torch.manual_seed(0)
    a, b = plain.datasets["train"][0], augmented.datasets["train"][0]
    assert a.target.id == b.target.id and not torch.equal(a.target.parsing, b.target.parsing)
    assert torch.equal(b.target.garment_mask[0], (b.target.parsing == 4).float()), "masks follow the parsing"
    evaluation = next(iter(augmented.val_dataloader()))
    reference = next(iter(plain.val_dataloader()))
    assert torch.equal(evaluation.target.image, reference.target.image)


@pytest.mark.parametrize(
    "fmt, export, densepose", [("dresscode", dresscode.export_dresscode, "iuv"), ("viton", viton.export_viton, "parts")]
)
def test_data_module_reads_the_other_formats(synthetic_root, tmp_path, fmt, export, densepose):
    export(synthetic_root, tmp_path / fmt)
    module = _module(GarmentDataModule, tmp_path / fmt, format=fmt, densepose=densepose, eval_pairs="unpaired")
    batch = next(iter(module.val_dataloader()))
    assert batch.truth is None and (batch.source.id != batch.target.id)
    _check_person(batch.target, batch.target.image.shape[0], channels(densepose))


def test_prepare_data_generates_the_builtin_synthetic_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = GarmentDataModule(size="64x48", batch_size=2, synthetic={"train": 3, "val": 2, "test": 2})
    module.prepare_data()
    assert (tmp_path / "data/synthetic-64x48/meta.json").is_file()
    module.setup("fit")
    module.setup("test")
    assert len(module.datasets["train"]) == 3 and len(module.datasets["val"]) == 2 and len(module.datasets["test"]) == 2


def test_missing_root_is_an_error_naming_it(tmp_path):
    module = GarmentDataModule(root=str(tmp_path / "absent"), size="64x48")
    module.prepare_data()  # a user's root is never generated
    with pytest.raises(FileNotFoundError, match="absent: data set folder not found"):
        module.setup("fit")


def _as_old_layout(root, tmp_path):
    """A copy of a synthetic set laid out as this project's old layout wrote it: each split's paired list inside
    its split folder, none at the root."""
    old = Path(shutil.copytree(root, tmp_path / "old"))
    for split in ("train", "test"):
        (old / f"{split}_pairs.txt").unlink()
        ids = [p.stem for p in sorted((old / split / "image").glob("*.png"))]
        (old / split / f"{split}_pairs.txt").write_text("".join(f"{i}.png {i}.png\n" for i in ids))
    return old


@pytest.mark.parametrize("mode", ["paired", "unpaired", "transfer"])
def test_moving_the_pair_lists_to_the_root_keeps_samples_and_evaluation_pairs(synthetic_root, tmp_path, mode):
    old = _as_old_layout(synthetic_root, tmp_path)
    new, before = (
        _module(GarmentDataModule, synthetic_root, eval_pairs=mode),
        _module(GarmentDataModule, old, eval_pairs=mode),
    )
    assert new.datasets["train"].ids == before.datasets["train"].ids
    assert new.datasets["test"].pairs == before.datasets["test"].pairs
    item = (2, 12345)
    assert torch.equal(new.datasets["train"][item].target.image, before.datasets["train"][item].target.image)
    sources = {
        "paired": ("each test person", "paired list"),
        "unpaired": ("unpaired list", "seeded draw"),
        "transfer": ("true transfers", "true transfers"),
    }[mode]
    assert new.eval_pairs_source.startswith(sources[0]) and before.eval_pairs_source.startswith(sources[1])


def test_engines_unpaired_test_list_is_the_seed_0_draw(synthetic_root):
    listed = canonical.read_pairs(synthetic_root / "test_pairs.txt")
    ids = [Path(person).stem for person, _ in listed]
    assert [(Path(c).stem, Path(p).stem) for p, c in listed] == evaluation_pairs(ids, "unpaired", seed=0)
    assert all(p != c for p, c in listed)
    assert canonical.read_pairs(synthetic_root / "train_pairs.txt")[0] == ("train_000000.png", "train_000000.png")


def test_test_and_predict_need_only_the_test_split(synthetic_root, tmp_path):
    root = Path(shutil.copytree(synthetic_root, tmp_path / "only_test"))
    shutil.rmtree(root / "train")
    (root / "train_pairs.txt").unlink()
    module = GarmentDataModule(root=str(root), size="64x48", eval_pairs="unpaired", batch_size=2)
    module.setup("test")
    assert "train" not in module.datasets and len(module.datasets["test"]) == 4
    assert next(iter(module.test_dataloader())).target.image.shape[0] == 2
    with pytest.raises(FileNotFoundError, match="train_pairs.txt: pairs file not found"):
        module.setup("fit")


def test_validation_reads_the_val_split_and_test_reads_the_test_split(synthetic_root):
    module = _module(GarmentDataModule, synthetic_root, eval_pairs="transfer")
    val, test = next(iter(module.val_dataloader())), next(iter(module.test_dataloader()))
    assert all(i.startswith("val_") for i in val.target.id) and val.truth is not None
    assert all(i.startswith("test_") for i in test.target.id) and test.truth is not None
    assert module.datasets["train"].ids == canonical.list_ids(synthetic_root, "train"), "a val split: train on all"
    assert "val" in module.val_pairs_source and "test" in module.eval_pairs_source


def test_without_a_val_split_the_tail_of_train_validates_and_is_not_trained_on(tmp_path):
    from conftest import tiny_settings

    from garment_transfer.data.synth import generate

    root = tmp_path / "no_val"
    generate(root, tiny_settings(train=10, val=0), workers=1, progress=False)
    module = _module(GarmentDataModule, root, eval_pairs="unpaired", val_holdout=0.3)
    train_ids = canonical.list_ids(root, "train")
    held_out = {i for b in module.val_dataloader() for i in (*b.source.id, *b.target.id)}
    assert held_out == set(train_ids[-3:])
    assert module.datasets["train"].ids == train_ids[:-3]
    assert "held-out tail of train" in module.val_pairs_source
    on_test = _module(GarmentDataModule, root, val_holdout=0)
    assert all(i.startswith("test_") for b in on_test.val_dataloader() for i in b.target.id)
    assert on_test.datasets["train"].ids == train_ids
    with pytest.raises(ValueError, match="val_holdout 10: holds out 10 of the 10 train samples"):
        _module(GarmentDataModule, root, val_holdout=10)


def test_the_builtin_set_gains_its_validation_split_without_touching_train_and_test(tmp_path):
    from conftest import tiny_settings

    from garment_transfer.data.synth import generate

    root = tmp_path / "old"
    generate(root, tiny_settings(val=0), workers=1, progress=False)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*.png")}
    generate(root, tiny_settings(val=3), workers=1, progress=False)
    assert all((root / name).read_bytes() == data for name, data in before.items())
    assert canonical.list_ids(root, "val") == ["val_000000", "val_000001", "val_000002"]


def test_batches_pin_every_tensor_and_keep_their_types(synthetic_root, monkeypatch):
    """What a loader with ``pin_memory=True`` calls on a batch (a CPU-only machine cannot pin: the tensor method is
    replaced by a recorder)."""
    from garment_transfer.data.samples import TransferTruth

    pinned = []

    def record(tensor, *args, **kwargs):
        pinned.append(tensor.data_ptr())
        return tensor.clone()

    batch = next(iter(_module(TransferWarpingDataModule, synthetic_root).val_dataloader()))
    tensors = [
        t.data_ptr()
        for side in (batch.source, batch.target, batch.truth)
        for t in vars(side).values()
        if isinstance(t, torch.Tensor)
    ]
    monkeypatch.setattr(torch.Tensor, "pin_memory", record)
    out = batch.pin_memory()
    assert isinstance(out, PairSample) and isinstance(out.source, PersonSample)
    assert isinstance(out.truth, TransferTruth)
    assert sorted(pinned) == sorted(tensors) and len(tensors) >= 20
    assert out.source.id == batch.source.id and out.target.files == batch.target.files
    assert torch.equal(out.target.image, batch.target.image) and out.target.image is not batch.target.image


def test_loaders_pin_memory_when_a_gpu_is_there_or_when_asked(synthetic_root):
    assert _module(GarmentDataModule, synthetic_root).train_dataloader().pin_memory == torch.cuda.is_available()
    assert _module(GarmentDataModule, synthetic_root, pin_memory=True).val_dataloader().pin_memory
    assert not _module(GarmentDataModule, synthetic_root, pin_memory=False).test_dataloader().pin_memory
    with pytest.raises(ValueError, match="data.init_args.pin_memory 'yes'"):
        GarmentDataModule(root=str(synthetic_root), pin_memory="yes")


@pytest.mark.parametrize("cls", DATA_MODULES)
def test_predict_reads_the_test_pairs_after_setup_for_predict(cls, synthetic_root):
    module = cls(root=str(synthetic_root), size=f"{SIZE[0]}x{SIZE[1]}", batch_size=3, eval_pairs="transfer")
    module.setup("predict")
    assert set(module.datasets) == {"test"}, "predict builds the test pairs only"
    batch = next(iter(module.predict_dataloader()))
    first = next(iter(module.test_dataloader()))
    assert batch.target.id == first.target.id and batch.source.id == first.source.id
