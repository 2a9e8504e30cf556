"""Time the training steps of PF-AFN's four stages (tiny widths) to size the CPU preset of ``make train-pfafn``.

For each stage, in dependency order, a fresh module with the model arguments of ``conf/pfafn/<stage>/cpu.yaml`` (the
tutor and the initial warps are the stages timed before it, untrained) runs ``--warmup`` then ``--steps`` optimiser
steps on batches of a small synthetic set at ``--size`` (with a ``val`` split of ``--eval-batch`` people);
the table gives per step the process CPU time (user + system of every thread) and the wall time, the time to read one
batch, and the time of one validation batch. On a machine shared with other jobs the CPU time is the steadier
figure: with ``--threads 1`` it is what one idle core would take, and two idle cores take at least half of it.

Example: python benchmarks/bench_pfafn.py --size 128x96 --batch 4 --threads 1 --out benchmarks/results/pfafn.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml

from garment_transfer.data.synth import SynthSettings, generate
from garment_transfer.stages.pfafn.pb_tryon import PBTryOnDataModule, PBTryOnModule
from garment_transfer.stages.pfafn.pb_warping import PBWarpingDataModule, PBWarpingModule
from garment_transfer.stages.pfafn.pf_tryon import PFTryOnDataModule, PFTryOnModule
from garment_transfer.stages.pfafn.pf_warping import PFWarpingDataModule, PFWarpingModule

CONF = Path(__file__).resolve().parents[1] / "conf" / "pfafn"


def cpu_preset(stage: str, **checkpoints: str) -> dict:
    """The model arguments of ``conf/pfafn/<stage>/cpu.yaml`` (what ``make train-pfafn`` trains), with the
    checkpoints it reads replaced by ``checkpoints``."""
    arguments = yaml.safe_load((CONF / stage / "cpu.yaml").read_text())["model"]["init_args"]
    return {**{k: v for k, v in arguments.items() if not k.endswith("_checkpoint")}, **checkpoints}


def save(module: pl.LightningModule, path: Path) -> str:
    """A stage checkpoint of ``module`` as it is (what the next stage reads)."""
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)
    return str(path)


def time_stage(module: pl.LightningModule, data: pl.LightningDataModule, steps: int, warmup: int) -> dict:
    """Per-step CPU and wall seconds of ``module``'s training step (forward, backward, Adam), of reading a batch,
    and of one validation batch."""
    data.setup("fit")
    loader = iter(data.train_dataloader())
    optimizer = module.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    read, cpu, wall = [], [], []
    for step in range(warmup + steps):
        start = time.perf_counter()
        batch = next(loader)
        read.append(time.perf_counter() - start)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        loss = module.training_step(batch, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= warmup:
            cpu.append(time.process_time() - cpu0)
            wall.append(time.perf_counter() - wall0)
    val = next(iter(data.val_dataloader()))
    start = time.perf_counter()
    with torch.no_grad():
        module.evaluate(val, "val")
    return {
        "cpu": sum(cpu) / len(cpu),
        "wall": sum(wall) / len(wall),
        "read": sum(read[warmup:]) / steps,
        "val": time.perf_counter() - start,
        "val_batch": val.target.image.shape[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="128x96")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--eval-batch", type=int, default=25)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="write the markdown table here too")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*(random|RANDOM).*")
    height, width = (int(x) for x in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="bench_pfafn_"))
    generate(
        folder / "data",
        SynthSettings(
            seed=0,
            height=height,
            width=width,
            counts={"train": 8 * args.batch, "val": args.eval_batch, "test": args.eval_batch},
            transfers_per_target={"train": 0, "val": 1, "test": 1},
        ),
        workers=1,
        progress=False,
    )
    data = dict(root=str(folder / "data"), size=args.size, batch_size=args.batch, eval_batch_size=args.eval_batch)
    pl.seed_everything(0)
    rows = {}
    pb_warping = PBWarpingModule(**cpu_preset("pb_warping"))
    rows["pb_warping"] = time_stage(pb_warping, PBWarpingDataModule(**data), args.steps, args.warmup)
    warp = save(pb_warping, folder / "pb_warping.ckpt")
    pb_tryon = PBTryOnModule(**cpu_preset("pb_tryon", warp_checkpoint=warp))
    rows["pb_tryon"] = time_stage(pb_tryon, PBTryOnDataModule(**data), args.steps, args.warmup)
    tutor = save(pb_tryon, folder / "pb_tryon.ckpt")
    pf_warping = PFWarpingModule(**cpu_preset("pf_warping", tutor_checkpoint=tutor))
    rows["pf_warping"] = time_stage(pf_warping, PFWarpingDataModule(**data), args.steps, args.warmup)
    student = save(pf_warping, folder / "pf_warping.ckpt")
    pf_tryon = PFTryOnModule(**cpu_preset("pf_tryon", tutor_checkpoint=tutor, warp_checkpoint=student))
    rows["pf_tryon"] = time_stage(pf_tryon, PFTryOnDataModule(**data), args.steps, args.warmup)
    lines = [
        f"PF-AFN training steps at {args.size}, batch {args.batch}, the model arguments of "
        f"conf/pfafn/<stage>/cpu.yaml, {args.threads} thread(s); load average before: {os.getloadavg()[0]:.1f}",
        "",
        f"| stage | CPU s / step | wall s / step | read s / batch | validation s / batch of {args.eval_batch} |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {r['cpu']:.2f} | {r['wall']:.2f} | {r['read']:.3f} | {r['val']:.2f} |" for name, r in rows.items()
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
