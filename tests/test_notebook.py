"""The tour notebook runs top to bottom on tiny checkpoints, and is stored without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garment_transfer import registry

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "01_garment_transfer_tour.ipynb"


def code_cells() -> list[dict]:
    return [cell for cell in json.loads(NOTEBOOK.read_text())["cells"] if cell["cell_type"] == "code"]


def test_notebook_is_stored_without_outputs():
    for cell in code_cells():
        assert cell["outputs"] == [] and cell["execution_count"] is None


def test_notebook_runs_on_trained_checkpoints(stage_checkpoints, synthetic_root, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    for stage in registry.method("distilled_transfer").stages:  # the layout make train-all writes
        folder = runs / stage.run_folder / "checkpoints"
        folder.mkdir(parents=True)
        (folder / "last.ckpt").symlink_to(stage_checkpoints[stage.name])
    monkeypatch.setenv("GT_RUNS", str(runs))
    monkeypatch.setenv("GT_DATA", str(synthetic_root))
    namespace: dict = {}
    for i, cell in enumerate(code_cells()):
        try:
            exec(compile("".join(cell["source"]), f"{NOTEBOOK.name}[{i}]", "exec"), namespace)
        except Exception as err:  # name the cell that failed
            pytest.fail(f"cell {i} raised {type(err).__name__}: {err}")
    assert set(namespace["results"]) == {"ours", "affine paste"}
    assert "mse" in namespace["results"]["ours"].values and "fid" in namespace["results"]["ours"].skipped
    assert namespace["grid"].shape[0] == 3
