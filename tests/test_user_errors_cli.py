"""The command line's error catalogue, beyond ``test_user_errors.py``: bad configs and trainer limits, run folders
that cannot be made, disks that fill, interrupted commands, and the results that must not be silently wrong (a
transparent result, results of two data sets, an init checkpoint of another size, a photo too small to dress)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_parsing_config
from PIL import Image
from test_user_errors import CONF, SIZE, TRAINER, fit, pipeline_test, refused, transfer

from garment_transfer.callbacks.checkpointing import AtomicCheckpointIO
from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.cli import main
from garment_transfer.errors import INTERRUPTED, UserError
from garment_transfer.evaluation.folder import read_result


def write(path: Path, content) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# ------------------------------------------------------------------------------------------------ configs
def test_unknown_keys_and_class_paths_are_one_line_naming_the_key(synthetic_root, capsys, workdir):
    line = refused(
        capsys,
        fit("tryon_parsing/cpu.yaml", synthetic_root, "--model.init_args.nonsense", "1"),
        "model (TryOnParsingModule)",
        "'nonsense'",
        workdir=workdir,
    )
    assert "usage" not in line
    refused(
        capsys,
        fit("tryon_parsing/cpu.yaml", synthetic_root, "--model", "garment_transfer.nowhere.Module"),
        "garment_transfer.nowhere.Module",
        workdir=workdir,
    )


def test_an_unknown_key_in_a_config_file_names_the_file(synthetic_root, capsys, workdir, tmp_path):
    typo = write(tmp_path / "typo.yaml", "model:\n  init_args:\n    widht: tiny\n")
    refused(capsys, [*fit("tryon_parsing/cpu.yaml", synthetic_root), "-c", str(typo)], typo, "widht", workdir=workdir)
    trainer_typo = write(tmp_path / "trainer_typo.yaml", "trainer:\n  max_epoch: 3\n")
    refused(
        capsys,
        [*fit("tryon_parsing/cpu.yaml", synthetic_root), "-c", str(trainer_typo)],
        trainer_typo,
        "max_epoch",
        workdir=workdir,
    )


@pytest.mark.parametrize(
    "content, words",
    [
        ("[]\n", "holds a list"),
        ("hello\n", "holds a str"),
        (b"\x7fELF\x02\x01\xd0\xff\xfe", "not UTF-8"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
    ids=["list", "string", "binary", "broken"],
)
def test_a_config_that_is_not_a_mapping_is_one_line_naming_it(content, words, capsys, workdir, tmp_path):
    bad = write(tmp_path / "bad.yaml", content)
    refused(capsys, ["fit", *TRAINER, "-c", str(bad)], bad, words, workdir=workdir)


@pytest.mark.parametrize(
    "flag, value, named",
    [
        ("--trainer.max_steps", "-5", "trainer.max_steps -5"),
        ("--trainer.max_epochs", "0", "trainer.max_epochs 0"),
        ("--trainer.max_epochs", "-3", "trainer.max_epochs -3"),
        ("--model.init_args.lr", "-1", "model.init_args.lr"),
        ("--model.init_args.betas", "[0.5, 1.5]", "model.init_args.betas"),
    ],
)
def test_limits_and_rates_out_of_range_are_refused_before_a_folder_is_made(
    flag, value, named, synthetic_root, capsys, workdir
):
    refused(capsys, fit("tryon_parsing/cpu.yaml", synthetic_root, flag, value), named, workdir=workdir)


@pytest.mark.parametrize("where", ["proc", "file", "under_file"])
def test_a_run_folder_that_cannot_be_made_is_one_line_before_any_work(where, synthetic_root, capsys, workdir, tmp_path):
    blocker = write(tmp_path / "blocker", "x")
    root = {"proc": Path("/proc/garment-transfer-run"), "file": blocker, "under_file": blocker / "run"}[where]
    args = [*fit("tryon_parsing/cpu.yaml", synthetic_root), "--trainer.default_root_dir", str(root)]
    refused(capsys, args, "trainer.default_root_dir", root, workdir=workdir)


def test_limit_batches_1_means_one_batch(synthetic_root, tmp_path):
    config = tiny_parsing_config(
        synthetic_root, tmp_path / "run", max_epochs=2, limit_train_batches=1, limit_val_batches=1, logger=False
    )
    path = write(tmp_path / "one.yaml", json.dumps(config))
    assert main(["fit", "-c", str(path)]) == 0
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["global_step"] == 2


# ------------------------------------------------------------------------------------------------ interruption
def test_ctrl_c_ends_a_fit_with_one_line_and_exit_code_130(synthetic_root, tmp_path, capsys):
    config = tiny_parsing_config(
        synthetic_root,
        tmp_path / "run",
        max_epochs=1,
        limit_train_batches=3,
        limit_val_batches=1,
        logger=False,
        callbacks=[{"class_path": "test_resume_matrix.Interrupt", "init_args": {"how": "ctrl_c", "step": 1}}],
    )
    path = write(tmp_path / "config.yaml", json.dumps(config))
    assert main(["fit", "-c", str(path)]) == INTERRUPTED
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("garment-transfer")]
    assert lines == [
        "garment-transfer fit: interrupted (Ctrl-C); fit --ckpt_path last resumes from the last checkpoint"
    ]


def test_ctrl_c_ends_a_tool_with_one_line_and_exit_code_130(monkeypatch, capsys):
    from garment_transfer.tools import sizes

    def stop(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sizes, "run", stop)
    assert main(["sizes"]) == INTERRUPTED
    err = capsys.readouterr().err
    assert "garment-transfer sizes: interrupted (Ctrl-C)" in err and "Traceback" not in err


def test_ctrl_c_in_a_tool_that_cannot_resume_does_not_promise_a_resume(monkeypatch, capsys):
    from garment_transfer.tools import sizes

    def stop(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sizes, "run", stop)
    assert main(["sizes"]) == INTERRUPTED
    assert "sizes: interrupted (Ctrl-C); nothing is resumed; run the command again" in capsys.readouterr().err


def test_a_non_finite_loss_ends_the_command_with_one_line_and_exit_code_1(synthetic_root, tmp_path, capsys):
    config = tiny_parsing_config(synthetic_root, tmp_path / "run", max_epochs=1, limit_train_batches=5, logger=False)
    config["model"] = {
        "class_path": "test_fault_tolerance.NaNSelfStudyAtStep2",
        "init_args": {"width": "tiny", "phases": {"self_study": {"self": 1.0}}},
    }
    config["data"]["class_path"] = (
        "garment_transfer.stages.distilled_transfer.transfer_parsing.TransferParsingDataModule"
    )
    assert main(["fit", "-c", str(write(tmp_path / "nan.yaml", json.dumps(config)))]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("garment-transfer")]
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("garment-transfer fit: stopped: stage NaNSelfStudyAtStep2")
    assert "global step 2" in lines[0] and "--ckpt_path last resumes from it" in lines[0]


@pytest.mark.parametrize("content", [b"garbage bytes", bytes(range(256)) * 2], ids=["text", "binary"])
def test_a_damaged_checkpoint_says_what_is_wrong_with_it(content, tmp_path):
    from garment_transfer.checkpoints import safe_load

    bad = write(tmp_path / "bad.ckpt", content)
    with pytest.raises(ValueError, match=r"bad.ckpt: cannot read checkpoint \(not a torch file, or damaged: \w") as e:
        safe_load(bad, "checkpoint")
    assert "damaged: )" not in str(e.value) and "WeightsUnpickler" not in str(e.value)


# ------------------------------------------------------------------------------------------------ full disks
def test_a_write_that_fails_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    from garment_transfer.data import io

    target = write(tmp_path / "metrics.json", "{}")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "replace", full)
    with pytest.raises(UserError, match=r"metrics.json: cannot write \(No space left on device\)"):
        io.atomic_write_json(target, {"a": 1})
    assert target.read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_checkpoint_write_that_fails_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, path)

    def full(obj, f, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(UserError, match=r"last.ckpt: cannot write the checkpoint .*the previous one is intact"):
        AtomicCheckpointIO().save_checkpoint({"step": 2}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_a_pipeline_evaluation_that_cannot_finish_leaves_no_half_set_of_results(
    synthetic_root, stage_checkpoints, tmp_path, monkeypatch, capsys
):
    from garment_transfer.stages.pipeline import lightning_module

    written = []
    real = lightning_module.save_images

    def fill_the_disk(folder, names, images, palette=False):
        if written:
            raise UserError(f"{folder / names[0]}.png: cannot write (No space left on device)")
        written.append(folder)
        real(folder, names, images, palette)

    monkeypatch.setattr(lightning_module, "save_images", fill_the_disk)
    monkeypatch.chdir(tmp_path)
    args = [
        *pipeline_test(synthetic_root, stage_checkpoints),
        "--data.init_args.eval_batch_size",
        "2",
        "--trainer.logger",
        "false",
    ]
    assert main(args) == 2
    assert "No space left on device" in capsys.readouterr().err
    results = tmp_path / "runs" / "test" / "results"
    assert not results.exists(), "no results folder without its metrics"
    monkeypatch.setattr(lightning_module, "save_images", real)
    assert main(args) == 0
    assert (results / "metrics.json").is_file() and not (results.parent / "results.partial").exists()
    assert len(list((results / "transfer").glob("*.png"))) == 4


# ------------------------------------------------------------------------------------------------ tools
def test_tool_arguments_out_of_range_are_one_line(synthetic_root, capsys, workdir, tmp_path):
    refused(
        capsys,
        ["evaluate", "--results", str(tmp_path), "--data", str(synthetic_root), "--batch-size", "0"],
        "--batch-size 0",
        workdir=workdir,
    )
    refused(
        capsys, ["evaluate", "--results", str(tmp_path), "--device", "banana"], "--device 'banana'", workdir=workdir
    )
    if not torch.cuda.is_available():
        refused(
            capsys,
            ["evaluate", "--results", str(tmp_path), "--device", "cuda"],
            "--device cuda",
            "no CUDA",
            workdir=workdir,
        )
    refused(
        capsys,
        ["report", str(tmp_path), "--data", str(synthetic_root), "--out", "r.md", "--pairs", "0"],
        "--pairs 0",
        workdir=workdir,
    )


@pytest.mark.parametrize(
    "content",
    ["{", b"\x89PNG\r\n\x1a\n\x00\x00", "5", '{"title": "x"}'],
    ids=["broken", "binary", "number", "no_protocols"],
)
def test_compare_on_a_metrics_file_that_is_not_one_names_it(content, synthetic_root, capsys, workdir, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    metrics = write(folder / "metrics.json", content)
    refused(
        capsys,
        ["compare", "--data", str(synthetic_root), "--out", "c.md", "--method", f"a={folder}"],
        metrics,
        "not an evaluation result",
        workdir=workdir,
    )


@pytest.mark.parametrize(
    "content, named",
    [
        ("model: [1, 2]\n", "model must be a mapping"),
        ("model:\n  class_path: x\n  init_args: {teacher_checkpoint: 5}\n", "a checkpoint must be a path"),
    ],
)
def test_preflight_on_a_malformed_config_names_the_section(content, named, capsys, workdir, tmp_path):
    config = write(tmp_path / "plan.yaml", content)
    assert main(["preflight", str(config)]) == 2
    err = capsys.readouterr().err
    assert named in err and str(config) in err and "Traceback" not in err


def test_sizes_says_which_network_it_is_measuring(capsys):
    assert main(["sizes", "--size", "64x48", "--width", "tiny", "--method", "pfafn"]) == 0
    err = capsys.readouterr().err
    assert "sizes: measuring [1/5] pfafn: PB-AFWM parser-based warp at 64 x 48" in err


# ------------------------------------------------------------------------------------------------ silent results
def test_a_transparent_result_is_refused_and_an_opaque_rgba_one_is_read(tmp_path):
    rgba = np.zeros((8, 6, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, 255
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    assert (read_result(tmp_path / "opaque.png") == 200).all()
    rgba[:2, :, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    with pytest.raises(ValueError, match=r"clear.png: 12 of 48 pixels are transparent"):
        read_result(tmp_path / "clear.png")


def test_evaluate_warns_when_a_protocols_folder_is_scored_under_another(
    synthetic_root, stage_checkpoints, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main([*pipeline_test(synthetic_root, stage_checkpoints), "--trainer.logger", "false"]) == 0
    transfer_results = tmp_path / "runs" / "test" / "results" / "transfer"
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--results",
                str(transfer_results),
                "--data",
                str(synthetic_root),
                "--protocol",
                "retransfer",
                "--metrics",
                "mse",
            ]
        )
        == 0
    )
    assert (
        "holds the pipeline's 'transfer' results and is scored under --protocol retransfer" in capsys.readouterr().err
    )


def test_results_of_two_data_sets_are_not_set_side_by_side(
    synthetic_root, stage_checkpoints, tmp_path, capsys, monkeypatch, workdir
):
    from conftest import tiny_settings

    from garment_transfer.data.synth import generate

    other = tmp_path / "other"
    generate(other, tiny_settings(seed=3), workers=1, progress=False)
    for name, root in (("a", synthetic_root), ("b", other)):
        args = [
            *pipeline_test(root, stage_checkpoints),
            "--trainer.logger",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path / name),
        ]
        assert main(args) == 0
    first, second = tmp_path / "a" / "results", tmp_path / "b" / "results"
    assert json.loads((first / "metrics.json").read_text())["data"]["root"] == str(synthetic_root)
    refused(
        capsys,
        [
            "compare",
            "--data",
            str(synthetic_root),
            "--out",
            "c.md",
            "--method",
            f"a={first}",
            "--method",
            f"b={second}",
        ],
        "evaluated on",
        second,
        workdir=workdir,
    )
    runs = tmp_path / "runs_b"
    (runs / "pipeline").mkdir(parents=True)
    (runs / "pipeline" / "results").symlink_to(second)
    refused(
        capsys,
        ["report", str(runs), "--data", str(synthetic_root), "--out", "r.md"],
        "another data set",
        str(synthetic_root),
        workdir=workdir,
    )


def test_an_init_checkpoint_of_another_size_is_refused(synthetic_root, pfafn_checkpoints, tmp_path, capsys, workdir):
    other = read_checkpoint(pfafn_checkpoints["pb_warping"])
    other["datamodule_hyper_parameters"] = {**other["datamodule_hyper_parameters"], "size": "128x96"}
    path = tmp_path / "pb_warping_128.ckpt"
    torch.save(other, path)
    args = [
        "fit",
        *TRAINER,
        "-c",
        str(CONF / "pfafn" / "pb_tryon" / "cpu.yaml"),
        "--data.init_args.root",
        str(synthetic_root),
        "--data.init_args.size",
        SIZE,
        "--model.init_args.warp_checkpoint",
        str(path),
        "--trainer.default_root_dir",
        "runs/test",
    ]
    line = refused(capsys, args, path, "trained at 128x96", workdir=workdir)
    assert "64x48" in line


def test_a_photo_too_small_to_dress_is_refused(synthetic_root, stage_checkpoints, tmp_path, capsys, workdir):
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    line = refused(
        capsys,
        [*transfer(synthetic_root, stage_checkpoints, tmp_path / "out.png"), "--target", str(tiny)],
        tiny,
        "1x1",
        workdir=workdir,
    )
    assert "smallest" in line and not (tmp_path / "out.png").exists()
