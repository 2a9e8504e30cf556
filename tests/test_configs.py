"""Every YAML in conf/ loads: data configs instantiate, stage configs (on their preset's trainer overlay, and
ablation overlays on their base) and every registered evaluation (its overlay on each preset's pipeline config)
parse through the Lightning CLI, the stage configs leave the default callbacks to the CLI, and ``--print_config``
round-trips."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from garment_transfer import registry
from garment_transfer.callbacks.run import run_names
from garment_transfer.cli import lightning_cli
from garment_transfer.data.augment import Augmenter
from garment_transfer.data.synth import EngineConfig

CONF = Path(__file__).parents[1] / "conf"
DATA = sorted((CONF / "data").rglob("*.yaml"))
TRAINERS = sorted((CONF / "trainer").glob("*.yaml"))
OVERLAY_DIRS = ("ablations",)  # overlays applied on the cpu.yaml of their stage folder
PIPELINES = sorted((CONF / "pipeline").glob("*.yaml"))  # what every evaluation shares, per preset
EVALUATIONS = sorted(CONF.glob("*/evaluate/*.yaml"))  # a method's evaluation overlays on the pipeline config
STAGES = sorted(
    p
    for p in CONF.rglob("*.yaml")
    if p.parent.name not in OVERLAY_DIRS
    and p not in PIPELINES
    and p not in EVALUATIONS
    and "data" not in p.parts
    and "trainer" not in p.parts
)
ABLATIONS = sorted(p for d in OVERLAY_DIRS for p in CONF.rglob(f"{d}/*.yaml"))
DEFAULT_CALLBACKS = ("StageCheckpoint", "ImageLogger", "FiniteLossGuard")  # the CLI adds them


def _ids(paths):
    return [str(p.relative_to(CONF)) for p in paths]


def _instantiate(section: dict):
    module, _, name = section["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return cls(**section.get("init_args", {}))


@pytest.mark.parametrize("path", DATA, ids=_ids(DATA))
def test_every_data_config_loads(path):
    config = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if path.name == "engine.yaml":
        assert EngineConfig.from_dict(config) == EngineConfig()
        return
    if path.name.startswith("engine_"):  # another engine configuration (e.g. the shifted generator)
        assert EngineConfig.from_dict(config) != EngineConfig()
        return
    if "class_path" not in config["data"]:  # an overlay
        base = OmegaConf.load(CONF / "data" / "synthetic.yaml")
        config = OmegaConf.to_container(OmegaConf.merge(base, config), resolve=True)
    module = _instantiate(config["data"])
    for side in ("augment_source", "augment_target"):
        spec = getattr(module.hparams, side)
        if spec:
            assert Augmenter(spec).active


def print_config(capsys, *configs: Path) -> dict:
    args = ["fit"] + [arg for config in configs for arg in ("-c", str(config))] + ["--print_config"]
    with pytest.raises(SystemExit) as done:
        lightning_cli(args)
    assert done.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)


def defined_phases(model: dict) -> list[str]:
    """The phase names the configured model will define, read from its config and its module's defaults."""
    module_name, _, name = model["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    source = sys.modules[cls.__module__]
    args = model.get("init_args") or {}
    for argument, default in (("phases", "DEFAULT_PHASES"), ("skin_phases", "PHASES")):
        if argument in inspect.signature(cls).parameters:
            return list(args.get(argument) or getattr(source, default))
    return list(source.PHASES)


def assert_scheduled_phases_are_defined(config: dict, where: Path) -> None:
    """What the CLI refuses before a run starts (``preflight.check_phase_schedule``), for the shipped YAMLs: every
    phase the schedule switches to is one the module defines."""
    for schedule in (c for c in config["trainer"].get("callbacks") or [] if c["class_path"].endswith(".PhaseSchedule")):
        unknown = set(schedule["init_args"]["phases"]) - set(defined_phases(config["model"]))
        assert not unknown, f"{where}: the schedule names phases {sorted(unknown)} the model does not define"


@pytest.mark.parametrize("path", STAGES, ids=_ids(STAGES))
def test_every_stage_config_parses_through_the_cli(path, capsys):
    trainer = CONF / "trainer" / path.name
    config = print_config(capsys, trainer, path)
    assert config["model"]["class_path"].startswith(
        f"garment_transfer.stages.{path.parent.parent.name}.{path.parent.name}."
    )
    assert config["data"]["class_path"].startswith("garment_transfer.stages.")
    assert config["trainer"]["default_root_dir"].startswith(f"runs/{path.stem}/")
    assert config["trainer"]["devices"] == yaml.safe_load(trainer.read_text())["trainer"]["devices"]
    listed = yaml.safe_load(path.read_text())["trainer"].get("callbacks") or []
    assert not [c for c in listed if c["class_path"].endswith(DEFAULT_CALLBACKS)], "the CLI adds these"
    assert_scheduled_phases_are_defined(config, path)


def test_every_evaluation_overlay_is_a_registered_evaluation():
    registered = {CONF.parent / e.config for e in registry.evaluations().values()}
    assert registered == set(EVALUATIONS)


@pytest.mark.parametrize("pipeline", PIPELINES, ids=_ids(PIPELINES))
@pytest.mark.parametrize("name", sorted(registry.evaluations()))
def test_every_registered_evaluation_parses_on_every_pipeline_config(name, pipeline, capsys):
    evaluation = registry.evaluations()[name]
    config = print_config(capsys, CONF / "trainer" / pipeline.name, pipeline, CONF.parent / evaluation.config)
    assert config["model"]["class_path"] == "garment_transfer.stages.pipeline.GarmentTransferPipeline"
    assert config["model"]["init_args"]["method"] == evaluation.dresser
    assert config["model"]["init_args"]["runs"] == f"runs/{pipeline.stem}"
    assert config["trainer"]["default_root_dir"] == f"runs/cpu/{evaluation.run_folder}"  # make gives the preset's


@pytest.mark.parametrize("path", TRAINERS, ids=_ids(TRAINERS))
def test_trainer_overlays_hold_trainer_settings_only(path):
    assert set(yaml.safe_load(path.read_text())) == {"trainer"}


@pytest.mark.parametrize("path", ABLATIONS, ids=_ids(ABLATIONS))
def test_every_ablation_overlay_applies_to_its_base(path, capsys):
    stage = path.parent.parent / "cpu.yaml"
    base = print_config(capsys, stage)
    config = print_config(capsys, stage, path)
    assert config["trainer"]["default_root_dir"] != base["trainer"]["default_root_dir"]
    stage_name = path.parent.parent.name  # one naming convention: runs/<preset>/<stage>_<ablation>, tagged in W&B
    assert run_names(config["trainer"]["default_root_dir"], stage_name)["ablation"] == path.stem
    overlay = yaml.safe_load(path.read_text())
    if "phases" in overlay.get("model", {}).get("init_args", {}):
        assert config["model"]["init_args"]["phases"] == overlay["model"]["init_args"]["phases"]
    assert_scheduled_phases_are_defined(config, path)


def test_print_config_round_trips(capsys, tmp_path):
    stage = CONF / "distilled_transfer" / "transfer_parsing"
    first = print_config(capsys, CONF / "trainer" / "cpu.yaml", stage / "cpu.yaml", stage / "ablations" / "cycle.yaml")
    saved = tmp_path / "printed.yaml"
    saved.write_text(yaml.safe_dump(first))
    assert print_config(capsys, saved) == first


def test_preflight_sizes_the_synthetic_set_the_data_module_writes():
    """preflight keeps its own copy of the data module's counts (it runs without torch): the copy must agree, and the
    disk estimate counts every split the engine writes, val and its true transfers included."""
    from garment_transfer.data.datamodule import DEFAULT_SYNTHETIC
    from garment_transfer.tools import preflight

    assert {k: DEFAULT_SYNTHETIC[k] for k in preflight.DEFAULT_SYNTHETIC} == preflight.DEFAULT_SYNTHETIC
    root, needed = preflight._synthetic_bytes({"size": "128x96"})
    assert root == Path("data/synthetic-128x96")
    assert needed == preflight.BYTES_PER_PIXEL * 128 * 96 * (2000 + (200 + 200) * 2)
