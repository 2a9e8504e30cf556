"""The end-to-end pipeline of any registered method as a LightningModule for ``test`` and ``predict`` (nothing to
train).

``garment-transfer test -c conf/trainer/cpu.yaml -c conf/pipeline/cpu.yaml -c conf/<method>/evaluate/<name>.yaml``
runs :class:`GarmentTransfer` on the data module's fixed evaluation pairs in batches and evaluates it with the
project's one evaluator (:class:`garment_transfer.evaluation.Evaluator`) under these protocols:

- ``transfer``: ``I_{t<-s}`` against the rendered truth (synthetic data; pairs without truth are an error);
- ``retransfer``: the result dressed back onto the source, ``I_{s<-t<-s}``, against ``I_s`` (the result
  person carries ``M_{t<-s}`` and ``P_t``);
- ``unpaired``: ``I_{t<-s}`` alone (the no-reference metrics, e.g. IS; FID against the real targets);

and the try-on protocols, for the methods that dress a person in an in-shop garment (``teacher``, ``pfafn``,
``pfafn_parser_based``, ...):

- ``tryon``: the target dressed in the source's in-shop garment ``C_s`` against the TRUE image: on synthetic data a
  true transfer ``I_{t<-s}`` is also the true unpaired try-on of ``t`` in ``C_s`` (pairs without truth are an error);
- ``tryon_paired``: each pair's target dressed in their own in-shop garment ``C_t``, against ``I_t`` (the paired
  protocol of try-on papers; with ``eval_pairs: paired`` the pairs are the data set's paired list), saved as
  ``<target>__<target>.png``;
- ``tryon_unpaired``: the try-on of ``tryon`` alone: IS, and FID / KID against the real targets (on real data, the data
  set's official unpaired list).

Results go to ``<output_dir>/<protocol>/<source>__<target>.png`` (``output_dir`` defaults to
``<default_root_dir>/results``; the try-on of ``tryon_unpaired`` under ``tryon``), intermediates on request to
``<output_dir>/intermediates/<name>/`` (``intermediates_tryon/`` for the try-on), and the metrics table to
``<output_dir>/metrics.{json,csv}``; the scalars are also logged as ``test/<protocol>/<metric>``. ``predict`` writes
the result images only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info

from garment_transfer.data.fingerprint import dataset_fingerprint
from garment_transfer.data.samples import PairSample, person_from_parsing
from garment_transfer.evaluation import Evaluator, write_results
from garment_transfer.models.pipeline import INTERMEDIATES, GarmentTransfer, TransferOutput
from garment_transfer.visuals import save_images

PROTOCOLS = ("transfer", "retransfer", "unpaired", "tryon", "tryon_paired", "tryon_unpaired")
TRANSFER_PROTOCOLS = ("transfer", "retransfer", "unpaired")  # the source's worn garment
TRYON_PROTOCOLS = ("tryon", "tryon_paired", "tryon_unpaired")  # an in-shop garment
NO_REFERENCE = ("unpaired", "tryon_unpaired")


class GarmentTransferPipeline(pl.LightningModule):
    """A registered method's frozen networks, evaluated end to end (module docstring).

    Args:
        method, checkpoints, runs, fill: as :class:`GarmentTransfer` (the dresser, its checkpoints by role, a
            preset's run folder for the roles not given).
        precision, channels_last, compile: :class:`GarmentTransfer`'s speed switches ("32", off, off: the reference).
        protocols: evaluated by ``test`` (subset of :data:`PROTOCOLS`).
        inception, lpips, lpips_backbone: weight files of the evaluator's learned metrics (None: those metrics are
            reported as skipped, with the reason).
        output_dir: where images and metrics go (default ``<trainer.default_root_dir>/results``).
        save_images: write the result images; save_intermediates: also the stages' outputs.
        pose_channels: the data module's DensePose channels (linked by the CLI; checked against the networks).
    """

    def __init__(
        self,
        method: str,
        checkpoints: dict[str, str] | None = None,
        runs: str | None = None,
        fill: str = "inpaint",
        protocols: tuple[str, ...] = ("transfer", "retransfer"),
        inception: str | None = None,
        lpips: str | None = None,
        lpips_backbone: str | None = None,
        output_dir: str | None = None,
        save_images: bool = True,
        save_intermediates: bool = False,
        pose_channels: int = 3,
        precision: str = "32",
        channels_last: bool = False,
        compile: bool | str = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        unknown = set(protocols) - set(PROTOCOLS)
        if unknown:
            raise ValueError(f"protocols: unknown {sorted(unknown)}; choose from {PROTOCOLS}")
        self.transfer = GarmentTransfer(method, checkpoints, runs, fill, precision, channels_last, compile)
        tryon = [protocol for protocol in protocols if protocol in TRYON_PROTOCOLS]
        if tryon and "in_shop" not in self.transfer.garments:
            raise ValueError(
                f"protocols {tryon}: the try-on protocols dress the target in an in-shop garment, and "
                f"method {method!r} dresses a person in worn garments only (transfer)"
            )
        self.evaluators = torch.nn.ModuleDict(
            {
                protocol: Evaluator(
                    inception=inception,
                    lpips=lpips,
                    lpips_backbone=lpips_backbone,
                    reference=protocol not in NO_REFERENCE,
                )
                for protocol in protocols
            }
        )
        self.output_dir: Path | None = None  # the results folder
        self.staging_dir: Path | None = None  # where this run writes until it has finished

    def setup(self, stage: str) -> None:
        """Results are written into ``<output_dir>.partial`` and moved into ``output_dir`` when the run ends (each
        protocol's folder and the metrics replacing their earlier versions), so a run that cannot finish leaves
        ``output_dir`` as it was, never a part of a set of results beside no metrics."""
        root = Path(self.hparams.output_dir or Path(self.trainer.default_root_dir) / "results")
        self.output_dir, self.staging_dir = root, root.with_name(root.name + ".partial")
        if self.trainer.is_global_zero and self.staging_dir.exists():
            shutil.rmtree(self.staging_dir)  # left by a run that did not finish
        self.trainer.strategy.barrier()

    def _publish(self) -> None:
        """Move what this run wrote into the results folder (:meth:`setup`)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for item in sorted(self.staging_dir.iterdir()):
            final = self.output_dir / item.name
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            elif final.exists():
                final.unlink()
            os.replace(item, final)
        self.staging_dir.rmdir()

    def forward(self, source, target, garment: str = "worn") -> TransferOutput:
        return self.transfer(source, target, garment)

    def _save(self, batch: PairSample, out: TransferOutput, protocol: str) -> None:
        names = [f"{s}__{t}" for s, t in zip(batch.source.id, batch.target.id)]
        if self.hparams.save_images:
            save_images(self.staging_dir / protocol, names, out.image)
        if self.hparams.save_intermediates and protocol in ("transfer", "tryon"):
            folder = self.staging_dir / ("intermediates" if protocol == "transfer" else "intermediates_tryon")
            save_images(folder / "parsing", names, out.parsing, palette=True)
            for name in INTERMEDIATES[1:]:
                save_images(folder / name, names, getattr(out, name))

    def test_step(self, batch: PairSample, batch_idx: int) -> None:
        if any(protocol in self.evaluators for protocol in TRANSFER_PROTOCOLS):
            self._transfer_protocols(batch)
        if any(protocol in self.evaluators for protocol in TRYON_PROTOCOLS):
            self._tryon_protocols(batch)

    def _transfer_protocols(self, batch: PairSample) -> None:
        source, target = batch.source, batch.target
        out = self(source, target)
        self._save(batch, out, "transfer")
        if "transfer" in self.evaluators:
            self.evaluators["transfer"].update(out.image, self._truth(batch, "transfer"))
        if "unpaired" in self.evaluators:
            self.evaluators["unpaired"].update(out.image, real=target.image)
        if "retransfer" in self.evaluators:
            dressed = person_from_parsing(out.image, out.parsing, target.densepose, target.id)
            back = self(dressed, source)
            self._save(PairSample(source, dressed), back, "retransfer")
            self.evaluators["retransfer"].update(back.image, source.image)

    def _tryon_protocols(self, batch: PairSample) -> None:
        source, target = batch.source, batch.target
        if "tryon" in self.evaluators or "tryon_unpaired" in self.evaluators:
            out = self(source, target, "in_shop")
            self._save(batch, out, "tryon")
            if "tryon" in self.evaluators:
                self.evaluators["tryon"].update(out.image, self._truth(batch, "tryon"))
            if "tryon_unpaired" in self.evaluators:
                self.evaluators["tryon_unpaired"].update(out.image, real=target.image)
        if "tryon_paired" in self.evaluators:
            own = self(target, target, "in_shop")
            self._save(PairSample(target, target), own, "tryon_paired")
            self.evaluators["tryon_paired"].update(own.image, target.image)

    @staticmethod
    def _truth(batch: PairSample, protocol: str) -> torch.Tensor:
        if batch.truth is None:
            raise ValueError(
                f"protocol {protocol!r} needs true transfers, which this data set does not have; use "
                "protocols [retransfer, unpaired] (transfer) or [tryon_paired, tryon_unpaired] (try-on)"
            )
        return batch.truth.image

    def on_test_epoch_end(self) -> None:
        results = {protocol: evaluator.compute() for protocol, evaluator in self.evaluators.items()}
        for protocol, result in results.items():
            self.log_dict(
                {f"test/{protocol}/{name}": value for name, value in result.values.items()}, sync_dist=True
            )  # equal on every rank already: the evaluator gathers
            self.evaluators[protocol].reset()
        if self.trainer.is_global_zero:
            table = write_results(
                results, self.staging_dir / "metrics", title=f"method: {self.hparams.method}", data=self._data_record()
            )
            self._publish()
            rank_zero_info(table)

    def _data_record(self) -> dict | None:
        """The evaluated data set: its root and fingerprint (``data.fingerprint``), where the data module has a
        root."""
        root = getattr(self.trainer.datamodule, "root", None)
        if root is None or not Path(root).is_dir():
            return None
        return {"root": str(root), "fingerprint": dataset_fingerprint(root)}

    def predict_step(self, batch: PairSample, batch_idx: int) -> None:
        self._save(batch, self(batch.source, batch.target), "transfer")

    def on_predict_epoch_end(self) -> None:
        if self.trainer.is_global_zero and self.staging_dir.exists():
            self._publish()

    def configure_optimizers(self):
        return None
