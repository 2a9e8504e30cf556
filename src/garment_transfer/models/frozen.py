"""One way to hold a frozen network: another stage's trained net inside a student, the pipeline, a tool or a benchmark.

:meth:`FrozenNet.from_checkpoint` reads a stage checkpoint safely
(:func:`garment_transfer.checkpoints.read_checkpoint`), checks that the stage which wrote it is one the caller accepts
(its stage id is in the checkpoint) and that its
DensePose encoding (``pose_channels``) is the caller's, rebuilds the net from the checkpoint's hyper-parameters with
that stage's builder, loads its weights strictly and freezes it (``requires_grad`` off, eval mode).

A :class:`FrozenNet` then

- runs its forward under ``torch.no_grad()``;
- stays in eval mode whatever ``train()`` is called with (Lightning puts every sub-module in train mode each epoch;
  a teacher's BatchNorm statistics must never move);
- keeps the net out of its owner's parameters, ``state_dict`` and optimizer: the net is held outside the module tree
  (device and dtype moves still reach it), so a student's checkpoint references its teachers by path instead of
  copying them, and loads strictly without them;
- passes attribute reads on to the net (``frozen.in_channels``) and exposes it as ``frozen.net``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from garment_transfer.checkpoints import checkpoint_stage, read_checkpoint, short_stage
from garment_transfer.data.samples import parse_size

Builder = Callable[[dict], nn.Module]


class FrozenNet(nn.Module):
    """A frozen network (module docstring).

    Args:
        net: the network; frozen and put in eval mode here.
        source: where it came from (a checkpoint path), for messages and ``repr``.
        stage: the id of the stage that trained it (``<method>/<stage>``).
        hparams: that stage's hyper-parameters.
        data: its data module's hyper-parameters (``size``, ``densepose``, ...) where the checkpoint has them.
    """

    def __init__(
        self,
        net: nn.Module,
        source: str | Path = "",
        stage: str | None = None,
        hparams: dict | None = None,
        data: dict | None = None,
    ) -> None:
        super().__init__()
        net.requires_grad_(False)
        net.eval()
        object.__setattr__(self, "_net", net)  # outside the module tree: no parameters, state_dict or train()
        self.source, self.stage, self.hparams, self.data = str(source), stage, dict(hparams or {}), dict(data or {})
        self.training = False

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        builders: Mapping[str, Builder],
        pose_channels: int | None = None,
        argument: str = "checkpoint",
    ) -> FrozenNet:
        """The net of a stage checkpoint, frozen.

        Args:
            path: the checkpoint.
            builders: the stages accepted here, ``{stage id: builder(hyper_parameters) -> nn.Module}``
                (``garment_transfer.registry.builders``, or a method's own stage ids and builders).
            pose_channels: the caller's DensePose channels; a checkpoint trained on another encoding is refused.
            argument: the argument that named ``path``, for messages.

        Raises:
            FileNotFoundError, ValueError: one line naming the file and what is wrong with it.
        """
        checkpoint = read_checkpoint(path)
        stage = checkpoint_stage(checkpoint)
        if stage not in builders:
            expected = " or ".join(short_stage(s) for s in builders)
            found = short_stage(stage) if stage else "a checkpoint that records no stage"
            raise ValueError(f"{path}: {argument} must be a checkpoint of {expected}; this is {found}")
        hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if not k.startswith("_")}
        if pose_channels is not None and hparams.get("pose_channels") != pose_channels:
            raise ValueError(
                f"{path}: trained with pose_channels={hparams.get('pose_channels')}, this stage has "
                f"pose_channels={pose_channels}: use the same densepose encoding"
            )
        net = builders[stage](hparams)
        state = {k[len("net.") :]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        if not state:
            raise ValueError(f"{path}: holds no network weights (no 'net.' entries in its state_dict)")
        try:
            net.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(f"{path}: weights do not fit the network its hyper-parameters describe ({err})") from err
        data = {k: v for k, v in (checkpoint.get("datamodule_hyper_parameters") or {}).items() if not k.startswith("_")}
        return cls(net, path, stage, hparams, data)

    @property
    def net(self) -> nn.Module:
        return self._net

    def forward(self, *args, **kwargs):
        with torch.no_grad():
            return self._net(*args, **kwargs)

    def train(self, mode: bool = True) -> FrozenNet:
        self.training = False
        self._net.eval()
        return self

    def _apply(self, fn, recurse: bool = True):
        self._net._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            net = self.__dict__.get("_net")
            if net is None:
                raise
            return getattr(net, name)

    def extra_repr(self) -> str:
        return f"{type(self._net).__name__} from {self.source or 'memory'}, frozen"


def load_weights(net: nn.Module, frozen: FrozenNet, argument: str) -> None:
    """Start a trained part of a stage (``net``) from another stage's network: its weights and buffers copied (the
    file stays unchanged, ``frozen`` holds its own copy); a network of another shape is refused, naming the file."""
    try:
        net.load_state_dict(frozen.net.state_dict())
    except RuntimeError as err:
        raise ValueError(
            f"{frozen.source}: {argument} holds a network that does not fit this stage's (width "
            f"{frozen.hparams.get('width')!r} there; {str(err).splitlines()[0]})"
        ) from err


def check_data_settings(module: nn.Module, size: tuple[int, int], densepose: str, what: str = "this run") -> None:
    """Every :class:`FrozenNet` inside ``module``, and every checkpoint it was started from
    (``module.initialised_from``: ``(file, data settings)`` pairs), must have been trained at ``size`` on the
    ``densepose`` encoding (where the checkpoint records them): a mismatch is one line naming the file.

    Args:
        module: a stage module or a pipeline holding frozen nets. size: ``(H, W)``. densepose: the encoding name.
        what: who reads the data at that size, for messages.
    """
    sources = [(m.source, m.data) for m in module.modules() if isinstance(m, FrozenNet)]
    sources += list(getattr(module, "initialised_from", ()))  # checkpoints whose weights started a trained part
    for source, data in sources:
        trained = data.get("size")
        if trained is not None and parse_size(trained) != tuple(size):
            raise ValueError(
                f"{source}: trained at {trained}, but {what} reads {size[0]}x{size[1]}: use "
                "checkpoints trained at the data module's size (or set data.init_args.size to theirs)"
            )
        encoding = data.get("densepose")
        if encoding is not None and encoding != densepose:
            raise ValueError(
                f"{source}: trained on the {encoding!r} DensePose encoding, but {what} gives "
                f"{densepose!r}: use the same data.init_args.densepose"
            )
