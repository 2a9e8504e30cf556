"""``garment-transfer data check``: a clean data set passes in every format; each way of breaking a copy of one is
reported under its category, naming the broken file, and makes the command exit with 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from garment_transfer.cli import main
from garment_transfer.data import io
from garment_transfer.data.check import check_dataset, classify, format_report
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.labels import CIHP

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
    parts = viton.sample_paths(out, "test", "test_000002")["parts"]
    parts.unlink()
    assert_reported(out, "missing file", parts, capsys, fmt="viton")


def test_missing_split_folder_and_pairs_file_are_reported(root, capsys):
    shutil.rmtree(root / "test")
    canonical.pairs_path(root, "train").unlink()
    report = check_dataset("canonical", root, size=SIZE)
    assert [(p.category, p.file) for p in report.problems] == [
        ("missing file", str(canonical.pairs_path(root, "train"))), ("missing file", str(root / "test"))]
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
