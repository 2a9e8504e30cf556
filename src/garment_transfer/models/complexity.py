"""Model size and compute: parameter counts and multiply-accumulates (MACs) of one forward pass.

MACs of convolutions and linear layers only (normalisation, activation, pooling, interpolation and grid sampling are
not counted); papers' "FLOPs" are usually these MACs (e.g. arXiv 2401.12433, Table 2). Biases are not counted.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once); only ``requires_grad`` ones if asked."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _conv_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    kernel = module.weight.shape[2:].numel()
    if isinstance(module, nn.ConvTranspose2d):  # every input element scatters to out/groups * k channels
        return inputs[0].numel() * (module.out_channels // module.groups) * kernel
    return output.numel() * (module.in_channels // module.groups) * kernel


def _linear_macs(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def count_macs(module: nn.Module, inputs: tuple, **forward_kwargs) -> int:
    """MACs of convolutions and linear layers in one forward pass ``module(*inputs, **forward_kwargs)``.

    Counted with forward hooks on ``nn.Conv2d`` (output elements * in_ch / groups * kh * kw), ``nn.ConvTranspose2d``
    (input elements * out_ch / groups * kh * kw) and ``nn.Linear`` (output elements * in_features); normalisation,
    activation, pooling, interpolation and grid sampling are not counted, nor are biases. The total covers the whole
    batch, so pass a batch of one for per-image figures. Runs under ``torch.no_grad()`` in eval mode; every
    submodule's training flag is restored and the hooks removed afterwards.

    Args:
        module: the network.
        inputs: positional inputs, e.g. ``(torch.zeros(1, 8, 256, 192),)``.
        forward_kwargs: keyword arguments of the forward.
    """
    total = 0
    counters = ((nn.Conv2d, _conv_macs), (nn.ConvTranspose2d, _conv_macs), (nn.Linear, _linear_macs))

    def hook(counter):
        def count(mod, args, out):
            nonlocal total
            total += counter(mod, args, out)

        return count

    handles = [
        m.register_forward_hook(hook(fn)) for m in module.modules() for cls, fn in counters if isinstance(m, cls)
    ]
    modes = {m: m.training for m in module.modules()}  # restore per submodule (a frozen teacher stays in eval)
    try:
        module.eval()
        with torch.no_grad():
            module(*inputs, **forward_kwargs)
    finally:
        for m, training in modes.items():
            m.training = training
        for handle in handles:
            handle.remove()
    return int(total)


def format_count(n: float) -> str:
    """Human-readable count with two decimals: ``44096023 -> "44.10 M"``, ``2.862e10 -> "28.62 G"``."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:g}"
