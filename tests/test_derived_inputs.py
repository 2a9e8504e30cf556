"""Derived per-person inputs: the torch keypoint maps equal the numpy ones; the data module computes the inputs it is
asked for in its loader workers, equal to computing them directly, and stacks them per name; unknown names are refused
when the data module is built; without inputs the batches are what they were."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from garment_transfer.data import agnostic, datamodule, inputs
from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.data.keypoints import heatmaps, keypoint_maps
from garment_transfer.data.readers import make_reader
from garment_transfer.data.samples import PairSample, collate
from garment_transfer.models.pfafn.networks import keypoint_heatmaps

SIZE = (64, 48)
ALL = ["pose_maps", "wuton_person", "gpvton_preserve"]


def _random_points(generator: torch.Generator, count: int, size: tuple[int, int], dtype) -> torch.Tensor:
    """``count`` points spread over and around an image of ``size`` (off-frame ones included), about a fifth missing,
    some on whole or nearly whole pixels (where truncation and floor could differ)."""
    height, width = size
    points = torch.rand(count, 3, generator=generator, dtype=torch.float64)
    points[:, 0] = points[:, 0] * 1.8 * width - 0.4 * width
    points[:, 1] = points[:, 1] * 1.8 * height - 0.4 * height
    whole, near = (torch.rand(count, generator=generator) < 0.3), (torch.rand(count, generator=generator) < 0.2)
    points[whole, :2] = points[whole, :2].round()
    points[near, :2] = points[near, :2].round() - 1e-4
    points[torch.rand(count, generator=generator) < 0.2] = torch.tensor([-1.0, -1.0, 0.0], dtype=torch.float64)
    return points.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keypoint_maps_equal_the_numpy_heatmaps(dtype):
    generator = torch.Generator().manual_seed(0)
    for trial in range(400):
        size = tuple(int(v) for v in torch.randint(3, 48, (2,), generator=generator))
        radius = int(torch.randint(0, 9, (), generator=generator))
        points = _random_points(generator, int(torch.randint(1, 19, (), generator=generator)), size, dtype)
        got = keypoint_maps(points, size, radius)
        assert got.dtype == torch.float32 and got.shape == (len(points), *size)
        np.testing.assert_array_equal(got.numpy(), heatmaps(points, size, radius), err_msg=f"trial {trial}")
    batch = torch.stack([_random_points(generator, 18, (64, 48), dtype) for _ in range(5)])
    want = np.stack([heatmaps(p, (64, 48), 3) for p in batch])
    np.testing.assert_array_equal(keypoint_maps(batch, (64, 48), 3).numpy(), want)


def test_keypoint_maps_refuse_bad_arguments():
    with pytest.raises(ValueError, match="radius must be an integer"):
        keypoint_maps(torch.zeros(18, 3), (8, 8), 2.5)
    with pytest.raises(ValueError, match=r"\(K, 3\) or \(B, K, 3\)"):
        keypoint_maps(torch.zeros(2, 3, 18, 3), (8, 8), 2)


def test_each_input_of_one_person_is_the_agnostic_or_pfafn_computation(synthetic_root):
    person = make_reader("canonical", synthetic_root, size=SIZE).person("test", "test_000001")
    got = inputs.compute_inputs(person, ALL)
    assert list(got) == ALL
    assert got["pose_maps"].shape == (18, *SIZE) and got["pose_maps"].dtype == torch.float32
    assert torch.equal(got["pose_maps"], keypoint_heatmaps(person.keypoints[None], SIZE)[0])
    assert torch.equal(got["wuton_person"], agnostic.wuton_person(person))
    assert torch.equal(got["gpvton_preserve"], agnostic.gpvton_preserve(person, person.category))
    assert got["gpvton_preserve"].shape == (1, *SIZE)
    assert set(inputs.INPUTS) == set(ALL)


def test_inputs_that_need_keypoints_say_so(synthetic_root):
    person = make_reader("canonical", synthetic_root, size=SIZE).person("test", "test_000001")
    person.keypoints = None
    for name in ("pose_maps", "gpvton_preserve"):
        with pytest.raises(ValueError, match=f"sample 'test_000001' has no keypoints, which the {name} input needs"):
            inputs.compute_inputs(person, [name])
    assert inputs.compute_inputs(person, ["wuton_person"])["wuton_person"].shape == (3, *SIZE)


def _module(root, **options) -> GarmentDataModule:
    module = GarmentDataModule(
        root=str(root), size="64x48", batch_size=2, eval_batch_size=2, train_pairs="unpaired", **options
    )
    module.setup()
    return module


def test_the_loader_workers_compute_the_inputs_of_source_and_target(synthetic_root, monkeypatch):
    def in_worker(person, names):  # marks which process computed the inputs
        return {**inputs.compute_inputs(person, names), "pid": torch.tensor(os.getpid())}

    monkeypatch.setattr(datamodule, "compute_inputs", in_worker)
    module = _module(synthetic_root, inputs=ALL, num_workers=1)
    reader = module.reader
    batches = [next(iter(module.train_dataloader())), next(iter(module.val_dataloader()))]
    for batch, split in zip(batches, ("train", "val")):
        assert batch.truth is None or not hasattr(batch.truth, "inputs")
        for person in (batch.source, batch.target):
            assert list(person.inputs) == [*ALL, "pid"]
            assert (person.inputs["pid"] != os.getpid()).all(), "computed in the loader worker"
            direct = collate([reader.person(split, sample_id) for sample_id in person.id])
            for name in ALL:
                want = torch.stack([inputs.INPUTS[name](p) for p in [reader.person(split, i) for i in person.id]])
                assert torch.equal(person.inputs[name], want), f"{split} {name}"
            assert torch.equal(person.inputs["pose_maps"], keypoint_heatmaps(direct.keypoints, SIZE))


def test_the_same_person_as_source_and_target_is_computed_once(synthetic_root):
    module = _module(synthetic_root, inputs=["pose_maps"])
    dataset = module.datasets["train"]
    dataset.mode = "paired"
    sample = dataset[0]
    assert sample.source is sample.target and sample.target.inputs["pose_maps"].shape == (18, *SIZE)


def test_collate_stacks_the_inputs_per_name(synthetic_root):
    reader = make_reader("canonical", synthetic_root, size=SIZE)
    people = [reader.person("test", i) for i in ("test_000000", "test_000001", "test_000002")]
    for person in people:
        person.inputs = inputs.compute_inputs(person, ["wuton_person", "pose_maps"])
    batch = collate([PairSample(p, p) for p in people]).target
    assert list(batch.inputs) == ["wuton_person", "pose_maps"]
    assert batch.inputs["wuton_person"].shape == (3, 3, *SIZE) and batch.inputs["pose_maps"].shape == (3, 18, *SIZE)
    assert torch.equal(batch.inputs["pose_maps"][2], people[2].inputs["pose_maps"])
    people[1].inputs = {"pose_maps": people[1].inputs["pose_maps"]}
    with pytest.raises(ValueError, match="different derived inputs"):
        collate(people)


@pytest.mark.parametrize(
    "value, message",
    [
        (
            ["pose_maps", "nope"],
            r"data.init_args.inputs 'nope': not a derived input; choose from \('pose_maps', "
            r"'wuton_person', 'gpvton_preserve'\)",
        ),
        ("pose_maps", r"data.init_args.inputs 'pose_maps': a list of derived input names"),
    ],
)
def test_unknown_inputs_are_refused_when_the_data_module_is_built(synthetic_root, value, message):
    with pytest.raises(ValueError, match=message):
        GarmentDataModule(root=str(synthetic_root), size="64x48", inputs=value)


def test_without_inputs_the_batches_carry_none(synthetic_root):
    plain, asked = _module(synthetic_root), _module(synthetic_root, inputs=["wuton_person"])
    assert plain.inputs == () and asked.inputs == ("wuton_person",)
    torch.manual_seed(0)
    first = next(iter(plain.val_dataloader()))
    torch.manual_seed(0)
    second = next(iter(asked.val_dataloader()))
    assert first.target.inputs == {} and first.source.inputs == {}
    assert list(second.target.inputs) == ["wuton_person"]
    assert torch.equal(first.target.image, second.target.image) and first.target.id == second.target.id


def test_pfafns_person_input_reads_the_workers_pose_maps_and_they_equal_its_own(synthetic_root):
    from garment_transfer.models.pfafn.networks import pb_person, person_pose_maps

    data = GarmentDataModule(root=str(synthetic_root), size="64x48", batch_size=2, inputs=["pose_maps"])
    data.setup("fit")
    target = next(iter(data.train_dataloader())).target
    from_workers = pb_person(target)
    target.inputs = {}
    assert torch.equal(from_workers, pb_person(target)), "the worker-side maps equal the on-the-fly ones"
    target.inputs = {"pose_maps": torch.zeros(2, 18, 64, 48)}
    assert torch.equal(person_pose_maps(target), target.inputs["pose_maps"]), "given maps are the ones used"
