"""The end-to-end pipeline from tiny stage checkpoints: test and predict through Lightning, the evaluator's numbers,
the baselines, the report, and the ``transfer`` tool on a user's own files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from test_composition import compose_reference

from garment_transfer.cli import main
from garment_transfer.data.formats import canonical
from garment_transfer.data.io import read_image, write_png
from garment_transfer.data.samples import collate
from garment_transfer.evaluation import from_uint8, to_uint8
from garment_transfer.geometry import correlation_reference
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.distilled_transfer import method as distilled_transfer
from garment_transfer.models.distilled_transfer import scaw
from garment_transfer.models.pipeline import GarmentTransfer
from garment_transfer.report import build_report
from garment_transfer.stages.pipeline import GarmentTransferPipeline, PipelineDataModule

SIZE = "64x48"


@pytest.fixture(scope="module")
def checkpoints(stage_checkpoints) -> dict[str, str]:
    return stage_checkpoints


def pipeline_args(checkpoints: dict, method: str = "ours") -> dict:
    if method == "ours":
        return {
            "checkpoints": dict(
                parsing=checkpoints["transfer_parsing"],
                warping=checkpoints["transfer_warping"],
                regrowth=checkpoints["arm_regrowth"],
            )
        }
    if method == "teacher":
        return {
            "checkpoints": dict(
                tryon_parsing=checkpoints["tryon_parsing"],
                tryon_warping=checkpoints["tryon_warping"],
                regrowth=checkpoints["arm_regrowth"],
            )
        }
    return {}


def run_test(checkpoints, synthetic_root, out: Path, method: str = "ours", **kwargs):
    module = GarmentTransferPipeline(method=method, output_dir=str(out), **pipeline_args(checkpoints, method), **kwargs)
    data = PipelineDataModule(root=str(synthetic_root), size=SIZE, eval_batch_size=3)
    trainer = pl.Trainer(
        logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=out.parent
    )
    return module, trainer.test(module, data, verbose=False)[0]


def test_pipeline_runs_end_to_end_and_its_metrics_match_a_direct_computation(checkpoints, synthetic_root, tmp_path):
    out = tmp_path / "ours"
    _, logged = run_test(checkpoints, synthetic_root, out, save_intermediates=True)
    pairs = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))
    results = sorted(p.stem for p in (out / "transfer").glob("*.png"))
    assert results == sorted(f"{s}__{t}" for s, t in pairs)
    assert len(list((out / "retransfer").glob("*.png"))) == len(pairs)
    for name in ("parsing", "aligned_garment", "warped_garment", "skin"):
        assert len(list((out / "intermediates" / name).glob("*.png"))) == len(pairs)

    # the evaluator's numbers equal MSE / PSNR / SSIM computed here from the saved PNGs and the truth
    metric = ImageMetrics()
    for source, target in pairs:
        saved = read_image(out / "transfer" / f"{source}__{target}.png", "RGB")
        truth = read_image(canonical.transfer_paths(synthetic_root, "test", source, target)["image"], "RGB")
        as_tensor = [from_uint8(torch.from_numpy(a).permute(2, 0, 1)[None]) for a in (saved, truth)]
        metric.update(*as_tensor)
    direct = metric.compute()
    stored = json.loads((out / "metrics.json").read_text())["protocols"]["transfer"]
    for name in ("mse", "psnr", "ssim"):
        assert stored["values"][name] == pytest.approx(direct[name].item(), rel=1e-4, abs=1e-4)
        assert logged[f"test/transfer/{name}"] == pytest.approx(stored["values"][name], rel=1e-5)
    assert "fid" in stored["skipped"] and "fid" not in stored["values"]  # no Inception file configured
    assert "retransfer" in json.loads((out / "metrics.json").read_text())["protocols"]


def test_untouched_target_pixels_are_bit_exact_and_garment_lands_on_the_new_shape(checkpoints, synthetic_root):
    model = GarmentTransfer("ours", **pipeline_args(checkpoints))
    data = PipelineDataModule(root=str(synthetic_root), size=SIZE, eval_batch_size=4)
    data.setup("test")
    batch = next(iter(data.test_dataloader()))
    out = model(batch.source, batch.target)
    keep = out.masks["keep"] > 0.5
    assert keep.any()
    assert torch.equal(torch.where(keep, out.image, 0), torch.where(keep, batch.target.image, 0))
    garment = out.masks["garment"] > 0.5
    assert torch.equal(garment[:, 0], out.parsing == 4)
    assert torch.equal(torch.where(garment, out.image, 0), torch.where(garment, out.warped_garment, 0))


def test_baselines_run_through_the_same_evaluator_and_the_report_collects_them(checkpoints, synthetic_root, tmp_path):
    runs = tmp_path / "runs"
    for method, folder in (
        ("ours", runs / "pipeline"),
        ("teacher", runs / "baselines" / "teacher"),
        ("affine", runs / "baselines" / "affine"),
    ):
        run_test(checkpoints, synthetic_root, folder / "results", method=method, protocols=("transfer",))
    # a try-on-only evaluation (as make compare writes beside them) is in the tables, not in the transfer grid
    run_test(
        checkpoints,
        synthetic_root,
        runs / "baselines" / "teacher_tryon" / "results",
        method="teacher",
        protocols=("tryon",),
    )
    text = build_report(runs, synthetic_root, runs / "report" / "report.md", pairs=2)  # a folder not there yet
    assert "| ours |" in text and "| baseline: teacher |" in text and "| baseline: affine |" in text
    assert "## Protocol: tryon" in text and "| baseline: teacher_tryon |" in text
    grid = read_image(runs / "report" / "report.png", "RGB")
    assert grid.shape[0] > 2 * 64 and 6 * 48 < grid.shape[1] < 7 * 48  # 2 rows; source, target, 3 methods, truth


def test_affine_paste_moves_the_garment_box_onto_the_target_box(synthetic_root):
    data = PipelineDataModule(root=str(synthetic_root), size=SIZE, eval_batch_size=4)
    data.setup("test")
    batch = next(iter(data.test_dataloader()))
    out = GarmentTransfer("affine")(batch.source, batch.target)
    for pasted, target in zip(out.warped_mask[:, 0] > 0.5, batch.target.garment_mask[:, 0] > 0.5):
        rows, cols = torch.nonzero(pasted, as_tuple=True)
        trows, tcols = torch.nonzero(target, as_tuple=True)
        assert abs(rows.min() - trows.min()) <= 2 and abs(rows.max() - trows.max()) <= 2
        assert abs(cols.min() - tcols.min()) <= 2 and abs(cols.max() - tcols.max()) <= 2
    assert torch.equal(torch.where(out.warped_mask > 0.5, batch.target.image, out.image), batch.target.image)


def test_missing_checkpoints_are_named(tmp_path):
    with pytest.raises(ValueError, match="method 'ours' needs checkpoints warping"):
        GarmentTransfer("ours", {"parsing": "a.ckpt", "regrowth": "b.ckpt"})
    with pytest.raises(FileNotFoundError, match="nowhere.ckpt"):
        GarmentTransfer("ours", {"parsing": "nowhere.ckpt", "warping": "x", "regrowth": "y"})
    with pytest.raises(ValueError, match=r"method 'ours' runs \['parsing', 'regrowth', 'warping'\], not \['tutor'\]"):
        GarmentTransfer("ours", {"tutor": "a.ckpt"})
    with pytest.raises(FileNotFoundError, match="runs/cpu/transfer_parsing/checkpoints/last.ckpt"):
        GarmentTransfer("ours", runs=tmp_path / "runs" / "cpu")  # each role from the stage's run folder


def _user_files(synthetic_root, sample: str, side: str) -> list[str]:
    paths = canonical.sample_paths(synthetic_root, "test", sample)
    return [
        f"--{side}",
        str(paths["image"]),
        f"--{side}-parsing",
        str(paths["parse"]),
        f"--{side}-densepose",
        str(paths["densepose"]),
    ]


def _checkpoint_flags(checkpoints) -> list[str]:
    return [
        "--checkpoint",
        f"parsing={checkpoints['transfer_parsing']}",
        "--checkpoint",
        f"warping={checkpoints['transfer_warping']}",
        "--checkpoint",
        f"regrowth={checkpoints['arm_regrowth']}",
    ]


def test_transfer_tool_dresses_a_users_pair_like_the_pipeline(checkpoints, synthetic_root, tmp_path, capsys):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))[0]
    out = tmp_path / "result.png"
    args = [
        "transfer",
        *_user_files(synthetic_root, source, "source"),
        *_user_files(synthetic_root, target, "target"),
        *_checkpoint_flags(checkpoints),
        "--out",
        str(out),
        "--intermediates",
        str(tmp_path / "steps"),
    ]
    assert main(args) == 0
    assert (tmp_path / "steps" / "warped_garment.png").is_file()
    data = PipelineDataModule(root=str(synthetic_root), size=SIZE)
    data.setup("test")
    pair = next(p for p in data.datasets["test"] if (p.source.id, p.target.id) == (source, target))
    expected = GarmentTransfer("ours", **pipeline_args(checkpoints))(collate([pair.source]), collate([pair.target]))
    assert np.array_equal(read_image(out, "RGB"), to_uint8(expected.image)[0].permute(1, 2, 0).numpy())


def test_transfer_tool_errors_name_the_file_and_the_problem(checkpoints, synthetic_root, tmp_path, capsys):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))[0]
    base = [
        *_user_files(synthetic_root, target, "target"),
        *_checkpoint_flags(checkpoints),
        "--out",
        str(tmp_path / "x.png"),
    ]
    parse = read_image(canonical.sample_paths(synthetic_root, "test", source)["parse"])
    broken = {  # file name -> (argument index in the source flags: 3 parsing, 5 DensePose; its content)
        "no_garment.png": (3, np.where(parse == 5, 0, parse).astype(np.uint8)),  # no upper garment
        "small_iuv.png": (5, np.zeros((32, 24, 3), np.uint8)),  # a DensePose file of another size
        "odd_ids.png": (3, np.where(parse == 2, 99, parse).astype(np.uint8)),  # an id the label map does not know
    }
    for name, (index, array) in broken.items():
        write_png(tmp_path / name, array)
        flags = _user_files(synthetic_root, source, "source")
        flags[index] = str(tmp_path / name)
        assert main(["transfer", *flags, *base]) == 2
        assert name in capsys.readouterr().err


# --- speed (issue 16): the fast paths against the reference ---------------------------------------------------------


@pytest.fixture(scope="module")
def evaluation_pairs(synthetic_root):
    data = PipelineDataModule(root=str(synthetic_root), size=SIZE, eval_batch_size=4)
    data.setup("test")
    return next(iter(data.test_dataloader()))


@pytest.fixture(scope="module")
def reference_output(checkpoints, evaluation_pairs):
    """The pipeline with the code it had before issue 16: the 49-shift correlation, the composition that fills
    holes class by class over the classes present (both kept as references) and the BatchNorms as trained."""
    model = GarmentTransfer("ours", **pipeline_args(checkpoints), fold_norms=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scaw, "correlation", correlation_reference)
        patch.setattr(distilled_transfer, "compose", lambda *args, fill: compose_reference(*args))
        return model(evaluation_pairs.source, evaluation_pairs.target)


def assert_same_transfer(out, reference, atol: float) -> None:
    assert torch.equal(out.parsing, reference.parsing)
    for name in ("image", "aligned_garment", "warped_garment", "warped_mask", "skin"):
        assert getattr(out, name).dtype == getattr(reference, name).dtype == torch.float32, name
        assert torch.allclose(getattr(out, name), getattr(reference, name), atol=atol, rtol=0), name
    assert all(torch.equal(out.masks[name], reference.masks[name]) for name in reference.masks)


def test_pipeline_equals_the_reference_code_path_on_the_evaluation_pairs(
    checkpoints, evaluation_pairs, reference_output
):
    """The fast correlation differs from the reference by float rounding only (1e-6 of its values here), the
    composition not at all: the results agree to 1e-5 ([-1, 1] images)."""
    out = GarmentTransfer("ours", **pipeline_args(checkpoints))(evaluation_pairs.source, evaluation_pairs.target)
    assert not torch.equal(out.warped_garment, out.aligned_garment)  # the flow moved: the correlation mattered
    assert_same_transfer(out, reference_output, atol=1e-5)


def test_pipeline_folds_the_batch_norms_after_convolutions_and_still_equals_the_reference(
    checkpoints, evaluation_pairs, reference_output
):
    """Folding is the default; the nets as trained stay available (``fold_norms=False``) with every BatchNorm."""

    def norms(model):
        return sum(isinstance(m, torch.nn.BatchNorm2d) for frozen in model.nets.values() for m in frozen.net.modules())

    folded = GarmentTransfer("ours", **pipeline_args(checkpoints))
    plain = GarmentTransfer("ours", **pipeline_args(checkpoints), fold_norms=False)
    assert 0 < norms(folded) < norms(plain)  # the pre-activation norms of the pyramids stay
    assert_same_transfer(folded(evaluation_pairs.source, evaluation_pairs.target), reference_output, atol=1e-5)


def test_pipeline_in_channels_last_equals_the_reference(checkpoints, evaluation_pairs, reference_output):
    model = GarmentTransfer("ours", **pipeline_args(checkpoints), channels_last=True)
    assert (
        model.nets["warping"]
        .net.content_encoder.pyramid.levels[0][0]
        .weight.is_contiguous(memory_format=torch.channels_last)
    )
    assert_same_transfer(model(evaluation_pairs.source, evaluation_pairs.target), reference_output, atol=1e-4)


def test_pipeline_under_bf16_returns_float32_results_near_the_reference(
    checkpoints, evaluation_pairs, reference_output
):
    """bf16 networks (8 significant bits): parsings may flip at near-ties of the untrained logits and the flows
    move slightly; the images stay float32 and close on average."""
    out = GarmentTransfer("ours", **pipeline_args(checkpoints), precision="bf16")(
        evaluation_pairs.source, evaluation_pairs.target
    )
    assert out.image.dtype == out.warped_garment.dtype == out.skin.dtype == torch.float32
    assert (out.parsing == reference_output.parsing).float().mean() > 0.9
    assert (out.image - reference_output.image).abs().mean() < 0.05
    keep = (out.masks["keep"] > 0.5) & (reference_output.masks["keep"] > 0.5)
    assert torch.equal(torch.where(keep, out.image, 0), torch.where(keep, evaluation_pairs.target.image, 0))


def test_pipeline_compiles_to_one_graph_equal_to_eager(checkpoints, evaluation_pairs, reference_output):
    """``fullgraph=True`` fails on any graph break: nothing in the forward waits for the device (no ``.any()``,
    ``.item()``, ``torch.unique``); the correlation is one opaque operator. The ``aot_eager`` backend traces as the
    real compiler does without generating code (minutes on this CPU for inductor's C++)."""
    model = GarmentTransfer("ours", **pipeline_args(checkpoints))
    compiled = torch.compile(model.transfer, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        out = compiled(evaluation_pairs.source, evaluation_pairs.target)
    assert_same_transfer(out, reference_output, atol=1e-5)


def test_speed_switches_are_checked():
    with pytest.raises(ValueError, match="precision 'fp16'"):
        GarmentTransfer("affine", precision="fp16")
    with pytest.raises(ValueError, match="compile must be"):
        GarmentTransfer("affine", compile="fastest")
    frozen = GarmentTransfer("affine", compile="frozen")  # compiled on the first call (tests/test_speed.py)
    assert frozen._compiled.__wrapped__ == frozen.transfer
