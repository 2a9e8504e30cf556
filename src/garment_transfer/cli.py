"""The ``garment-transfer`` command.

``fit``, ``validate``, ``test`` and ``predict`` run Lightning's CLI (``GarmentCLI``) on a stage config, e.g.
``garment-transfer fit -c conf/trainer/cpu.yaml -c conf/distilled_transfer/tryon_parsing/cpu.yaml``; every model
and data module is chosen by ``class_path``. Data and evaluation tools are subcommands (``synth``, ``data``,
``transfer``, ...); each lives in ``garment_transfer.tools.<name>`` and exposes ``add_arguments(parser)`` and
``run(args) -> int``. A problem with what the user gave ends the command with one line and exit code 2
(:mod:`garment_transfer.errors`); the Lightning commands check everything up front (:mod:`garment_transfer.preflight`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
LIMITS = tuple(f"limit_{split}_batches" for split in ("train", "val", "test", "predict"))

TOOLS = {
    "synth": ("synth", "generate the synthetic garment-transfer data set"),
    "contact-sheet": ("contact_sheet", "render a PNG overview of a generated data set"),
    "export": ("export", "write a canonical data set in another layout (DressCode, VITON 256 x 192, CP-VTON, GP-VTON)"),
    "data": ("data", "inspect data sets: garment-transfer data check ROOT --format F"),
    "transfer": ("transfer", "dress one person in another's garment, on your own images"),
    "report": ("report", "collect a preset's evaluations into a markdown report with an image grid"),
    "compare": ("compare", "put trained methods side by side: try-on, transfer and re-transfer tables and one grid"),
    "evaluate": ("evaluate", "evaluate a folder of results: MSE, PSNR, SSIM, LPIPS, FID, KID, IS (docs/evaluation.md)"),
    "preflight": ("preflight", "check that a plan's configs find every file they need, before training starts"),
    "sizes": ("sizes", "parameters and MACs of every network of every method at a size, beside the published counts"),
    "methods": ("methods", "list the registered methods: stages, ways to dress a person, evaluations (or make rules)"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The tools' parser; ``only`` imports just that tool's module (the others keep their one-line help)."""
    parser = argparse.ArgumentParser(prog="garment-transfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in TOOLS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        tool = importlib.import_module(f"garment_transfer.tools.{module}")
        tool_parser = sub.add_parser(name, help=help_text, description=tool.__doc__)
        tool.add_arguments(tool_parser)
        tool_parser.set_defaults(run=tool.run)
    return parser


def lightning_cli(args: list[str] | None = None, run: bool = True, state: dict | None = None):
    """Lightning's CLI with any LightningModule / LightningDataModule by class path; the data module's DensePose
    encoding sets the model's ``pose_channels``. Every run gets the stage loggers (unless ``trainer.logger`` is
    set) and the default callbacks (``callbacks.run.stage_callbacks``: a ``StageCheckpoint``, an ``ImageLogger`` for
    modules with ``visuals``, a ``FiniteLossGuard``, each unless configured), and logs its config and run record.
    Before the trainer exists the run is checked (``preflight.check_run``); ``state["started"]`` turns True when the
    command's work begins, and checkpoints are always loaded with ``weights_only=True``."""
    import pytorch_lightning as pl
    from pytorch_lightning.cli import LightningCLI

    from garment_transfer.callbacks.run import RunRecord, stage_callbacks, stage_loggers, stage_of
    from garment_transfer.data.densepose import channels
    from garment_transfer.preflight import (
        check_ckpt_path,
        check_phase_schedule,
        check_run,
        check_run_folder,
        check_trainer_limits,
    )

    state = {} if state is None else state

    class GarmentCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            parser.link_arguments("data.init_args.densepose", "model.init_args.pose_channels", compute_fn=channels)

        def parse_arguments(self, parser, args) -> None:
            super().parse_arguments(parser, args)
            command = self.config.get("subcommand")
            if command is not None:  # before Lightning reads the file or makes a folder
                config = self.config[command]
                root = config.trainer.default_root_dir or os.getcwd()
                check_run_folder(root)
                if command == "fit":
                    check_trainer_limits(dict(config.trainer))
                check_ckpt_path(config.get("ckpt_path"), root, config.model.class_path)

        def instantiate_trainer(self, **kwargs):
            config = self._get(self.config_init, "trainer", default={})
            if self.subcommand is not None:
                check_run(self.subcommand, self.model, self.datamodule)
                if self.subcommand == "fit":
                    check_phase_schedule(config.get("callbacks"), self.model)
            for name in LIMITS:  # 1 parses as 1.0, which Lightning reads as 100 %: here 1 means one batch
                if config.get(name) == 1:
                    kwargs[name] = 1
            if config.get("logger") in (None, True):  # the standard loggers under the run folder
                kwargs["logger"] = stage_loggers(config.get("default_root_dir") or os.getcwd(), stage_of(self.model))
            kwargs["callbacks"] = stage_callbacks(
                config.get("callbacks"),
                config.get("enable_checkpointing"),
                images=callable(getattr(self.model, "visuals", None)),
            )
            state["trainer"] = super().instantiate_trainer(**kwargs)
            return state["trainer"]

        def _start(self) -> None:
            self.config_init[self.subcommand]["weights_only"] = True  # --ckpt_path never runs code from a file
            state["started"] = True

        before_fit = before_validate = before_test = before_predict = _start

    return GarmentCLI(
        pl.LightningModule,
        pl.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_callback=RunRecord,
        save_config_kwargs={"overwrite": True},
        seed_everything_default=0,
        args=args,
        run=run,
        auto_configure_optimizers=False,
        parser_kwargs={"exit_on_error": False},
    )


def main(argv: list[str] | None = None) -> int:
    from garment_transfer.errors import (
        argument_problem,
        check_config_files,
        config_files,
        interrupted,
        report,
        user_error,
    )

    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in LIGHTNING_COMMANDS:
        from garment_transfer.callbacks.guard import NonFiniteLossError

        state = {"started": False}
        try:
            check_config_files(config_files(words))
            lightning_cli(None if argv is None else words, state=state)  # None: Lightning reads sys.argv itself
        except argparse.ArgumentError as err:  # a key, class path or value the parser does not accept
            return report(words[0], ValueError(argument_problem(err, config_files(words))))
        except KeyboardInterrupt:
            return interrupted(words[0])
        except SystemExit:  # Lightning ends an interrupted run with exit(1) after its graceful shutdown
            if getattr(state.get("trainer"), "interrupted", False):
                return interrupted(words[0])
            raise
        except NonFiniteLossError as err:  # the run failed, not the input: one line, exit 1
            print(f"garment-transfer {words[0]}: stopped: {err}", file=sys.stderr)
            return 1
        except Exception as err:  # noqa: BLE001 - the user's problems become one line, bugs keep their traceback
            problem = user_error(err, state["started"])
            if problem is None:
                raise
            return report(words[0], problem)
        return 0
    args = build_parser(words[0] if words and words[0] in TOOLS else "").parse_args(words)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return interrupted(args.command)
    except (ValueError, OSError) as err:  # bad arguments and unusable files: one clear line, exit 2
        if user_error(err, started=False) is None:
            raise
        return report(args.command, err)


if __name__ == "__main__":
    sys.exit(main())
