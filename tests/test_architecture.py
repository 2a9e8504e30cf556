"""The layout holds: no stage package imports another, nothing under ``models/`` imports Lightning, and the stage
class paths that checkpoints are checked against name real stage modules."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import garment_transfer
from garment_transfer import checkpoints

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
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
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
        "from garment_transfer.stages.method.first.lightning_module import build\n")
    (root / "stages" / "base.py").write_text("")
    assert cross_stage_imports(root / "stages", root) == [
        "stages/method/second/lightning_module.py: imports garment_transfer.stages.method.first.lightning_module",
        "stages/method/second/lightning_module.py: imports garment_transfer.stages.method.first.lightning_module.build"]


def test_models_import_no_lightning():
    statically = [f"{path.relative_to(PACKAGE)}: {name}" for path in sorted((PACKAGE / "models").rglob("*.py"))
                  for name in imported_modules(path) if name.split(".")[0] in LIGHTNING]
    assert statically == []
    code = ("import importlib, pkgutil, sys, garment_transfer.models as m\n"
            "for info in pkgutil.walk_packages(m.__path__, 'garment_transfer.models.'):\n"
            "    importlib.import_module(info.name)\n"
            f"print(sorted(k for k in sys.modules if k.split('.')[0] in {LIGHTNING!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"importing garment_transfer.models loads {loaded}"


@pytest.mark.parametrize("name", ["TRYON_PARSING", "TRANSFER_PARSING", "TRYON_WARPING", "TRANSFER_WARPING",
                                  "ARM_REGROWTH", "PB_WARPING", "PB_TRYON", "PF_WARPING", "PF_TRYON"])
def test_stage_class_paths_name_their_stage_modules(name):
    path = getattr(checkpoints, name)
    module, cls = path.rsplit(".", 1)
    stage_class = getattr(importlib.import_module(module), cls)
    assert checkpoints.class_path(stage_class) == path
    assert path.split(".")[3] == name.lower(), "the constant names the stage folder"


def test_legacy_class_paths_map_to_todays_stages():
    for old, new in checkpoints.LEGACY_CLASS_PATHS.items():
        assert old.startswith("garment_transfer.stages.") and ".distilled_transfer." not in old
        assert new.rsplit(".", 1)[1] == old.rsplit(".", 1)[1]
    assert checkpoints.checkpoint_stage({"hyper_parameters": {
        "_class_path": "garment_transfer.stages.tryon_parsing.TryOnParsingModule"}}) == checkpoints.TRYON_PARSING
