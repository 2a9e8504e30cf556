"""The ``garment-transfer`` command.

Data and evaluation tools are subcommands (``synth``, ``contact-sheet``, ``export``); each lives in
``garment_transfer.tools.<name>`` and exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

TOOLS = {
    "synth": ("synth", "generate the synthetic garment-transfer data set"),
    "contact-sheet": ("contact_sheet", "render a PNG overview of a generated data set"),
    "export": ("export", "write a canonical data set in the DressCode or VITON 256 x 192 layout"),
    "data": ("data", "inspect data sets: garment-transfer data check ROOT --format F"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="garment-transfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in TOOLS.items():
        tool = importlib.import_module(f"garment_transfer.tools.{module}")
        tool_parser = sub.add_parser(name, help=help_text, description=tool.__doc__)
        tool.add_arguments(tool_parser)
        tool_parser.set_defaults(run=tool.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:  # bad arguments and unusable files: one clear line, exit 2
        print(f"garment-transfer {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
