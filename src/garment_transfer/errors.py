"""Which failures are the user's: reported as one line naming the file or argument (exit code 2), not a traceback.

Every ``garment-transfer`` command validates what it is given before it creates a folder or starts work. A problem
found then (a missing or wrong file, a bad value, a data set that does not read) surfaces as a ``ValueError`` or an
``OSError`` whose message names the file or argument: :func:`user_error` picks it out of the exception chain (the
Lightning CLI wraps errors raised while it builds the model and the data module). Once work has started, only a
:class:`UserError` (a data problem met in the middle of a run, a file that turns out to be unreadable) is reported as
one line; anything else is a bug and keeps its traceback. ``GARMENT_TRANSFER_TRACEBACK=1`` always shows tracebacks.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

TRACEBACK_VARIABLE = "GARMENT_TRANSFER_TRACEBACK"


class UserError(ValueError):
    """A problem with what the user gave (a file, an argument, a data set); its message names it."""


def _chain(err: BaseException) -> list[BaseException]:
    chain = [err]
    while chain[-1].__cause__ is not None and len(chain) < 32:
        chain.append(chain[-1].__cause__)
    return chain


def _raised_in(err: BaseException) -> str:
    """The module whose code raised ``err``."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""


def user_error(err: BaseException, started: bool) -> BaseException | None:
    """The exception to report as one line, or None when ``err`` is a bug (or tracebacks are asked for).

    Before work starts, the first exception of the chain not raised by jsonargparse (which wraps the errors of the
    classes it builds) decides: a ``ValueError`` or ``OSError`` is the user's, anything else a bug. After, only a
    :class:`UserError` is.

    Args:
        err: what the command raised.
        started: whether work had started (after the up-front checks).
    """
    if os.environ.get(TRACEBACK_VARIABLE):
        return None
    chain = _chain(err)
    for link in chain:
        if isinstance(link, UserError):
            return link
    if started:
        return None
    for link in chain:
        if not _raised_in(link).startswith("jsonargparse"):
            return link if isinstance(link, (ValueError, OSError)) or _misconfiguration(link) else None
    return None


def _misconfiguration(err: BaseException) -> bool:
    """Lightning's ``MisconfigurationException`` (a trainer argument out of range), raised before work starts."""
    return type(err).__name__ == "MisconfigurationException"


_NOISE = (
    "Does not validate against any of the Union subtypes",
    "Subtypes:",
    "Errors:",
    "Given value type:",
    "Expected a <class 'NoneType'>",
    "Expected a path but",
    "Problem with given class_path",
)


def argument_problem(err: BaseException, configs: list[str]) -> str:
    """One line for a jsonargparse parsing error of a Lightning command: the config key, the reason (an option the
    class does not take, a class path that does not import, a value of the wrong type) and, where one of the
    ``-c`` files holds the offending option or value, that file first.

    Args:
        err: the ``ArgumentError``. configs: the ``-c`` / ``--config`` files of the command line, in order.
    """
    lines = [line.strip().lstrip("- ").strip() for line in str(err).splitlines() if line.strip()]
    key, given, reasons, owner = None, None, [], None
    for line in lines:
        if found := re.match(r"Problem with given class_path '([^']+)'", line):
            owner = found.group(1).rsplit(".", 1)[-1]
        if found := re.match(r'Parser key "([^"]+)":?\s*(.*)', line):
            key = found.group(1)
            line = found.group(2)
        if not line or any(line.startswith(noise) for noise in _NOISE):
            continue
        if line.startswith("Given value:"):
            given = line.split(":", 1)[1].strip()
        else:
            reasons.append(line)
    option = next((found.group(1) for r in reasons if (found := re.search(r"[Oo]ption '([^']+)'", r))), None)
    value = given if given and re.fullmatch(r"[\w.:/-]+", given) else None  # a name, not a dump of a mapping
    needle = f"{option.rsplit('.', 1)[-1]}:" if option else value
    where = next((path for path in reversed(configs) if needle and _holds(path, needle)), None)
    text = "; ".join(reasons) or (lines[0] if lines else type(err).__name__)
    if value and value not in text:
        text = f"{value}: {text}"
    if key and owner and option:
        key = f"{key} ({owner})"
    return "".join([f"{where}: " if where else "", f"{key}: " if key else "", text])


def config_files(words: list[str]) -> list[str]:
    """The ``-c`` / ``--config`` files of a Lightning command line, in order."""
    found = []
    for i, word in enumerate(words):
        if word in ("-c", "--config") and i + 1 < len(words):
            found.append(words[i + 1])
        elif word.startswith("--config="):
            found.append(word.split("=", 1)[1])
    return found


def check_config_files(paths: list[str]) -> None:
    """Each ``-c`` file must be readable UTF-8 text holding a YAML mapping of config sections.

    Raises:
        FileNotFoundError, ValueError: one line naming the file.
    """
    import yaml

    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"{path}: config file not found" + (" (it is a folder)" if file.is_dir() else ""))
        try:
            content = yaml.safe_load(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a config (not UTF-8 text: a binary file?)") from None
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({one_line(err)})") from None
        if not isinstance(content, dict):
            raise ValueError(
                f"{path}: a config must be a mapping of sections (trainer:, model:, data: ...), "
                f"this file holds a {type(content).__name__}"
            )


def _holds(path: str, text: str) -> bool:
    try:
        return text in Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return False


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (line breaks folded into "; "); an error re-raised from a data loader
    worker keeps only the original message (the last line of the worker's traceback)."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if any(line.startswith("Original Traceback") for line in lines):
        lines = [lines[-1].split(": ", 1)[-1]]
    return "; ".join(lines) or type(err).__name__


def report(command: str, err: BaseException) -> int:
    """Print ``garment-transfer <command>: error: <message>`` to stderr; return the exit code 2."""
    print(f"garment-transfer {command}: error: {one_line(err)}", file=sys.stderr)
    return 2


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT)


# How a command stopped by Ctrl-C goes on, where it can; any other command starts again.
RESUME = {
    "fit": "fit --ckpt_path last resumes from the last checkpoint",
    "test": "nothing is resumed (a pipeline's results stay unpublished); run the command again",
    "synth": "the same command resumes where it stopped",
}


def interrupted(command: str) -> int:
    """Print one line saying ``command`` was interrupted and how to go on (:data:`RESUME`); return
    :data:`INTERRUPTED`."""
    resume = RESUME.get(command, "nothing is resumed; run the command again")
    print(f"garment-transfer {command}: interrupted (Ctrl-C); {resume}", file=sys.stderr)
    return INTERRUPTED
