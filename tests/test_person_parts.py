"""What a person carries besides the stages' inputs: the garment category and the garment parts where the layout has
them (the engine's ``image-parse-parts`` and ``cloth-parse-parts``), resized and augmented with the parsing, collated
as the other fields; DensePose's part index is ``densepose_index`` everywhere."""

from __future__ import annotations

import shutil
from dataclasses import fields, replace

import numpy as np
import pytest
import torch
from conftest import tiny_settings

from garment_transfer.data import io
from garment_transfer.data.augment import AugmentConfig, Augmenter
from garment_transfer.data.formats import base, canonical, dresscode, gpvton, viton
from garment_transfer.data.labels import FLIP_GARMENT_PARTS, GARMENT_PARTS
from garment_transfer.data.readers import RawPerson, make_reader
from garment_transfer.data.samples import PairSample, collate
from garment_transfer.data.synth import generate

SIZE = (64, 48)


@pytest.fixture(scope="module")
def three_categories(tmp_path_factory):
    """A 64 x 48 engine set of the three categories (2 train, 2 test each)."""
    root = tmp_path_factory.mktemp("parts") / "data"
    generate(
        root, tiny_settings(train=2, test=2, val=0, categories=("upper", "lower", "dresses")), workers=1, progress=False
    )
    return root


def _stored(root, split, sample_id, key, size=SIZE) -> torch.Tensor:
    path = canonical.garment_parts_paths(root, split, sample_id)[key]
    return torch.from_numpy(io.resize(io.read_image(path), size, nearest=True).astype(np.int64))


@pytest.mark.parametrize("size", [SIZE, (128, 96)])
def test_the_canonical_reader_gives_category_and_garment_parts(three_categories, size):
    reader = make_reader("canonical", three_categories, size=size)
    for split in canonical.SPLITS:
        own = canonical.categories(three_categories, split)
        assert set(own.values()) == {"upper", "lower", "dresses"}
        for sample_id in reader.ids(split):
            person = reader.person(split, sample_id)
            assert person.category == own[sample_id]
            for key in ("garment_parts", "cloth_parts"):
                parts = getattr(person, key)
                assert parts.dtype == torch.int64 and parts.shape == size, key
                assert torch.equal(parts, _stored(three_categories, split, sample_id, key, size)), key
                assert set(parts.unique().tolist()) <= set(GARMENT_PARTS.values())
            garment = person.garment_parts[person.garment_mask[0] > 0]
            assert (garment > 0).all(), f"{sample_id}: the worn garment lies on its parts"
            assert torch.equal(person.cloth_parts > 0, person.cloth_mask[0] > 0), f"{sample_id}: in-shop parts"


def test_parts_resize_nearest_like_the_parsing(three_categories):
    small = make_reader("canonical", three_categories, size=SIZE).person("train", "train_lower_000000")
    large = make_reader("canonical", three_categories, size=(128, 96)).person("train", "train_lower_000000")
    for key in ("parsing", "garment_parts", "cloth_parts"):
        twice = getattr(small, key).repeat_interleave(2, 0).repeat_interleave(2, 1)
        assert torch.equal(getattr(large, key), twice), key


def test_layouts_without_garment_parts_give_none_and_their_category(three_categories, tmp_path):
    dresscode.export_dresscode(three_categories, tmp_path / "dc")
    gpvton.export_gpvton(three_categories, tmp_path / "gp")
    viton.export_viton(three_categories, tmp_path / "viton", size=SIZE)
    for fmt, root, options in (
        ("dresscode", tmp_path / "dc", {"category": "all"}),
        ("gpvton", tmp_path / "gp", {}),
        ("viton", tmp_path / "viton", {"densepose": "parts"}),
    ):
        reader = make_reader(fmt, root, size=SIZE, **options)
        own = canonical.categories(three_categories, "train")
        for sample_id in reader.ids("train"):
            person = reader.person("train", sample_id)
            assert person.garment_parts is None and person.cloth_parts is None, fmt
            assert person.category == (own[sample_id] if fmt != "viton" else "upper"), f"{fmt} {sample_id}"


def test_a_set_without_part_files_reads_none(three_categories, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(three_categories, root)
    (root / "train" / "image-parse-parts" / "train_000000.png").unlink()
    person = make_reader("canonical", root, size=SIZE).person("train", "train_000000")
    assert person.garment_parts is None and person.cloth_parts is not None


def test_a_bad_part_file_is_an_error_naming_it(three_categories, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(three_categories, root)
    path = canonical.garment_parts_paths(root, "train", "train_000000")["garment_parts"]
    io.write_png(path, np.full((64, 48), 40, np.uint8))
    with pytest.raises(ValueError, match=rf"{path}: garment part ids \[40\] are not valid"):
        make_reader("canonical", root, size=SIZE).read_raw("train", "train_000000")
    io.write_png(path, np.zeros((32, 24), np.uint8))
    with pytest.raises(ValueError, match=rf"{path}: size \(32, 24\) differs from the sample's size"):
        make_reader("canonical", root, size=SIZE).read_raw("train", "train_000000")


def test_densepose_part_index_is_named_densepose_index(synthetic_root):
    names = {f.name for f in fields(RawPerson)}
    assert "densepose_index" in names and "parts" not in names
    reader = make_reader("canonical", synthetic_root, size=SIZE)
    raw = reader.read_raw("train", "train_000000")
    stored = canonical.read_sample(synthetic_root, "train", "train_000000")
    assert np.array_equal(raw.densepose_index, stored.iuv[..., 0])
    path = canonical.sample_paths(synthetic_root, "train", "train_000000")["densepose"]
    index, uv, picture = base.read_densepose(path, "iuv")
    assert np.array_equal(index, stored.iuv[..., 0]) and uv.shape == (2, *SIZE) and picture is None
    for stored_sample in (dresscode.DressCodeSample, viton.VitonSample):
        names = {f.name for f in fields(stored_sample)}
        assert "densepose_index" in names and "parts" not in names, stored_sample.__name__


def test_a_flip_mirrors_the_garment_parts_and_swaps_their_sides(three_categories):
    reader = make_reader("canonical", three_categories, size=SIZE)
    flip = Augmenter(AugmentConfig(flip_p=1.0))
    for sample_id in reader.ids("train"):
        plain, flipped = reader.person("train", sample_id), reader.person("train", sample_id, flip, seed=0)
        assert torch.equal(flipped.parsing, plain.parsing.flip(-1))
        want = torch.from_numpy(FLIP_GARMENT_PARTS[plain.garment_parts.flip(-1).numpy()].astype(np.int64))
        assert torch.equal(flipped.garment_parts, want)
        assert torch.equal(flipped.cloth_parts, plain.cloth_parts), "the in-shop garment is not augmented"
        assert flipped.keypoints is None and flipped.category == plain.category


def test_an_affine_augmentation_moves_the_garment_parts_with_the_parsing(three_categories):
    """Both are warped by the same nearest mapping: every (class, part) pair the augmented person shows was a pair of
    the same source pixel, or the empty border (0, 0)."""
    reader = make_reader("canonical", three_categories, size=SIZE)
    augment = Augmenter("affine_crop")
    for sample_id in reader.ids("train"):
        plain = reader.person("train", sample_id)
        pairs = set(zip(plain.parsing.flatten().tolist(), plain.garment_parts.flatten().tolist())) | {(0, 0)}
        for seed in range(3):
            moved = reader.person("train", sample_id, augment, seed=seed)
            assert not torch.equal(moved.garment_parts, plain.garment_parts)
            seen = set(zip(moved.parsing.flatten().tolist(), moved.garment_parts.flatten().tolist()))
            assert seen <= pairs, f"{sample_id} seed {seed}: {sorted(seen - pairs)}"


def test_collate_lists_categories_and_stacks_parts(three_categories):
    reader = make_reader("canonical", three_categories, size=SIZE)
    people = [reader.person("train", i) for i in ("train_000000", "train_lower_000000", "train_dresses_000001")]
    batch = collate([PairSample(p, p) for p in people])
    assert batch.target.category == ["upper", "lower", "dresses"]
    assert batch.target.garment_parts.shape == (3, *SIZE) and batch.source.cloth_parts.dtype == torch.int64
    assert torch.equal(batch.target.garment_parts[1], people[1].garment_parts)
    assert batch.target.inputs == {}
    without = [replace(p, garment_parts=None, cloth_parts=None) for p in people]
    none = collate(without)
    assert none.garment_parts is None and none.cloth_parts is None and none.category == batch.target.category
    with pytest.raises(ValueError, match="some samples have a value"):
        collate([people[0], without[1]])
