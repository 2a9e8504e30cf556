"""Every layout as downloaded (written by ``real_layouts``, independently of the exporters) reads into the samples the
canonical reader gives for the same content; ``data check`` recognises each without ``--format`` and finds it clean;
each data set's own evaluation list is what the data module evaluates on."""

from __future__ import annotations

import io as bytes_io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import real_layouts as rl
import torch
from conftest import tiny_settings
from PIL import Image
from scipy import ndimage

from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.cli import main
from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.data.densepose import encode_rendering
from garment_transfer.data.label_maps import LOWER_GARMENT, UPPER_GARMENT, load_label_map
from garment_transfer.data.readers import make_reader
from garment_transfer.data.synth import generate

SIZE = (64, 48)
IMAGE_TOLERANCE = 0.1  # mean |difference| in [-1, 1] between a JPEG photo and its PNG source (64 x 48, 4:2:0)
CLOTH_TOLERANCE = 0.25  # the same inside the garment, whose fine textures lose most to chroma subsampling


@pytest.fixture(scope="module")
def content_root(tmp_path_factory) -> Path:
    """A 64 x 48 synthetic set with 6 samples per split (two per DressCode category)."""
    root = tmp_path_factory.mktemp("layouts") / "synthetic"
    generate(root, tiny_settings(train=6, test=6), workers=1, progress=False)
    return root


@pytest.fixture(scope="module")
def content(content_root):
    return rl.load_content(content_root)


WRITERS = {
    "vitonhd": rl.write_vitonhd,
    "dresscode": rl.write_dresscode,
    "pfafn": rl.write_pfafn,
    "cpvton": rl.write_cpvton,
    "gpvton": rl.write_gpvton,
    "gpvton_dresscode": rl.write_gpvton_dresscode,
}
READ_AS = {  # layout -> (format, reader options, label map of the layout's ids, fixture's CIHP -> layout ids)
    "vitonhd": ("canonical", {"densepose": "rendering", "densepose_files": "rendering"}, "cihp", None),
    "dresscode": ("dresscode", {"densepose": "iuv", "category": "all"}, "atr18", rl.CIHP_TO_ATR),
    "pfafn": ("viton", {"densepose": "parts"}, "acgpn14", rl.CIHP_TO_ACGPN),
    "cpvton": ("cpvton", {"densepose": "parts"}, "lip", rl.CIHP_TO_LIP),
    "gpvton": ("gpvton", {"densepose": "parts"}, "gpvton29", None),
    "gpvton_dresscode": ("gpvton", {"densepose": "parts"}, "gpvton29", None),
}
DETECTED = {
    "vitonhd": "VITON-HD",
    "dresscode": "DressCode",
    "pfafn": "VITON 256 x 192, PF-AFN's pack",
    "cpvton": "CP-VTON",
    "gpvton": "GP-VTON's VITON-HD",
    "gpvton_dresscode": "GP-VTON's DressCode",
}


@pytest.fixture(scope="module")
def layouts(content, tmp_path_factory) -> dict[str, rl.Written]:
    base = tmp_path_factory.mktemp("downloads")
    return {name: write(base / name, content) for name, write in WRITERS.items()}


def layout_ids(layout: str, sample: rl.Sample) -> np.ndarray:
    """The ids the layout's files hold for a sample's CIHP parsing."""
    if layout.startswith("gpvton"):
        return rl.gp_labels(sample.parse)
    table = READ_AS[layout][3]
    return sample.parse if table is None else rl.lookup(sample.parse, table)


def jpeg_decoded(array: np.ndarray) -> torch.Tensor:
    """What a reader gives for ``array`` written as the fixtures' JPEG: (3, H, W) in [-1, 1]."""
    buffer = bytes_io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95)
    decoded = np.asarray(Image.open(buffer).convert("RGB"))
    return torch.from_numpy(decoded.transpose(2, 0, 1).copy()).float() / 127.5 - 1


def edge_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` of the boundary of a boolean mask (where JPEG and background models may differ)."""
    return ndimage.binary_dilation(mask, iterations=radius) & ~ndimage.binary_erosion(mask, iterations=radius)


def assert_same_person(layout, got, want, sample: rl.Sample, written: rl.Written, split: str, real: str):
    """``got`` (the layout's reader) holds ``want``'s content (the canonical reader on the synthetic set)."""
    what = f"{layout} {split}/{real}"
    ids = layout_ids(layout, sample)
    layout_classes = load_label_map(READ_AS[layout][2]).lut()[ids]
    cihp_classes = load_label_map("cihp").lut()[sample.parse]
    assert np.array_equal(got.parsing.numpy(), layout_classes), f"{what}: parsing is not the layout's ids mapped"
    same = torch.from_numpy(layout_classes == cihp_classes)
    assert same.float().mean() > 0.9, f"{what}: the label sets disagree on most pixels"
    assert torch.equal(got.parsing[same], want.parsing[same]), f"{what}: parsing"
    jpeg = layout not in ("gpvton", "gpvton_dresscode")
    image = jpeg_decoded(sample.image) if jpeg else want.image
    assert torch.allclose(got.image, image, atol=1e-6), f"{what}: image is not the stored photo"
    assert (got.image - want.image).abs().mean() < IMAGE_TOLERANCE, f"{what}: image"
    garment = want.cloth_mask.bool().expand(3, -1, -1)
    assert (got.cloth - want.cloth)[garment].abs().mean() < CLOTH_TOLERANCE, f"{what}: cloth"
    wrong = (got.cloth_mask != want.cloth_mask)[0].numpy()
    assert not (wrong & ~edge_band(want.cloth_mask[0].numpy() > 0, 2)).any(), f"{what}: cloth mask off its edges"
    category = written.category.get((split, real), "upper_body")
    classes = {
        "upper_body": (UPPER_GARMENT,),
        "lower_body": (LOWER_GARMENT,),
        "dresses": (UPPER_GARMENT, LOWER_GARMENT),
    }[category]
    expected = torch.isin(got.parsing, torch.tensor(classes)).float()[None]
    assert torch.equal(got.garment_mask, expected), f"{what}: garment mask does not follow the category {category}"
    if (split, real) in written.keypoints:
        assert got.keypoints is not None, f"{what}: keypoints not read"
        assert torch.allclose(got.keypoints, torch.from_numpy(written.keypoints[(split, real)]), atol=1e-3), what


@pytest.mark.parametrize("layout", ["vitonhd", "dresscode", "pfafn", "gpvton", "gpvton_dresscode"])
def test_layout_as_downloaded_reads_as_the_canonical_samples(layout, layouts, content_root):
    written = layouts[layout]
    fmt, options, _, _ = READ_AS[layout]
    reader = make_reader(fmt, written.root, size=SIZE, **options)
    encoding = options["densepose"] if options["densepose"] != "rendering" else "iuv"
    reference = make_reader("canonical", content_root, size=SIZE, densepose=encoding)
    splits = ["train"] if layout == "pfafn" else ["train", "test"]  # PF-AFN's test pack: below
    for split in splits:
        assert reader.ids(split) == written.ids[split]
        for real in written.ids[split]:
            sample = written.source[(split, real)]
            got, want = reader.person(split, real), reference.person(split, sample.id)
            assert_same_person(layout, got, want, sample, written, split, real)
            if layout == "vitonhd":
                picture = encode_rendering(rl.rendering(sample.iuv))
                assert (got.densepose - torch.from_numpy(picture)).abs().mean() < IMAGE_TOLERANCE
            else:
                assert torch.equal(got.densepose, want.densepose), f"{layout} {real}: DensePose"


def test_pfafn_test_pack_reads_photos_and_says_what_it_lacks(layouts):
    written = layouts["pfafn"]
    reader = make_reader("viton", written.root, size=SIZE)
    assert reader.ids("test") == written.ids["test"]
    for real in written.ids["test"]:
        raw = reader.read_raw("test", real)
        sample = written.source[("test", real)]
        assert raw.labels is None and raw.densepose_index is None and raw.keypoints is None
        assert torch.allclose(
            torch.from_numpy(raw.image.transpose(2, 0, 1).copy()).float() / 127.5 - 1,
            jpeg_decoded(sample.image),
            atol=1e-6,
        )
        wrong = (raw.cloth_mask > 127) != (sample.cloth_mask > 127)
        assert not (wrong & ~edge_band(sample.cloth_mask > 127, 2)).any()
    with pytest.raises(
        ValueError,
        match=r"VITON_test/test_label: no parsing \(PF-AFN's test pack ships test_img, "
        r"test_clothes and test_edge only",
    ):
        reader.person("test", written.ids["test"][0])


def test_cpvton_reads_as_the_canonical_samples_once_densepose_is_added(layouts, content_root, tmp_path):
    root = Path(shutil.copytree(layouts["cpvton"].root, tmp_path / "cpvton"))
    written = layouts["cpvton"]
    reader = make_reader("cpvton", root, size=SIZE, densepose="parts")
    with pytest.raises(ValueError, match=r"image-densepose: no DensePose \(CP-VTON ships none"):
        reader.person("train", written.ids["train"][0])
    for (split, real), sample in written.source.items():  # add grey part-index maps, as a user would
        rl.save_grey(root / "data" / split / "image-densepose" / f"{real}_0.png", sample.iuv[..., 0])
    reader = make_reader("cpvton", root, size=SIZE, densepose="parts", densepose_files="parts")
    reference = make_reader("canonical", content_root, size=SIZE, densepose="parts")
    for split in rl.SPLITS:
        assert reader.ids(split) == written.ids[split]
        for real in written.ids[split]:
            sample = written.source[(split, real)]
            got, want = reader.person(split, real), reference.person(split, sample.id)
            assert_same_person("cpvton", got, want, sample, written, split, real)
            assert torch.equal(got.densepose, want.densepose)


def test_pfafn_jpeg_label_maps_are_read_with_a_warning(content, tmp_path, content_root):
    written = rl.write_pfafn(tmp_path / "pfafn", content, jpeg_labels=True)
    reader = make_reader("viton", written.root, size=SIZE)
    reference = make_reader("canonical", content_root, size=SIZE, densepose="parts")
    for real in written.ids["train"]:
        raw = reader.read_raw("train", real)
        assert raw.files["labels"].suffix == ".jpg" and any("JPEG label map" in w for w in raw.warnings)
        got = reader.person("train", real).parsing
        want = reference.person("train", written.source[("train", real)].id).parsing
        # JPEG shifts grey levels by one or two near every edge, and at 64 x 48 most pixels are near one
        assert (got == want).float().mean() > 0.75


@pytest.mark.parametrize("layout", list(WRITERS))
def test_data_check_recognises_each_download_and_finds_it_clean(layout, layouts, capsys):
    assert main(["data", "check", str(layouts[layout].root), "--size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert f"layout: {DETECTED[layout]}" in out and f"--format {READ_AS[layout][0]}" in out
    assert "OK: no problems found" in out
    counts = [len(layouts[layout].ids[s]) for s in rl.SPLITS]
    row = next(line for line in out.splitlines() if line.startswith("samples listed"))
    assert row.split()[-3:] == [str(counts[0]), str(counts[1]), str(sum(counts))]


def test_vitonhd_detection_picks_the_rendering_options(layouts, capsys):
    main(["data", "check", str(layouts["vitonhd"].root)])
    out = capsys.readouterr().out
    assert "--densepose rendering --densepose-files rendering" in out and "JPEG colour renderings" in out
    assert "train_pairs.txt and test_pairs.txt at the root" in out


def test_pfafn_and_cpvton_checks_note_what_the_download_lacks(layouts, capsys):
    main(["data", "check", str(layouts["pfafn"].root)])
    out = capsys.readouterr().out
    assert "note:" in out and "test pack without test_label/" in out and "6 test samples have no parsing" in out
    main(["data", "check", str(layouts["cpvton"].root)])
    assert "no DensePose (CP-VTON ships none)" in capsys.readouterr().out


@pytest.mark.parametrize("layout", ["vitonhd", "dresscode", "cpvton", "gpvton"])
def test_unpaired_evaluation_uses_the_data_sets_own_list(layout, layouts, tmp_path):
    written = layouts[layout]
    root = Path(shutil.copytree(written.root, tmp_path / layout))
    fmt, options, _, _ = READ_AS[layout]
    options = dict(options)
    densepose = options.pop("densepose")
    if layout == "cpvton":  # CP-VTON ships no DensePose: add grey part-index maps
        for (split, real), sample in written.source.items():
            rl.save_grey(root / "data" / split / "image-densepose" / f"{real}_0.png", sample.iuv[..., 0])
        options["densepose_files"] = "parts"
    module = GarmentDataModule(
        root=str(root),
        format=fmt,
        size="64x48",
        densepose=densepose,
        reader_options=options,
        eval_pairs="unpaired",
        eval_seed=5,
    )
    module.setup("test")
    assert module.datasets["test"].pairs == written.lists["test_unpaired"]
    assert "unpaired list" in module.eval_pairs_source and "train" not in module.datasets
    batch = next(iter(module.test_dataloader()))
    assert list(zip(batch.source.id, batch.target.id)) == written.lists["test_unpaired"][: len(batch.source.id)]


def test_pfafn_test_list_from_the_code_repository_is_the_unpaired_list(layouts):
    written = layouts["pfafn"]
    reader = make_reader("viton", written.root, size=SIZE)
    official = reader.official_pairs("test", paired=False)
    assert official.pairs == written.lists["test_unpaired"] and official.path.name == "test_pairs.txt"
    assert reader.official_pairs("test", paired=True) is None


def test_dresscode_categories_read_one_at_a_time_or_together(layouts):
    written = layouts["dresscode"]
    every = make_reader("dresscode", written.root, size=SIZE, category="all")
    per_category = []
    for category in rl.DRESSCODE_PLAN:
        reader = make_reader("dresscode", written.root, size=SIZE, category=category)
        ids = reader.ids("train")
        assert ids and all(written.category[("train", i)] == category for i in ids)
        per_category += ids
        assert reader.person("train", ids[0]).garment_mask.sum() > 0
    assert sorted(per_category) == sorted(every.ids("train"))
    two = make_reader("dresscode", written.root, size=SIZE, category=["lower_body", "dresses"])
    assert set(two.ids("test")) == {i for i in written.ids["test"] if written.category[("test", i)] != "upper_body"}


def test_dresscode_masks_come_from_ladi_vton_files_or_the_background(layouts):
    reader = make_reader("dresscode", layouts["dresscode"].root, size=SIZE, category="all")
    sources = {}
    for real in layouts["dresscode"].ids["train"]:
        raw = reader.read_raw("train", real)
        sources[layouts["dresscode"].category[("train", real)]] = raw.files["cloth_mask"].name
    assert sources["lower_body"].endswith("_1.png")  # masks/<id>_1.png (LaDI-VTON)
    assert sources["upper_body"].endswith("_1.jpg") and sources["dresses"].endswith("_1.jpg")  # from the background


def test_pipeline_test_on_a_vitonhd_test_split_runs_the_unpaired_protocol_on_its_official_list(
    content, stage_checkpoints, tmp_path
):
    """``garment-transfer test`` on VITON-HD as downloaded, holding only ``test/`` and the official (unpaired)
    ``test_pairs.txt``: the results are exactly the official pairs (file ``<cloth id>__<person id>.png``)."""
    written = rl.write_vitonhd(tmp_path / "VITON-HD", content, splits=("test",))
    assert not (written.root / "train").exists() and not (written.root / "train_pairs.txt").exists()
    checkpoints = {}  # the tiny stages, recorded as trained on VITON-HD's colour renderings (also 3 channels)
    for stage in ("transfer_parsing", "transfer_warping", "arm_regrowth"):
        checkpoint = read_checkpoint(stage_checkpoints[stage])
        checkpoint["datamodule_hyper_parameters"]["densepose"] = "rendering"
        checkpoints[stage] = str(tmp_path / f"{stage}.ckpt")
        torch.save(checkpoint, checkpoints[stage])
    run = tmp_path / "run"
    conf = Path(__file__).resolve().parents[1] / "conf"
    roles = {
        "parsing": checkpoints["transfer_parsing"],
        "warping": checkpoints["transfer_warping"],
        "regrowth": checkpoints["arm_regrowth"],
    }
    args = [
        "test",
        "-c",
        str(conf / "trainer/cpu.yaml"),
        "-c",
        str(conf / "pipeline/cpu.yaml"),
        "-c",
        str(conf / "distilled_transfer/evaluate/ours.yaml"),
        "--trainer.default_root_dir",
        str(run),
        "--trainer.logger",
        "false",
        "--trainer.accelerator",
        "cpu",
        "--trainer.enable_progress_bar",
        "false",
        "--model.init_args.checkpoints",
        json.dumps(roles),
        "--model.init_args.protocols",
        "[unpaired, retransfer]",
        "--data.init_args.root",
        str(written.root),
        "--data.init_args.format",
        "vitonhd",
        "--data.init_args.size",
        "64x48",
        "--data.init_args.densepose",
        "rendering",
        "--data.init_args.reader_options",
        "{densepose_files: rendering}",
        "--data.init_args.eval_pairs",
        "unpaired",
        "--data.init_args.eval_batch_size",
        "4",
    ]
    assert main(args) == 0
    results = sorted(p.stem for p in (run / "results" / "transfer").glob("*.png"))
    assert results == sorted(f"{cloth}__{person}" for cloth, person in written.lists["test_unpaired"])
    protocols = json.loads((run / "results" / "metrics.json").read_text())["protocols"]
    assert set(protocols) == {"unpaired", "retransfer"}
