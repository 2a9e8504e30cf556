"""Dress one person in another's upper garment, on your own images.

The pipeline needs, for each person, a human parsing and a DensePose map, which this project cannot compute offline:
bring them from your parser (SCHP / Graphonomy give CIHP or LIP ids, DressCode ships ATR-18, VITON packs ACGPN-14)
and from detectron2's DensePose. Files::

  --source / --target             person photos (any format Pillow reads)
  --source-parsing / ...          label PNGs of the same size, ids of --label-map (cihp, lip, atr18, acgpn14 or a YAML)
  --source-densepose / ...        DensePose of the same size, as --densepose-files says:
                                    iuv        PNG with part index 0..24, U*255, V*255 in R, G, B (detectron2 IUV dump)
                                    rendering  VITON-HD's colour rendering
                                    parts      grey PNG of part indices 0..24 (no UV)

Everything is resized to the size the networks were trained at (read from the checkpoints) and the result is written
at that size. Example (checkpoints from ``make train-all``):

  garment-transfer transfer --checkpoints runs/cpu --source a.jpg --source-parsing a_parse.png \\
      --source-densepose a_iuv.png --target b.jpg --target-parsing b_parse.png --target-densepose b_iuv.png \\
      --out b_in_a.png --intermediates out/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from garment_transfer import registry
from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.data.label_maps import UPPER_GARMENT, UPPER_SKIN
from garment_transfer.data.readers import FilesReader
from garment_transfer.data.samples import MIN_SIZE, PersonSample, collate, parse_size
from garment_transfer.models.pipeline import INTERMEDIATES, GarmentTransfer
from garment_transfer.models.pipeline import checkpoint_paths as method_checkpoints
from garment_transfer.visuals import save_images

DENSEPOSE_FILES = ("iuv", "rendering", "parts")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for side in ("source", "target"):
        parser.add_argument(f"--{side}", required=True, metavar="IMAGE", help=f"the {side} person's photo")
        parser.add_argument(f"--{side}-parsing", required=True, metavar="PNG", help=f"the {side}'s label PNG")
        parser.add_argument(f"--{side}-densepose", required=True, metavar="FILE", help=f"the {side}'s DensePose")
    parser.add_argument("--label-map", default="cihp", help="label set of the parsings (default cihp)")
    parser.add_argument(
        "--densepose-files", default="iuv", choices=DENSEPOSE_FILES, help="what the DensePose files hold (default iuv)"
    )
    parser.add_argument(
        "--checkpoints",
        default="runs/cpu",
        metavar="DIR",
        help="a preset's run folder holding <stage>/checkpoints/last.ckpt (default runs/cpu)",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="ROLE=CKPT",
        help="one network's checkpoint by role (ours: parsing, warping, regrowth); repeatable",
    )
    parser.add_argument(
        "--method",
        default="ours",
        choices=tuple(registry.dressers()),
        help="ours (default) or another registered way to dress a person",
    )
    parser.add_argument("--fill", default="inpaint", help="hole filling of the composition (default inpaint)")
    parser.add_argument("--out", required=True, metavar="PNG", help="where to write the result")
    parser.add_argument("--intermediates", metavar="DIR", help="also write parsing, warped garment, skin here")


def checkpoint_paths(args: argparse.Namespace) -> dict[str, str]:
    """The checkpoints ``--method`` needs, by role: ``--checkpoint ROLE=CKPT``, else
    ``<--checkpoints>/<stage>/checkpoints/last.ckpt``."""
    given = {}
    for spec in args.checkpoint:
        role, sep, path = spec.partition("=")
        if not sep or not role or not path:
            raise ValueError(
                f"--checkpoint {spec!r}: expected ROLE=CKPT, e.g. parsing=runs/cpu/transfer_parsing/"
                "checkpoints/last.ckpt"
            )
        given[role] = path
    return method_checkpoints(args.method, given, args.checkpoints)


def check_readable(method: str) -> None:
    """User files give photos, parsings and DensePose only: a method that reads more of a sample is refused."""
    reads = registry.dresser(method).reads
    if reads:
        raise ValueError(
            f"--method {method}: it reads {', '.join(reads)} of a person, which the transfer command's "
            "files do not give; use a method that reads the photo, parsing and DensePose only"
        )


def data_settings(paths: dict[str, str]) -> tuple[tuple[int, int], str]:
    """``(size, DensePose encoding)`` the networks were trained with, from their checkpoints' data modules; networks
    trained at different sizes or on different encodings are an error naming both files."""
    if not paths:
        return (128, 96), "iuv"
    settings = {}
    for path in paths.values():
        data = read_checkpoint(path).get("datamodule_hyper_parameters") or {}
        if "size" not in data or "densepose" not in data:
            raise ValueError(
                f"{path}: holds no data module settings (size, densepose); was it written by this project?"
            )
        settings[path] = (parse_size(data["size"]), data["densepose"])
    (first, expected), *others = settings.items()
    for path, found in others:
        if found != expected:
            raise ValueError(
                f"{path}: trained at {found[0][0]}x{found[0][1]} on {found[1]!r} DensePose, but {first} "
                f"at "
                f"{expected[0][0]}x{expected[0][1]} on {expected[1]!r}: give checkpoints of one preset"
            )
    return expected


def check_photo(path: str, side: str) -> None:
    """A photo smaller than the smallest size the networks run at (``MIN_SIZE``) holds too little to dress: refused.
    Read from the file's header only."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the {side} photo not found") from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f"{path}: cannot read the {side} photo ({err})") from None
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise ValueError(
            f"{path}: the {side} photo is {width}x{height} (WxH); the smallest this command dresses is "
            f"{MIN_SIZE[1]}x{MIN_SIZE[0]}"
        )


def check_person(person: PersonSample, side: str, path: str) -> None:
    if not (person.parsing == UPPER_GARMENT).any():
        raise ValueError(
            f"{path}: the {side} parsing has no upper-garment pixels "
            f"({'nothing to transfer' if side == 'source' else 'no garment to replace'}); "
            "check --label-map"
        )
    if side == "target" and not ((person.parsing == UPPER_SKIN) | (person.parsing == UPPER_GARMENT)).any():
        raise ValueError(f"{path}: the target parsing has no upper body")


def check_outputs(out: Path, intermediates: Path | None) -> None:
    """Where the results go, checked before any work: ``--out`` a new or existing PNG file (not a folder) in a
    folder that exists or can be made, ``--intermediates`` a folder (or a path for one)."""
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: the result is written as PNG; give a .png path")
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; give the path of the PNG file to write")
    for name, folder in (("--out", out.parent), ("--intermediates", intermediates)):
        ancestor = folder
        while ancestor is not None and not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor is not None and ancestor.exists() and not ancestor.is_dir():
            raise ValueError(f"{name} {folder}: {ancestor} is a file, not a folder")


def run(args: argparse.Namespace) -> int:
    check_outputs(Path(args.out), Path(args.intermediates) if args.intermediates else None)
    check_readable(args.method)
    paths = checkpoint_paths(args)
    size, encoding = data_settings(paths)
    files = {
        side: {
            "image": getattr(args, side),
            "labels": getattr(args, f"{side}_parsing"),
            "densepose": getattr(args, f"{side}_densepose"),
        }
        for side in ("source", "target")
    }
    for side in files:
        check_photo(files[side]["image"], side)
    reader = FilesReader(files, size, args.label_map, encoding, args.densepose_files)
    people = {side: reader.person("user", side) for side in files}
    for side, person in people.items():
        check_person(person, side, files[side]["labels"])
    model = GarmentTransfer(args.method, paths, fill=args.fill)
    source, target = collate([people["source"]]), collate([people["target"]])
    out = model(source, target)
    save_images(Path(args.out).parent, [Path(args.out).stem], out.image)
    if args.intermediates:
        folder = Path(args.intermediates)
        save_images(folder, ["parsing"], out.parsing, palette=True)
        for name in INTERMEDIATES[1:]:
            save_images(folder, [name], getattr(out, name))
    print(f"wrote {args.out} ({size[1]}x{size[0]}, method {args.method})")
    return 0
