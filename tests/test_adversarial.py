"""Adversarial training in the stages' base: the losses against their formulas, the gradient penalty, the PatchGAN's
parameter counts, the generator and discriminator steps of ``AdversarialStage``, and injected optimizers."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from conftest import quiet_trainer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from garment_transfer.losses.adversarial import (
    AdversarialLoss,
    gradient_penalty,
    lsgan_discriminator,
    lsgan_generator,
    relativistic_discriminator,
    relativistic_generator,
)
from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.discriminator import PatchDiscriminator
from garment_transfer.stages.base import AdversarialStage, AdversarialStep, StageModule

REAL = torch.tensor([[[[2.0, 0.5]]], [[[1.0, -1.0]]]])  # (2, 1, 1, 2) logits
FAKE = torch.tensor([[[[0.0, 1.5]]], [[[-2.0, 0.25]]]])


def test_lsgan_terms_equal_their_formulas():
    r, f = REAL.flatten().tolist(), FAKE.flatten().tolist()
    expected_d = 0.5 * (sum((x - 1) ** 2 for x in r) / 4 + sum(x**2 for x in f) / 4)
    assert lsgan_discriminator(REAL, FAKE).item() == pytest.approx(expected_d)
    assert lsgan_generator(FAKE).item() == pytest.approx(sum((x - 1) ** 2 for x in f) / 4)
    two_scales = lsgan_discriminator([REAL, REAL[:, :, :, :1]], [FAKE, FAKE[:, :, :, :1]])
    assert two_scales.item() == pytest.approx((expected_d + lsgan_discriminator(REAL[..., :1], FAKE[..., :1])) / 2)


def test_relativistic_terms_equal_their_formulas():
    def softplus(x):
        return math.log1p(math.exp(x))

    r, f = REAL.flatten().tolist(), FAKE.flatten().tolist()
    standard = sum(softplus(-(a - b)) for a, b in zip(r, f)) / 4  # -log sigmoid(r - f)
    assert relativistic_discriminator(REAL, FAKE).item() == pytest.approx(standard)
    assert relativistic_generator(FAKE, REAL).item() == pytest.approx(sum(softplus(-(b - a)) for a, b in zip(r, f)) / 4)
    mean_r, mean_f = sum(r) / 4, sum(f) / 4
    average = sum(softplus(-(a - mean_f)) for a in r) / 4 + sum(softplus(b - mean_r) for b in f) / 4
    assert relativistic_discriminator(REAL, FAKE, average=True).item() == pytest.approx(average)
    with pytest.raises(ValueError, match="same scales and shapes"):
        relativistic_discriminator(REAL, FAKE[:1])


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_minus_one_squared():
    weight = torch.tensor([[[[0.3]], [[0.4]], [[1.2]]]])  # norm 1.3 over the 3 x 1 x 1 input

    def critic(x):
        return (x * weight).sum((1, 2, 3))

    real, fake = torch.rand(4, 3, 1, 1), torch.rand(4, 3, 1, 1)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((1.3 - 1) ** 2, rel=1e-5)
    loss = AdversarialLoss("relativistic", gradient_penalty=10.0)
    terms = loss.discriminator(lambda x: critic(x)[:, None], real, fake)
    assert terms["total"].item() == pytest.approx(terms["adversarial"].item() + 10 * (1.3 - 1) ** 2, rel=1e-4)
    with pytest.raises(ValueError, match="kind must be one of"):
        AdversarialLoss("wasserstein")


def test_patch_discriminator_has_gp_vtons_parameter_counts():
    assert count_parameters(PatchDiscriminator(59)) == 2_822_081
    assert count_parameters(PatchDiscriminator(39)) == 2_801_601
    assert count_parameters(PatchDiscriminator(39, spectral_norm=False)) == 2_801_601
    net = PatchDiscriminator(4, ndf=8, layers=2, norm="instance")
    assert net(torch.randn(2, 4, 32, 24)).shape[:2] == (2, 1)
    with pytest.raises(ValueError, match=r"input must be \(B, 4, H, W\)"):
        net(torch.randn(2, 3, 32, 24))


class ToyGAN(AdversarialStage):
    """A generator that maps noise to 2 x 8 x 8 images, judged by a tiny PatchGAN; ``w_recon`` weighs an L1 towards
    the real samples (0: the generator learns from the adversarial term alone)."""

    def __init__(
        self,
        lr: float = 1e-2,
        betas: tuple[float, float] = (0.5, 0.999),
        w_adv: float = 1.0,
        w_recon: float = 0.0,
        kind: str = "lsgan",
        lr_d: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.net = nn.Conv2d(2, 2, 3, padding=1)
        self.discriminator = PatchDiscriminator(2, ndf=4, layers=1)
        self.adversarial = AdversarialLoss(kind, gradient_penalty=1.0 if kind != "lsgan" else 0.0)

    def generator_step(self, batch) -> AdversarialStep:
        real, noise = batch
        fake = self.net(noise)
        loss = self.hparams.w_recon * F.l1_loss(fake, real)
        return AdversarialStep(loss, fake, real, {"recon": loss})


def toy_data(count: int = 6) -> DataLoader:
    torch.manual_seed(1)
    return DataLoader(TensorDataset(torch.rand(count, 2, 8, 8), torch.randn(count, 2, 8, 8)), batch_size=2)


@pytest.mark.parametrize("kind", ["lsgan", "relativistic"])
def test_adversarial_stage_steps_the_generator_then_the_discriminator(kind, tmp_path):
    torch.manual_seed(0)
    module = ToyGAN(kind=kind, lr_d=5e-3)
    before_g = [p.detach().clone() for p in module.net.parameters()]
    before_d = [p.detach().clone() for p in module.discriminator.parameters()]
    trainer = quiet_trainer(tmp_path, max_epochs=1, limit_val_batches=0)
    trainer.fit(module, toy_data())
    assert trainer.global_step == 6, "Lightning counts both optimizers' steps: two per batch"
    assert all(not torch.equal(a, b) for a, b in zip(before_g, module.net.parameters())), (
        "the adversarial term alone moved the generator"
    )
    moved = [not torch.equal(a, b) for a, b in zip(before_d, module.discriminator.parameters())]
    # a relativistic loss reads only differences of logits: the last convolution's bias cancels and gets no gradient
    assert moved == [True] * 4 + [kind == "lsgan", True], moved
    generator, discriminator = module.optimizers()
    assert generator.param_groups[0]["lr"] == 1e-2 and discriminator.param_groups[0]["lr"] == 5e-3
    assert {"train/adversarial", "train/discriminator/total", "train/recon"} <= set(module.logged_train_values)
    assert all(p.requires_grad for p in module.discriminator.parameters()), "toggling restores requires_grad"


def test_the_generator_step_leaves_the_discriminator_without_gradients():
    torch.manual_seed(0)
    module = ToyGAN()
    module.toggle_optimizer = lambda optimizer: None  # checked by hand below
    real, noise = next(iter(toy_data()))
    step = module.generator_step((real, noise))
    for p in module.discriminator.parameters():
        p.requires_grad_(False)
    module.adversarial.generator(module.discriminator, step.fake, step.real).backward()
    assert module.net.weight.grad is not None and module.net.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in module.discriminator.parameters())


class Scaled(StageModule):
    def __init__(self, lr: float = 0.1, betas: tuple[float, float] = (0.9, 0.99), **kwargs):
        super().__init__(**kwargs)
        self.save_hyperparameters()
        self.net = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 2)})

    def parameter_groups(self):
        return [("a", list(self.net["a"].parameters()), 0.2), ("b", list(self.net["b"].parameters()), 1.0)]


def test_optimizers_are_adam_by_default_and_injected_ones_keep_the_group_scales():
    default = Scaled().configure_optimizers()
    assert isinstance(default, torch.optim.Adam) and default.defaults["betas"] == (0.9, 0.99)
    assert [g["lr"] for g in default.param_groups] == pytest.approx([0.02, 0.1])
    injected = Scaled(
        optimizer=partial(torch.optim.SGD, lr=0.5), lr_scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=1)
    )
    assert "optimizer" not in injected.hparams and "lr_scheduler" not in injected.hparams
    config = injected.configure_optimizers()
    assert isinstance(config["optimizer"], torch.optim.SGD)
    assert [g["lr"] for g in config["optimizer"].param_groups] == pytest.approx([0.1, 0.5])
    assert isinstance(config["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.StepLR)


def test_an_injected_optimizer_reaches_a_stage_through_the_cli(capsys):
    import yaml

    from garment_transfer.cli import lightning_cli

    args = [
        "fit",
        "--model",
        "garment_transfer.stages.distilled_transfer.tryon_parsing.TryOnParsingModule",
        "--model.init_args.optimizer",
        "torch.optim.SGD",
        "--model.init_args.optimizer.lr",
        "0.05",
        "--data",
        "garment_transfer.stages.distilled_transfer.tryon_parsing.TryOnParsingDataModule",
        "--print_config",
    ]
    with pytest.raises(SystemExit):
        lightning_cli(args)
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["model"]["init_args"]["optimizer"]["class_path"] == "torch.optim.SGD"
    assert config["model"]["init_args"]["optimizer"]["init_args"]["lr"] == 0.05
    cli = lightning_cli(args[1:-1], run=False)  # no subcommand: build the model only
    optimizer = cli.model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["lr"] == 0.05
