"""The catalogue of a careless or hostile user's mistakes: every command ends with one line naming the file or
argument (exit code 2), prints no traceback, and creates nothing; no file is ever unpickled with code; wrong
checkpoints are refused; limits hold. The good cases next to them still work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import untrained_checkpoint

from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.cli import main
from garment_transfer.data.readers import make_reader
from garment_transfer.errors import UserError, one_line, user_error
from garment_transfer.models.distilled_transfer import TRYON_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.distilled_transfer.tryon_parsing import TryOnParsingModule

CONF = Path(__file__).parents[1] / "conf"
TRAINER = ["-c", str(CONF / "trainer" / "cpu.yaml")]
STAGE = CONF / "distilled_transfer"
SIZE = "64x48"


class Payload:
    """Unpickling this runs ``open(marker, "w")``: a checkpoint that would create a file when loaded unsafely."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture
def payload(tmp_path) -> tuple[Path, Path]:
    """``(checkpoint with a payload, the file the payload would create)``."""
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.ckpt"
    torch.save(
        {
            "state_dict": {},
            "hyper_parameters": {"width": "tiny", "pose_channels": 3},
            "datamodule_hyper_parameters": Payload(marker),
        },
        path,
    )
    return path, marker


def refused(capsys, argv: list[str], *named: str, workdir: Path | None = None) -> str:
    """Run the command; assert exit code 2, one line on stderr naming every ``named``, no traceback, nothing made."""
    before = sorted(workdir.rglob("*")) if workdir is not None else None
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("garment-transfer")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    for name in named:
        assert str(name) in lines[0], (name, lines[0])
    if workdir is not None:
        assert sorted(workdir.rglob("*")) == before, "a failed command created files"
    return lines[0]


def fit(config: str, root, *extra: str) -> list[str]:
    return [
        "fit",
        *TRAINER,
        "-c",
        str(STAGE / config),
        "--data.init_args.root",
        str(root),
        "--data.init_args.size",
        SIZE,
        "--trainer.default_root_dir",
        "runs/test",
        *extra,
    ]


def pipeline_test(root, checkpoints: dict, *extra: str) -> list[str]:
    roles = {
        "parsing": checkpoints["transfer_parsing"],
        "warping": checkpoints["transfer_warping"],
        "regrowth": checkpoints["arm_regrowth"],
    }
    return [
        "test",
        *TRAINER,
        "-c",
        str(CONF / "pipeline" / "cpu.yaml"),
        "-c",
        str(STAGE / "evaluate" / "ours.yaml"),
        "--data.init_args.root",
        str(root),
        "--data.init_args.size",
        SIZE,
        "--trainer.default_root_dir",
        "runs/test",
        "--model.init_args.checkpoints",
        json.dumps(roles),
        *extra,
    ]


def user_files(root, split: str = "test") -> list[str]:
    reader = make_reader("canonical", root, size=SIZE)
    source, target = reader.ids(split)[:2]
    flags = []
    for side, sample in (("source", source), ("target", target)):
        files = reader.read_raw(split, sample).files
        flags += [
            f"--{side}",
            str(files["image"]),
            f"--{side}-parsing",
            str(files["labels"]),
            f"--{side}-densepose",
            str(files["densepose"]),
        ]
    return flags


def transfer(root, checkpoints: dict, out: Path, **overrides: str) -> list[str]:
    roles = {
        "parsing": checkpoints["transfer_parsing"],
        "warping": checkpoints["transfer_warping"],
        "regrowth": checkpoints["arm_regrowth"],
    }
    flags = [x for role, path in roles.items() for x in ("--checkpoint", f"{role}={path}")]
    flags += [x for k, v in overrides.items() for x in (f"--{k.replace('_', '-')}", v)]
    return ["transfer", *user_files(root), *flags, "--out", str(out)]


# ------------------------------------------------------------------------------------------ no code runs from a file
def test_the_payload_really_runs_code_when_loaded_unsafely(payload, tmp_path):
    path, marker = payload
    torch.load(path, weights_only=False)  # what the project never does
    assert marker.exists()


def results_folder(root, folder: Path) -> Path:
    """Result images for the data set's evaluation pairs (the targets themselves), named as the pipeline names them."""
    reader = make_reader("canonical", root, size=SIZE)
    folder.mkdir(parents=True, exist_ok=True)
    for source, target in reader.truth_pairs("test"):
        (folder / f"{source}__{target}.png").write_bytes(
            Path(reader.read_raw("test", target).files["image"]).read_bytes()
        )
    return folder


def test_no_checkpoint_path_runs_the_payload(payload, synthetic_root, stage_checkpoints, capsys, workdir, tmp_path):
    path, marker = payload
    evil = str(path)
    results = str(results_folder(synthetic_root, tmp_path / "results"))
    cases = [
        fit("transfer_parsing/cpu.yaml", synthetic_root, "--model.init_args.teacher_checkpoint", evil),
        fit("tryon_parsing/cpu.yaml", synthetic_root, "--ckpt_path", evil),
        fit(
            "transfer_warping/cpu.yaml",
            synthetic_root,
            "--model.init_args.teacher_checkpoint",
            evil,
            "--model.init_args.parsing_checkpoint",
            stage_checkpoints["transfer_parsing"],
        ),
        fit("arm_regrowth/cpu.yaml", synthetic_root, "--model.init_args.parsing_checkpoint", evil),
        pipeline_test(synthetic_root, {**stage_checkpoints, "transfer_parsing": evil}),
        pipeline_test(synthetic_root, stage_checkpoints, "--model.init_args.inception", evil),
        fit(
            "tryon_warping/cpu.yaml",
            synthetic_root,
            "--model.init_args.vgg_weights",
            evil,
            "--model.init_args.allow_random_vgg",
            "false",
        ),
        transfer(synthetic_root, {**stage_checkpoints, "arm_regrowth": evil}, tmp_path / "out.png"),
        [
            "evaluate",
            "--results",
            results,
            "--data",
            str(synthetic_root),
            "--protocol",
            "unpaired",
            "--inception",
            evil,
        ],
        ["evaluate", "--results", results, "--data", str(synthetic_root), "--lpips", evil, "--lpips-backbone", evil],
    ]
    for argv in cases:
        line = refused(capsys, argv, evil, workdir=workdir)
        assert "refused" in line and "could run code" in line, line
        assert not marker.exists(), f"{argv[0]} ran the payload"


# ------------------------------------------------------------------------------------------- wrong checkpoints
def test_a_checkpoint_of_another_stage_is_refused_where_it_is_used(
    synthetic_root, stage_checkpoints, capsys, workdir, tmp_path
):
    student, teacher = stage_checkpoints["transfer_parsing"], stage_checkpoints["tryon_parsing"]
    line = refused(
        capsys,
        fit("transfer_parsing/cpu.yaml", synthetic_root, "--model.init_args.teacher_checkpoint", student),
        student,
        workdir=workdir,
    )
    assert "must be a checkpoint of TryOnParsingModule" in line and "this is TransferParsingModule" in line
    line = refused(
        capsys,
        transfer(synthetic_root, {**stage_checkpoints, "transfer_parsing": teacher}, tmp_path / "out.png"),
        teacher,
        workdir=workdir,
    )
    assert "must be a checkpoint of TransferParsingModule" in line and "this is TryOnParsingModule" in line
    refused(
        capsys,
        pipeline_test(synthetic_root, {**stage_checkpoints, "transfer_warping": stage_checkpoints["tryon_warping"]}),
        stage_checkpoints["tryon_warping"],
        "checkpoints.warping",
        workdir=workdir,
    )
    line = refused(
        capsys,
        fit("tryon_parsing/cpu.yaml", synthetic_root, "--ckpt_path", student),
        "--ckpt_path",
        student,
        workdir=workdir,
    )
    assert "TransferParsingModule" in line and "TryOnParsingModule" in line


def test_checkpoints_of_another_size_are_refused(synthetic_root, stage_checkpoints, capsys, workdir, tmp_path):
    """A pipeline at 128 x 96 reading 64 x 48 networks, and a transfer mixing two sizes."""
    line = refused(
        capsys,
        pipeline_test(synthetic_root, stage_checkpoints, "--data.init_args.size", "128x96"),
        "trained at 64x48",
        "128x96",
        workdir=workdir,
    )
    other = read_checkpoint(stage_checkpoints["arm_regrowth"])
    other["datamodule_hyper_parameters"] = {**other["datamodule_hyper_parameters"], "size": "128x96"}
    torch.save(other, tmp_path / "r128.ckpt")
    line = refused(
        capsys,
        transfer(
            synthetic_root, {**stage_checkpoints, "arm_regrowth": str(tmp_path / "r128.ckpt")}, tmp_path / "out.png"
        ),
        "r128.ckpt",
        workdir=workdir,
    )
    assert "128x96" in line and "64x48" in line
    assert not (tmp_path / "out.png").exists()


def test_a_frozen_net_refuses_another_densepose_encoding(tmp_path):
    path = untrained_checkpoint(TryOnParsingModule(width="tiny"), tmp_path / "tp.ckpt")
    with pytest.raises(ValueError, match="pose_channels=3, this stage has pose_channels=25"):
        FrozenNet.from_checkpoint(path, {TRYON_PARSING: build_parsing_net}, pose_channels=25)


# --------------------------------------------------------------------------------- missing, truncated, bad values
def test_missing_and_truncated_files_are_one_line(synthetic_root, stage_checkpoints, capsys, workdir, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(Path(stage_checkpoints["tryon_parsing"]).read_bytes()[:4000])
    missing = tmp_path / "missing.ckpt"
    for path in (missing, truncated):
        refused(
            capsys,
            fit("transfer_parsing/cpu.yaml", synthetic_root, "--model.init_args.teacher_checkpoint", str(path)),
            path,
            workdir=workdir,
        )
        refused(capsys, fit("tryon_parsing/cpu.yaml", synthetic_root, "--ckpt_path", str(path)), path, workdir=workdir)
    refused(
        capsys,
        fit("tryon_parsing/cpu.yaml", tmp_path / "no_data"),
        "data.init_args.root",
        tmp_path / "no_data",
        workdir=workdir,
    )


@pytest.mark.parametrize(
    "flag, value, named",
    [
        ("--data.init_args.batch_size", "0", "data.init_args.batch_size"),
        ("--data.init_args.eval_batch_size", "-1", "data.init_args.eval_batch_size"),
        ("--data.init_args.num_workers", "-2", "data.init_args.num_workers"),
        ("--data.init_args.size", "100x96", "100x96"),
        ("--data.init_args.size", "100000x100000", "100000x100000"),
        ("--data.init_args.train_pairs", "sideways", "sideways"),
    ],
)
def test_bad_values_are_one_line_before_any_work(flag, value, named, synthetic_root, capsys, workdir):
    refused(capsys, fit("tryon_parsing/cpu.yaml", synthetic_root, flag, value), named, workdir=workdir)


def test_a_schedule_naming_phases_the_model_lacks_is_one_line_before_any_work(
    synthetic_root, capsys, workdir, tmp_path
):
    """The teacher-free cycle baseline (one phase, ``self_study``) under the base config's three-phase schedule: what
    the shipped overlay replaces; without it the run used to fail after creating its folders."""
    overlay = tmp_path / "cycle_without_schedule.yaml"
    overlay.write_text(
        "model:\n  init_args:\n    teacher_checkpoint: null\n    phases:\n      self_study: {self: 1.0}\n"
    )
    line = refused(
        capsys,
        fit("transfer_parsing/cpu.yaml", synthetic_root, "-c", str(overlay)),
        "trainer.callbacks PhaseSchedule",
        "feature",
        "TransferParsingModule",
        workdir=workdir,
    )
    assert "self_study" in line


def test_synth_bounds_its_size_and_workers_before_writing(capsys, workdir):
    refused(
        capsys,
        ["synth", "--out", "huge", "--size", "100000x100000", "--train", "2", "--test", "2"],
        "100000x100000",
        workdir=workdir,
    )
    assert (
        main(
            ["synth", "--out", "tiny", "--size", SIZE, "--train", "2", "--test", "2", "--workers", "100000", "--quiet"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"this machine has {os.cpu_count()} cores; using {os.cpu_count()}" in out
    assert (workdir / "tiny" / "meta.json").is_file()


def test_a_failed_export_leaves_nothing_behind(capsys, workdir, tmp_path):
    not_a_dataset = tmp_path / "plain"
    (not_a_dataset / "train").mkdir(parents=True)
    refused(capsys, ["export", str(not_a_dataset), "--format", "viton", "--out", "exported"], workdir=workdir)
    assert not list(workdir.iterdir())


def test_transfer_checks_where_it_writes_before_any_work(synthetic_root, stage_checkpoints, capsys, workdir, tmp_path):
    folder = tmp_path / "taken.png"
    folder.mkdir()
    refused(capsys, transfer(synthetic_root, stage_checkpoints, folder), "--out", folder, workdir=workdir)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    refused(capsys, transfer(synthetic_root, stage_checkpoints, blocker / "out.png"), "--out", blocker, workdir=workdir)


# ------------------------------------------------------------------------------------------- what counts as whose
def test_user_errors_are_found_through_the_cli_wrapping_and_bugs_are_not():
    try:
        try:
            raise FileNotFoundError("x.ckpt: checkpoint not found")
        except FileNotFoundError as inner:
            raise ValueError("Does not validate against any of the Union subtypes\nErrors: ...") from inner
    except ValueError as wrapped:
        assert isinstance(user_error(wrapped, started=False), (ValueError, FileNotFoundError))
        assert user_error(wrapped, started=True) is None, "after the start only a UserError is the user's"
    assert user_error(TypeError("a bug"), started=False) is None
    assert isinstance(user_error(UserError("bad file"), started=True), UserError)
    assert one_line(ValueError("a\n  b\n")) == "a; b"


# --------------------------------------------------------------------------------------- the good ones stay good
def test_the_same_commands_with_good_inputs_get_past_the_checks(
    synthetic_root, stage_checkpoints, capsys, workdir, tmp_path
):
    with pytest.raises(SystemExit) as done:
        main(
            fit(
                "transfer_parsing/cpu.yaml",
                synthetic_root,
                "--model.init_args.teacher_checkpoint",
                stage_checkpoints["tryon_parsing"],
                "--print_config",
            )
        )
    assert done.value.code in (0, None)
    capsys.readouterr()
    out = tmp_path / "ok.png"
    assert main(transfer(synthetic_root, stage_checkpoints, out)) == 0
    assert out.is_file()
