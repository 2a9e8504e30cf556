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
import sys

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
            return link if isinstance(link, (ValueError, OSError)) else None
    return None


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
