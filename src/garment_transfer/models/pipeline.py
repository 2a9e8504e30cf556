"""End-to-end garment transfer ``I_{t<-s}`` (and try-on) from trained stage checkpoints, for any registered method.

``method`` names a way to dress a person (a :class:`~garment_transfer.registry.Dresser` of the method registry:
``ours``, ``teacher``, ``affine``, ``pfafn``, ...); its entry says which networks it runs (checkpoint roles and the
stages they must come from) and what it can dress the target in: the ``garment`` of :meth:`GarmentTransfer.forward`,
``worn`` (transfer: the source's worn garment ``G_s`` and ``M^g_s``) or ``in_shop`` (try-on: the source's in-shop
``C_s`` and ``C^m_s``). Every network is a :class:`~garment_transfer.models.frozen.FrozenNet` of its stage
checkpoint (checked to be of the stage it is used as), run in eval mode under ``no_grad``. Each method's entry
(``models/<method>/method.py``) describes how it dresses a person.

Speed switches (docs/speed.md; all off is the reference): ``precision="bf16"`` runs the networks under bf16
autocast (flows, grids and grid sampling stay float32, composition works on float32 images: the result is float32);
``channels_last`` puts the networks' parameters in channels-last memory format; ``compile`` compiles the whole
forward with ``torch.compile`` (one graph: nothing in it waits for the device), ``"reduce-overhead"`` with CUDA
graphs for fixed-shape inference on a GPU, ``"frozen"`` with the weights frozen into the graph (on the CPU: oneDNN
convolutions on weights packed once; docs/speed.md gives its operator count and compile time).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from garment_transfer import registry
from garment_transfer.data.samples import PersonSample
from garment_transfer.models.acceleration import accelerate, compile_function
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.models.transfer import GARMENT_FIELDS, INTERMEDIATES, TransferOutput

PRECISIONS = ("32", "bf16")
__all__ = ["GarmentTransfer", "INTERMEDIATES", "TransferOutput", "checkpoint_paths"]


def checkpoint_paths(
    method: str, checkpoints: Mapping[str, str] | None = None, runs: str | Path | None = None
) -> dict[str, str]:
    """The checkpoint of every network ``method`` runs, by role: ``checkpoints[role]`` where given, else
    ``<runs>/<the stage's run folder>/checkpoints/last.ckpt`` (the presets' stable paths).

    Raises:
        ValueError: a role the method does not have, or a role with neither a path nor ``runs``.
    """
    dresser = registry.dresser(method)
    given = dict(checkpoints or {})
    unknown = sorted(set(given) - set(dresser.networks))
    if unknown:
        raise ValueError(
            f"checkpoints: method {method!r} runs {sorted(dresser.networks) or 'no network'}, not {unknown}"
        )
    paths = {}
    for role, stage_id in dresser.networks.items():
        if given.get(role):
            paths[role] = str(given[role])
        elif runs is not None:
            paths[role] = str(Path(runs) / registry.stage(stage_id).run_folder / "checkpoints" / "last.ckpt")
    missing = [role for role in dresser.networks if role not in paths]
    if missing:
        raise ValueError(
            f"method {method!r} needs checkpoints {', '.join(missing)} (the stage checkpoints it runs): "
            "give checkpoints: {role: path} or runs: <a preset's run folder>"
        )
    return paths


class GarmentTransfer(nn.Module):
    """The frozen networks of one method and :meth:`forward` ``(source, target, garment) -> TransferOutput``.

    Args:
        method: a dresser of the registry (``garment_transfer.registry.dressers``).
        checkpoints: the checkpoint of each network the method runs, by role (``{"parsing": ..., "warping": ...,
            "regrowth": ...}`` for ``ours``); roles left out come from ``runs``.
        runs: a preset's run folder (``runs/cpu``): each stage's ``checkpoints/last.ckpt`` at its run folder.
        fill: hole filling of the composition (``composition.compose``).
        precision: ``"32"`` or ``"bf16"`` (bf16 autocast for the networks). channels_last: networks in channels-last
            memory format. compile: False, True, a ``torch.compile`` mode (``"reduce-overhead"``: CUDA graphs) or
            ``"frozen"`` (weights frozen into the graph, ``acceleration.compile_function``).
            fold_norms: fold every BatchNorm that follows a convolution into it (``acceleration.fold_batch_norms``;
            the default: fewer operators, equal within float tolerance); False keeps the networks as trained, the
            reference.
    """

    def __init__(
        self,
        method: str,
        checkpoints: Mapping[str, str] | None = None,
        runs: str | Path | None = None,
        fill: str = "inpaint",
        precision: str = "32",
        channels_last: bool = False,
        compile: bool | str = False,
        fold_norms: bool = True,
    ) -> None:
        super().__init__()
        self.spec = registry.dresser(method)
        if str(precision) not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: choose one of {PRECISIONS}")
        paths = checkpoint_paths(method, checkpoints, runs)
        self.method, self.fill, self.precision = method, fill, str(precision)
        self.nets = nn.ModuleDict(
            {
                role: FrozenNet.from_checkpoint(
                    paths[role], registry.builders(stage_id), argument=f"checkpoints.{role}"
                )
                for role, stage_id in self.spec.networks.items()
            }
        )
        for frozen in self.nets.values():
            accelerate(frozen.net, channels_last, fold_norms=fold_norms)
        self._compiled = compile_function(self.transfer, compile) if compile else None

    @property
    def garments(self) -> tuple[str, ...]:
        """What this method can dress a target in (``registry.GARMENTS``)."""
        return self.spec.garments

    @torch.no_grad()
    def forward(self, source: PersonSample, target: PersonSample, garment: str = "worn") -> TransferOutput:
        """Dress ``target`` (batched :class:`PersonSample`) in ``source``'s upper garment: the one they wear
        (``garment="worn"``, transfer) or their in-shop one (``"in_shop"``, try-on)."""
        if garment not in self.spec.garments:
            raise ValueError(
                f"method {self.method!r} dresses a person in {' or '.join(self.spec.garments)} "
                f"garments only, not {garment!r}"
            )
        return (self._compiled or self.transfer)(source, target, garment)

    def transfer(self, source: PersonSample, target: PersonSample, garment: str = "worn") -> TransferOutput:
        """:meth:`forward`, uncompiled: the eager reference. Under bf16 the images and masks still come out in the
        inputs' dtype: warps sample the float32 inputs in float32, and ``R``'s output is scaled by a float32 mask."""
        image_field, mask_field = GARMENT_FIELDS[garment]
        with torch.autocast(target.image.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.spec.run(
                self.nets, source, target, getattr(source, image_field), getattr(source, mask_field), self.fill
            )
