"""Speed switches for a network, shared by every stage and the inference pipeline (README "Speed").

- ``channels_last``: parameters (and so every convolution's output) in channels-last memory format: what GPU
  tensor cores and cuDNN prefer for convolutions; the values are the same, the memory layout differs.
- ``fold_norms`` (inference only, :func:`fold_batch_norms`): every BatchNorm that directly follows a convolution in
  a ``nn.Sequential`` is folded into that convolution's weight and bias: one operator (one GPU launch) instead of
  two per pair, the same function within float tolerance.
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


def accelerate(net: nn.Module, channels_last: bool = False, compile: bool | str = False,
               fold_norms: bool = False) -> nn.Module:
    """Apply the switches to ``net`` in place (module docstring) and return it; all off leave it untouched.

    Args:
        net: the network (a :class:`~garment_transfer.models.frozen.FrozenNet`'s ``.net`` for a frozen one).
        channels_last: parameters in channels-last memory format.
        compile: False, True or a ``torch.compile`` mode name.
        fold_norms: fold BatchNorms into the convolutions before them (:func:`fold_batch_norms`; ``net`` must be
            in eval mode and frozen: inference only).
    """
    mode = compile_mode(compile)
    if fold_norms:
        fold_batch_norms(net)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if compile:
        net.compile(mode=mode)
    return net


def fold_batch_norms(net: nn.Module) -> int:
    """Fold, in place, every ``BatchNorm2d`` that directly follows a ``Conv2d`` inside an ``nn.Sequential`` into
    that convolution, and return how many were folded.

    In eval mode a BatchNorm is the affine map ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` per channel, so
    ``BN(conv(x)) = conv'(x)`` with ``W' = W * s`` (per output channel) and ``b' = (b - mean) * s + beta``,
    ``s = gamma / sqrt(var + eps)``. The folded BatchNorm becomes an ``nn.Identity``. Norms elsewhere (before a
    convolution, after a ReLU, or in another module than the convolution) are left as they are. Inference only:
    ``net`` must be in eval mode with no parameter requiring gradients, since a folded network no longer has the
    BatchNorm's parameters, buffers or state-dict keys.

    Raises:
        ValueError: ``net`` is in training mode or has parameters that require gradients.
    """
    if net.training or any(p.requires_grad for p in net.parameters()):
        raise ValueError("fold_batch_norms is for frozen networks in eval mode (a folded network cannot train)")
    folded = 0
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if type(conv) is nn.Conv2d and type(norm) is nn.BatchNorm2d and norm.running_mean is not None:
                module._modules[first] = _folded(conv, norm)
                module._modules[second] = nn.Identity()
                folded += 1
    return folded


@torch.no_grad()
def _folded(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution equal to ``norm(conv(x))`` in eval mode (computed in float64, stored as ``conv``'s)."""
    scale = norm.running_var.double().add(norm.eps).rsqrt()
    if norm.weight is not None:
        scale = scale * norm.weight.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - norm.running_mean.double()) * scale
    if norm.bias is not None:
        bias = bias + norm.bias.double()
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode,
                      device=conv.weight.device, dtype=conv.weight.dtype)
    fused.weight.copy_(conv.weight.double() * scale.view(-1, 1, 1, 1))
    fused.bias.copy_(bias)
    fused.requires_grad_(False)
    return fused.eval()
