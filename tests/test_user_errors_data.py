"""The data side of "no silent wrong results, one named line for every error": ``data check`` reports what used to
pass as OK (an empty list, a grey DensePose declared as colour renderings, a link out of the data set, a JPEG label
map under a ``.png`` name, a body-less DensePose), says a download of only the test split is one; ``export`` refuses
or converts what its layouts cannot hold (a grey part index for DressCode, VITON-HD's colour renderings, a
transparent photo's hidden colours) with the readers' own checks; the tools' arguments are named; an interrupted
``synth`` is one line and resumes to the same bytes.

The downloads are written by ``real_layouts`` exactly as they ship."""

from __future__ import annotations

import io as pyio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import real_layouts as rl
from conftest import subprocess_env
from PIL import Image
from test_user_errors import refused

from garment_transfer.cli import main
from garment_transfer.data import io
from garment_transfer.data.formats import canonical, dresscode, viton
from garment_transfer.data.synth import read_meta
from garment_transfer.data.synth import writer as synth_writer
from garment_transfer.errors import INTERRUPTED

SIZE = "64x48"


@pytest.fixture(scope="module")
def content(synthetic_root):
    return rl.load_content(synthetic_root)


@pytest.fixture
def root(synthetic_root, tmp_path) -> Path:
    """A writable copy of the 64 x 48 synthetic canonical set (6 train, 4 test)."""
    return Path(shutil.copytree(synthetic_root, tmp_path / "data"))


def checked(root: Path, capsys, *options: str) -> tuple[int, str]:
    """``data check ROOT`` (recognising the layout unless ``--format`` is in ``options``): exit code and output."""
    code = main(["data", "check", str(root), "--size", SIZE, *options])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_named(out: str, category: str, file: Path) -> None:
    assert f"[{category}] {file}" in out, out


def ids(root: Path) -> list[tuple[str, str]]:
    return [(split, i) for split in ("train", "test") for i in canonical.list_ids(root, split)]


# ------------------------------------------------------------------------------------------------ data check
def test_an_empty_train_list_beside_training_samples_is_a_problem_naming_it(content, tmp_path, capsys):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content)
    pairs = written.root / "train_pairs.txt"
    pairs.write_bytes(b"")
    code, out = checked(written.root, capsys)
    assert code == 1, out
    assert_named(out, "bad pairs file", pairs)
    assert "lists no train samples" in out


@pytest.mark.parametrize("saved", ["grey", "grey_as_rgb"])
def test_a_grey_part_index_where_colour_renderings_are_declared_is_bad_densepose(saved, content, tmp_path, capsys):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content)
    real = written.ids["train"][1]  # not the first file: the layout is still recognised as renderings
    dense = written.root / "train/image-densepose" / f"{real}.jpg"
    parts = written.source[("train", real)].iuv[..., 0]
    rl.save_jpeg(dense, parts if saved == "grey" else np.repeat(parts[..., None], 3, axis=-1))
    code, out = checked(written.root, capsys)
    assert code == 1 and "--densepose-files rendering" in out, out
    assert_named(out, "bad DensePose", dense)
    assert "grey" in out and "not a colour rendering" in out


def test_a_photo_linked_from_outside_the_data_set_is_a_problem_naming_it(content, tmp_path, capsys):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content)
    real = written.ids["train"][2]
    photo = written.root / "train/image" / f"{real}.jpg"
    elsewhere = tmp_path / "elsewhere" / "photo.jpg"
    elsewhere.parent.mkdir()
    shutil.copy(photo, elsewhere)
    photo.unlink()
    photo.symlink_to(elsewhere)
    code, out = checked(written.root, capsys)
    assert code == 1, out
    assert_named(out, "outside the data set", photo)
    assert str(elsewhere) in out


def lossy_parsing(content) -> tuple[rl.Sample, bytes]:
    """A training sample and its parsing as JPEG bytes whose decoded ids all stay CIHP ids (0..19) yet differ."""
    for sample in content["train"]:
        for quality in (95, 90, 85, 100):
            buffer = pyio.BytesIO()
            Image.fromarray(sample.parse, "L").save(buffer, format="JPEG", quality=quality)
            decoded = np.asarray(Image.open(pyio.BytesIO(buffer.getvalue())))
            if decoded.max() <= 19 and (decoded != sample.parse).any():
                return sample, buffer.getvalue()
    raise AssertionError("no sample whose JPEG parsing keeps to CIHP's ids")


def test_a_jpeg_parsing_under_a_png_name_is_a_problem_naming_it(content, tmp_path, capsys):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content)
    sample, jpeg = lossy_parsing(content)
    real = next(r for (split, r), s in written.source.items() if s is sample)
    parse = written.root / "train/image-parse-v3" / f"{real}.png"
    parse.write_bytes(jpeg)
    code, out = checked(written.root, capsys)
    assert code == 1, out
    assert_named(out, "lossy label map", parse)
    assert "JPEG" in out and ".png" in out


@pytest.mark.parametrize("layout", ["vitonhd", "canonical"])
def test_a_densepose_without_a_body_is_bad_densepose(layout, content, root, tmp_path, capsys):
    if layout == "vitonhd":
        data = rl.write_vitonhd(tmp_path / "vitonhd", content).root
        dense = canonical.sample_paths(data, "test", canonical.list_ids(data, "test")[1])["densepose"]
        rl.save_jpeg(dense, np.zeros((64, 48, 3), np.uint8))
    else:
        data = root
        dense = canonical.sample_paths(root, "train", "train_000001")["densepose"]
        io.write_png(dense, np.zeros((64, 48, 3), np.uint8))
    code, out = checked(data, capsys)
    assert code == 1, out
    assert_named(out, "bad DensePose", dense)
    assert "no body" in out


def test_a_download_of_the_test_split_only_is_a_note_not_a_problem(content, tmp_path, capsys):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content, splits=("test",))
    code, out = checked(written.root, capsys)
    assert code == 0, out
    assert "OK: no problems found" in out
    assert f"note: {written.root / 'train'}: no train split" in out


@pytest.mark.parametrize("value", ["-1", "-5"])
def test_max_problems_below_zero_is_one_line_naming_it(value, synthetic_root, capsys, workdir):
    refused(
        capsys,
        ["data", "check", str(synthetic_root), "--max-problems", value],
        f"--max-problems {value}",
        workdir=workdir,
    )


# ------------------------------------------------------------------------------------------------ export
def grey_part_index_set(root: Path) -> None:
    """Turn the canonical copy at ``root`` into a set whose ``image-densepose`` holds grey part indices."""
    for split, sample_id in ids(root):
        path = canonical.sample_paths(root, split, sample_id)["densepose"]
        io.write_png(path, np.ascontiguousarray(io.read_image(path, "RGB")[..., 0]))


def test_export_refuses_a_grey_part_index_for_dresscode_and_converts_it_for_the_others(root, tmp_path, capsys, workdir):
    grey_part_index_set(root)
    first = canonical.sample_paths(root, "train", "train_000000")["densepose"]
    line = refused(
        capsys,
        ["export", str(root), "--format", "dresscode", "--out", "exported"],
        first,
        "part index",
        "DressCode",
        workdir=workdir,
    )
    assert "U, V" in line
    parts = io.read_image(first)
    assert main(["export", str(root), "--format", "viton", "--out", str(tmp_path / "viton")]) == 0
    exported = io.read_npy(viton.sample_paths(tmp_path / "viton", "train", "train_000000")["densepose"])
    assert np.array_equal(exported, io.resize(parts, viton.SIZE, nearest=True))
    assert main(["export", str(root), "--format", "cpvton", "--out", str(tmp_path / "cpvton")]) == 0
    capsys.readouterr()
    code, out = checked(tmp_path / "cpvton", capsys)
    assert code == 0 and "--densepose-files parts" in out, out


def test_export_names_the_one_grey_densepose_among_iuv_ones(root, capsys, workdir):
    dense = canonical.sample_paths(root, "test", "test_000002")["densepose"]
    io.write_png(dense, np.ascontiguousarray(io.read_image(dense, "RGB")[..., 0]))
    refused(capsys, ["export", str(root), "--format", "dresscode", "--out", "exported"], dense, workdir=workdir)


def test_export_composites_a_transparent_person_on_white_and_says_so(root, tmp_path, capsys):
    photo = canonical.sample_paths(root, "train", "train_000001")["image"]
    rgba = np.dstack([io.read_image(photo, "RGB"), np.full((64, 48), 255, np.uint8)])
    rgba[:8, :, :3], rgba[:8, :, 3] = (255, 0, 0), 0  # hidden red under transparent rows
    Image.fromarray(rgba, "RGBA").save(photo)
    out = tmp_path / "dc"
    assert main(["export", str(root), "--format", "dresscode", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"garment-transfer export: warning: {photo}: has an alpha channel; composited on a white background" in err
    exported = io.read_image(dresscode.sample_paths(out, "train_000001")["_0.jpg"], "RGB")
    assert exported[:6].min() >= 245, "the hidden colours were exported"


@pytest.mark.parametrize("fmt", ["viton", "dresscode", "cpvton", "gpvton"])
def test_export_refuses_vitonhd_colour_renderings(fmt, content, tmp_path, capsys, workdir):
    written = rl.write_vitonhd(tmp_path / "vitonhd", content)
    first = written.root / "train/image-densepose" / f"{written.ids['train'][0]}.jpg"
    line = refused(
        capsys,
        ["export", str(written.root), "--format", fmt, "--out", "exported"],
        first,
        "colour rendering",
        workdir=workdir,
    )
    assert "cannot" in line


# ------------------------------------------------------------------------------------------------ tools
@pytest.mark.parametrize("rows", ["0", "-1"])
def test_contact_sheet_rows_below_one_is_one_line_naming_it(rows, synthetic_root, capsys, workdir):
    refused(
        capsys,
        ["contact-sheet", str(synthetic_root), "--out", "sheets/sheet.png", "--rows", rows],
        f"--rows {rows}",
        workdir=workdir,
    )


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_interrupted_in_its_loop_is_one_line_and_resumes_to_the_same_bytes(tmp_path, monkeypatch, capsys):
    args = ["synth", "--size", SIZE, "--train", "6", "--test", "4", "--workers", "1", "--quiet"]
    real, done = synth_writer._run_job, []

    def interrupt_after_three(job):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(job)
        return real(job)

    monkeypatch.setattr(synth_writer, "_run_job", interrupt_after_three)
    assert main([*args, "--out", str(tmp_path / "cut")]) == INTERRUPTED
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "garment-transfer synth: interrupted (Ctrl-C); the same command resumes where it stopped"
    ], err
    assert read_meta(tmp_path / "cut")["status"] == "generating"
    monkeypatch.setattr(synth_writer, "_run_job", real)
    assert main([*args, "--out", str(tmp_path / "cut")]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    assert tree(tmp_path / "cut") == tree(tmp_path / "whole")


def test_synth_on_several_processes_stopped_by_ctrl_c_is_one_line(tmp_path):
    """Ctrl-C in a terminal signals the whole process group: the workers too must not print tracebacks."""
    root = tmp_path / "cut"
    args = [
        sys.executable,
        "-m",
        "garment_transfer",
        "synth",
        "--size",
        SIZE,
        "--train",
        "80",
        "--test",
        "4",
        "--workers",
        "2",
        "--quiet",
    ]
    proc = subprocess.Popen(
        [*args, "--out", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
        start_new_session=True,
        # a shell's background job (CI under nohup, make &) inherits SIGINT ignored: give the child the default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list((root / "train/image").glob("*.png"))) < 6:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == INTERRUPTED, err.decode()
    assert err.decode().splitlines() == [
        "garment-transfer synth: interrupted (Ctrl-C); the same command resumes where it stopped"
    ], err.decode()
    assert read_meta(root)["status"] == "generating", "interrupted before it finished"
    assert main([*args[3:], "--out", str(root)]) == 0
    assert main([*args[3:], "--out", str(tmp_path / "whole")]) == 0
    assert tree(root) == tree(tmp_path / "whole")
