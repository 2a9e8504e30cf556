"""Arm regrowth stage: the swap / crop cases build the paper's examples, every construction trains, evaluation is
deterministic and logged per case, S_P stays frozen and out of the checkpoint, and the inference API reloads."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from conftest import training_losses, untrained_checkpoint

from garment_transfer.checkpoints import read_checkpoint
from garment_transfer.data.augment import Augmenter
from garment_transfer.models.distilled_transfer import ARM_REGROWTH
from garment_transfer.models.distilled_transfer.regrowth import build_regrowth_net, regrow
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.distilled_transfer.arm_regrowth import ArmRegrowthDataModule, ArmRegrowthModule
from garment_transfer.stages.distilled_transfer.arm_regrowth.cases import (
    CONSTRUCTIONS,
    augment_case,
    crop_case,
    swap_case,
)
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingModule

SIZE = "64x48"


@pytest.fixture(scope="module")
def parsing_checkpoint(tmp_path_factory) -> Path:
    """An untrained tiny transfer parsing student (S_P) saved as a stage checkpoint."""
    torch.manual_seed(0)
    module = TransferParsingModule(width="tiny", phases={"self_study": {"self": 1.0}})
    return untrained_checkpoint(module, tmp_path_factory.mktemp("sp") / "sp.ckpt")


def stage(parsing_checkpoint, **kwargs) -> ArmRegrowthModule:
    return ArmRegrowthModule(width="tiny", parsing_checkpoint=str(parsing_checkpoint), w_vgg=0.0, **kwargs)


def data(synthetic_root, **kwargs) -> ArmRegrowthDataModule:
    module = ArmRegrowthDataModule(root=str(synthetic_root), size=SIZE, batch_size=3, eval_batch_size=3, **kwargs)
    module.setup("fit")
    return module


def a_batch(synthetic_root, split="train", **kwargs):
    module = data(synthetic_root, **kwargs)
    torch.manual_seed(0)
    return next(iter(module.train_dataloader() if split == "train" else module.val_dataloader()))


def skin_masks(n=6, h=20, w=16):
    torch.manual_seed(1)
    mask = torch.zeros(n, 1, h, w)
    for i in range(n):
        top, left = torch.randint(0, h // 2, (2,)).tolist()
        mask[i, :, top : top + 8, left // 2 : left // 2 + 6] = 1
        mask[i, :, 2:4, w - 3 :] = 1  # a second component
    return mask


def half_plane_of(cropped, mask):
    """The (axis, cut, side) half-plane with cropped == mask * half-plane, or None."""
    h, w = mask.shape[-2:]
    for axis, n in (("y", h), ("x", w)):
        coord = torch.arange(n).view(-1, 1) if axis == "y" else torch.arange(n).view(1, -1)
        for cut in range(n + 1):
            for side, keep in (("low", coord < cut), ("high", coord >= cut)):
                if torch.equal(cropped, mask * keep.expand(h, w).float()):
                    return axis, cut, side
    return None


def test_crop_keeps_exactly_one_side_of_a_half_plane_of_the_skin():
    mask = skin_masks(40)
    cropped = crop_case(mask, torch.Generator().manual_seed(0))
    planes = [half_plane_of(c[0], m[0]) for c, m in zip(cropped, mask)]
    assert all(p is not None for p in planes)
    assert torch.all(cropped <= mask), "a subset of M^s_t"
    assert {p[0] for p in planes} == {"x", "y"} and {p[2] for p in planes} == {"low", "high"}
    assert (cropped.sum((1, 2, 3)) < mask.sum((1, 2, 3))).any(), "some skin is removed"
    again = crop_case(mask, torch.Generator().manual_seed(0))
    assert torch.equal(again, cropped), "a seeded generator repeats the crops"
    assert torch.equal(crop_case(torch.zeros(1, 1, 8, 8)), torch.zeros(1, 1, 8, 8))


def test_swap_takes_the_other_skin_as_source_shape_and_the_own_skin_as_truth():
    image = torch.rand(6, 3, 20, 16) * 2 - 1
    mask, other = skin_masks(), torch.roll(skin_masks(), 3, dims=-1)
    example = swap_case(image, mask, other)
    assert torch.equal(example.source_shape, other * mask)
    assert torch.equal(example.content, image * other * mask), "content: I_t * M^s_{t<-s}, inside M^s_t"
    assert torch.equal(example.shape, mask) and torch.equal(example.truth, image * mask)
    with pytest.raises(ValueError, match="other_skin_mask"):
        swap_case(image, mask, other[:, :, :-1])


def test_augmented_baseline_moves_the_own_skin_and_keeps_the_truth():
    image = torch.rand(6, 3, 32, 24) * 2 - 1
    mask = skin_masks(6, 32, 24)
    example = augment_case(image, mask, Augmenter("affine"), torch.Generator().manual_seed(0))
    assert torch.equal(example.shape, mask) and torch.equal(example.truth, image * mask)
    assert not torch.equal(example.source_shape, mask), "the content's shape is augmented"
    assert torch.equal(example.content, example.content * example.source_shape), "content only inside its shape"


@pytest.mark.parametrize("construction", CONSTRUCTIONS)
def test_one_training_step_per_construction_is_finite_and_updates_weights(
    construction, parsing_checkpoint, synthetic_root
):
    torch.manual_seed(0)
    module = stage(
        parsing_checkpoint, construction=construction, swap_probability=1.0 if construction == "cases" else 0.5
    )
    before = copy.deepcopy(module.net.state_dict())
    losses = training_losses(module, a_batch(synthetic_root), 1)
    assert all(torch.isfinite(torch.tensor(losses)))
    after = module.net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())


def test_regrowth_fits_a_batch(parsing_checkpoint, synthetic_root):
    torch.manual_seed(0)
    module = stage(parsing_checkpoint, lr=3e-3, swap_probability=0.0)  # crop only: fixed examples under one seed
    batch = a_batch(synthetic_root)
    losses = []
    for _ in range(8):
        torch.manual_seed(0)
        losses += training_losses(module, batch, 1)
    assert losses[-1] < 0.8 * losses[0]


def test_swap_masks_come_from_the_chosen_source(parsing_checkpoint, synthetic_root):
    batch = a_batch(synthetic_root, "val")
    assert torch.equal(
        stage(parsing_checkpoint, swap_shape="truth").swap_mask(batch), (batch.truth.parsing == 3).unsqueeze(1).float()
    )
    assert torch.equal(stage(parsing_checkpoint, swap_shape="source").swap_mask(batch), batch.source.skin_mask)
    module = stage(parsing_checkpoint).eval()
    predicted = module.swap_mask(batch)
    assert predicted.shape == batch.target.skin_mask.shape and set(predicted.unique().tolist()) <= {0.0, 1.0}
    rows = torch.tensor([True, False, True])
    some = module.swap_mask(batch, rows)
    assert torch.equal(some[rows], predicted[rows]) and not some[~rows].any(), "S_P runs on the chosen rows only"


def test_unusable_settings_are_refused_clearly(parsing_checkpoint, synthetic_root):
    with pytest.raises(ValueError, match="parsing_checkpoint: swap_shape 'parsing' needs"):
        ArmRegrowthModule(width="tiny", w_vgg=0.0)
    with pytest.raises(ValueError, match="construction 'mirror'"):
        stage(parsing_checkpoint, construction="mirror")
    with pytest.raises(ValueError, match="swap_shape 'truth' needs batches with the true transfer"):
        stage(parsing_checkpoint, swap_shape="truth", swap_probability=1.0).construct(a_batch(synthetic_root))
    paired = a_batch(synthetic_root, train_pairs="paired")
    with pytest.raises(ValueError, match="train_pairs: transfer"):
        stage(parsing_checkpoint, swap_probability=1.0).construct(paired)
    with pytest.raises(ValueError, match="pose_channels=2"):
        ArmRegrowthModule(width="tiny", w_vgg=0.0, pose_channels=2, parsing_checkpoint=str(parsing_checkpoint))


def test_evaluation_examples_are_deterministic_and_independent_of_batching(parsing_checkpoint, synthetic_root):
    module = stage(parsing_checkpoint)
    batch = a_batch(synthetic_root, "val")
    first, second = module.evaluation_examples(batch), module.evaluation_examples(batch)
    assert all(torch.equal(a, b) for case in first for a, b in zip(first[case], second[case]))
    single = data(synthetic_root).datasets["val"][0]
    alone = module.evaluation_examples(
        type(batch)(*[_stack(part) for part in (single.source, single.target, single.truth)])
    )
    assert torch.equal(alone["crop"].source_shape[0], first["crop"].source_shape[0])
    other_seed = stage(parsing_checkpoint, eval_seed=1).evaluation_examples(batch)
    assert not torch.equal(other_seed["crop"].source_shape, first["crop"].source_shape)


def _stack(sample):
    from garment_transfer.data.samples import collate

    return collate([sample])


def test_fit_validates_per_case_keeps_s_p_frozen_and_reloads_for_inference(
    parsing_checkpoint, synthetic_root, tmp_path
):
    module = stage(parsing_checkpoint)
    frozen = copy.deepcopy(module.transfer_parser.net.state_dict())
    run = pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        default_root_dir=str(tmp_path),
        enable_checkpointing=False,
    )
    run.fit(module, data(synthetic_root))
    logged = run.callback_metrics
    for case in ("swap", "crop"):
        for name in ("mse", "psnr", "ssim"):
            assert torch.isfinite(logged[f"val/{case}/{name}"]) and torch.isfinite(logged[f"val/{case}_new/{name}"])
    assert "train/vgg" in logged and logged["train/vgg_random"] == 0
    assert frozen and all(torch.equal(v, module.transfer_parser.net.state_dict()[k]) for k, v in frozen.items())
    assert module.train().net.training and not module.transfer_parser.net.training, "S_P stays in eval mode"
    optimised = {id(p) for group in run.optimizers[0].param_groups for p in group["params"]}
    assert optimised == {id(p) for p in module.net.parameters()}
    path = tmp_path / "regrowth.ckpt"
    run.save_checkpoint(path)
    assert not [k for k in read_checkpoint(path)["state_dict"] if not k.startswith("net.")]
    net = FrozenNet.from_checkpoint(path, {ARM_REGROWTH: build_regrowth_net})
    module.eval()
    batch = a_batch(synthetic_root, "val")
    content, shape = batch.target.image * batch.target.skin_mask, batch.target.skin_mask
    with torch.no_grad():
        expected = module(content, shape, batch.target.densepose)
        assert torch.equal(regrow(net, content, shape, batch.target.densepose), expected)
    assert torch.equal(expected, expected * shape) and expected.abs().max() <= 1
    reloaded = ArmRegrowthModule.load_from_checkpoint(path)
    assert torch.equal(next(iter(reloaded.transfer_parser.net.state_dict().values())), next(iter(frozen.values())))


def test_regrow_checks_the_pose_it_is_given():
    net = build_regrowth_net({"width": "tiny", "pose_channels": 3, "num_downs": 5})
    content, mask = torch.zeros(1, 3, 64, 48), torch.ones(1, 1, 64, 48)
    with pytest.raises(ValueError, match=r"target_pose: the regrowth net reads a \(B, 3, H, W\) pose"):
        regrow(net, content, mask, torch.zeros(1, 25, 64, 48))
    no_pose = build_regrowth_net({"width": "tiny", "pose_channels": 3, "use_pose": False})
    assert regrow(no_pose, content, mask, None).shape == (1, 3, 64, 48)
    with pytest.raises(ValueError, match="target_skin_mask"):
        regrow(no_pose, content, mask[..., :-1], None)


def test_vgg_term_on_random_features_is_an_explicit_warned_choice(parsing_checkpoint, synthetic_root):
    with pytest.warns(UserWarning, match="random features"):
        module = ArmRegrowthModule(
            width="tiny", parsing_checkpoint=str(parsing_checkpoint), w_vgg=0.2, allow_random_vgg=True
        )
    batch = a_batch(synthetic_root)
    torch.manual_seed(0)
    example = module.construct(batch)
    terms = module.losses(module(example.content, example.shape, batch.target.densepose), example)
    assert terms["vgg"] > 0 and torch.isclose(terms["total"], terms["l1"] + 0.2 * terms["vgg"])
