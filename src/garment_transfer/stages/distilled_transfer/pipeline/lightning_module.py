"""The end-to-end pipeline as a LightningModule for ``test`` and ``predict`` (nothing to train).

``garment-transfer test -c conf/distilled_transfer/pipeline/cpu.yaml`` runs :class:`GarmentTransfer` on the data module's fixed
evaluation pairs in batches and evaluates it with the project's one evaluator
(:class:`garment_transfer.evaluation.Evaluator`) under the protocols of ``METHOD.md`` 5:

- ``transfer``: ``I_{t<-s}`` against the rendered truth (synthetic data; pairs without truth are an error);
- ``retransfer``: the result dressed back onto the source, ``I_{s<-t<-s}``, against ``I_s`` (the result
  person carries ``M_{t<-s}`` and ``P_t``);
- ``unpaired``: ``I_{t<-s}`` alone (the no-reference metrics, e.g. IS; FID against the real targets).

Results go to ``<output_dir>/<protocol>/<source>__<target>.png`` (``output_dir`` defaults to
``<default_root_dir>/results``), intermediates on request to ``<output_dir>/intermediates/<name>/``, and the
metrics table to ``<output_dir>/metrics.{json,csv}``; the scalars are also logged as ``test/<protocol>/<metric>``.
``predict`` writes the result images only.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info

from garment_transfer.data.samples import PairSample, person_from_parsing
from garment_transfer.evaluation import Evaluator, write_results
from garment_transfer.models.pipeline import INTERMEDIATES, GarmentTransfer, TransferOutput
from garment_transfer.visuals import save_images

PROTOCOLS = ("transfer", "retransfer", "unpaired")


class GarmentTransferPipeline(pl.LightningModule):
    """Args:
        method, parsing_checkpoint, warping_checkpoint, regrowth_checkpoint, tryon_parsing_checkpoint,
            tryon_warping_checkpoint, fill: as :class:`GarmentTransfer`.
        precision, channels_last, compile: :class:`GarmentTransfer`'s speed switches ("32", off, off: the reference).
        protocols: evaluated by ``test`` (subset of :data:`PROTOCOLS`).
        inception, lpips, lpips_backbone: weight files of the evaluator's learned metrics (None: those metrics are
            reported as skipped, with the reason).
        output_dir: where images and metrics go (default ``<trainer.default_root_dir>/results``).
        save_images: write the result images; save_intermediates: also the stages' outputs.
        pose_channels: the data module's DensePose channels (linked by the CLI; checked against the networks).
    """

    def __init__(self, method: str = "ours", parsing_checkpoint: str | None = None,
                 warping_checkpoint: str | None = None, regrowth_checkpoint: str | None = None,
                 tryon_parsing_checkpoint: str | None = None, tryon_warping_checkpoint: str | None = None,
                 fill: str = "inpaint", protocols: tuple[str, ...] = ("transfer", "retransfer"),
                 inception: str | None = None, lpips: str | None = None, lpips_backbone: str | None = None,
                 output_dir: str | None = None, save_images: bool = True, save_intermediates: bool = False,
                 pose_channels: int = 3, precision: str = "32", channels_last: bool = False,
                 compile: bool | str = False):
        super().__init__()
        self.save_hyperparameters()
        unknown = set(protocols) - set(PROTOCOLS)
        if unknown:
            raise ValueError(f"protocols: unknown {sorted(unknown)}; choose from {PROTOCOLS}")
        self.transfer = GarmentTransfer(method, parsing_checkpoint, warping_checkpoint, regrowth_checkpoint,
                                        tryon_parsing_checkpoint, tryon_warping_checkpoint, fill, precision,
                                        channels_last, compile)
        self.evaluators = torch.nn.ModuleDict({
            protocol: Evaluator(inception=inception, lpips=lpips, lpips_backbone=lpips_backbone,
                                reference=protocol != "unpaired")
            for protocol in protocols})
        self.output_dir: Path | None = None

    def setup(self, stage: str) -> None:
        root = self.hparams.output_dir or Path(self.trainer.default_root_dir) / "results"
        self.output_dir = Path(root)

    def forward(self, source, target) -> TransferOutput:
        return self.transfer(source, target)

    def _save(self, batch: PairSample, out: TransferOutput, protocol: str) -> None:
        names = [f"{s}__{t}" for s, t in zip(batch.source.id, batch.target.id)]
        if self.hparams.save_images:
            save_images(self.output_dir / protocol, names, out.image)
        if self.hparams.save_intermediates and protocol != "retransfer":
            folder = self.output_dir / "intermediates"
            save_images(folder / "parsing", names, out.parsing, palette=True)
            for name in INTERMEDIATES[1:]:
                save_images(folder / name, names, getattr(out, name))

    def test_step(self, batch: PairSample, batch_idx: int) -> None:
        source, target = batch.source, batch.target
        out = self(source, target)
        self._save(batch, out, "transfer")
        if "transfer" in self.evaluators:
            if batch.truth is None:
                raise ValueError("protocol 'transfer' needs true transfers, which this data set does not have; "
                                 "use protocols [retransfer, unpaired]")
            self.evaluators["transfer"].update(out.image, batch.truth.image)
        if "unpaired" in self.evaluators:
            self.evaluators["unpaired"].update(out.image, real=target.image)
        if "retransfer" in self.evaluators:
            dressed = person_from_parsing(out.image, out.parsing, target.densepose, target.id)
            back = self(dressed, source)
            self._save(PairSample(source, dressed), back, "retransfer")
            self.evaluators["retransfer"].update(back.image, source.image)

    def on_test_epoch_end(self) -> None:
        results = {protocol: evaluator.compute() for protocol, evaluator in self.evaluators.items()}
        for protocol, result in results.items():
            self.log_dict({f"test/{protocol}/{name}": value for name, value in result.values.items()},
                          sync_dist=True)  # equal on every rank already: the evaluator gathers
            self.evaluators[protocol].reset()
        if self.trainer.is_global_zero:
            table = write_results(results, self.output_dir / "metrics", title=f"method: {self.hparams.method}")
            rank_zero_info(table)

    def predict_step(self, batch: PairSample, batch_idx: int) -> None:
        self._save(batch, self(batch.source, batch.target), "transfer")

    def configure_optimizers(self):
        return None
