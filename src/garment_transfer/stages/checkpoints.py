"""Checkpoints between stages: a later stage gets an earlier one's network from a checkpoint path.

A teacher is rebuilt from the hyper-parameters stored in its checkpoint, loaded, frozen (``requires_grad`` off)
and put in eval mode. Students reference their teachers by path: the teacher's weights are not copied into the
student's checkpoint (:func:`drop_prefix` on save, :func:`restore_prefix` on load).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


def read_checkpoint(path: str | Path) -> dict:
    """Load a Lightning checkpoint on the CPU; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (train the stage that writes it first)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a foreign or truncated file
        raise ValueError(f"{path}: cannot read checkpoint ({err})") from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(f"{path}: not a Lightning checkpoint with state_dict and hyper_parameters")
    return checkpoint


def freeze(module: nn.Module) -> nn.Module:
    """No gradients, eval mode (keep it there: see :class:`FrozenNets`)."""
    module.requires_grad_(False)
    return module.eval()


def net_from_checkpoint(path: str | Path, build: Callable[[dict], nn.Module], prefix: str = "net.") -> nn.Module:
    """Rebuild ``build(hyper_parameters)`` and load the checkpoint's ``prefix`` weights into it, strictly."""
    checkpoint = read_checkpoint(path)
    net = build(dict(checkpoint["hyper_parameters"]))
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise ValueError(f"{path}: holds no weights under {prefix!r}")
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit the network its hyper-parameters describe ({err})") from err
    return net


def frozen_net(path: str | Path, build: Callable[[dict], nn.Module], pose_channels: int | None = None) -> nn.Module:
    """:func:`net_from_checkpoint`, frozen. With ``pose_channels``, a checkpoint trained on another DensePose
    encoding is an error naming the file (before anything is built)."""
    def checked(hparams: dict) -> nn.Module:
        if pose_channels is not None and hparams.get("pose_channels") != pose_channels:
            raise ValueError(f"{path}: trained with pose_channels={hparams.get('pose_channels')}, this stage has "
                             f"pose_channels={pose_channels}: use the same densepose encoding")
        return build(hparams)
    return freeze(net_from_checkpoint(path, checked))


def drop_prefix(checkpoint: dict, prefix: str) -> None:
    """Remove a referenced sub-module's weights from a checkpoint about to be saved."""
    for key in [k for k in checkpoint["state_dict"] if k.startswith(prefix)]:
        del checkpoint["state_dict"][key]


def restore_prefix(checkpoint: dict, module: nn.Module | None, prefix: str) -> None:
    """Put the current weights of a referenced sub-module back, so a checkpoint loads strictly."""
    if module is not None:
        checkpoint["state_dict"].update({prefix + k: v for k, v in module.state_dict().items()})


class FrozenNets:
    """LightningModule mixin for the frozen nets a student references by path, named in ``frozen_nets`` (attributes
    that may be None): they stay in eval mode whatever ``train()`` asks (Lightning puts every sub-module in train
    mode each epoch; a teacher's BatchNorm statistics must never move), and are left out of saved checkpoints and
    put back from their current weights on load (:func:`drop_prefix`, :func:`restore_prefix`). List it first among
    the bases: ``class Student(FrozenNets, StageModule)``."""

    frozen_nets: tuple[str, ...] = ()

    def train(self, mode: bool = True):
        super().train(mode)
        for name in self.frozen_nets:
            if getattr(self, name) is not None:
                getattr(self, name).eval()
        return self

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        for name in self.frozen_nets:
            drop_prefix(checkpoint, name + ".")

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        for name in self.frozen_nets:
            restore_prefix(checkpoint, getattr(self, name), name + ".")
