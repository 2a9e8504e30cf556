"""Every YAML in conf/ loads: class paths import, their arguments bind, overlays apply on a base config."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from garment_transfer.data.augment import Augmenter
from garment_transfer.data.synth import EngineConfig

CONF = Path(__file__).parents[1] / "conf"
ALL = sorted(CONF.rglob("*.yaml"))
BASE = CONF / "data" / "synthetic.yaml"


def _instantiate(section: dict):
    module, _, name = section["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return cls(**section.get("init_args", {}))


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(CONF)) for p in ALL])
def test_every_config_loads(path):
    config = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if path.name == "engine.yaml":
        assert EngineConfig.from_dict(config) == EngineConfig()
        return
    if "class_path" not in config["data"]:  # an overlay
        config = OmegaConf.to_container(OmegaConf.merge(OmegaConf.load(BASE), config), resolve=True)
    module = _instantiate(config["data"])
    for side in ("augment_source", "augment_target"):
        spec = getattr(module.hparams, side)
        if spec:
            assert Augmenter(spec).active
