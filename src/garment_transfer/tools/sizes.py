"""Print the parameters and multiply-accumulates (MACs) of every network of every method at one image size, beside
the published counts.

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
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from garment_transfer.data.densepose import ENCODINGS, channels
from garment_transfer.data.label_maps import NUM_CLASSES
from garment_transfer.data.samples import parse_size
from garment_transfer.models.complexity import count_macs, count_parameters, format_count
from garment_transfer.models.parsing import REMAINING_CHANNELS, build_parsing_net
from garment_transfer.models.pfafn import (GENERATOR_CHANNELS, PB_PERSON_CHANNELS, PF_PERSON_CHANNELS, build_pb_afwm,
                                           build_pf_afwm, build_pfafn_generator)
from garment_transfer.models.regrowth import build_regrowth_net
from garment_transfer.models.warping import build_warping_student, build_warping_teacher

METHODS = ("distilled_transfer", "pfafn")
WIDTHS = ("full", "tiny")


@dataclass(frozen=True)
class Network:
    """One network of a method: how to build it and the channels of each forward input (all (1, C, H, W))."""

    method: str
    name: str
    build: Callable[[], nn.Module]
    input_channels: tuple[int, ...]
    published: str = "-"


@dataclass(frozen=True)
class Group:
    """A row summing networks of one method (e.g. what runs at inference)."""

    method: str
    name: str
    members: tuple[str, ...]
    published: str = "-"


def networks(width: str = "full", pose_channels: int = 3) -> list[Network | Group]:
    """Every network of every method, in table order, with groups after their members."""
    if width not in WIDTHS:
        raise ValueError(f"sizes: width must be one of {WIDTHS}, got {width!r}")
    hp = {"width": width, "pose_channels": pose_channels}
    parsing_in = (REMAINING_CHANNELS + 1 + pose_channels,)
    dt, pf = "distilled_transfer", "pfafn"
    return [
        Network(dt, "T_P try-on parsing teacher", lambda: build_parsing_net(hp), parsing_in),
        Network(dt, "S_P transfer parsing student", lambda: build_parsing_net(hp), parsing_in,
                "44.10 M / 28.62 G (paper Table 2)"),
        Network(dt, "T_W try-on warping teacher", lambda: build_warping_teacher(hp),
                (3, 1, NUM_CLASSES + pose_channels)),
        Network(dt, "S_W transfer warping student", lambda: build_warping_student({**hp, "method": "scaw"}),
                (3, 1, pose_channels, pose_channels, 1), "26.66 M / 55.05 G (paper Table 2)"),
        Network(dt, "R arm regrowth", lambda: build_regrowth_net({**hp, "num_downs": 5, "use_pose": True}),
                (3 + 1 + pose_channels,), "43.90 M / 21.86 G (paper Table 2)"),
        Group(dt, "pipeline S_P + S_W + R", ("S_P transfer parsing student", "S_W transfer warping student",
                                              "R arm regrowth"), "114.66 M / 105.53 G (paper Table 2)"),
        Network(pf, "PB-AFWM parser-based warp", lambda: build_pb_afwm({"width": width}),
                (3, 1, PB_PERSON_CHANNELS), "29,328,692 (official code)"),
        Network(pf, "PB generator (8 -> 4)", lambda: build_pfafn_generator({"width": width, "variant": "parser_based"}),
                (GENERATOR_CHANNELS["parser_based"],), "43,900,544 (official code)"),
        Network(pf, "PF-AFWM parser-free warp", lambda: build_pf_afwm({"width": width}),
                (3, 1, PF_PERSON_CHANNELS), "29,304,416 (official code)"),
        Network(pf, "PF generator (7 -> 4)", lambda: build_pfafn_generator({"width": width, "variant": "parser_free"}),
                (GENERATOR_CHANNELS["parser_free"],), "43,899,968 (official code)"),
        Group(pf, "inference PF-AFWM + PF generator", ("PF-AFWM parser-free warp", "PF generator (7 -> 4)"),
              "73,204,384 (official code)"),
    ]


def measure(network: Network, height: int, width: int) -> tuple[int, int]:
    """(parameters, MACs of one image at height x width); zero inputs (a convolution's cost does not depend on them)."""
    net = network.build()
    inputs = tuple(torch.zeros(1, c, height, width) for c in network.input_channels)
    return count_parameters(net), count_macs(net, inputs)


def size_rows(height: int, width: int, net_width: str = "full", pose_channels: int = 3,
              methods: tuple[str, ...] = METHODS) -> list[tuple[str, str, int, int, str]]:
    """``(method, network, parameters, MACs, published)`` per row, networks built and measured one at a time."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"sizes: unknown methods {unknown}; choose from {METHODS}")
    rows, counts = [], {}
    for entry in networks(net_width, pose_channels):
        if entry.method not in methods:
            continue
        if isinstance(entry, Group):
            params, macs = (sum(counts[name][i] for name in entry.members) for i in (0, 1))
        else:
            params, macs = counts[entry.name] = measure(entry, height, width)
        rows.append((entry.method, entry.name, params, macs, entry.published))
    return rows


def format_rows(rows: list[tuple[str, str, int, int, str]], height: int, width: int, net_width: str) -> list[str]:
    lines = [f"| method | network (width {net_width}) | parameters | MACs at {height} x {width} | published |",
             "|---|---|---|---|---|"]
    for method, name, params, macs, published in rows:
        lines.append(f"| {method} | {name} | {params:,} ({format_count(params)}) | {format_count(macs)} | "
                     f"{published} |")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--size", default="256x192", help="image size HxW (multiples of 16), default 256x192")
    parser.add_argument("--width", default="full", choices=WIDTHS, help="network width: full (the papers') or tiny "
                                                                        "(the CPU presets)")
    parser.add_argument("--densepose", default="iuv", choices=tuple(ENCODINGS),
                        help="DensePose encoding of the distilled-transfer nets' pose input (default iuv, as the "
                             "presets)")
    parser.add_argument("--method", action="append", choices=METHODS,
                        help="only this method (repeatable); default all")


def run(args: argparse.Namespace) -> int:
    height, width = parse_size(args.size)
    methods = tuple(args.method) if args.method else METHODS
    rows = size_rows(height, width, args.width, channels(args.densepose), methods)
    print("\n".join(format_rows(rows, height, width, args.width)))
    print("\nMACs: convolutions and linear layers of one image's forward pass. Published counts are for width full; "
          "the paper's GFLOPs are at 256 x 192.")
    return 0
