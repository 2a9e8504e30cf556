"""The evaluator: pixel metrics against an independent numpy computation, the one pre-processing, skipped metrics
never reported as numbers, weight files in the torch-fidelity / lpips / torchvision formats (random weights written
by our own modules), KID / IS against their formulas, and ``garment-transfer evaluate`` on a tiny synthetic set."""

from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

from garment_transfer.cli import main
from garment_transfer.data.formats import canonical
from garment_transfer.data.io import read_image, write_png
from garment_transfer.evaluation import (
    LPIPS,
    METRICS,
    PREPROCESSING,
    EvaluationResult,
    Evaluator,
    InceptionV3Features,
    from_uint8,
    to_uint8,
    write_results,
)
from garment_transfer.evaluation.inception import resize_like_tensorflow1
from garment_transfer.evaluation.statistics import InceptionStatistics, inception_score, kernel_inception_distance

SMALL_INCEPTION = 75  # the smallest input the network accepts: cheap on CPU


def _uint8(seed: int, b: int = 4, h: int = 32, w: int = 24) -> torch.Tensor:
    return torch.randint(0, 256, (b, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. SSIM of two (3, H, W) 0..255 images: 11 x 11 Gaussian (sigma 1.5), valid region, channel mean."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for a, b in zip(x.astype(np.float64), y.astype(np.float64)):

        def blur(image):
            return convolve2d(image, window, mode="valid")

        mu_a, mu_b = blur(a), blur(b)
        var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
        values.append(
            (((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))).mean()
        )
    return float(np.mean(values))


def _direct(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    mse = ((pred.astype(np.float64) - target.astype(np.float64)) ** 2).mean(axis=(1, 2, 3))
    return {
        "mse": mse.mean(),
        "psnr": (10 * np.log10(255.0**2 / mse)).mean(),
        "ssim": np.mean([_reference_ssim(p, t) for p, t in zip(pred, target)]),
    }


def test_mse_psnr_ssim_equal_a_direct_numpy_computation_on_8_bit_images():
    pred, target = _uint8(0), _uint8(1)
    target[:2] = (pred[:2].int() + torch.randint(-20, 21, pred[:2].shape)).clamp(0, 255).to(torch.uint8)  # close
    evaluator = Evaluator(metrics=("mse", "psnr", "ssim"))
    evaluator.update(from_uint8(pred[:3]), from_uint8(target[:3]))
    evaluator.update(from_uint8(pred[3:]), from_uint8(target[3:]))  # accumulates over batches
    result = evaluator.compute()
    expected = _direct(pred.numpy(), target.numpy())
    assert result.images == 4 and result.skipped == {}
    for name in ("mse", "psnr", "ssim"):
        assert result.values[name] == pytest.approx(expected[name], rel=1e-5), name


def test_float_results_are_evaluated_as_their_saved_8_bit_pngs(tmp_path):
    g = torch.Generator().manual_seed(2)
    pred, target = torch.rand(2, 3, 32, 24, generator=g) * 2.2 - 1.1, torch.rand(2, 3, 32, 24, generator=g) * 2 - 1
    for i, image in enumerate(to_uint8(pred)):  # what the pipeline writes
        write_png(tmp_path / f"{i}.png", image.permute(1, 2, 0).numpy())
    saved = torch.stack(
        [torch.from_numpy(np.array(read_image(tmp_path / f"{i}.png", "RGB"))).permute(2, 0, 1) for i in range(2)]
    )
    in_memory, from_files = Evaluator(metrics=("mse", "psnr", "ssim")), Evaluator(metrics=("mse", "psnr", "ssim"))
    in_memory.update(pred, target)
    from_files.update(from_uint8(saved), target)
    assert in_memory.compute().values == from_files.compute().values
    assert torch.equal(
        to_uint8(torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0])), torch.tensor([0, 0, 128, 255, 255], dtype=torch.uint8)
    )


def test_metrics_without_weight_files_are_skipped_with_reasons_and_never_written_as_numbers(tmp_path):
    x = from_uint8(_uint8(3, b=2))
    paired, unpaired = Evaluator(), Evaluator(reference=False)
    paired.update(x, x.flip(0))
    unpaired.update(x)
    results = {"transfer": paired.compute(), "unpaired": unpaired.compute()}
    assert set(results["transfer"].values) == {"mse", "psnr", "ssim"}
    assert set(results["transfer"].skipped) == {"lpips", "fid", "kid", "is"}
    assert "--inception" in results["transfer"].skipped["fid"] and "--lpips" in results["transfer"].skipped["lpips"]
    assert results["unpaired"].values == {} and set(results["unpaired"].skipped) == set(METRICS)
    assert "no reference" in results["unpaired"].skipped["mse"]

    table = write_results(results, tmp_path / "out" / "metrics", title="check")
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["preprocessing"] == PREPROCESSING
    for protocol, result in results.items():
        assert saved["protocols"][protocol]["values"] == pytest.approx(result.values)
        assert set(saved["protocols"][protocol]["skipped"]) == set(result.skipped)
        assert not set(saved["protocols"][protocol]["values"]) & set(result.skipped)
    rows = list(csv.DictReader((tmp_path / "out" / "metrics.csv").open()))
    assert len(rows) == 2 * len(METRICS)
    for row in rows:
        skipped = row["metric"] in results[row["protocol"]].skipped
        assert (row["status"], row["value"] == "", row["reason"] != "") == (
            ("skipped", True, True) if skipped else ("ok", False, False)
        )
    transfer_row = next(line for line in table.splitlines() if line.startswith("transfer"))
    assert transfer_row.split()[-4:] == ["-", "-", "-", "-"]  # LPIPS, FID, KID, IS columns
    with pytest.raises(ValueError, match="both computed and skipped"):
        EvaluationResult({"fid": 1.0}, {"fid": "no file"}, 1)


def test_evaluator_checks_its_inputs():
    x = from_uint8(_uint8(4, b=2))
    with pytest.raises(ValueError, match="reference"):
        Evaluator().update(x)
    with pytest.raises(ValueError, match="unpaired"):
        Evaluator(reference=False).update(x, x)
    with pytest.raises(ValueError, match="shape of pred"):
        Evaluator().update(x, x[:1])
    with pytest.raises(ValueError, match="unknown"):
        Evaluator(metrics=("mse", "hyperiqa"))


# ------------------------------------------------------------------------------------------- weight files and networks
@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    """Random-weight files in the real formats: torch-fidelity's Inception file (no ``num_batches_tracked``, as the
    converted TensorFlow weights), lpips' ``vgg.pth`` (linear layers only) and torchvision's ``vgg16`` file."""
    folder = tmp_path_factory.mktemp("weights")
    inception = InceptionV3Features(None)
    torch.save(
        {k: v for k, v in inception.state_dict().items() if not k.endswith("num_batches_tracked")},
        folder / "weights-inception-2015-12-05-6726825d.pth",
    )
    lpips = LPIPS(None, None, net="vgg").state_dict()
    torch.save({k: v for k, v in lpips.items() if k.startswith("lin")}, folder / "vgg.pth")
    torch.save(
        {
            **{k: v for k, v in lpips.items() if k.startswith("features.")},
            "classifier.0.weight": torch.zeros(4, 8),
            "classifier.0.bias": torch.zeros(4),
        },  # ignored
        folder / "vgg16-397923af.pth",
    )
    return {
        "inception": folder / "weights-inception-2015-12-05-6726825d.pth",
        "lpips": folder / "vgg.pth",
        "lpips_backbone": folder / "vgg16-397923af.pth",
    }


@pytest.fixture(scope="module")
def full_evaluator(weight_files):
    return Evaluator(**weight_files, kid_subset_size=2, is_splits=2, inception_size=SMALL_INCEPTION)


def test_weight_files_load_unchanged_and_stay_out_of_the_state_dict(weight_files, full_evaluator):
    saved = torch.load(weight_files["inception"], weights_only=True)
    loaded = full_evaluator._networks["inception"].state_dict()
    assert len(saved) == 472 and all(torch.equal(loaded[k], v) for k, v in saved.items())
    assert "Mixed_7c.branch3x3dbl_3b.bn.running_var" in saved and saved["fc.weight"].shape == (1008, 2048)
    linear = torch.load(weight_files["lpips"], weights_only=True)
    assert sorted(linear) == [f"lin{i}.model.1.weight" for i in range(5)]
    assert all(torch.equal(full_evaluator._networks["lpips"].state_dict()[k], v) for k, v in linear.items())
    assert not any(k.startswith(("Mixed", "features", "lin")) for k in full_evaluator.state_dict())


def test_fid_and_lpips_of_a_set_with_itself_are_zero_and_positive_otherwise(full_evaluator):
    x, y = from_uint8(_uint8(5, b=4, h=64, w=48)), from_uint8(_uint8(6, b=4, h=64, w=48))
    full_evaluator.reset()
    full_evaluator.update(x, x)
    same = full_evaluator.compute()
    full_evaluator.reset()
    full_evaluator.update(x, y)
    other = full_evaluator.compute()
    full_evaluator.reset()
    assert same.skipped == {} and list(same.values) == list(METRICS)
    assert same.values["lpips"] == 0.0 and other.values["lpips"] > 0
    assert other.values["fid"] > 0 and abs(same.values["fid"]) < 1e-6 * other.values["fid"]
    assert same.values["is"] == other.values["is"]  # IS sees the generated set only
    assert set(same.std) == {"kid", "is"}


def test_too_few_images_for_kid_is_a_skip_with_the_reason(weight_files):
    evaluator = Evaluator(inception=weight_files["inception"], metrics=("kid", "is"), inception_size=SMALL_INCEPTION)
    x = from_uint8(_uint8(7, b=3, h=64, w=48))
    evaluator.update(x, x.flip(0))
    result = evaluator.compute()
    assert result.values == {} and result.images == 3
    assert "at least 1000" in result.skipped["kid"] and "got 3 / 3" in result.skipped["kid"]
    assert "at least 10 images" in result.skipped["is"]


def test_kid_and_is_follow_their_formulas():
    g = torch.Generator().manual_seed(8)
    fake, real = torch.randn(6, 16, generator=g), torch.randn(6, 16, generator=g) + 0.5
    kernel = lambda a, b: (a.double() @ b.double().T / 16 + 1) ** 3  # noqa: E731
    m = 6
    off = lambda k: k.sum() - k.diagonal().sum()  # noqa: E731
    expected = (
        off(kernel(fake, fake)) / (m * (m - 1))
        + off(kernel(real, real)) / (m * (m - 1))
        - 2 * kernel(fake, real).sum() / m**2
    )
    mean, std = kernel_inception_distance(fake, real, subsets=3, subset_size=6)  # every subset is the whole set
    assert mean == pytest.approx(float(expected), abs=1e-6) and std < 1e-6  # float32 kernels, as torch-fidelity
    logits = torch.randn(8, 5, generator=g)
    p = logits.double().softmax(1)
    expected_is = math.exp(float((p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean()))
    assert inception_score(logits, splits=1)[0] == pytest.approx(expected_is, rel=1e-9)
    assert inception_score(logits, splits=2) == inception_score(logits, splits=2)  # seeded: the same every run


def test_missing_or_wrong_weight_files_are_errors_naming_the_file(weight_files, tmp_path):
    absent = tmp_path / "nowhere.pth"
    with pytest.raises(FileNotFoundError, match=str(absent)):
        Evaluator(inception=absent)
    with pytest.raises(ValueError, match=f"{weight_files['lpips']}.*not the FID Inception"):
        Evaluator(inception=weight_files["lpips"])
    with pytest.raises(ValueError, match=f"{weight_files['inception']}.*not an lpips v0.1"):
        Evaluator(lpips=weight_files["inception"], lpips_backbone=weight_files["lpips_backbone"])
    with pytest.raises(ValueError, match=f"{weight_files['lpips']}.*not a torchvision-format vgg16"):
        Evaluator(lpips=weight_files["lpips"], lpips_backbone=weight_files["lpips"])
    with pytest.raises(ValueError, match="needs both files"):
        Evaluator(lpips=weight_files["lpips"])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=f"{garbage}: cannot read Inception.*not a torch file"):
        Evaluator(inception=garbage)


def test_alexnet_lpips_is_recognised_from_its_linear_file(tmp_path):
    alex = LPIPS(None, None, net="alex").state_dict()
    torch.save({k: v for k, v in alex.items() if k.startswith("lin")}, tmp_path / "alex.pth")
    torch.save({k: v for k, v in alex.items() if k.startswith("features.")}, tmp_path / "alexnet-owt-7be5be79.pth")
    lpips = LPIPS(tmp_path / "alex.pth", tmp_path / "alexnet-owt-7be5be79.pth")
    x, y = from_uint8(_uint8(9, b=2, h=64, w=48)), from_uint8(_uint8(10, b=2, h=64, w=48))
    assert lpips.net == "alex" and torch.equal(lpips(x, x), torch.zeros(2)) and (lpips(x, y) > 0).all()
    with pytest.raises(ValueError, match="is for the alex backbone, not vgg"):
        LPIPS(tmp_path / "alex.pth", tmp_path / "alexnet-owt-7be5be79.pth", net="vgg")


def test_tensorflow_resize_samples_input_pixel_i_times_in_over_out_without_half_pixel_offset():
    row = torch.tensor([0.0, 10.0, 20.0, 40.0]).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    out = resize_like_tensorflow1(row, 8)  # position i / 2: exact inputs at even i, midpoints at odd, last clamped
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 40.0]))
    torch.testing.assert_close(out[0, 0, :, 3], torch.full((8,), 15.0))


# ----------------------------------------------------------------------------------------------- the evaluate tool
def _results(synthetic_root, folder, protocol: str) -> list[tuple[str, str]]:
    """Perfect results in ``folder``: each pair's reference image, named ``<source>__<target>.png``."""
    pairs = canonical.read_pairs(canonical.transfer_pairs_path(synthetic_root, "test"))
    folder.mkdir()
    for source, target in pairs:
        reference = (
            canonical.transfer_paths(synthetic_root, "test", source, target)["image"]
            if protocol == "transfer"
            else canonical.sample_paths(synthetic_root, "test", source)["image"]
        )
        shutil.copy(reference, folder / f"{source}__{target}.png")
    return pairs


@pytest.mark.parametrize("protocol", ["transfer", "retransfer"])
def test_evaluate_tool_on_perfect_results_gives_zero_error_and_writes_json_and_csv(
    synthetic_root, tmp_path, capsys, protocol
):
    _results(synthetic_root, tmp_path / "results", protocol)
    assert (
        main(
            [
                "evaluate",
                "--results",
                str(tmp_path / "results"),
                "--data",
                str(synthetic_root),
                "--protocol",
                protocol,
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())["protocols"][protocol]
    assert saved["images"] == 4 and saved["values"] == {"mse": 0.0, "psnr": 100.0, "ssim": pytest.approx(1.0)}
    assert set(saved["skipped"]) == {"lpips", "fid", "kid", "is"}
    assert "skipped:" in out and "--inception" in out
    assert (tmp_path / "out" / "metrics.csv").read_text().startswith("protocol,metric,value")


def test_evaluate_tool_matches_a_direct_computation_on_imperfect_results(synthetic_root, tmp_path, capsys):
    pairs = _results(synthetic_root, tmp_path / "results", "transfer")
    rng = np.random.default_rng(0)
    preds, truths = [], []
    for source, target in pairs:
        path = tmp_path / "results" / f"{source}__{target}.png"
        image = np.clip(read_image(path, "RGB").astype(int) + rng.integers(-30, 31, (64, 48, 3)), 0, 255)
        write_png(path, image.astype(np.uint8))
        preds.append(image.transpose(2, 0, 1))
        truths.append(
            read_image(canonical.transfer_paths(synthetic_root, "test", source, target)["image"], "RGB").transpose(
                2, 0, 1
            )
        )
    assert (
        main(
            [
                "evaluate",
                "--results",
                str(tmp_path / "results"),
                "--data",
                str(synthetic_root),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())["protocols"]["transfer"]["values"]
    expected = _direct(np.stack(preds), np.stack(truths))
    for name in ("mse", "psnr", "ssim"):
        assert saved[name] == pytest.approx(expected[name], rel=1e-5), name


def test_evaluate_tool_unpaired_needs_no_reference(synthetic_root, tmp_path, capsys):
    _results(synthetic_root, tmp_path / "results", "transfer")
    assert main(["evaluate", "--results", str(tmp_path / "results"), "--protocol", "unpaired"]) == 0
    out = capsys.readouterr().out
    assert "unpaired protocol: no reference image" in out and "--inception" in out


def test_evaluate_tool_errors_name_the_missing_result_the_odd_size_and_the_unknown_id(synthetic_root, tmp_path, capsys):
    pairs = _results(synthetic_root, tmp_path / "results", "transfer")
    command = ["evaluate", "--results", str(tmp_path / "results"), "--data", str(synthetic_root)]
    first, second = (tmp_path / "results" / f"{s}__{t}.png" for s, t in pairs[:2])
    first.rename(tmp_path / "kept.png")
    assert main(command) == 2
    assert str(first) in capsys.readouterr().err
    (tmp_path / "kept.png").rename(first)
    write_png(second, np.zeros((32, 24, 3), np.uint8))
    assert main(command) == 2
    assert f"{second}: size 32x24 differs from the other results' 64x48" in capsys.readouterr().err
    (tmp_path / "pairs.csv").write_text(f"source,target\n{pairs[0][0]},{pairs[0][1]}\nnobody,{pairs[1][1]}\n")
    assert main(command + ["--pairs", str(tmp_path / "pairs.csv")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "pairs.csv") in err and "nobody" in err
    assert main(["evaluate", "--results", str(tmp_path / "results")]) == 2
    assert "--data" in capsys.readouterr().err


def test_evaluate_help_states_the_preprocessing(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    assert "TensorFlow 1.x's bilinear resize" in out and "round(255 * (x + 1) / 2)" in out


def test_kid_and_is_states_merge_like_ddp_and_ignore_the_image_order():
    g = torch.Generator().manual_seed(11)
    fake = {"pool3": torch.randn(12, 2048, generator=g), "logits_unbiased": torch.randn(12, 1008, generator=g)}
    real = {"pool3": torch.randn(12, 2048, generator=g) + 0.1, "logits_unbiased": torch.zeros(12, 1008)}
    options = dict(fid=False, kid_subsets=5, kid_subset_size=6, is_splits=3)
    whole, first, second = (InceptionStatistics(**options) for _ in range(3))
    whole.update({k: v.flip(0) for k, v in fake.items()}, real=False)  # another order, one process
    whole.update(real, real=True)
    first.update({k: v[:5] for k, v in fake.items()}, real=False)  # two "processes"
    second.update({k: v[5:] for k, v in fake.items()}, real=False)
    first.update({k: v[:7] for k, v in real.items()}, real=True)
    second.update({k: v[7:] for k, v in real.items()}, real=True)
    first.merge_state(second)
    values, std, skipped = whole.compute()
    assert set(values) == {"kid", "is"} and skipped == {}
    assert first.compute() == (values, std, skipped)


def test_a_mask_limits_the_paired_metrics_and_empty_masks_are_not_counted(weight_files):
    evaluator = Evaluator(
        lpips=weight_files["lpips"], lpips_backbone=weight_files["lpips_backbone"], metrics=("mse", "ssim", "lpips")
    )
    pred, reference = from_uint8(_uint8(12, b=3, h=64, w=48)), from_uint8(_uint8(13, b=3, h=64, w=48))
    mask = torch.zeros(3, 1, 64, 48)
    mask[:2, :, 16:48, 8:40] = 1  # the third image's mask is empty
    reference = torch.where(mask > 0.5, pred, reference)  # equal inside the mask, different outside
    evaluator.update(pred, reference, mask)
    result = evaluator.compute()
    assert result.values == {"mse": 0.0, "ssim": pytest.approx(1.0), "lpips": 0.0} and result.images == 3
    evaluator.reset()
    evaluator.update(pred, reference, torch.zeros_like(mask))
    assert set(evaluator.compute().skipped) == {"mse", "ssim", "lpips"}
