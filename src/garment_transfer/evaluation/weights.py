"""Reading the evaluator's pretrained weight files: local paths only, never a download, every error names the file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from garment_transfer.checkpoints import safe_load

MAX_LISTED = 5  # keys listed per kind of problem in an error message


def read_state_dict(path: str | Path, what: str, how_to_get: str) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save``-d state dict, loaded on the CPU without unpickling code.

    Args:
        path: the weights file.
        what: the network, for messages ("Inception-v3 (FID)").
        how_to_get: where the file comes from, appended to the not-found message.

    Raises:
        FileNotFoundError: naming the file when it does not exist.
        ValueError: naming the file when it is not a readable state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} weights file {path} not found: {how_to_get}")
    state = safe_load(path, f"{what} weights file")
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{what} weights file {path} holds a {type(state).__name__}, not a state dict of tensors")
    return dict(state)


def _listed(keys: list[str]) -> str:
    more = f" and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else ""
    return f"{keys[:MAX_LISTED]}{more}"


def check_state_dict(
    state: Mapping[str, torch.Tensor],
    expected: Mapping[str, torch.Size],
    path: str | Path,
    what: str,
    file_format: str,
    optional: Iterable[str] = (),
    ignored: Iterable[str] = (),
) -> None:
    """Check that ``state`` holds every expected key with the expected shape.

    Args:
        state: the file's tensors. expected: key -> shape the network needs.
        path, what: for messages. file_format: the format the file should be in, for messages.
        optional: expected keys a file may lack (e.g. BatchNorm's ``num_batches_tracked``).
        ignored: key prefixes of the file that are not used (e.g. a classifier head).

    Raises:
        ValueError: naming the file, the missing and unexpected keys and the wrong shapes.
    """
    optional, ignored = set(optional), tuple(ignored)
    missing = [key for key in expected if key not in state and key not in optional]
    unexpected = [key for key in state if key not in expected and not (ignored and key.startswith(ignored))]
    shapes = [
        f"{key}: file {tuple(state[key].shape)}, expected {tuple(shape)}"
        for key, shape in expected.items()
        if key in state and state[key].shape != shape
    ]
    if missing or unexpected or shapes:
        problems = [
            f"{name} {_listed(keys)}"
            for name, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shapes", shapes))
            if keys
        ]
        raise ValueError(f"{what} weights file {path} is not {file_format}: " + "; ".join(problems))
