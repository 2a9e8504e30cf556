"""Speed switches for a network, shared by every stage and the inference pipeline (README "Speed").

- ``channels_last``: parameters (and so every convolution's output) in channels-last memory format: what GPU
  tensor cores and cuDNN prefer for convolutions; the values are the same, the memory layout differs.
- ``compile``: ``torch.compile`` of the network in place (:meth:`torch.nn.Module.compile`: the state-dict keys stay
  those of the eager network, so checkpoints are interchangeable). ``True`` takes the compiler's default mode;
  a string names the mode, e.g. ``"reduce-overhead"`` (CUDA graphs: fixed shapes, on a GPU). The first call
  compiles (tens of seconds to minutes); eager execution is the reference, equal within float tolerance.

Mixed precision is not set here: a stage trains under bf16 autocast with the trainer's ``precision: bf16-mixed``
(flows, grids and grid sampling stay in float32 inside the warping nets, ``geometry.grids.grid_dtype``); the
pipeline takes ``precision="bf16"``.
"""

from __future__ import annotations

import torch
from torch import nn


def compile_mode(compile: bool | str) -> str | None:
    """``torch.compile``'s ``mode`` for a switch value: None for ``True`` (the default mode), the string itself."""
    if isinstance(compile, bool) or compile is None:
        return None
    if compile not in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
        raise ValueError(f"compile must be true, false or a torch.compile mode name, got {compile!r}")
    return compile


def accelerate(net: nn.Module, channels_last: bool = False, compile: bool | str = False) -> nn.Module:
    """Apply the switches to ``net`` in place (module docstring) and return it; both off leave it untouched.

    Args:
        net: the network (a :class:`~garment_transfer.models.frozen.FrozenNet`'s ``.net`` for a frozen one).
        channels_last: parameters in channels-last memory format.
        compile: False, True or a ``torch.compile`` mode name.
    """
    mode = compile_mode(compile)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if compile:
        net.compile(mode=mode)
    return net
