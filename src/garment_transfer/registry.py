"""The methods this library trains and compares: the one list of them, and what each declares.

A method is a folder under ``models/``, ``stages/`` and ``conf/`` plus one entry here. Its entry, a :class:`Method`
defined in its ``models/<method>/method.py``, declares:

- its **stages** (:class:`Stage`): a stable stage id (``<method>/<stage>``) that checkpoints record and every check
  of "is this the right checkpoint" compares, the LightningModule and DataModule class paths, the builder of its
  network from the stage's hyper-parameters, the stages whose checkpoints it reads (the order ``make`` trains them
  in), and what its network offers other methods (``offers``: e.g. a try-on warp another method may distil from);
- how it **dresses** a person (:class:`Dresser`): the networks a try-on or a garment transfer runs (checkpoint roles
  and the stages they come from), the garments it can dress a person in (``worn``: transfer; ``in_shop``: try-on),
  what it reads of a sample beyond the basics, and the function that runs it
  (:class:`~garment_transfer.models.pipeline.GarmentTransfer` calls it);
- its **evaluations** (:class:`Evaluation`): a dresser under the protocols of an overlay config, with the run folder
  it writes (``make evaluate``, ``make compare`` and ``garment-transfer compare --runs`` read them);
- its networks for ``garment-transfer sizes`` (:class:`Network`, :class:`Group`).

Built-in methods are listed in :data:`BUILTIN`; others plug in without touching this file, as the module path of
their entry: in the ``GARMENT_TRANSFER_METHODS`` environment variable (comma-separated ``package.module``, each with
a ``METHOD``), or as a ``garment_transfer.methods`` entry point of an installed package. Entries load on first use.
Nothing here imports Lightning: stage modules are named by class path.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from torch import nn

from garment_transfer.models.transfer import GARMENT_FIELDS

BUILTIN = (
    "garment_transfer.models.distilled_transfer.method",
    "garment_transfer.models.pfafn.method",
    "garment_transfer.models.wuton.method",
)
ENVIRONMENT = "GARMENT_TRANSFER_METHODS"
ENTRY_POINTS = "garment_transfer.methods"
GARMENTS = tuple(GARMENT_FIELDS)  # what a person can be dressed in: another's worn garment (transfer), an in-shop one


@dataclass(frozen=True)
class Stage:
    """One trained stage of a method.

    Attributes:
        id: stable id ``<method>/<stage>`` (recorded in checkpoints; the folder under ``stages/`` and ``conf/``).
        module: class path of its LightningModule. data_module: class path of its DataModule.
        build: its network from the stage's hyper-parameters (what a frozen copy of it is rebuilt with).
        run_folder: where the presets write it, under ``runs/<preset>/`` (its ``checkpoints/last.ckpt`` is what
            later stages and the pipeline read).
        reads: ids of the stages whose checkpoints it reads (trained first).
        offers: what its network can do for other methods, by capability name -> adapter (e.g. ``"tryon_warp"``).
        former_modules: module paths of this stage's package in earlier layouts (old checkpoints name them).
        title: a few words for tables and messages.
        configs: the folder of its configs when not ``conf/<id>`` (a method outside this repository).
    """

    id: str
    module: str
    data_module: str
    build: Callable[[dict], nn.Module]
    run_folder: str
    reads: tuple[str, ...] = ()
    offers: Mapping[str, Callable] = field(default_factory=dict)
    former_modules: tuple[str, ...] = ()
    title: str = ""
    configs: str = ""

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def class_name(self) -> str:
        return self.module.rsplit(".", 1)[1]

    @property
    def config(self) -> str:
        """The folder of its configs (``conf/<method>/<stage>`` unless ``configs`` says otherwise; one YAML per
        preset)."""
        return self.configs or f"conf/{self.id}"


@dataclass(frozen=True)
class Dresser:
    """A way to dress a target person: in another person's worn garment (transfer) and / or an in-shop one.

    Attributes:
        name: what the pipeline's ``method`` argument names (``ours``, ``pfafn``, ...).
        networks: checkpoint role -> the stage id it must come from (``{"parsing": "distilled_transfer/..."}``).
        garments: what it can dress a person in, among :data:`GARMENTS`.
        run: ``(nets, source, target, garment, garment_mask, fill) -> TransferOutput``, ``nets`` by role.
        reads: sample fields it needs beyond image, parsing and DensePose (e.g. ``("keypoints",)``).
        title: its name in reports.
    """

    name: str
    networks: Mapping[str, str]
    garments: tuple[str, ...]
    run: Callable
    reads: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class Evaluation:
    """An evaluation a method ships: a dresser under the protocols of an overlay on the pipeline config.

    Attributes:
        name: its name (``make evaluate-<method>`` runs all of a method's evaluations).
        dresser: the :class:`Dresser` it runs.
        title: the method's name in comparison tables (evaluations of one dresser share it).
        run_folder: where it writes under ``runs/<preset>/`` (``results/`` inside).
        config: its overlay on ``conf/pipeline/<preset>.yaml`` (method, protocols, run folder).
    """

    name: str
    dresser: str
    title: str
    run_folder: str
    config: str


@dataclass(frozen=True)
class Network:
    """A network of a method for ``garment-transfer sizes``: ``build(width, pose_channels) -> nn.Module`` and the
    channels of each forward input (all (1, C, H, W)); ``published``: the count the paper or official code gives.
    ``sized``: the network is built for one input size (its parameters depend on it, as WUTON's matcher), and
    ``build`` takes it as a third argument ``(H, W)``."""

    name: str
    build: Callable[..., nn.Module]
    inputs: Callable[[int], tuple[int, ...]]
    published: str = "-"
    sized: bool = False


@dataclass(frozen=True)
class Group:
    """A row of ``sizes`` summing networks of one method (what runs at inference)."""

    name: str
    members: tuple[str, ...]
    published: str = "-"


@dataclass(frozen=True)
class Method:
    """A method's entry (module docstring)."""

    name: str
    title: str
    stages: tuple[Stage, ...]
    dressers: tuple[Dresser, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    networks: tuple[Network | Group, ...] = ()

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name or stage.id == name:
                return stage
        raise ValueError(f"method {self.name!r} has no stage {name!r}; its stages are {[s.name for s in self.stages]}")


_methods: dict[str, Method] | None = None


def _entry_modules() -> list[str]:
    extra = [m.strip() for m in os.environ.get(ENVIRONMENT, "").split(",") if m.strip()]
    plugged = [point.value for point in entry_points(group=ENTRY_POINTS)]
    return [*BUILTIN, *plugged, *extra]


def _load() -> dict[str, Method]:
    global _methods
    if _methods is None:
        found: dict[str, Method] = {}
        for name in _entry_modules():
            try:
                method = importlib.import_module(name.split(":")[0]).METHOD
            except (ImportError, AttributeError) as err:
                raise ValueError(
                    f"{ENVIRONMENT} / entry point {name!r}: cannot load a method entry (a module with "
                    f"METHOD = registry.Method(...)): {err}"
                ) from err
            _check(method, found)
            found[method.name] = method
        _methods = found
    return _methods


def _check(method: Method, known: dict[str, Method]) -> None:
    if method.name in known:
        raise ValueError(f"method {method.name!r} is registered twice")
    ids = {stage.id for m in known.values() for stage in m.stages}
    dressers = {d.name for m in known.values() for d in m.dressers}
    evaluations = {e.name for m in known.values() for e in m.evaluations}
    for stage in method.stages:
        if not stage.id.startswith(f"{method.name}/") or stage.id in ids:
            raise ValueError(f"method {method.name!r}: stage id {stage.id!r} must be '{method.name}/<stage>' and new")
    for dresser in method.dressers:
        if dresser.name in dressers or not set(dresser.garments) <= set(GARMENTS):
            raise ValueError(
                f"method {method.name!r}: dresser {dresser.name!r} is registered twice or dresses in "
                f"{dresser.garments} (choose from {GARMENTS})"
            )
    own = {d.name for d in method.dressers}
    for evaluation in method.evaluations:
        if evaluation.name in evaluations or evaluation.dresser not in own | dressers:
            raise ValueError(
                f"method {method.name!r}: evaluation {evaluation.name!r} is registered twice or runs "
                f"an unknown dresser {evaluation.dresser!r}"
            )


def methods() -> dict[str, Method]:
    """Every registered method by name, built-in ones first."""
    return dict(_load())


def method(name: str) -> Method:
    found = _load()
    if name not in found:
        raise ValueError(f"method {name!r}: choose one of {sorted(found)}")
    return found[name]


def stages() -> dict[str, Stage]:
    """Every stage of every method by id."""
    return {stage.id: stage for m in _load().values() for stage in m.stages}


def stage(stage_id: str) -> Stage:
    found = stages()
    if stage_id not in found:
        raise ValueError(f"stage {stage_id!r}: no registered method has it; stages are {sorted(found)}")
    return found[stage_id]


def stage_of_class(path: str) -> Stage | None:
    """The stage whose LightningModule has class path ``path`` (today's, or in a former layout), or None."""
    for candidate in stages().values():
        if path == candidate.module or path in former_class_paths(candidate):
            return candidate
    return None


def former_class_paths(stage: Stage) -> tuple[str, ...]:
    """Class paths of a stage's module in its former layouts (``<module>.<Class>`` and
    ``<module>.lightning_module.<Class>``): what old checkpoints recorded."""
    return tuple(
        f"{module}{suffix}.{stage.class_name}"
        for module in stage.former_modules
        for suffix in ("", ".lightning_module")
    )


def builders(*stage_ids: str) -> dict[str, Callable[[dict], nn.Module]]:
    """``{stage id: builder}`` of the given stages: what a frozen network may be loaded from."""
    return {stage_id: stage(stage_id).build for stage_id in stage_ids}


def offering(capability: str) -> dict[str, Stage]:
    """The stages (by id) whose networks offer ``capability`` to other methods."""
    return {stage_id: s for stage_id, s in stages().items() if capability in s.offers}


def evaluations() -> dict[str, Evaluation]:
    """Every shipped evaluation, by name, in registry order."""
    return {e.name: e for m in _load().values() for e in m.evaluations}


def dressers() -> dict[str, Dresser]:
    """Every way to dress a person, by name, in registry order."""
    return {d.name: d for m in _load().values() for d in m.dressers}


def dresser(name: str) -> Dresser:
    found = dressers()
    if name not in found:
        raise ValueError(f"method {name!r}: choose one of {tuple(found)}")
    return found[name]


def training_order(method_name: str) -> list[Stage]:
    """A method's stages in an order where every stage comes after the stages it reads (of any method)."""
    ordered: list[Stage] = []

    def visit(s: Stage, path: tuple[str, ...]) -> None:
        if s in ordered:
            return
        if s.id in path:
            raise ValueError(f"stages read each other in a circle: {' -> '.join((*path, s.id))}")
        for dependency in s.reads:
            visit(stage(dependency), (*path, s.id))
        ordered.append(s)

    for s in method(method_name).stages:
        visit(s, ())
    return ordered
