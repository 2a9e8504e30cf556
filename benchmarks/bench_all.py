"""One benchmark report: data throughput, training step time per stage, pipeline inference speed and model size.

Sections (``--sections``): ``engine`` (synthetic engine samples/s, :func:`bench_engine.throughput`), ``loader``
(pairs/s through a stage data module's train loader), ``training`` (seconds per optimiser step of each of the five
stages, preset as its YAML in ``conf/`` says: networks, loss settings, batch size), ``pipeline`` (end-to-end
``S_P -> S_W -> R -> composition`` latency at batch 1 and throughput at the best batch), ``operators`` (operator
calls, kernels and profiler events of one forward at batch 1 of every stage network and of the pipeline, from the CPU
profiler: a CPU-measurable proxy for a GPU's launch overhead, with CPU latency; the cpu preset's pipeline also
compiled with frozen weights, whose compile takes minutes: ``--no-compiled-operators`` leaves it out),
``complexity`` (parameters and multiply-accumulates beside the paper's Table 2) and ``gpu`` (the pipeline and every
training step in fp32, bf16, channels-last and compiled (CUDA graphs for inference), with peak memory; where CUDA
is available, otherwise a stated skip). The GPU measurement: ``--sections loader gpu --presets paper --sizes
256x192`` with ``--gpu-rows pipeline``, then ``--gpu-rows training`` (each estimated under 10 minutes on one H200).

Every network is freshly initialised: students get their frozen teachers from checkpoints of untrained modules
written to a temporary folder in the Lightning format (:func:`write_checkpoints`); untrained weights cost the same
time as trained ones. Without the VGG-19 file a preset names, the perceptual loss uses random features (same cost).
Step times exclude data loading (the batch is in memory when the clock starts) and include Lightning's per-step
work; the speed figures are measurements, never assertions (``tests/test_benchmarks.py`` only checks the report's
shape). ``--quick`` runs the cpu preset at 64 x 48 with one step per stage: a smoke test, not a benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from bench_engine import throughput
from pytorch_lightning.utilities import move_data_to_device
from report import emit
from torch._inductor import config as inductor_config

from garment_transfer.data.densepose import channels
from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import parse_size
from garment_transfer.data.synth import SynthSettings, generate
from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.models.distilled_transfer.parsing import REMAINING_CHANNELS, build_parsing_net
from garment_transfer.models.distilled_transfer.regrowth import build_regrowth_net
from garment_transfer.models.distilled_transfer.warping import build_warping_student, build_warping_teacher
from garment_transfer.models.pipeline import GarmentTransfer
from garment_transfer.models.wuton.networks import build_wuton
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule
from garment_transfer.stages.pipeline import PipelineDataModule

SECTIONS = ("engine", "loader", "training", "pipeline", "operators", "complexity", "gpu")
PRESETS = ("cpu", "paper")
STAGES = {  # in dependency order: stage -> (symbol, config file of a preset)
    "tryon_parsing": ("T_P", "conf/distilled_transfer/tryon_parsing/{preset}.yaml"),
    "transfer_parsing": ("S_P", "conf/distilled_transfer/transfer_parsing/{preset}.yaml"),
    "tryon_warping": ("T_W", "conf/distilled_transfer/tryon_warping/{preset}.yaml"),
    "transfer_warping": ("S_W", "conf/distilled_transfer/transfer_warping/{preset}.yaml"),
    "arm_regrowth": ("R", "conf/distilled_transfer/arm_regrowth/{preset}.yaml"),
}
TABLE_2 = {"S_P": (44.10e6, 28.62e9), "S_W": (26.66e6, 55.05e9), "R": (43.90e6, 21.86e9), "all": (114.66e6, 105.53e9)}
BENCH_256 = SynthSettings(
    seed=0, height=256, width=192, counts={"train": 104, "test": 16}, transfers_per_target={"train": 0, "test": 1}
)
QUIET = (
    ".*does not have many workers.*",
    ".*allow_random_vgg.*",
    ".*Tensor Cores.*",
    ".*in eval mode at the start.*",
    ".*LeafSpec.*",
    ".*number of training batches.*",
)


@dataclass(frozen=True)
class Mode:
    """One way to run the networks: its name in the report, bf16 autocast, channels-last networks and batches,
    ``torch.compile`` (False, True, or a mode: ``"reduce-overhead"`` adds CUDA graphs)."""

    name: str = "fp32"
    bf16: bool = False
    channels_last: bool = False
    compile: bool | str = False


EAGER = Mode()
GPU_PIPELINE_MODES = (
    Mode(),
    Mode("fp32, channels-last", channels_last=True),
    Mode("bf16", bf16=True),
    Mode("bf16, channels-last", bf16=True, channels_last=True),
    Mode("compiled fp32, CUDA graphs", compile="reduce-overhead"),
    Mode("compiled bf16, CUDA graphs", bf16=True, compile="reduce-overhead"),
)
GPU_TRAINING_MODES = (Mode(), Mode("bf16", bf16=True), Mode("bf16, channels-last", bf16=True, channels_last=True))
COMPILED_TRAINING = Mode("compiled bf16", bf16=True, compile=True)
FROZEN_PIPELINE = Mode("compiled, frozen weights", compile="frozen")  # the operators section's compiled CPU row


@dataclass
class Plan:
    """What one run measures. ``roots``: data set per size (None: the built-in ``data/synthetic-<size>``, made by its
    data module); ``generated``: roots this script generates (root -> settings); ``train_size`` / ``train_batch``:
    override every preset's size / batch (None: the YAML's)."""

    presets: tuple[str, ...] = PRESETS
    sizes: tuple[str, ...] = ("128x96", "256x192")
    roots: dict = field(default_factory=lambda: {"128x96": None, "256x192": "data/bench-256x192"})
    generated: dict = field(default_factory=lambda: {"data/bench-256x192": BENCH_256})
    engine_samples: int = 120
    loader_batch: int = 8
    loader_batches: int = 12
    loader_workers: tuple[int, ...] = tuple(sorted({0, 2, min(8, os.cpu_count() or 1)}))
    steps: dict = field(default_factory=lambda: {"cpu": (1, 5), "paper": (1, 2)})  # preset -> (warm-up, timed)
    gpu_steps: dict = field(default_factory=lambda: {"cpu": (3, 10), "paper": (3, 10)})  # the same on a GPU
    train_size: str | None = None
    train_batch: int | None = None
    cpu_train_batch: dict = field(default_factory=lambda: {"paper": 1})  # preset -> batch on a CPU (memory, time)
    batch_sizes: tuple[int, ...] = (1, 4, 16)
    gpu_batch_sizes: tuple[int, ...] = (1, 16, 64, 128, 256)  # the pipeline's sweep on a GPU
    compiled_batch_sizes: tuple[int, ...] = (1, 128)  # compiled modes compile once per batch size: two of them
    compile_training: bool = False  # the compiled training rows on a GPU (a compile per stage: minutes)
    gpu_rows: tuple[str, ...] = ("pipeline", "training")  # what the gpu section measures
    gpu_pipeline_modes: tuple[Mode, ...] = GPU_PIPELINE_MODES
    gpu_training_modes: tuple[Mode, ...] = GPU_TRAINING_MODES
    operator_sizes: dict = field(default_factory=lambda: {"cpu": "128x96", "paper": "256x192"})
    operator_repeats: int = 10
    compiled_operators: tuple[str, ...] = ("cpu",)  # presets whose pipeline is also counted compiled (minutes each)
    repeats: int = 10
    repeat_budget_s: float = 10.0  # fewer timed calls once they add up to this
    call_budget_s: float = 30.0  # the sweep stops before a batch size whose call would take longer
    complexity_size: str = "256x192"
    cpu_complexity_size: str = "128x96"


def quick_plan(root: str) -> Plan:
    """The cpu preset at 64 x 48 on one small data set: one warm-up and one step per stage, batch 2, batch sizes 1
    and 2 (the paper preset's networks only in the model-size section); of the GPU training modes only the last."""
    return Plan(
        presets=("cpu",),
        sizes=("64x48",),
        roots={"64x48": root},
        generated={},
        engine_samples=4,
        loader_batch=2,
        loader_batches=2,
        loader_workers=(0,),
        steps={"cpu": (1, 1)},
        gpu_steps={"cpu": (1, 1)},
        train_size="64x48",
        train_batch=2,
        batch_sizes=(1, 2),
        repeats=1,
        complexity_size="64x48",
        cpu_complexity_size="64x48",
        operator_sizes={"cpu": "64x48"},
        operator_repeats=1,
        compiled_operators=(),
        gpu_batch_sizes=(1, 2),
        compiled_batch_sizes=(1,),
        gpu_training_modes=GPU_TRAINING_MODES[-1:],
    )


# -- helpers


def size_tuple(size: str) -> tuple[int, int]:
    height, width = size.split("x")
    return int(height), int(width)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_channels_last(sample):
    """Every 4-D tensor of a (nested) sample dataclass in channels-last memory format, in place; returns it."""
    for f in fields(sample):
        value = getattr(sample, f.name)
        if isinstance(value, torch.Tensor) and value.ndim == 4:
            setattr(sample, f.name, value.contiguous(memory_format=torch.channels_last))
        elif is_dataclass(value):
            to_channels_last(value)
    return sample


def take(sample, n: int):
    """The first ``n`` items of a batched sample dataclass, cycling through it when it holds fewer."""

    def pick(value):
        if isinstance(value, torch.Tensor):
            return value[torch.arange(n) % len(value)]
        if is_dataclass(value):
            return type(value)(**{f.name: pick(getattr(value, f.name)) for f in fields(value)})
        if isinstance(value, list):
            return [value[i % len(value)] for i in range(n)]
        return value

    return pick(sample)


@contextlib.contextmanager
def quiet():
    """Silence the warnings the benchmark expects (few loader workers, random VGG, frozen teachers in eval mode)."""
    with warnings.catch_warnings():
        for message in QUIET:
            warnings.filterwarnings("ignore", message)
        yield


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout at the end)."""
    print(f"bench_all: {message}", file=sys.stderr, flush=True)


def load_class(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# -- presets and checkpoints


def stage_config(preset: str, stage: str) -> dict:
    """The stage's YAML of a preset (``model`` and ``data`` sections as written)."""
    path = STAGES[stage][1].format(preset=preset)
    with open(path) as file:
        return yaml.safe_load(file)


def model_args(config: dict, checkpoints: dict[str, str]) -> tuple[dict, list[str]]:
    """The model's init_args with benchmark substitutions, and notes on them: every ``*_checkpoint`` that names
    ``runs/<preset>/<stage>/checkpoints/...`` points at ``checkpoints[stage]`` instead; a VGG-19 file that is
    absent becomes random features; ``pose_channels`` follows the data's DensePose encoding, as the CLI links it."""
    args, notes = dict(config["model"].get("init_args") or {}), []
    for name, value in list(args.items()):
        if name.endswith("_checkpoint") and value:
            args[name] = checkpoints[Path(value).parts[-3]]
    if args.get("vgg_weights") and not Path(args["vgg_weights"]).is_file():
        notes.append(f"{args['vgg_weights']} absent: random VGG features")
        args.update(vgg_weights=None, allow_random_vgg=True)
    args["pose_channels"] = channels(config["data"]["init_args"].get("densepose", "iuv"))
    return args, notes


def data_args(config: dict, plan: Plan, batch: int | None = None) -> dict:
    """The data module's init_args on the plan's data set for the preset's (or the plan's) size, no workers, the
    given batch size (None: the plan's, else the preset's)."""
    args = dict(config["data"]["init_args"])
    args.pop("synthetic", None)
    size = plan.train_size or args["size"]
    args.update(
        root=plan.roots[size], size=size, num_workers=0, batch_size=batch or plan.train_batch or args["batch_size"]
    )
    return args


def build_stage(
    preset: str, stage: str, checkpoints: dict[str, str], extra: dict | None = None
) -> tuple[pl.LightningModule, dict, list[str]]:
    """A freshly initialised stage module of a preset (``extra`` init args on top, e.g. speed switches), its YAML and
    notes on substitutions."""
    config = stage_config(preset, stage)
    args, notes = model_args(config, checkpoints)
    return load_class(config["model"]["class_path"])(**{**args, **(extra or {})}), config, notes


def save_checkpoint(module: pl.LightningModule, data: dict, path: Path) -> str:
    """A Lightning-format checkpoint of ``module`` as it is (what ``garment_transfer.checkpoints.read_checkpoint``
    reads); a student leaves out the frozen nets it references, as in training."""
    checkpoint = {
        "state_dict": module.state_dict(),
        "hyper_parameters": dict(module.hparams),
        "datamodule_hyper_parameters": {"size": data["size"], "densepose": data.get("densepose", "iuv")},
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": pl.__version__,
    }
    module.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return str(path)


def write_checkpoints(preset: str, folder: Path) -> dict[str, str]:
    """Checkpoints of the five untrained stage modules of a preset, in dependency order: stage -> path."""
    checkpoints = {}
    with quiet():
        for stage in STAGES:
            module, config, _ = build_stage(preset, stage, checkpoints)
            checkpoints[stage] = save_checkpoint(module, config["data"]["init_args"], folder / preset / f"{stage}.ckpt")
    return checkpoints


def ensure_data(plan: Plan) -> None:
    """The data sets of the plan's sizes: the built-in ones through their data module, ``plan.generated`` with the
    synth API (both resume or skip a finished set)."""
    for size in plan.sizes:
        root = plan.roots[size]
        if root is None:
            PipelineDataModule(size=size).prepare_data()
        elif root in plan.generated:
            generate(root, plan.generated[root], workers=0, progress=False)


# -- sections


def machine_line(device: torch.device) -> str:
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "no GPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), load average "
        f"{load} at start; torch {torch.__version__}, {torch.get_num_threads()} threads; {gpu}"
    )


def engine_section(plan: Plan) -> list[str]:
    workers = os.cpu_count() or 1
    lines = [
        f"## Synthetic engine\n\nWhole samples written to disk by `garment-transfer synth`'s generator, "
        f"{workers} worker processes (`benchmarks/bench_engine.py` for the per-step breakdown).\n",
        "| size | samples | seconds | samples / s |",
        "|---|---|---|---|",
    ]
    for size in plan.sizes:
        height, width = size_tuple(size)
        log(f"engine {size}")
        throughput(height, width, 4, workers)  # imports, page cache
        seconds, rate = throughput(height, width, plan.engine_samples, workers)
        lines.append(f"| {height} x {width} | {plan.engine_samples + 1} | {seconds:.2f} | {rate:.1f} |")
    return lines


def loader_rate(
    root: str | None, size: str, batch: int, workers: int, batches: int, threads: int | None = None
) -> float:
    """Pairs per second through ``TransferWarpingDataModule``'s train loader (two people per pair: decode, resize,
    DensePose encoding, collate), timed from the first batch (worker start-up excluded) over ``batches`` more;
    ``threads``: torch's intra-op threads in this process meanwhile (None: as they are)."""
    data = TransferWarpingDataModule(root=root, size=size, batch_size=batch, num_workers=workers)
    data.prepare_data()
    data.setup("fit")
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        loader = iter(data.train_dataloader())
        next(loader)
        start, pairs = time.perf_counter(), 0
        for _, item in zip(range(batches), loader):
            pairs += len(item.target.id)
        return pairs / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)


def loader_section(plan: Plan, rates: dict | None = None) -> list[str]:
    """The loader table; ``rates`` (size -> (best pairs / s, its workers)) is filled in for the training tables."""
    threads, rates = torch.get_num_threads(), {} if rates is None else rates
    lines = [
        f"## Data loading\n\nTransfer pairs (two people each) through `TransferWarpingDataModule`'s train loader, "
        f"batch {plan.loader_batch}, {plan.loader_batches} batches after the first. With 0 workers the loading "
        "runs in the main process, once with torch's threads as they are and once with 1 (loader workers "
        "always use 1): on busy cores, multi-threaded element-wise ops on single images can be far slower.\n",
        "| size | data set | workers | main-process threads | pairs / s |",
        "|---|---|---|---|---|",
    ]
    for size in plan.sizes:
        root = plan.roots[size]
        for workers in plan.loader_workers:
            for main_threads in sorted({threads, 1}, reverse=True) if workers == 0 else [threads]:
                log(f"loader {size}, {workers} workers, {main_threads} threads")
                rate = loader_rate(root, size, plan.loader_batch, workers, plan.loader_batches, main_threads)
                if rate > rates.get(size, (0, 0))[0]:
                    rates[size] = (rate, workers)
                lines.append(
                    f"| {size.replace('x', ' x ')} | `{root or f'data/synthetic-{size}'}` | {workers} "
                    f"| {main_threads} | {rate:.1f} |"
                )
    return lines


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> str:
    """Peak memory allocated by tensors since the last reset, in GiB (a GPU only: "-" elsewhere)."""
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}" if device.type == "cuda" else "-"


class StepTimer(pl.Callback):
    """Seconds of each training step (forward, loss, backward, optimiser), the batch already on the device;
    with ``channels_last`` each batch is put in channels-last memory format first (the module does its own)."""

    def __init__(self, channels_last: bool = False):
        self.channels_last, self.seconds, self.start = channels_last, [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.channels_last:
            to_channels_last(batch)
        synchronize(pl_module.device)
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        synchronize(pl_module.device)
        self.seconds.append(time.perf_counter() - self.start)


def step_time(
    module: pl.LightningModule,
    data: pl.LightningDataModule,
    device: torch.device,
    warmup: int,
    steps: int,
    mode: Mode = EAGER,
) -> tuple[float, float]:
    """``(median, min)`` seconds per training step over ``steps`` steps after ``warmup`` ones, in a plain Trainer
    (bf16-mixed precision in a bf16 mode)."""
    timer = StepTimer(mode.channels_last)
    with tempfile.TemporaryDirectory() as folder:
        trainer = pl.Trainer(
            accelerator=device.type,
            devices=1,
            precision="bf16-mixed" if mode.bf16 else "32-true",
            max_steps=warmup + steps,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[timer],
            default_root_dir=folder,
        )
        trainer.fit(module, data)
    if len(timer.seconds) != warmup + steps:
        raise RuntimeError(f"timed {len(timer.seconds)} steps, expected {warmup + steps} (too few training batches?)")
    return statistics.median(timer.seconds[warmup:]), min(timer.seconds[warmup:])


def mode_args(mode: Mode) -> dict:
    """A stage module's speed switches for a mode (none in the eager fp32 mode: the module's defaults)."""
    return {name: value for name, value in (("channels_last", mode.channels_last), ("compile", mode.compile)) if value}


def training_section(
    plan: Plan,
    checkpoints: dict,
    device: torch.device,
    modes: tuple[Mode, ...] = (EAGER,),
    loader_rates: dict | None = None,
) -> list[str]:
    gpu = len(modes) > 1 or modes[0] != EAGER
    title = "## GPU: training step" if gpu else "## Training step time"
    lines = [
        f"{title}\n\nSeconds per optimiser step on {device.type.upper()}: median (and minimum) of the timed "
        "steps after the warm-up ones, on real batches of the preset's size, networks and loss settings "
        "(batch loaded before the clock starts). The transfer parsing student runs its first phase (feature "
        "distillation: student and teacher forward). The loader column is the best train-loader rate at that "
        "size (`Data loading`, pairs / s and its workers): a step never waits for data while it is above the "
        "step's images / s.",
        "",
        "| stage | preset | mode | size | batch | warm-up + timed steps | s / step (min) | images / s "
        "| loader pairs / s | peak memory (GiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes, reduced = set(), {}
    pl.seed_everything(0, verbose=False)
    for preset in plan.presets:
        warmup, steps = (plan.gpu_steps if device.type == "cuda" else plan.steps)[preset]
        for stage, (symbol, _) in STAGES.items():
            for mode in modes:
                log(f"training {symbol} ({preset} preset), {mode.name}")
                with quiet():
                    module, config, stage_notes = build_stage(preset, stage, checkpoints[preset], mode_args(mode))
                    preset_batch = config["data"]["init_args"]["batch_size"]
                    args = data_args(config, plan, plan.cpu_train_batch.get(preset) if device.type == "cpu" else None)
                    data = load_class(config["data"]["class_path"])(**args)
                    reset_peak_memory(device)
                    median, fastest = step_time(module, data, device, warmup, steps, mode)
                notes.update(f"{preset} preset: {note}" for note in stage_notes)
                batch = args["batch_size"]
                if batch != preset_batch and plan.train_batch is None:
                    reduced[preset] = batch
                batch_cell = str(batch) if batch == preset_batch else f"{batch} (preset {preset_batch})"
                loader = (loader_rates or {}).get(args["size"])
                loader_cell = "-" if loader is None else f"{loader[0]:.0f} ({loader[1]} workers)"
                lines.append(
                    f"| {symbol} {stage} | {preset} | {mode.name} | {args['size'].replace('x', ' x ')} "
                    f"| {batch_cell} | {warmup} + {steps} | {median:.3f} ({fastest:.3f}) "
                    f"| {batch / median:.2f} | {loader_cell} | {peak_memory(device)} |"
                )
    for preset, batch in reduced.items():
        lines.append(
            f"\nThe {preset} preset is slow on a CPU, and its batches need many GB of activations: timed "
            f"at batch {batch} with few steps; a step of the preset's batch costs about that many times as "
            "much (compute-bound)."
        )
    lines += [f"\nSubstituted: {note} (the same cost as ImageNet features)." for note in sorted(notes)]
    return lines


def pipeline_rates(
    transfer: GarmentTransfer,
    root: str | None,
    size: str,
    device: torch.device,
    plan: Plan,
    mode: Mode = EAGER,
    batch_sizes: tuple[int, ...] | None = None,
) -> tuple[float, float, int, list[str], str]:
    """``(latency ms at batch 1, images / s at the best batch, that batch, notes, peak memory at that batch)`` on the
    data set's evaluation pairs (cycled to fill a batch). Per batch size: warm-up calls (one; three when compiled:
    compile, record, replay), then the median of up to ``plan.repeats`` calls (fewer once they add up to
    ``plan.repeat_budget_s``); the sweep stops before a batch size whose call would take longer than
    ``plan.call_budget_s`` (time grows about linearly with the batch on a CPU), or at one that does not fit in
    memory."""
    batch_sizes = batch_sizes or plan.batch_sizes
    data = PipelineDataModule(root=root, size=size, eval_batch_size=min(max(batch_sizes), 64))
    data.prepare_data()
    data.setup("test")
    pairs = next(iter(data.test_dataloader()))
    transfer = transfer.to(device)
    medians, peaks, notes = {}, {}, []
    for batch_size in batch_sizes:
        if medians:
            last = max(medians)
            expected = medians[last] * batch_size / last
            if expected > plan.call_budget_s:
                notes.append(f"batch {batch_size} skipped (a call would take about {expected:.0f} s)")
                break
        batch = move_data_to_device(take(pairs, batch_size), device)
        source, target = batch.source, batch.target
        if mode.channels_last:
            source, target = to_channels_last(source), to_channels_last(target)
        times, warmup = [], 3 if mode.compile else 1
        reset_peak_memory(device)
        try:
            while (
                len(times) < warmup
                or len(times) <= warmup + plan.repeats - 1
                and sum(times[warmup:]) < plan.repeat_budget_s
            ):
                synchronize(device)
                start = time.perf_counter()
                transfer(source, target)
                synchronize(device)
                times.append(time.perf_counter() - start)
        except torch.cuda.OutOfMemoryError:
            notes.append(f"batch {batch_size}: out of memory")
            break
        medians[batch_size], peaks[batch_size] = statistics.median(times[warmup:]), peak_memory(device)
    best = max(medians, key=lambda b: b / medians[b])
    first = batch_sizes[0]
    return medians[first] * 1000 / first, best / medians[best], best, notes, peaks[best]


def build_transfer(paths: dict, mode: Mode = EAGER, fold_norms: bool = True) -> GarmentTransfer:
    """``GarmentTransfer("ours")`` on a preset's checkpoints with a mode's speed switches."""
    switches = {"fold_norms": fold_norms}
    if mode != EAGER:
        switches.update(precision="bf16" if mode.bf16 else "32", channels_last=mode.channels_last, compile=mode.compile)
    with quiet():
        return GarmentTransfer(
            "ours",
            {
                "parsing": paths["transfer_parsing"],
                "warping": paths["transfer_warping"],
                "regrowth": paths["arm_regrowth"],
            },
            **switches,
        )


def pipeline_section(
    plan: Plan, checkpoints: dict, device: torch.device, modes: tuple[Mode, ...] = (EAGER,)
) -> list[str]:
    gpu = len(modes) > 1 or modes[0] != EAGER
    title = "## GPU: pipeline inference" if gpu else "## Pipeline inference"
    sizes = plan.gpu_batch_sizes if device.type == "cuda" else plan.batch_sizes
    lines = [
        f'{title}\n\n`GarmentTransfer("ours")` on {device.type.upper()}: `S_P -> S_W -> R -> composition` '
        f"(hole filling included), no gradients. Per batch size warm-up calls (one; three when compiled), then "
        f"the median of up to {plan.repeats} calls (fewer once they add up to {plan.repeat_budget_s:g} s). "
        f"Latency at batch 1; throughput: the best over batch sizes {', '.join(map(str, sizes))} (compiled: "
        f"{', '.join(map(str, plan.compiled_batch_sizes))}); peak memory at that batch.\n",
        "| preset | mode | size | latency, batch 1 (ms) | throughput (images / s) | best batch "
        "| peak memory (GiB) | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for preset in plan.presets:
        networks = "tiny" if preset == "cpu" else "full"
        for mode in modes:
            transfer = build_transfer(checkpoints[preset], mode)
            for size in plan.sizes:
                log(f"pipeline {preset} preset, {size}, {mode.name}")
                latency, rate, best, notes, peak = pipeline_rates(
                    transfer,
                    plan.roots[size],
                    size,
                    device,
                    plan,
                    mode,
                    plan.compiled_batch_sizes if mode.compile else sizes,
                )
                lines.append(
                    f"| {preset} ({networks} networks) | {mode.name} | {size.replace('x', ' x ')} "
                    f"| {latency:.1f} | {rate:.2f} | {best} | {peak} | {'; '.join(notes)} |"
                )
    return lines


# Operators that launch no kernel of their own: views, allocations, no-op casts and queries (a copy they make shows
# as a nested operator that does).
NO_KERNEL = frozenset(
    f"aten::{name}"
    for name in (
        "empty",
        "empty_strided",
        "empty_like",
        "as_strided",
        "as_strided_",
        "view",
        "_reshape_alias",
        "reshape",
        "_unsafe_view",
        "resize_",
        "expand",
        "expand_as",
        "permute",
        "slice",
        "select",
        "narrow",
        "unfold",
        "unsqueeze",
        "squeeze",
        "transpose",
        "t",
        "detach",
        "detach_",
        "alias",
        "lift_fresh",
        "resolve_conj",
        "resolve_neg",
        "flatten",
        "contiguous",
        "to",
        "type_as",
        "_nnpack_available",
        "is_nonzero",
        "result_type",
        "promote_types",
        "chunk",
        "split",
        "unbind",
        "meshgrid",
        "broadcast_tensors",
        "view_as",
        "numpy_T",
        "item",
    )
)


@dataclass
class OperatorCount:
    """Operators of one call, from the CPU profiler. ``calls``: operator calls made by the code (not from inside
    another operator), each one dispatch; ``kernels``: operators that compute (not views, allocations or no-op casts)
    with no computing operator inside them: on a GPU about one kernel launch each; ``events``: every operator event,
    nested ones included. Operators are the dispatcher's (``aten::``, oneDNN's ``mkldnn::``, this project's
    ``garment_transfer::``) and the kernels ``torch.compile`` generates (``..._cpp_fused_...``: profiled with
    ``inductor.config.cpp.enable_kernel_profile``, one call and one kernel each)."""

    calls: int
    kernels: int
    events: int


OPERATOR_NAMESPACES = ("aten::", "prims::", "mkldnn::", "onednn::", "garment_transfer::")
GENERATED_KERNEL = re.compile(r"(^|_)(cpp|triton)_\w*fused")


def is_operator(event) -> bool:
    """An operator call of the profile (see :class:`OperatorCount`)."""
    return event is not None and (
        event.name.startswith(OPERATOR_NAMESPACES) or GENERATED_KERNEL.search(event.name) is not None
    )


def count_operators(call, warmup: bool = True) -> OperatorCount:
    """Profile one ``call()`` on the CPU and count its operators (:class:`OperatorCount`), after a warm-up call
    (``warmup``: what a process does once, e.g. caching identity grids or compiling, is not counted)."""

    def computes(event) -> bool:
        return is_operator(event) and event.name not in NO_KERNEL

    def computes_inside(event) -> bool:
        return any(computes(child) or computes_inside(child) for child in event.cpu_children)

    if warmup:
        call()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        call()
    events = [e for e in profile.events() if is_operator(e)]
    calls = sum(1 for e in events if not is_operator(e.cpu_parent))
    kernels = sum(1 for e in events if computes(e) and not computes_inside(e))
    return OperatorCount(calls, kernels, len(events))


def latency_ms(call, repeats: int) -> tuple[float, float]:
    """``(median, min)`` milliseconds of ``call()`` over ``repeats`` calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, min(times) * 1000


def operators_section(plan: Plan, checkpoints: dict) -> list[str]:
    lines = [
        "## Operator calls and CPU latency\n\nOne forward at batch 1 on the CPU, no gradients: every stage "
        "network (zero inputs: the work does not depend on the values) and the pipeline "
        '`GarmentTransfer("ours")` on the first evaluation pair. Operators from the profiler '
        "(`torch.profiler`): *calls* are the operator calls the code makes (each one dispatch), *kernels* the"
        " operators that compute (not views, allocations or no-op casts) with no computing operator inside "
        "(on a GPU about one kernel launch each), *events* every operator event, nested ones included (what "
        "a profiler's event count shows). The pipeline folds every BatchNorm that follows a"
        " convolution into it (its default); the row *norms not folded* runs the networks as trained. The "
        "CPU's own convolution path at batch 1 and small sizes (`thnn_conv2d`: about 15 nested events per "
        "convolution) makes most of the events; a GPU runs cuDNN there. The row *compiled, frozen weights* is"
        ' the pipeline with `compile="frozen"` (inductor, the weights frozen into the graph: on the CPU every'
        " convolution is one oneDNN call on weights packed once, elementwise work fused into generated "
        "kernels, counted as operators). "
        f"Latency: median (and minimum) of {plan.operator_repeats} calls after a warm-up call, "
        f"{torch.get_num_threads()} threads.\n",
        "| network | preset | size | operator calls | kernels | events | CPU latency, batch 1 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    cpu = torch.device("cpu")
    compiled: list[str] = []
    for preset in plan.presets:
        size = plan.operator_sizes[preset]
        nets = stage_nets(preset)
        with torch.no_grad():
            for symbol in ("T_P", "S_P", "T_W", "S_W", "R"):
                log(f"operators {symbol} ({preset} preset)")
                net, pose = nets[symbol]
                inputs = net_inputs(symbol, net, pose, size)
                net.eval()
                count = count_operators(lambda: net(*inputs))
                median, fastest = latency_ms(lambda: net(*inputs), plan.operator_repeats)
                lines.append(
                    f"| {symbol} | {preset} | {size.replace('x', ' x ')} | {count.calls} | {count.kernels} "
                    f"| {count.events} | {median:.1f} ({fastest:.1f}) |"
                )
            log(f"operators S-WUTON ({preset} preset)")
            student = build_wuton({"size": size, "width": "full" if preset == "paper" else "tiny"}).eval()
            height, width = parse_size(size)
            inputs = (
                torch.zeros(1, 3, height, width),
                torch.zeros(1, 3, height, width),
                torch.ones(1, 1, height, width),
            )
            count = count_operators(lambda: student(*inputs))
            median, fastest = latency_ms(lambda: student(*inputs), plan.operator_repeats)
            lines.append(
                f"| S-WUTON (WUTON's student; published 13 ms on a V100 at 256 x 192) | {preset} "
                f"| {size.replace('x', ' x ')} | {count.calls} | {count.kernels} | {count.events} "
                f"| {median:.1f} ({fastest:.1f}) |"
            )
        data = PipelineDataModule(root=plan.roots[size], size=size, eval_batch_size=1)
        data.prepare_data()
        data.setup("test")
        pair = next(iter(data.test_dataloader()))
        rows = [(EAGER, True, "pipeline"), (EAGER, False, "pipeline, norms not folded")]
        reference = None  # the eager pipeline's image, what the compiled one is compared with
        if preset in plan.compiled_operators:
            rows.append((FROZEN_PIPELINE, True, f"pipeline, {FROZEN_PIPELINE.name}"))
        for mode, fold_norms, name in rows:
            log(f"operators {name} ({preset} preset)" + (": compiling, minutes" if mode.compile else ""))
            transfer = build_transfer(checkpoints[preset], mode, fold_norms=fold_norms).to(cpu)
            with inductor_config.patch({"cpp.enable_kernel_profile": True}):  # generated kernels are profiled
                start = time.perf_counter()
                out = transfer(pair.source, pair.target)  # compiles a compiled mode
                first = time.perf_counter() - start
            reference = out.image if reference is None else reference
            count = count_operators(lambda: transfer(pair.source, pair.target))
            median, fastest = latency_ms(lambda: transfer(pair.source, pair.target), plan.operator_repeats)
            if mode.compile:
                compiled.append(
                    f"{name}, {preset} preset: first call (compiling) {first:.0f} s, largest difference "
                    f"from the eager pipeline {(out.image - reference).abs().max().item():.1e}"
                )
            lines.append(
                f"| {name} | {preset} | {size.replace('x', ' x ')} | {count.calls} | {count.kernels} "
                f"| {count.events} | {median:.1f} ({fastest:.1f}) |"
            )
    if compiled:
        lines.append(
            f"\nCompiled ([-1, 1] images): {'; '.join(compiled)}. Its operators include the kernels the "
            "compiler generated."
        )
    return lines


def gpu_rows_missing(plan: Plan) -> list[str]:
    pipeline = "; ".join(f"`{mode.name}`" for mode in plan.gpu_pipeline_modes)
    training = "; ".join(f"`{mode.name}`" for mode in plan.gpu_training_modes)
    return [
        "## GPU: pipeline and training in fp32, bf16, channels-last and compiled\n",
        "Not measured: no GPU was present (`torch.cuda.is_available()` is false). On a GPU this section has the "
        f"pipeline in each of: {pipeline} (latency at batch 1, throughput at the best batch over "
        f"{', '.join(map(str, plan.gpu_batch_sizes))}, peak memory), and every stage's training step in each of: "
        f"{training} (`--compile-training` adds `{COMPILED_TRAINING.name}`), with peak memory: "
        "`python benchmarks/bench_all.py --sections loader gpu --presets paper --sizes 256x192 --gpu-rows "
        "pipeline` (and `--gpu-rows training`).",
    ]


def stage_nets(preset: str) -> dict[str, tuple[torch.nn.Module, int]]:
    """Symbol -> (the stage's network as its preset builds it, pose channels)."""
    builders = {
        "tryon_parsing": build_parsing_net,
        "transfer_parsing": build_parsing_net,
        "tryon_warping": build_warping_teacher,
        "transfer_warping": build_warping_student,
        "arm_regrowth": build_regrowth_net,
    }
    nets = {}
    for stage, (symbol, _) in STAGES.items():
        config = stage_config(preset, stage)
        args = {**config["model"].get("init_args", {})}
        args["pose_channels"] = channels(config["data"]["init_args"].get("densepose", "iuv"))
        nets[symbol] = builders[stage](args), args["pose_channels"]
    return nets


def net_inputs(symbol: str, net: torch.nn.Module, pose: int, size: str) -> tuple[torch.Tensor, ...]:
    """Zero inputs of one image for a stage network (its cost does not depend on the values)."""
    height, width = size_tuple(size)

    def zeros(c: int) -> torch.Tensor:
        return torch.zeros(1, c, height, width)

    if symbol in ("T_P", "S_P"):
        return (zeros(REMAINING_CHANNELS + 1 + pose),)
    if symbol == "T_W":
        return zeros(3), zeros(1), zeros(NUM_CLASSES + pose)
    if symbol == "S_W":
        return zeros(3), zeros(1), zeros(pose), zeros(pose), zeros(1)
    return (zeros(net.in_channels),)


def net_macs(symbol: str, net: torch.nn.Module, pose: int, size: str) -> int:
    """MACs of one image through a stage network (zero inputs: a convolution's cost does not depend on them)."""
    return count_macs(net, net_inputs(symbol, net, pose, size))


def complexity_section(plan: Plan) -> list[str]:
    log("model size")
    paper, cpu = stage_nets("paper"), stage_nets("cpu")
    rows = {}
    for symbol in ("S_P", "S_W", "R", "T_P", "T_W"):
        rows[symbol] = [
            count_parameters(paper[symbol][0]),
            net_macs(symbol, *paper[symbol], plan.complexity_size),
            count_parameters(cpu[symbol][0]),
            net_macs(symbol, *cpu[symbol], plan.cpu_complexity_size),
        ]
    rows["all"] = [sum(rows[s][i] for s in ("S_P", "S_W", "R")) for i in range(4)]
    big, small = plan.complexity_size.replace("x", " x "), plan.cpu_complexity_size.replace("x", " x ")
    lines = [
        "## Model size\n\nParameters and multiply-accumulates (MACs) of one image's forward pass: convolutions "
        'and linear layers, what the paper\'s "FLOPs" counts (`models/complexity.py`). `all` is the inference '
        "pipeline, `S_P + S_W + R`; the teachers train the students only.\n",
        f"| network | paper preset: parameters | MACs at {big} | paper Table 2 | cpu preset: parameters "
        f"| MACs at {small} |",
        "|---|---|---|---|---|---|",
    ]
    for symbol in ("S_P", "S_W", "R", "all", "T_P", "T_W"):
        params, macs, cpu_params, cpu_macs = rows[symbol]
        reference = TABLE_2.get(symbol)
        paper_cell = f"{format_count(reference[0])} / {format_count(reference[1])}FLOPs" if reference else "-"
        lines.append(
            f"| {symbol} | {format_count(params)} | {format_count(macs)} | {paper_cell} "
            f"| {format_count(cpu_params)} | {format_count(cpu_macs)} |"
        )
    return lines


def build_report(
    plan: Plan,
    sections: tuple[str, ...] = SECTIONS,
    device: torch.device | None = None,
    accelerated: bool | None = None,
) -> list[str]:
    """The report's lines. ``device``: default CUDA where available, else the CPU; ``accelerated``: measure the
    ``gpu`` section's rows (bf16, channels-last, compiled on a GPU) on ``device`` (default: where it is a GPU; on a
    CPU the compiled modes are left out: inductor's C++ takes minutes there)."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    accelerated = device.type == "cuda" if accelerated is None else accelerated
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    lines = [
        "# Benchmarks\n",
        machine_line(device) + "\n",
        "Timings taken while other jobs share the machine are inflated; compare figures from one report only.",
    ]
    ensure_data(plan)
    loader_rates: dict = {}
    if "engine" in sections:
        lines += ["", *engine_section(plan)]
    if "loader" in sections:
        lines += ["", *loader_section(plan, loader_rates)]
    with tempfile.TemporaryDirectory() as folder:
        needs = {"training", "pipeline", "operators", "gpu"} & set(sections)
        if needs:
            log("writing untrained checkpoints")
        checkpoints = {preset: write_checkpoints(preset, Path(folder)) for preset in plan.presets} if needs else {}
        if needs:
            lines += [
                "",
                "Untrained networks throughout: students read their teachers from checkpoints of freshly "
                "initialised modules, which time the same as trained ones.",
            ]
        if "training" in sections:
            lines += ["", *training_section(plan, checkpoints, device, loader_rates=loader_rates)]
        if "pipeline" in sections:
            lines += ["", *pipeline_section(plan, checkpoints, device)]
        if "operators" in sections:
            lines += ["", *operators_section(plan, checkpoints)]
        if "gpu" in sections:
            if accelerated:
                compiled = device.type == "cuda"
                pipeline_modes = tuple(m for m in plan.gpu_pipeline_modes if compiled or not m.compile)
                training_modes = plan.gpu_training_modes + (
                    (COMPILED_TRAINING,) if compiled and plan.compile_training else ()
                )
                if "pipeline" in plan.gpu_rows:
                    lines += ["", *pipeline_section(plan, checkpoints, device, pipeline_modes)]
                if "training" in plan.gpu_rows:
                    lines += ["", *training_section(plan, checkpoints, device, training_modes, loader_rates)]
            else:
                lines += ["", *gpu_rows_missing(plan)]
    if "complexity" in sections:
        lines += ["", *complexity_section(plan)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/report.md")
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to measure (default: all)"
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        choices=PRESETS,
        default=list(PRESETS),
        help="the presets whose networks are measured (default: both)",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        choices=Plan().sizes,
        default=list(Plan().sizes),
        help="the image sizes of the engine, loader and pipeline rows (default: both)",
    )
    parser.add_argument(
        "--gpu-rows",
        nargs="+",
        choices=Plan().gpu_rows,
        default=list(Plan().gpu_rows),
        help="what the gpu section measures (default: both; one each keeps a run under 10 minutes)",
    )
    parser.add_argument(
        "--compile-training",
        action="store_true",
        help="on a GPU, also time every stage's training step compiled (a compile per stage)",
    )
    parser.add_argument(
        "--no-compiled-operators",
        action="store_true",
        help="leave out the operators section's compiled pipeline (its compile takes minutes)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the cpu preset at 64 x 48, one step per stage: a smoke test"
    )
    parser.add_argument(
        "--data", help="--quick's 64 x 48 data set (default: a tiny one generated into a temporary folder)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plan = Plan(
            presets=tuple(args.presets),
            sizes=tuple(args.sizes),
            gpu_rows=tuple(args.gpu_rows),
            compile_training=args.compile_training,
            compiled_operators=() if args.no_compiled_operators else Plan().compiled_operators,
        )
        if args.quick:
            root = args.data or str(Path(folder) / "data")
            if args.data is None:
                generate(
                    root,
                    SynthSettings(seed=0, height=64, width=48, counts={"train": 6, "test": 4}),
                    workers=1,
                    progress=False,
                )
            plan = quick_plan(root)
        emit(build_report(plan, tuple(args.sections)), args.out)


if __name__ == "__main__":
    main()
