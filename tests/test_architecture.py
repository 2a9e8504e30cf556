"""The layout holds: no stage package imports another, no method's code imports another method's, nothing under
``models/`` imports Lightning, and the registry's stages name real stage modules, folders and configs."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import garment_transfer
from garment_transfer import checkpoints, registry
from garment_transfer.models.distilled_transfer import TRYON_PARSING

PACKAGE = Path(garment_transfer.__file__).parent
STAGE_FILES = ("lightning_module.py", "datamodule.py")
LIGHTNING = ("pytorch_lightning", "lightning")


def imported_modules(path: Path, package_root: Path = PACKAGE) -> list[str]:
    """Every module a Python file under ``package_root`` imports (absolute names; relative imports resolved)."""
    package = ".".join(path.relative_to(package_root.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return names


def stage_package(folder: Path, stages_root: Path) -> Path | None:
    """The stage package holding ``folder`` (the nearest folder with a LightningModule or DataModule file)."""
    while folder != stages_root and stages_root in folder.parents:
        if any((folder / name).exists() for name in STAGE_FILES):
            return folder
        folder = folder.parent
    return None


def cross_stage_imports(stages_root: Path, package_root: Path) -> list[str]:
    """``file: imports module`` for every import of one stage package from another."""
    found = []
    for path in sorted(stages_root.rglob("*.py")):
        own = stage_package(path.parent, stages_root)
        if own is None:
            continue
        for name in imported_modules(path, package_root):
            target = package_root.parent.joinpath(*name.split("."))
            other = stage_package(target if target.is_dir() else target.parent, stages_root)
            if other is not None and other != own:
                found.append(f"{path.relative_to(package_root)}: imports {name}")
    return found


def test_no_stage_package_imports_another():
    assert cross_stage_imports(PACKAGE / "stages", PACKAGE) == []


def test_the_cross_stage_check_finds_an_import_between_stages(tmp_path):
    root = tmp_path / "garment_transfer"
    for stage in ("first", "second"):
        folder = root / "stages" / "method" / stage
        folder.mkdir(parents=True)
        (folder / "lightning_module.py").write_text("import torch\n")
    (root / "stages" / "method" / "second" / "lightning_module.py").write_text(
        "from garment_transfer.stages.method.first.lightning_module import build\n"
    )
    (root / "stages" / "base.py").write_text("")
    assert cross_stage_imports(root / "stages", root) == [
        "stages/method/second/lightning_module.py: imports garment_transfer.stages.method.first.lightning_module",
        "stages/method/second/lightning_module.py: imports garment_transfer.stages.method.first.lightning_module.build",
    ]


def test_models_import_no_lightning():
    statically = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in sorted((PACKAGE / "models").rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in LIGHTNING
    ]
    assert statically == []
    code = (
        "import importlib, pkgutil, sys, garment_transfer.models as m\n"
        "for info in pkgutil.walk_packages(m.__path__, 'garment_transfer.models.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {LIGHTNING!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"importing garment_transfer.models loads {loaded}"


def method_of(path: Path, package_root: Path, methods: set[str]) -> str | None:
    """The method whose code a file is (``models/<method>/...`` or ``stages/<method>/...``), or None (shared)."""
    parts = path.relative_to(package_root).parts
    return parts[1] if len(parts) > 2 and parts[0] in ("models", "stages") and parts[1] in methods else None


def cross_method_imports(package_root: Path, methods: set[str]) -> list[str]:
    """``file: imports module`` for every import of one method's code (models or stages) from another method's, or
    from shared code (everything else: shared models, stages' base, the pipeline, tools; the registry loads the
    methods' entries by name, it does not import them)."""
    found = []
    for area in ("models", "stages", "tools", "evaluation", "callbacks", "losses", "data"):
        for path in sorted((package_root / area).rglob("*.py")):
            own = method_of(path, package_root, methods)
            for name in imported_modules(path, package_root):
                parts = name.split(".")
                other = (
                    parts[2] if len(parts) > 2 and parts[1] in ("models", "stages") and parts[2] in methods else None
                )
                if other is not None and other != own:
                    found.append(f"{path.relative_to(package_root)}: imports {name}")
    return found


def test_no_method_imports_another_methods_code():
    assert cross_method_imports(PACKAGE, set(registry.methods())) == []


def test_the_cross_method_check_finds_an_import_between_methods(tmp_path):
    root = tmp_path / "garment_transfer"
    for folder in ("models/first", "models/second", "stages/first/stage", "stages"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models" / "first" / "nets.py").write_text("import torch\n")
    (root / "models" / "second" / "nets.py").write_text("from garment_transfer.models.second import helpers\n")
    (root / "stages" / "first" / "stage" / "lightning_module.py").write_text(
        "from garment_transfer.models.second.nets import build\n"
    )
    (root / "stages" / "base.py").write_text("from garment_transfer.models.first.nets import build\n")
    assert cross_method_imports(root, {"first", "second"}) == [
        "stages/base.py: imports garment_transfer.models.first.nets",
        "stages/base.py: imports garment_transfer.models.first.nets.build",
        "stages/first/stage/lightning_module.py: imports garment_transfer.models.second.nets",
        "stages/first/stage/lightning_module.py: imports garment_transfer.models.second.nets.build",
    ]


@pytest.mark.parametrize("stage_id", sorted(registry.stages()))
def test_registered_stages_name_their_modules_folders_and_configs(stage_id):
    stage = registry.stage(stage_id)
    module, cls = stage.module.rsplit(".", 1)
    stage_class = getattr(importlib.import_module(module), cls)
    assert checkpoints.class_path(stage_class) == stage.module
    data_module, data_cls = stage.data_module.rsplit(".", 1)
    assert hasattr(importlib.import_module(data_module), data_cls)
    assert module.split(".")[2:4] == stage_id.split("/"), "the id names the stage folder"
    assert checkpoints.stage_id_of_class(stage.module) == stage_id
    for preset in ("cpu", "paper"):
        config = Path(__file__).parents[1] / stage.config / f"{preset}.yaml"
        assert config.is_file() and stage.module.rsplit(".", 2)[0] in config.read_text()
        assert f"runs/{preset}/{stage.run_folder}" in config.read_text(), "the config writes to the run folder"


def test_former_class_paths_map_to_todays_stages():
    former = {path: s.id for s in registry.stages().values() for path in registry.former_class_paths(s)}
    assert former and all(p.startswith("garment_transfer.stages.") and ".distilled_transfer." not in p for p in former)
    assert (
        checkpoints.checkpoint_stage(
            {"hyper_parameters": {"_class_path": "garment_transfer.stages.tryon_parsing.TryOnParsingModule"}}
        )
        == TRYON_PARSING
    )
    assert checkpoints.checkpoint_stage({checkpoints.STAGE_KEY: "somewhere.Else"}) == "somewhere.Else"
