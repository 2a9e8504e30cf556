"""Speed switches for a network, shared by every stage and the inference pipeline (docs/speed.md).

- ``channels_last``: parameters (and so every convolution's output) in channels-last memory format: what GPU
  tensor cores and cuDNN prefer for convolutions; the values are the same, the memory layout differs.
- ``fold_norms`` (inference only, :func:`fold_batch_norms`): every BatchNorm that directly follows a convolution in
  a ``nn.Sequential`` is folded into that convolution's weight and bias: one operator (one GPU launch) instead of
  two per pair, the same function within float tolerance.
- ``compile``: ``torch.compile`` of the network in place (:meth:`torch.nn.Module.compile`: the state-dict keys stay
  those of the eager network, so checkpoints are interchangeable). ``True`` takes the compiler's default mode;
  a string names the mode, e.g. ``"reduce-overhead"`` (CUDA graphs: fixed shapes, on a GPU). The first call
  compiles (tens of seconds to minutes); eager execution is the reference, equal within float tolerance.
  ``"frozen"`` (inference only: the pipeline, :class:`~garment_transfer.models.pipeline.GarmentTransfer`) compiles
  with the weights frozen into the graph as constants (inductor's ``freezing``): they are folded where they meet
  constants and, on the CPU, every convolution becomes one oneDNN call on weights packed once
  (:func:`compile_function`). A network that trains cannot take it (:func:`compile_arguments` refuses it).

Mixed precision is not set here: a stage trains under bf16 autocast with the trainer's ``precision: bf16-mixed``
(flows, grids and grid sampling stay in float32 inside the warping nets, ``geometry.grids.grid_dtype``); the
pipeline takes ``precision="bf16"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
FROZEN = "frozen"


def compile_arguments(compile: bool | str) -> dict:
    """``torch.compile``'s keyword arguments for a training network's switch value: ``{}`` for ``True`` (the
    default mode), ``{"mode": name}`` for a mode name.

    Raises:
        ValueError: an unknown value, or ``"frozen"`` (inference only: :func:`compile_function`).
    """
    if compile is True:
        return {}
    if compile == FROZEN:
        raise ValueError(
            'compile: "frozen" freezes the weights into the graph: for inference (the pipeline) only, '
            "not for a network that trains"
        )
    if compile not in MODES:
        raise ValueError(
            f"compile must be true, false or one of {', '.join(MODES)} (or {FROZEN} for the pipeline), got {compile!r}"
        )
    return {"mode": compile}


def compile_function(function: Callable, compile: bool | str) -> Callable:
    """``function`` compiled for inference with a switch value (``True``, a mode name or ``"frozen"``).

    ``"frozen"`` compiles in the default mode with inductor's ``freezing`` on: parameters become constants of the
    graph (it must run under ``no_grad`` and the weights must not change afterwards). The setting is read while the
    call is traced as well as while it is compiled, so every call runs under it (a ``torch.compile`` option would
    reach only the compiler: the parameters would stay graph inputs and nothing would be frozen).
    """
    if compile != FROZEN:
        return torch.compile(function, **compile_arguments(compile))
    from torch._inductor import config as inductor_config

    compiled = torch.compile(function)

    @functools.wraps(function)
    def frozen(*args, **kwargs):
        with inductor_config.patch(freezing=True):
            return compiled(*args, **kwargs)

    return frozen


def accelerate(
    net: nn.Module, channels_last: bool = False, compile: bool | str = False, fold_norms: bool = False
) -> nn.Module:
    """Apply the switches to ``net`` in place (module docstring) and return it; all off leave it untouched.

    Args:
        net: the network (a :class:`~garment_transfer.models.frozen.FrozenNet`'s ``.net`` for a frozen one).
        channels_last: parameters in channels-last memory format.
        compile: False, True or a ``torch.compile`` mode name.
        fold_norms: fold BatchNorms into the convolutions before them (:func:`fold_batch_norms`; ``net`` must be
            in eval mode and frozen: inference only).
    """
    arguments = compile_arguments(compile) if compile else {}
    if fold_norms:
        fold_batch_norms(net)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if compile:
        net.compile(**arguments)
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
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    fused.weight.copy_(conv.weight.double() * scale.view(-1, 1, 1, 1))
    fused.bias.copy_(bias)
    fused.requires_grad_(False)
    return fused.eval()
