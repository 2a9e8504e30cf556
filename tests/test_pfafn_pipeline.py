"""PF-AFN side by side with ours: the parser-free and parser-based try-on models as pipeline methods (for transfer
with the source's worn garment as their in-shop input, and for try-on), the try-on protocols (against the true image,
paired against the person, unpaired) in the pipeline's test and in the folder evaluator, the ``transfer`` tool with
PF-AFN, and PF-AFN's parser-based warp as the try-on warping teacher of our transfer warping student."""

from __future__ import annotations

import json
import re

import pytest
import pytorch_lightning as pl
import torch
from conftest import training_losses

from garment_transfer import registry
from garment_transfer.cli import main
from garment_transfer.data.formats import canonical
from garment_transfer.data.io import read_image
from garment_transfer.evaluation import evaluate_folder, from_uint8
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.distilled_transfer.warping import person_representation
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.pfafn import PB_TRYON, PB_WARPING, PF_TRYON
from garment_transfer.models.pfafn.networks import (
    build_pb_afwm,
    build_pb_tryon,
    build_pf_tryon,
    densepose_parts,
    dress,
    keypoint_heatmaps,
    pb_person_representation,
)
from garment_transfer.models.pipeline import GarmentTransfer
from garment_transfer.report import build_comparison
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule, TransferWarpingModule
from garment_transfer.stages.pipeline import GarmentTransferPipeline, PipelineDataModule

SIZE = "64x48"
PFAFN = {
    "pfafn": ("pf_tryon", "pf_tryon", PF_TRYON, build_pf_tryon),
    "pfafn_parser_based": ("pb_tryon", "pb_tryon", PB_TRYON, build_pb_tryon),
}


def a_batch(root):
    data = PipelineDataModule(root=str(root), size=SIZE, eval_batch_size=4)
    data.setup("test")
    return next(iter(data.test_dataloader()))


def model(method, checkpoints):
    role, stage, _, _ = PFAFN[method]
    return GarmentTransfer(method, {role: checkpoints[stage]})


@pytest.mark.parametrize("method", list(PFAFN))
def test_pfafn_dresses_the_target_in_the_worn_or_the_in_shop_garment(method, pfafn_checkpoints, synthetic_root):
    _, stage, path, builder = PFAFN[method]
    batch = a_batch(synthetic_root)
    source, target = batch.source, batch.target
    net = FrozenNet.from_checkpoint(pfafn_checkpoints[stage], {path: builder})
    pipeline = model(method, pfafn_checkpoints)
    for garment, image, mask in (
        ("worn", source.garment, source.garment_mask),
        ("in_shop", source.cloth, source.cloth_mask),
    ):
        out = pipeline(source, target, garment)
        expected = dress(net, target, image, mask)
        torch.testing.assert_close(out.image, expected.tryon.image)
        torch.testing.assert_close(out.warped_mask, expected.warp.warped_mask)
        covered = expected.warp.warped_mask[:, 0] > 0.5
        assert torch.equal(out.parsing == 4, covered)  # the result's garment is where the warp put it
    assert not torch.equal(pipeline(source, target).image, pipeline(source, target, "in_shop").image)


def test_only_methods_that_take_an_in_shop_garment_try_on(stage_checkpoints, pfafn_checkpoints, synthetic_root):
    assert {name for name, d in registry.dressers().items() if "in_shop" in d.garments} == {
        "teacher",
        "pfafn",
        "pfafn_parser_based",
        "wuton",
        "wuton_teacher",
    }
    batch = a_batch(synthetic_root)
    with pytest.raises(ValueError, match="'affine' dresses a person in worn garments only, not 'in_shop'"):
        GarmentTransfer("affine")(batch.source, batch.target, "in_shop")
    with pytest.raises(ValueError, match="method 'affine' dresses a person in worn garments only"):
        GarmentTransferPipeline(method="affine", protocols=("tryon",))
    with pytest.raises(ValueError, match="method 'pfafn' needs checkpoints pf_tryon"):
        GarmentTransfer("pfafn")
    with pytest.raises(ValueError, match="checkpoints.pf_tryon must be a checkpoint of PFTryOnModule"):
        GarmentTransfer("pfafn", {"pf_tryon": pfafn_checkpoints["pb_tryon"]})
    # The try-on teachers dress the target in the source's in-shop garment (their own teaching use).
    teacher = GarmentTransfer(
        "teacher",
        {
            "tryon_parsing": stage_checkpoints["tryon_parsing"],
            "tryon_warping": stage_checkpoints["tryon_warping"],
            "regrowth": stage_checkpoints["arm_regrowth"],
        },
    )
    tried = teacher(batch.source, batch.target, "in_shop")
    assert torch.equal(tried.aligned_garment, batch.source.cloth)
    assert torch.equal(teacher(batch.source, batch.target).aligned_garment, batch.source.garment)


def run_test(module, root, out):
    data = PipelineDataModule(root=str(root), size=SIZE, eval_batch_size=3)
    trainer = pl.Trainer(
        logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=out.parent
    )
    return trainer.test(module, data, verbose=False)[0]


def _tensor(path):
    return from_uint8(torch.from_numpy(read_image(path, "RGB").copy()).permute(2, 0, 1)[None])


def test_tryon_protocols_score_against_the_true_image_and_the_person(pfafn_checkpoints, synthetic_root, tmp_path):
    out = tmp_path / "pfafn" / "results"
    protocols = ("transfer", "retransfer", "tryon", "tryon_paired", "tryon_unpaired")
    module = GarmentTransferPipeline(
        method="pfafn",
        checkpoints={"pf_tryon": pfafn_checkpoints["pf_tryon"]},
        protocols=protocols,
        output_dir=str(out),
        save_intermediates=True,
    )
    logged = run_test(module, synthetic_root, out)
    pairs = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))
    assert sorted(p.stem for p in (out / "tryon").glob("*.png")) == sorted(f"{s}__{t}" for s, t in pairs)
    assert sorted(p.stem for p in (out / "tryon_paired").glob("*.png")) == sorted(f"{t}__{t}" for _, t in pairs)
    assert (out / "intermediates_tryon" / "warped_garment").is_dir()
    stored = json.loads((out / "metrics.json").read_text())["protocols"]
    assert set(stored) == set(protocols)
    truth, paired = ImageMetrics(), ImageMetrics()
    for source, target in pairs:
        truth.update(
            _tensor(out / "tryon" / f"{source}__{target}.png"),
            _tensor(canonical.transfer_paths(synthetic_root, "test", source, target)["image"]),
        )
        paired.update(
            _tensor(out / "tryon_paired" / f"{target}__{target}.png"),
            _tensor(canonical.sample_paths(synthetic_root, "test", target)["image"]),
        )
    for protocol, metric in (("tryon", truth), ("tryon_paired", paired)):
        for name, value in metric.compute().items():
            assert stored[protocol]["values"][name] == pytest.approx(value.item(), rel=1e-4, abs=1e-4)
            assert logged[f"test/{protocol}/{name}"] == pytest.approx(stored[protocol]["values"][name], rel=1e-5)
    skipped = stored["tryon_unpaired"]["skipped"]
    assert "psnr" in skipped and "no reference" in skipped["psnr"]
    # The folder evaluator gives the same numbers from the saved images.
    for protocol in ("tryon", "tryon_paired"):
        result = evaluate_folder(out / protocol, protocol, data=synthetic_root, metrics=("mse", "psnr", "ssim"))
        for name in ("mse", "psnr", "ssim"):
            assert result.values[name] == pytest.approx(stored[protocol]["values"][name], rel=1e-4, abs=1e-4)


def test_parser_based_pfafn_runs_the_transfer_and_retransfer_protocols(pfafn_checkpoints, synthetic_root, tmp_path):
    out = tmp_path / "pb" / "results"
    module = GarmentTransferPipeline(
        method="pfafn_parser_based",
        checkpoints={"pb_tryon": pfafn_checkpoints["pb_tryon"]},
        protocols=("transfer", "retransfer", "tryon"),
        output_dir=str(out),
    )
    logged = run_test(module, synthetic_root, out)
    assert {"test/transfer/psnr", "test/retransfer/psnr", "test/tryon/psnr"} <= set(logged)
    assert len(list((out / "retransfer").glob("*.png"))) == len(list((out / "transfer").glob("*.png"))) > 0


def test_transfer_tool_runs_pfafn_on_a_users_files(pfafn_checkpoints, synthetic_root, tmp_path, capsys):
    source, target = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))[0]
    files = []
    for side, sample in (("source", source), ("target", target)):
        paths = canonical.sample_paths(synthetic_root, "test", sample)
        files += [
            f"--{side}",
            str(paths["image"]),
            f"--{side}-parsing",
            str(paths["parse"]),
            f"--{side}-densepose",
            str(paths["densepose"]),
        ]
    out = tmp_path / "result.png"
    assert (
        main(
            [
                "transfer",
                *files,
                "--method",
                "pfafn",
                "--checkpoint",
                f"pf_tryon={pfafn_checkpoints['pf_tryon']}",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_image(out, "RGB").shape == (64, 48, 3)
    assert (
        main(
            [
                "transfer",
                *files,
                "--method",
                "pfafn_parser_based",
                "--checkpoint",
                f"pb_tryon={pfafn_checkpoints['pb_tryon']}",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "--method pfafn_parser_based: it reads keypoints of a person" in capsys.readouterr().err


def test_pfafns_parser_based_warp_teaches_the_transfer_warping_student(
    stage_checkpoints, pfafn_checkpoints, synthetic_root
):
    data = TransferWarpingDataModule(root=str(synthetic_root), size=SIZE, batch_size=2, eval_batch_size=2)
    data.setup("fit")
    batch = next(iter(data.val_dataloader()))
    source, target = batch.source, batch.target
    parser = stage_checkpoints["transfer_parsing"]
    warp = FrozenNet.from_checkpoint(pfafn_checkpoints["pb_warping"], {PB_WARPING: build_pb_afwm}).net
    tutor = FrozenNet.from_checkpoint(pfafn_checkpoints["pb_tryon"], {PB_TRYON: build_pb_tryon}).net.warp
    for key, net in (("pb_warping", warp), ("pb_tryon", tutor)):
        module = TransferWarpingModule(
            teacher_checkpoint=pfafn_checkpoints[key], parsing_checkpoint=parser, width="tiny", w_vgg=0
        )
        step = module.objective(batch)
        person = pb_person_representation(
            step.parsing.argmax(1), densepose_parts(target.densepose), keypoint_heatmaps(target.keypoints, (64, 48))
        )
        with torch.no_grad():
            expected = net(source.cloth, source.cloth_mask, person).warped_garment
        torch.testing.assert_close(step.content, expected)
    losses = training_losses(module, next(iter(data.train_dataloader())), 2)
    assert all(torch.isfinite(torch.tensor(losses)))
    # The default teacher T_W reads repr(M_{t<-s}, P_t), as before.
    default = TransferWarpingModule(
        teacher_checkpoint=stage_checkpoints["tryon_warping"], parsing_checkpoint=parser, width="tiny", w_vgg=0
    )
    step = default.objective(batch)
    expected = default.teacher(
        source.cloth, source.cloth_mask, person_representation(step.parsing, target.densepose)
    ).warped_garment
    assert torch.equal(step.content, expected)
    with pytest.raises(
        ValueError, match="TryOnWarpingModule .* or PBWarpingModule .* or PBTryOnModule .*; this is PFWarpingModule"
    ):
        TransferWarpingModule(
            teacher_checkpoint=pfafn_checkpoints["pf_warping"], parsing_checkpoint=parser, width="tiny", w_vgg=0
        )


def test_compare_puts_every_method_on_the_same_pairs(
    stage_checkpoints, pfafn_checkpoints, synthetic_root, tmp_path, capsys
):
    runs = tmp_path / "runs"
    teacher = dict(
        checkpoints={
            "tryon_parsing": stage_checkpoints["tryon_parsing"],
            "tryon_warping": stage_checkpoints["tryon_warping"],
            "regrowth": stage_checkpoints["arm_regrowth"],
        }
    )
    evaluations = {
        "ours": dict(
            method="ours",
            checkpoints={
                "parsing": stage_checkpoints["transfer_parsing"],
                "warping": stage_checkpoints["transfer_warping"],
                "regrowth": stage_checkpoints["arm_regrowth"],
            },
            protocols=("transfer", "retransfer"),
        ),
        "pfafn": dict(
            method="pfafn",
            checkpoints={"pf_tryon": pfafn_checkpoints["pf_tryon"]},
            protocols=("transfer", "tryon", "tryon_paired"),
        ),
        "teacher": dict(method="teacher", **teacher, protocols=("transfer",)),
        "teacher_tryon": dict(method="teacher", **teacher, protocols=("tryon",)),
    }
    for name, options in evaluations.items():
        run_test(
            GarmentTransferPipeline(output_dir=str(runs / name / "results"), **options),
            synthetic_root,
            runs / name / "results",
        )
    out = runs / "compare.md"
    args = [
        "compare",
        "--data",
        str(synthetic_root),
        "--out",
        str(out),
        "--pairs",
        "2",
        "--method",
        f"ours={runs / 'ours' / 'results'}",
        "--method",
        f"PF-AFN={runs / 'pfafn' / 'results'}",
        "--method",
        f"teachers={runs / 'teacher' / 'results'}",
        "--method",
        f"teachers={runs / 'teacher_tryon' / 'results'}",
    ]
    assert main(args) == 0
    text = out.read_text()
    sections = {line: i for i, line in enumerate(text.splitlines()) if line.startswith("## ")}
    tryon = next(i for line, i in sections.items() if line.startswith("## True try-on"))
    transfer = next(i for line, i in sections.items() if line.startswith("## True transfer"))
    lines = text.splitlines()
    tryon_rows = [line.split("|")[1].strip() for line in lines[tryon + 4 : tryon + 6]]
    assert tryon_rows == ["PF-AFN", "teachers"]  # ours transfers worn garments only: not in the try-on table
    transfer_rows = [line.split("|")[1].strip() for line in lines[transfer + 4 : transfer + 7]]
    assert transfer_rows == ["ours", "PF-AFN", "teachers"]
    assert any(line.startswith("## Re-transfer") for line in sections) and "| ours |" in text
    assert (
        "Columns: source, in-shop garment, target, try-on: PF-AFN, try-on: teachers, transfer: ours, transfer: "
        "PF-AFN, transfer: teachers, truth." in text
    )
    intervals = next(i for i in range(transfer, len(lines)) if lines[i].startswith("ours minus each method"))
    differences = lines[intervals + 4 : intervals + 6]  # ours - each other method, below the transfer table
    assert [row.split("|")[1].strip() for row in differences] == ["PF-AFN", "teachers"]
    values = {
        name: json.loads((runs / name / "results" / "metrics.json").read_text())["protocols"]["transfer"]["values"]
        for name in ("ours", "pfafn")
    }
    mean, low, high = (float(x) for x in re.findall(r"[-+][\d.e+-]+", differences[0].split("|")[2])[:3])
    assert low <= mean <= high
    assert mean == pytest.approx(values["ours"]["psnr"] - values["pfafn"]["psnr"], abs=0.2)  # from the saved PNGs
    assert "ours - method" not in text.split("## True try-on")[1].split("##")[0]  # ours has no try-on to compare
    grid = read_image(out.with_suffix(".png"), "RGB")
    assert grid.shape == (2 * 64 + 3 * 2, 9 * 48 + 10 * 2, 3)
    assert (
        main(
            args
            + ["--method", f"again={runs / 'pfafn' / 'results'}", "--method", f"again={runs / 'pfafn' / 'results'}"]
        )
        == 2
    )
    assert "protocol 'transfer' is in" in capsys.readouterr().err

    same = build_comparison(
        {"ours": [runs / "ours" / "results"], "ours again": [runs / "ours" / "results"]},
        synthetic_root,
        tmp_path / "same.md",
        pairs=1,
        resamples=50,
    )
    assert same.count("| ours again | +0 [+0, +0] n.s. | +0 [+0, +0] n.s. |") == 2  # transfer and re-transfer


def test_compare_names_a_bad_method_and_a_missing_evaluation(synthetic_root, tmp_path, capsys):
    base = ["compare", "--data", str(synthetic_root), "--out", str(tmp_path / "compare.md")]
    assert main(base + ["--method", "ours"]) == 2
    assert "expected NAME=RESULTS_FOLDER" in capsys.readouterr().err
    assert main(base + ["--method", f"ours={tmp_path / 'nowhere'}"]) == 2
    assert "nowhere/metrics.json: no evaluation results" in capsys.readouterr().err
    assert main(base + ["--method", f"ours={tmp_path / 'nowhere'}", "--reference", "PF-AFN"]) == 2
    assert "--reference 'PF-AFN': not one of the methods ['ours']" in capsys.readouterr().err
    assert not (tmp_path / "compare.md").exists()
