"""Readers: every format gives the canonical reader's samples (up to resizing and documented label losses);
every bad file is an error that names the file and the problem."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from garment_transfer.data import io
from garment_transfer.data.augment import Augmenter
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.formats.pairs import read_pair_lines
from garment_transfer.data.label_maps import load_label_map
from garment_transfer.data.readers import make_reader
from garment_transfer.data.samples import PersonSample, collate

SIZE = (64, 48)


@pytest.fixture(scope="module")
def exports(synthetic_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    dresscode.export_dresscode(synthetic_root, base / "dresscode")
    viton.export_viton(synthetic_root, base / "viton")
    return {"dresscode": base / "dresscode", "viton": base / "viton"}


def _lossy_pixels(synthetic_root, split, sample_id, lossy_cihp):
    return np.isin(canonical.read_sample(synthetic_root, split, sample_id).parse, list(lossy_cihp))


@pytest.mark.parametrize("fmt, densepose_encoding", [("dresscode", "iuv"), ("viton", "parts")])
def test_exported_formats_read_as_the_canonical_samples(synthetic_root, exports, fmt, densepose_encoding):
    reference = make_reader("canonical", synthetic_root, size=SIZE, densepose=densepose_encoding)
    reader = make_reader(fmt, exports[fmt], size=SIZE, densepose=densepose_encoding)
    lossy = {"dresscode": dresscode.LOSSY_CIHP, "viton": viton.LOSSY_CIHP}[fmt]
    # JPEG, plus for VITON a bilinear resize to 256 x 192 and an antialiased one back, blur edges a little
    tolerance = {"dresscode": 0.05, "viton": 0.08}[fmt]
    for split in canonical.SPLITS:
        assert reader.ids(split) == reference.ids(split)
        for sample_id in reference.ids(split):
            want, got = reference.person(split, sample_id), reader.person(split, sample_id)
            kept = ~torch.from_numpy(_lossy_pixels(synthetic_root, split, sample_id, lossy))
            assert (want.parsing[kept] == got.parsing[kept]).all(), f"{fmt} {sample_id}: parsing"
            assert torch.equal(want.densepose, got.densepose), f"{fmt} {sample_id}: DensePose"
            assert (want.image - got.image).abs().mean() < tolerance, f"{fmt} {sample_id}: image"
            assert (want.cloth - got.cloth).abs().mean() < tolerance, f"{fmt} {sample_id}: cloth"
            assert (want.cloth_mask != got.cloth_mask).float().mean() < 0.02, f"{fmt} {sample_id}: cloth mask"


def test_reading_at_another_size_resizes_labels_with_nearest(synthetic_root):
    small = make_reader("canonical", synthetic_root, size=SIZE).person("train", "train_000000")
    large = make_reader("canonical", synthetic_root, size=(128, 96)).person("train", "train_000000")
    assert large.image.shape == (3, 128, 96) and large.densepose.shape == (3, 128, 96)
    assert torch.equal(large.parsing, small.parsing.repeat_interleave(2, 0).repeat_interleave(2, 1))
    assert set(large.parsing.unique().tolist()) <= set(range(7))
    assert set(large.densepose[0].unique().tolist()) == set(small.densepose[0].unique().tolist())


def test_person_sample_holds_the_method_quantities(synthetic_root):
    person = make_reader("canonical", synthetic_root, size=SIZE, densepose="parts_uv").person("test", "test_000001")
    assert isinstance(person, PersonSample) and person.id == "test_000001"
    assert person.image.min() >= -1 and person.image.max() <= 1 and person.parsing.dtype == torch.int64
    assert person.densepose.shape == (27, *SIZE) and torch.allclose(person.densepose[:25].sum(0), torch.ones(SIZE))
    assert torch.equal(person.garment_mask[0], (person.parsing == 4).float())
    assert torch.equal(person.skin_mask[0], (person.parsing == 3).float())
    assert torch.equal(person.remaining.sum(0), torch.isin(person.parsing, torch.tensor([1, 2, 5, 6])).float())
    assert torch.equal(person.garment, person.image * person.garment_mask)
    assert person.files["labels"].endswith("image-parse-v3/test_000001.png")
    batch = collate([person, person])
    assert batch.image.shape == (2, 3, *SIZE) and batch.id == ["test_000001"] * 2
    assert batch.parsing_one_hot.shape == (2, 7, *SIZE)


def test_true_transfer_flow_is_rescaled_with_the_image(synthetic_root):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))[0]
    small = make_reader("canonical", synthetic_root, size=SIZE).read_truth("test", source, target)
    large = make_reader("canonical", synthetic_root, size=(128, 96)).read_truth("test", source, target)
    seen = small.flow[0] >= 0
    assert seen.sum() > 20
    big = large.flow[:, ::2, ::2]
    assert torch.allclose(big[:, seen], (small.flow[:, seen] + 0.5) * 2 - 0.5)
    assert (large.flow[:, ~seen.repeat_interleave(2, 0).repeat_interleave(2, 1)] == -1).all()


@pytest.fixture
def broken_root(synthetic_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    return root


def test_missing_file_is_named(broken_root):
    path = broken_root / "train/image-densepose/train_000001.png"
    path.unlink()
    with pytest.raises(FileNotFoundError, match=f"{path}: file not found"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")


def test_unreadable_image_is_named(broken_root):
    path = broken_root / "train/cloth/train_000001.png"
    path.write_bytes(b"\x89PNG but not really")
    with pytest.raises(ValueError, match=f"{path}: cannot read image"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")


def test_size_mismatch_is_named(broken_root):
    path = broken_root / "train/image-parse-v3/train_000001.png"
    io.write_png(path, np.zeros((32, 24), np.uint8))
    with pytest.raises(ValueError, match=rf"{path}: size \(32, 24\) differs from the sample's size \(64, 48\)"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")


def test_unknown_label_id_is_named_with_the_table(broken_root):
    path = broken_root / "train/image-parse-v3/train_000001.png"
    parse = io.read_image(path).copy()
    parse[0, 0] = 77
    io.write_png(path, parse)
    with pytest.raises(ValueError, match=rf"{path}: label ids \[77\] are not in label map 'cihp'"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")


def test_colour_densepose_rendering_read_as_iuv_is_explained(broken_root):
    path = broken_root / "train/image-densepose/train_000001.png"
    colour = np.array([200, 120, 40], np.uint8)  # a rendering is coloured: a grey picture is refused as one
    io.write_png(path, np.broadcast_to(colour, (64, 48, 3)).copy())
    with pytest.raises(ValueError, match=f"{path}: part index 200 > 24: is this a colour rendering"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")
    reader = make_reader("canonical", broken_root, size=SIZE, densepose="rendering", densepose_files="rendering")
    picture = reader.person("train", "train_000001").densepose
    expected = torch.from_numpy(colour / 127.5 - 1).float()[:, None, None].expand(3, *SIZE)
    assert picture.shape == (3, *SIZE) and torch.allclose(picture, expected)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(format="canonical", root="nowhere"), FileNotFoundError, "nowhere: data set folder not found"),
        (dict(format="coco", root="."), ValueError, "data format 'coco'"),
        (dict(format="canonical", root=".", size=(60, 48)), ValueError, "multiples of 16"),
        (dict(format="canonical", root=".", densepose="uvw"), ValueError, "DensePose encoding 'uvw'"),
        (dict(format="canonical", root=".", densepose="iuv", densepose_files="rendering"), ValueError, "renderings"),
        (dict(format="viton", root=".", densepose="iuv"), ValueError, "part indices only; use densepose: parts"),
        (dict(format="dresscode", root=".", category="shoes"), ValueError, "category must be one of"),
        (dict(format="dresscode", root=".", category=["dresses", "dresses"]), ValueError, "names a category twice"),
        (dict(format="gpvton", root=".", densepose="iuv"), ValueError, "part indices only; use densepose: parts"),
        (dict(format="canonical", root=".", densepose="rendering"), ValueError, "holds no colour DensePose renderings"),
        (dict(format="canonical", root=".", densepose_files="xyz"), ValueError, "densepose_files 'xyz': choose one of"),
    ],
)
def test_bad_reader_settings_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_reader(kwargs.pop("format"), kwargs.pop("root"), **kwargs)


def test_custom_label_map_changes_the_classes(synthetic_root):
    table = dict(load_label_map("cihp").table)
    table[10] = 0  # call the neck background
    reader = make_reader("canonical", synthetic_root, size=SIZE, label_map=table)
    raw = canonical.read_sample(synthetic_root, "train", "train_000000")
    person = reader.person("train", "train_000000")
    assert (person.parsing[torch.from_numpy(raw.parse == 10)] == 0).all()


def test_vitonhd_jpeg_photos_are_found(broken_root):
    """VITON-HD ships image/, cloth/ and cloth-mask/ as JPEG; label maps stay PNG."""
    for folder in ("image", "cloth", "cloth-mask"):
        png = broken_root / "train" / folder / "train_000001.png"
        io.write_jpeg(png.with_suffix(".jpg"), io.read_image(png))
        png.unlink()
    person = make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")
    assert person.files["image"].endswith("image/train_000001.jpg") and person.image.shape == (3, *SIZE)


def test_missing_flow_leaves_the_truth_without_correspondence(broken_root):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(broken_root, "test"))[0]
    canonical.transfer_paths(broken_root, "test", source, target)["flow"].unlink()
    truth = make_reader("canonical", broken_root, size=SIZE).read_truth("test", source, target)
    assert truth.flow is None and truth.image.shape == (3, *SIZE)


def test_pair_lists_accept_tabs_windows_line_ends_a_bom_and_no_final_newline(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_bytes("\ufeffa_0.jpg\tb_1.jpg\r\n\r\nc_0.jpg  d_1.jpg upper\r\ne_0.jpg f_1.jpg".encode())
    lines = read_pair_lines(path, (2, 3))
    assert [(x.person, x.cloth, x.category, x.line) for x in lines] == [
        ("a_0.jpg", "b_1.jpg", None, 1),
        ("c_0.jpg", "d_1.jpg", "upper", 3),
        ("e_0.jpg", "f_1.jpg", None, 4),
    ]
    with pytest.raises(ValueError, match=rf"{path}: pairs file line 3 has 3 fields, expected 2"):
        read_pair_lines(path)


def test_keypoints_are_read_and_rescaled_with_the_sample(broken_root):
    folder = broken_root / "train" / "openpose_json"
    folder.mkdir(exist_ok=True)  # the engine writes its own keypoints there: replaced below
    for sample_id in canonical.list_ids(broken_root, "train"):
        values = [10.0, 20.0, 0.9] + [0.0, 0.0, 0.0] + [30.0, 40.0, 0.5] * 23
        (folder / f"{sample_id}_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": values}]}))
    small = make_reader("canonical", broken_root, size=SIZE).person("train", "train_000001")
    large = make_reader("canonical", broken_root, size=(128, 96)).person("train", "train_000001")
    assert small.keypoints.shape == (25, 3) and small.keypoints[0].tolist() == pytest.approx([10, 20, 0.9])
    assert large.keypoints[0].tolist() == pytest.approx([20.5, 40.5, 0.9])  # pixel centres onto pixel centres
    assert small.keypoints[1].tolist() == large.keypoints[1].tolist() == [-1, -1, 0]
    assert collate([small, small]).keypoints.shape == (2, 25, 3)
    assert small.files["keypoints"].endswith("openpose_json/train_000001_keypoints.json")
    augmented = make_reader("canonical", broken_root, size=SIZE).person(
        "train", "train_000001", Augmenter("affine"), seed=3
    )
    assert augmented.keypoints is None  # augmentation does not move keypoints: none rather than wrong ones
    (folder / "train_000002_keypoints.json").unlink()
    with pytest.raises(FileNotFoundError, match="train_000002_keypoints.json: keypoint file not found"):
        make_reader("canonical", broken_root, size=SIZE).person("train", "train_000002")
