"""``garment-transfer data check``: a clean data set passes in every format; each way of breaking a copy of one is
reported under its category, naming the broken file, and makes the command exit with 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import real_layouts as rl
import torch
from PIL import Image

from garment_transfer.cli import main
from garment_transfer.data import io
from garment_transfer.data.check import check_dataset, classify, format_report
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.labels import CIHP
from garment_transfer.data.readers import make_reader

SIZE = "64x48"
SAMPLE = "train_000001"


@pytest.fixture
def root(synthetic_root, tmp_path) -> Path:
    """A writable copy of the 64 x 48 synthetic data set (6 train, 4 test)."""
    return Path(shutil.copytree(synthetic_root, tmp_path / "data"))


def paths(root: Path, split: str = "train", sample_id: str = SAMPLE) -> dict[str, Path]:
    return canonical.sample_paths(root, split, sample_id)


def assert_reported(root: Path, category: str, file: Path, capsys, fmt: str = "canonical") -> None:
    """The report has ``category`` for ``file``; the command exits with 1 and prints the file's name."""
    report = check_dataset(fmt, root, size=SIZE)
    assert not report.ok
    assert (category, str(file)) in {(p.category, p.file) for p in report.problems}, format_report(report)
    assert main(["data", "check", str(root), "--format", fmt, "--size", SIZE]) == 1
    out = capsys.readouterr().out
    assert f"[{category}] {file}" in out and file.name in out


@pytest.mark.parametrize("fmt", ["canonical", "dresscode", "viton"])
def test_clean_data_set_passes_in_every_format(synthetic_root, tmp_path, capsys, fmt):
    root = synthetic_root if fmt == "canonical" else tmp_path / fmt
    if fmt == "dresscode":
        dresscode.export_dresscode(synthetic_root, root)
    elif fmt == "viton":
        viton.export_viton(synthetic_root, root, size=(64, 48))
    report = check_dataset(fmt, root, size=SIZE)
    assert report.ok and report.problems == []
    assert [(s.listed, s.readable, s.with_problems) for s in report.splits.values()] == [(6, 6, 0), (4, 4, 0)]
    assert main(["data", "check", str(root), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "OK: no problems found" in out
    assert any(line.split()[-3:] == ["6", "4", "10"] for line in out.splitlines() if line.startswith("samples listed"))


def test_deleted_densepose_file_is_a_missing_file(root, capsys):
    paths(root)["densepose"].unlink()
    assert_reported(root, "missing file", paths(root)["densepose"], capsys)
    stats = check_dataset("canonical", root, size=SIZE).splits["train"]
    assert (stats.listed, stats.readable, stats.with_problems) == (6, 5, 1)


def test_garbage_bytes_in_a_png_are_an_unreadable_image(root, capsys):
    paths(root)["cloth"].write_bytes(b"\x89PNG not really an image")
    assert_reported(root, "unreadable image", paths(root)["cloth"], capsys)


def test_label_map_at_another_size_is_a_size_mismatch(root, capsys):
    io.write_png(paths(root)["parse"], np.zeros((32, 24), np.uint8))
    assert_reported(root, "size mismatch", paths(root)["parse"], capsys)


def test_unknown_cihp_id_in_the_parsing_is_an_unknown_label_id(root, capsys):
    parse = io.read_image(paths(root)["parse"]).copy()
    parse[0, 0] = 77
    io.write_png(paths(root)["parse"], parse)
    assert_reported(root, "unknown label id", paths(root)["parse"], capsys)
    problems = check_dataset("canonical", root, size=SIZE).problems
    assert [p.category for p in problems] == ["unknown label id"] and "[77]" in problems[0].message


def test_part_index_above_24_is_bad_densepose(root, capsys):
    iuv = io.read_image(paths(root)["densepose"], "RGB").copy()
    iuv[10, 10, 0] = 30
    io.write_png(paths(root)["densepose"], iuv)
    assert_reported(root, "bad DensePose", paths(root)["densepose"], capsys)


def test_all_zero_cloth_mask_is_an_empty_garment_mask(root, capsys):
    io.write_png(paths(root)["cloth_mask"], np.zeros((64, 48), np.uint8))
    assert_reported(root, "empty garment mask", paths(root)["cloth_mask"], capsys)
    messages = [p.message for p in check_dataset("canonical", root, size=SIZE).problems]
    assert messages == ["in-shop cloth mask is all zero"]


def test_parsing_without_upper_garment_is_an_empty_garment_mask(root, capsys):
    parse = io.read_image(paths(root)["parse"]).copy()
    parse[np.isin(parse, [CIHP["upper_clothes"], CIHP["dress"], CIHP["coat"]])] = CIHP["background"]
    io.write_png(paths(root)["parse"], parse)
    assert_reported(root, "empty garment mask", paths(root)["parse"], capsys)
    messages = [p.message for p in check_dataset("canonical", root, size=SIZE).problems]
    assert messages == ["person parsing has no upper-garment pixel"]


def test_pairs_line_naming_a_missing_file_points_at_nothing(root, capsys):
    pairs = canonical.pairs_path(root, "test")
    pairs.write_text(pairs.read_text() + "test_000001.png ghost.png\n")
    assert_reported(root, "pair points at nothing", paths(root, "test", "ghost")["cloth"], capsys)


def test_pairs_line_naming_a_missing_person_is_reported_once(root):
    pairs = canonical.pairs_path(root, "train")
    pairs.write_text(pairs.read_text() + "ghost.png ghost.png\n")
    report = check_dataset("canonical", root, size=SIZE)
    assert {p.category for p in report.problems} == {"pair points at nothing"}
    assert [Path(p.file).name for p in report.problems] == ["ghost.png", "ghost.png"]  # image/ and cloth/
    assert (report.splits["train"].listed, report.splits["train"].with_problems) == (7, 1)


def test_transfer_pairs_with_unknown_id_or_missing_file_point_at_nothing(root, capsys):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(root, "test"))[0]
    missing = canonical.transfer_paths(root, "test", source, target)["image"]
    missing.unlink()
    transfer_pairs = canonical.transfer_pairs_path(root, "test")
    transfer_pairs.write_text(transfer_pairs.read_text() + "test_000000 test_000099\n")
    assert_reported(root, "pair points at nothing", missing, capsys)
    report = check_dataset("canonical", root, size=SIZE)
    assert any(p.file == str(transfer_pairs) and "test_000099" in p.message for p in report.problems)


def test_duplicated_pairs_line_is_a_duplicate_id(root, capsys):
    pairs = canonical.pairs_path(root, "train")
    pairs.write_text(pairs.read_text() + f"{SAMPLE}.png {SAMPLE}.png\n")
    assert_reported(root, "duplicate id", pairs, capsys)
    assert check_dataset("canonical", root, size=SIZE).splits["train"].listed == 6  # each sample read once


def test_dresscode_id_in_both_splits_is_a_duplicate_id(synthetic_root, tmp_path, capsys):
    out = tmp_path / "dc"
    dresscode.export_dresscode(synthetic_root, out)
    pairs = dresscode.pairs_path(out, "test")
    pairs.write_text(pairs.read_text() + f"{SAMPLE}_0.jpg {SAMPLE}_1.jpg\n")
    person = dresscode.sample_paths(out, SAMPLE)["_0.jpg"]
    assert_reported(out, "duplicate id", person, capsys, fmt="dresscode")


def test_viton_missing_part_index_file_is_a_missing_file(synthetic_root, tmp_path, capsys):
    out = tmp_path / "viton"
    viton.export_viton(synthetic_root, out, size=(64, 48))
    parts = viton.sample_paths(out, "test", "test_000002")["densepose"]
    parts.unlink()
    assert_reported(out, "missing file", parts, capsys, fmt="viton")


def test_missing_split_folder_and_pairs_file_are_reported(root, capsys):
    shutil.rmtree(root / "test")
    canonical.pairs_path(root, "train").unlink()
    report = check_dataset("canonical", root, size=SIZE)
    assert [(p.category, p.file) for p in report.problems] == [
        ("missing file", str(canonical.pairs_path(root, "train"))),
        ("missing file", str(root / "test")),
    ]
    assert "pairs file not found" in report.problems[0].message and "test split" in report.problems[1].message
    assert main(["data", "check", str(root), "--format", "canonical"]) == 1


def test_missing_root_exits_2_naming_the_path(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nowhere"), "--format", "viton"]) == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err


def test_option_of_another_format_exits_2(synthetic_root, capsys):
    assert main(["data", "check", str(synthetic_root), "--format", "canonical", "--category", "dresses"]) == 2
    assert "--category" in capsys.readouterr().err


def test_classification_ignores_words_of_the_file_name():
    assert classify(FileNotFoundError("/d/image-densepose/a.png: file not found")) == "missing file"
    assert classify(ValueError("/d/image-densepose/a.png: cannot read image (broken)")) == "unreadable image"
    assert classify(ValueError("/d/label_maps/a.png: DensePose part indices [30] are not valid")) == "bad DensePose"
    assert classify(ValueError("/d/image-densepose/a.png: label ids [77] are not in label map")) == "unknown label id"
    assert classify(ValueError("something unforeseen")) == "other"


def test_listing_stops_at_max_problems(root, capsys):
    for sample_id in canonical.list_ids(root, "train"):
        paths(root, "train", sample_id)["parse"].unlink()
    assert main(["data", "check", str(root), "--format", "canonical", "--max-problems", "2"]) == 1
    out = capsys.readouterr().out
    assert "6 problems, the first 2:" in out and out.count("[missing file]") == 2


# ---------------------------------------------------------------------------------- the layouts as downloaded, broken
@pytest.fixture(scope="module")
def content(synthetic_root):
    return rl.load_content(synthetic_root)


def download(layout: str, content, tmp_path: Path) -> rl.Written:
    return {
        "vitonhd": rl.write_vitonhd,
        "dresscode": rl.write_dresscode,
        "pfafn": rl.write_pfafn,
        "cpvton": rl.write_cpvton,
        "gpvton": rl.write_gpvton,
    }[layout](tmp_path / layout, content)


def checked(root: Path, capsys, *options: str) -> tuple[int, str]:
    """``data check ROOT`` without --format (unless given in ``options``): exit code and printed output."""
    code = main(["data", "check", str(root), "--size", SIZE, *options])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_named(out: str, category: str, file: Path) -> None:
    assert f"[{category}] {file}" in out, out


def test_vitonhd_rendering_declared_as_iuv_is_bad_densepose_naming_the_cause(content, tmp_path, capsys):
    written = download("vitonhd", content, tmp_path)
    code, out = checked(written.root, capsys, "--densepose-files", "iuv", "--densepose", "iuv")
    real = written.ids["train"][0]
    assert code == 1
    assert_named(out, "bad DensePose", written.root / "train/image-densepose" / f"{real}.jpg")
    assert "a JPEG cannot hold DensePose IUV (lossy): is this a colour rendering" in out


def test_vitonhd_missing_keypoint_file_and_binary_pair_list_are_named(content, tmp_path, capsys):
    written = download("vitonhd", content, tmp_path)
    real = written.ids["test"][1]
    keypoint_file = written.root / "test/openpose_json" / f"{real}_keypoints.json"
    keypoint_file.unlink()
    (written.root / "train_pairs.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "missing file", keypoint_file)
    assert_named(out, "bad pairs file", written.root / "train_pairs.txt")
    assert "binary file (NUL byte at offset 8)" in out


def test_non_utf8_pair_list_is_named(content, tmp_path, capsys):
    written = download("cpvton", content, tmp_path)
    pairs = written.root / "data" / "test_pairs.txt"
    pairs.write_bytes(pairs.read_bytes().replace(b"_0.jpg", "_0é.jpg".encode("latin-1"), 1))
    code, out = checked(written.root, capsys)
    assert code == 1 and "not UTF-8 text (byte 0xe9 at offset" in out
    assert_named(out, "bad pairs file", pairs)


def test_id_in_both_splits_is_reported_for_layouts_with_separate_split_folders(content, tmp_path, capsys):
    written = download("vitonhd", content, tmp_path)
    shared = written.ids["test"][0]
    for folder in ("image", "cloth", "cloth-mask", "image-parse-v3", "image-densepose", "openpose_json"):
        for path in (written.root / "test" / folder).glob(f"{shared}*"):
            shutil.copy(path, written.root / "train" / folder / path.name)
    with open(written.root / "train_pairs.txt", "a") as f:
        f.write(f"{shared}.jpg {shared}.jpg\n")
    code, out = checked(written.root, capsys)
    assert code == 1 and f"id '{shared}' is listed in both train and test (a leak?" in out
    assert_named(out, "duplicate id", written.root / "test/image" / f"{shared}.jpg")


def test_pair_lists_at_the_old_place_are_read_and_the_move_is_said(content, tmp_path, capsys):
    written = download("vitonhd", content, tmp_path)
    for split in ("train", "test"):
        (written.root / f"{split}_pairs.txt").rename(written.root / split / f"{split}_pairs.txt")
    code, out = checked(written.root, capsys)
    assert code == 0 and "at the old place" in out
    assert f"mv {written.root / 'test' / 'test_pairs.txt'} {written.root / 'test_pairs.txt'}" in out


def test_dresscode_cloth_on_a_busy_background_is_a_bad_garment_mask(content, tmp_path, capsys):
    written = download("dresscode", content, tmp_path)
    real = next(i for i in written.ids["train"] if written.category[("train", i)] == "upper_body")
    cloth = written.root / "upper_body/images" / f"{real}_1.jpg"
    rng = np.random.default_rng(0)
    rl.save_jpeg(cloth, rng.integers(0, 256, (64, 48, 3), dtype=np.uint8))  # a photo, no uniform background
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "bad garment mask", cloth)
    assert "add LaDI-VTON's masks/<id>_1.png" in out


def test_dresscode_uv_of_another_aspect_ratio_is_a_size_mismatch(content, tmp_path, capsys):
    written = download("dresscode", content, tmp_path)
    real = next(i for i in written.ids["test"] if written.category[("test", i)] == "upper_body")
    uv = written.root / "upper_body/dense" / f"{real}_5_uv.npz"
    np.savez_compressed(uv, uv=np.zeros((2, 64, 64), np.float32))
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "size mismatch", uv)


def test_dresscode_keypoint_file_of_17_points_is_bad_keypoints(content, tmp_path, capsys):
    written = download("dresscode", content, tmp_path)
    real = written.ids["train"][0]
    category = written.category[("train", real)]
    path = written.root / category / "keypoints" / f"{real}_2.json"
    path.write_text('{"keypoints": ' + str([[1.0, 2.0, 1.0, k] for k in range(17)]) + "}")
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "bad keypoints", path)


def test_pfafn_listings_that_do_not_match_and_fractional_part_indices(content, tmp_path, capsys):
    written = download("pfafn", content, tmp_path)
    train = written.root / "VITON_traindata"
    shutil.copy(train / "train_color" / f"{written.ids['train'][0]}_1.jpg", train / "train_color" / "999999_1.jpg")
    parts = train / "train_densepose" / f"{written.ids['train'][2]}_0.npy"
    np.save(parts, np.load(parts).astype(np.float32) + 0.5)
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "listing mismatch", train / "train_color")
    assert "1 files without a person image, e.g. ['999999']" in out
    assert_named(out, "bad DensePose", parts)


def test_cpvton_three_column_line_and_unknown_lip_id(content, tmp_path, capsys):
    written = download("cpvton", content, tmp_path)
    pairs = written.root / "data/test_pairs.txt"
    pairs.write_text(pairs.read_text() + "000001_0.jpg 000002_1.jpg upper\n")
    real = written.ids["train"][1]
    parse = written.root / "data/train/image-parse" / f"{real}_0.png"
    labels = np.asarray(Image.open(parse)).copy()
    labels[0, 0] = 25
    rl.save_palette(parse, labels)
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "bad pairs file", pairs)
    assert "has 3 fields, expected 2 (person cloth)" in out
    assert_named(out, "unknown label id", parse)


def test_gpvton_unknown_category_and_colour_densepose(content, tmp_path, capsys):
    written = download("gpvton", content, tmp_path)
    pairs = written.root / "test_pairs_paired_1018.txt"
    pairs.write_text(pairs.read_text().replace(" upper", " shoes", 1))
    real = written.ids["train"][0]
    dense = written.root / "train/densepose" / f"{real}.png"
    rl._save(dense, np.asarray(Image.open(dense).convert("RGB")) * np.array([1, 2, 3], np.uint8))
    code, out = checked(written.root, capsys)
    assert code == 1
    assert_named(out, "bad pairs file", pairs)
    assert "category 'shoes' is not one of" in out
    assert_named(out, "bad DensePose", dense)
    assert "colour channels where a grey DensePose part index is expected" in out


def test_alpha_channel_is_composited_on_white_and_warned_about(root, capsys):
    image = paths(root)["image"]
    rgb = np.asarray(Image.open(image).convert("RGB"))
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:4] = 0  # the top rows transparent
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(image)
    code, out = checked(root, capsys)
    assert code == 0 and f"{image}: has an alpha channel; composited on a white background" in out
    person = make_reader("canonical", root, size=(64, 48)).person("train", SAMPLE)
    assert torch.equal(person.image[:, :4], torch.ones_like(person.image[:, :4]))
    assert torch.equal(person.image[:, 4:], torch.from_numpy(rgb[4:].transpose(2, 0, 1).copy()).float() / 127.5 - 1)


def test_grey_part_index_given_as_iuv_is_bad_densepose(root, capsys):
    iuv = io.read_image(paths(root)["densepose"], "RGB")
    io.write_png(paths(root)["densepose"], np.ascontiguousarray(iuv[..., 0]))
    code, out = checked(root, capsys)
    assert code == 1
    assert_named(out, "bad DensePose", paths(root)["densepose"])
    assert "one channel where IUV (3 channels) is expected: a grey DensePose part-index picture?" in out
    io.write_png(paths(root)["densepose"], np.repeat(iuv[..., :1], 3, axis=-1))  # the same, saved as RGB
    code, out = checked(root, capsys)
    assert code == 1 and "all three channels are equal (a grey part-index picture saved as RGB?)" in out


def test_cv2_written_iuv_is_named_and_reads_with_iuv_bgr(root, capsys):
    reference = make_reader("canonical", root, size=(64, 48)).person("train", SAMPLE).densepose
    iuv = io.read_image(paths(root)["densepose"], "RGB")
    for sample_id in canonical.list_ids(root, "train") + canonical.list_ids(root, "test"):
        split = sample_id.split("_")[0]
        path = paths(root, split, sample_id)["densepose"]
        io.write_png(path, np.ascontiguousarray(io.read_image(path, "RGB")[..., ::-1]))  # what cv2.imwrite leaves
    code, out = checked(root, capsys, "--format", "canonical")
    assert (
        code == 1
        and "channels in V, U, I order, as cv2.imwrite writes detectron2's IUV? Use densepose_files: iuv_bgr" in out
    )
    code, out = checked(root, capsys)  # recognised: the options call for iuv_bgr
    assert code == 0 and "--densepose-files iuv_bgr" in out
    got = make_reader("canonical", root, size=(64, 48), densepose_files="iuv_bgr").person("train", SAMPLE)
    assert torch.equal(got.densepose, reference) and iuv.shape[-1] == 3


def test_folder_of_no_known_layout_exits_2_saying_what_was_looked_for(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    assert main(["data", "check", str(tmp_path / "photos")]) == 2
    assert "no known layout (looked for DressCode's" in capsys.readouterr().err
