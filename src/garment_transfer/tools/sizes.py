"""Print the parameters and multiply-accumulates (MACs) of every network of every registered method at one image
size, beside the published counts (each method's entry lists its networks).

MACs are those of one image's forward pass through convolutions and linear layers (``models/complexity.py``; what
papers call "FLOPs"; PF-AFN's correlation is not a convolution and is not counted). Published counts: the paper's
Table 2 (arXiv 2401.12433; parameters / GFLOPs at 256 x 192) for the distilled-transfer students, and the parameter
counts of PF-AFN's official classes as its training scripts build them. They describe width "full".

Examples:
  garment-transfer sizes                          # width full at 256 x 192
  garment-transfer sizes --size 128x96 --width tiny --method pfafn
"""

from __future__ import annotations

import argparse
import sys

import torch

from garment_transfer import registry
from garment_transfer.data.densepose import ENCODINGS, channels
from garment_transfer.data.samples import parse_size
from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.registry import Group, Network

WIDTHS = ("full", "tiny")


def networks(width: str = "full", methods: tuple[str, ...] | None = None) -> list[tuple[str, Network | Group]]:
    """``(method, network or group)`` of every registered method (or of ``methods``), in table order, groups after
    their members."""
    if width not in WIDTHS:
        raise ValueError(f"sizes: width must be one of {WIDTHS}, got {width!r}")
    known = registry.methods()
    unknown = sorted(set(methods or ()) - set(known))
    if unknown:
        raise ValueError(f"sizes: unknown methods {unknown}; choose from {tuple(known)}")
    return [
        (name, entry)
        for name, method in known.items()
        if methods is None or name in methods
        for entry in method.networks
    ]


def measure(
    network: Network, height: int, width: int, net_width: str = "full", pose_channels: int = 3
) -> tuple[int, int]:
    """(parameters, MACs of one image at height x width); zero inputs (a convolution's cost does not depend on them)."""
    net = (
        network.build(net_width, pose_channels, (height, width))
        if network.sized
        else network.build(net_width, pose_channels)
    )
    inputs = tuple(torch.zeros(1, c, height, width) for c in network.inputs(pose_channels))
    return count_parameters(net), count_macs(net, inputs)


def size_rows(
    height: int,
    width: int,
    net_width: str = "full",
    pose_channels: int = 3,
    methods: tuple[str, ...] | None = None,
    progress=None,
) -> list[tuple[str, str, int, int, str]]:
    """``(method, network, parameters, MACs, published)`` per row, networks built and measured one at a time;
    ``progress(text)``, when given, is told which network is being measured (at large sizes each takes a while)."""
    rows, counts = [], {}
    entries = networks(net_width, methods)
    for index, (method, entry) in enumerate(entries, 1):
        if progress is not None and not isinstance(entry, Group):
            progress(f"[{index}/{len(entries)}] {method}: {entry.name} at {height} x {width}")
        if isinstance(entry, Group):
            params, macs = (sum(counts[method, name][i] for name in entry.members) for i in (0, 1))
        else:
            params, macs = counts[method, entry.name] = measure(entry, height, width, net_width, pose_channels)
        rows.append((method, entry.name, params, macs, entry.published))
    return rows


def format_rows(rows: list[tuple[str, str, int, int, str]], height: int, width: int, net_width: str) -> list[str]:
    lines = [
        f"| method | network (width {net_width}) | parameters | MACs at {height} x {width} | published |",
        "|---|---|---|---|---|",
    ]
    for method, name, params, macs, published in rows:
        lines.append(
            f"| {method} | {name} | {params:,} ({format_count(params)}) | {format_count(macs)} | {published} |"
        )
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--size", default="256x192", help="image size HxW (multiples of 16), default 256x192")
    parser.add_argument(
        "--width", default="full", choices=WIDTHS, help="network width: full (the papers') or tiny (the CPU presets)"
    )
    parser.add_argument(
        "--densepose",
        default="iuv",
        choices=tuple(ENCODINGS),
        help="DensePose encoding of the distilled-transfer nets' pose input (default iuv, as the presets)",
    )
    parser.add_argument(
        "--method",
        action="append",
        choices=tuple(registry.methods()),
        help="only this method (repeatable); default every registered one",
    )


def run(args: argparse.Namespace) -> int:
    height, width = parse_size(args.size)
    methods = tuple(args.method) if args.method else None
    rows = size_rows(
        height,
        width,
        args.width,
        channels(args.densepose),
        methods,
        progress=lambda text: print(f"sizes: measuring {text}", file=sys.stderr, flush=True),
    )
    print("\n".join(format_rows(rows, height, width, args.width)))
    print(
        "\nMACs: convolutions and linear layers of one image's forward pass. Published counts are for width full; "
        "the paper's GFLOPs are at 256 x 192."
    )
    return 0
