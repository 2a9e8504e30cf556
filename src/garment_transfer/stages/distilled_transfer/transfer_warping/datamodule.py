"""Data for the transfer warping student: (source, target) pairs of different people."""

from __future__ import annotations

from garment_transfer.data.datamodule import GarmentDataModule, PairDataset


class TransferWarpingDataModule(GarmentDataModule):
    """:class:`GarmentDataModule` with the student's defaults: transfer pairs (a source's worn garment onto another
    person) for training and evaluation; evaluation pairs carry the true transfer where the data set has one.

    Args:
        train_truth: train on the train split's true-transfer pairs, with the truth attached (what
            ``target_shape: truth`` needs); the data set must have them (synthetic: ``synth --train-transfers N``).
        Others: as :class:`GarmentDataModule`.
    """

    def __init__(
        self, train_pairs: str = "transfer", eval_pairs: str = "transfer", train_truth: bool = False, **kwargs
    ):
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, **kwargs)
        self.train_truth = train_truth

    def setup(self, stage: str | None = None) -> None:
        missing_train = "train" not in self.datasets
        super().setup(stage)
        if self.train_truth and missing_train and "train" in self.datasets:  # training pairs just built: with truth
            pairs = self.reader.truth_pairs("train")
            if not pairs:
                raise ValueError(
                    f"{self.root}: train_truth needs true transfers in the train split and there are "
                    "none (generate the synthetic set with `garment-transfer synth --train-transfers N`)"
                )
            train = self.datasets["train"]
            self.datasets["train"] = PairDataset(
                self.reader,
                "train",
                "transfer",
                pairs,
                truth=True,
                augment_source=train.augment_source,
                augment_target=train.augment_target,
                inputs=self.inputs,
            )
