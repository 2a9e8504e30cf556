"""Writing a synthetic data set: determinism, independence of counts, resuming, meta.json, refusing bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_settings

from garment_transfer.cli import main
from garment_transfer.data.formats import canonical
from garment_transfer.data.synth import EngineConfig, SynthSettings, generate, read_meta


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_whatever_the_workers(tmp_path):
    generate(tmp_path / "a", tiny_settings(), workers=1, progress=False)
    generate(tmp_path / "b", tiny_settings(), workers=2, progress=False)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) > 50 and a == b


def test_another_seed_gives_other_files(tmp_path):
    generate(tmp_path / "a", tiny_settings(), workers=1, progress=False)
    generate(tmp_path / "b", tiny_settings(seed=1), workers=1, progress=False)
    name = "train/image/train_000000.png"
    assert tree(tmp_path / "a")[name] != tree(tmp_path / "b")[name]


def test_sample_i_does_not_depend_on_how_many_are_generated(tmp_path):
    generate(tmp_path / "few", tiny_settings(train=3, test=2), workers=1, progress=False)
    generate(tmp_path / "many", tiny_settings(train=7, test=5), workers=1, progress=False)
    few, many = tree(tmp_path / "few"), tree(tmp_path / "many")
    shared = [name for name in few if name.startswith(("train/", "test/")) and "transfer" not in name]
    assert len(shared) == 5 * 11  # person, cloth, mask, parsing, DensePose; keypoints, skeleton, 2 parts, 2 agnostic
    assert all(few[name] == many[name] for name in shared)


def test_meta_json_regenerates_the_same_data_set(tmp_path):
    settings = tiny_settings(config=EngineConfig(cross_arm_rate=0.5, scale=(0.8, 0.9)))
    generate(tmp_path / "a", settings, workers=1, progress=False)
    meta = read_meta(tmp_path / "a")
    assert meta["status"] == "complete" and meta["settings"]["seed"] == 0
    again = SynthSettings.from_dict(meta["settings"])
    assert again == settings
    generate(tmp_path / "b", again, workers=1, progress=False)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_rerun_skips_finished_samples_and_rewrites_missing_ones(tmp_path):
    root = tmp_path / "data"
    generate(root, tiny_settings(), workers=1, progress=False)
    before = tree(root)
    (root / "train/image/train_000002.png").unlink()
    (root / "test/transfer/flow").joinpath(sorted(os.listdir(root / "test/transfer/flow"))[0]).unlink()
    (root / "train/image/.train_000003.png.tmp-999").write_bytes(b"half a file")
    report = generate(root, tiny_settings(), workers=1, progress=False)
    assert report.written == 2 and report.skipped > 0
    assert tree(root) == before


def test_killed_run_resumes_to_the_same_files(tmp_path):
    settings = dict(train=150, test=10)
    script = (
        "import sys; sys.path.insert(0, 'tests'); from conftest import tiny_settings; "
        "from garment_transfer.data.synth import generate; "
        f"generate(sys.argv[1], tiny_settings(**{settings}), workers=1, progress=False)"
    )
    root = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", script, str(root)], cwd=Path(__file__).parents[1])
    deadline = time.time() + 60
    while time.time() < deadline and len(list((root / "train/image").glob("*.png"))) < 20:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_meta(root)["status"] == "generating", "the run was killed before it finished"
    report = generate(root, tiny_settings(**settings), workers=2, progress=False)
    assert report.skipped >= 20
    generate(tmp_path / "clean", tiny_settings(**settings), workers=2, progress=False)
    assert tree(root) == tree(tmp_path / "clean")


@pytest.mark.parametrize(
    "settings, message",
    [
        (tiny_settings(height=100, width=75), "multiples of 16"),
        (tiny_settings(height=32, width=32), "smallest size"),
        (tiny_settings(train=0, test=2), "--train 0"),
        (tiny_settings(train=2, test=1), "at least 2 samples"),
        (tiny_settings(categories=("upper", "shoes")), "--categories upper,shoes: give one or more of upper"),
        (tiny_settings(categories=("lower", "lower")), "each once"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "out", settings, workers=1, progress=False)
    assert not (tmp_path / "out").exists()


def test_folder_generated_with_other_settings_is_refused_and_untouched(tmp_path):
    root = tmp_path / "data"
    generate(root, tiny_settings(), workers=1, progress=False)
    before = tree(root)
    with pytest.raises(FileExistsError, match=r"other settings \(seed: 0 there, 1 asked\)"):
        generate(root, tiny_settings(seed=1), workers=1, progress=False)
    assert tree(root) == before


def test_unwritable_or_foreign_destinations_are_refused(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="file.txt is a file"):
        generate(blocker / "sub", tiny_settings(), workers=1, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        generate(foreign, tiny_settings(), workers=1, progress=False)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_synth_command_writes_the_layout_and_reports_bad_arguments(tmp_path, capsys):
    out = tmp_path / "cli"
    assert (
        main(
            ["synth", "--out", str(out), "--size", "64x48", "--train", "2", "--test", "2", "--workers", "1", "--quiet"]
        )
        == 0
    )
    assert canonical.list_ids(out, "train") == ["train_000000", "train_000001"]
    assert canonical.read_pairs(canonical.transfer_pairs_path(out, "test")) == [
        ("test_000001", "test_000000"),
        ("test_000000", "test_000001"),
    ]
    sample = canonical.read_sample(out, "test", "test_000001")
    assert sample.image.shape == (64, 48, 3) and sample.parse.dtype == np.uint8
    assert main(["synth", "--out", str(tmp_path / "x"), "--size", "65x48", "--quiet"]) == 2
    assert "size 65x48: height and width must be multiples of 16" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_synth_command_reads_an_engine_config_file(tmp_path, capsys):
    config = tmp_path / "engine.yaml"
    config.write_text("cross_arm_rate: 0.9\nnot_a_key: 1\n")
    assert main(["synth", "--out", str(tmp_path / "o"), "--size", "64x48", "--config", str(config), "--quiet"]) == 2
    assert "engine.yaml: engine config: unknown keys ['not_a_key']" in capsys.readouterr().err


def test_engine_yaml_lists_the_engine_defaults():
    from omegaconf import OmegaConf

    listed = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[1] / "conf/data/engine.yaml"))
    assert set(listed) == set(EngineConfig().to_dict()), "every engine parameter is listed"
    assert EngineConfig.from_dict(listed) == EngineConfig()


def test_contact_sheet_shows_the_test_transfer_pairs(synthetic_root, tmp_path):
    from garment_transfer.data import io
    from garment_transfer.data.contact_sheet import COLUMNS, HEADER

    out = tmp_path / "sheet.png"
    assert main(["contact-sheet", str(synthetic_root), "--out", str(out), "--rows", "3"]) == 0
    sheet = io.read_image(out, "RGB")
    zoom = 192 // 48
    assert sheet.shape == (3 * 64 * zoom + HEADER, len(COLUMNS) * 48 * zoom, 3)
    assert json.loads((synthetic_root / "meta.json").read_text())["status"] == "complete"
