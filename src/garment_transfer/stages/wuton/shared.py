"""What WUTON's two stages share (not a stage itself): the network, its discriminator and losses, the optimizers, the
test-time try-on and its evaluation. The teacher and the student differ in their person input and their targets
(``docs/methods/wuton.md``).

Both train with manual optimization (:class:`~garment_transfer.stages.base.AdversarialStage`): per batch one step of
the network on ``weights``-weighted reconstruction terms (:mod:`garment_transfer.losses.wuton`) plus ``w_adv`` times
the relativistic adversarial term, then one discriminator step (relativistic loss plus ``gradient_penalty`` times
WGAN-GP's penalty). Real samples are the real people of the batch (the targets' images), generated ones the network's
unpaired try-ons. The adversarial gradient reaches the matcher through the warped skip connections.

Evaluation dresses the TARGET in the SOURCE's in-shop garment as at test time and compares the try-on with the truth
of the unpaired try-on (synthetic data) or, paired, with the person (``<split>/tryon/*``), the warped cloth with the
true worn one (``<split>/warp/*``).
"""

from __future__ import annotations

from torch import nn

from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.data.samples import PairSample, PersonSample, parse_size
from garment_transfer.losses.adversarial import AdversarialLoss
from garment_transfer.losses.warping import VGG_LAYERS
from garment_transfer.losses.wuton import VGG_LAYER_WEIGHTS, WEIGHTS, check_weights
from garment_transfer.metrics.image import ImageMetrics
from garment_transfer.models.tryon import TryOnOutput
from garment_transfer.models.wuton.networks import build_discriminator, build_wuton
from garment_transfer.stages.base import AdversarialStage
from garment_transfer.stages.tryon import TryOnStage


class WUTONStage(AdversarialStage, TryOnStage):
    """A WUTON network trained against its discriminator (module docstring). Subclasses give :meth:`person`, the
    network's person input, and :meth:`generator_step`.

    Args:
        size: "HxW" of the data (the matcher's correlation depends on it; must equal ``data.init_args.size``).
        width: "full" (CP-VTON's matcher, U-Net ``ngf`` 64, discriminator ``ndf`` 64) or "tiny" (ours, CPU).
        pose_channels: the data module's DensePose channels (linked by the CLI; WUTON reads no DensePose).
        weights: ``{warp, l1, vgg}`` (default :data:`~garment_transfer.losses.wuton.WEIGHTS`, ours).
        w_adv: the adversarial term's weight (0: no adversarial loss, no discriminator). gradient_penalty: its
            weight in the discriminator's loss. adversarial: kind (``relativistic``, WUTON's; or
            ``relativistic_average``, ``lsgan``).
        lr, lr_d, betas, lr_decay_start, lr_decay_epochs: Adam for the network and the discriminator, and the
            linear decay (ours: WUTON publishes none).
        zero_init_matcher: the matcher starts at the identity grid (ours; False: PyTorch's initialisation).
        matcher_lr_scale: the matcher trains at this times the rate (ours, 0.1: at the U-Net's rate its grid swings
            from step to step and ends below the identity's overlap; alone at 1e-4 it overlaps the true garment
            better than at 1e-3).
        vgg_weights, allow_random_vgg: the VGG-19 file of the perceptual term (random features only when allowed).
        channels_last, compile: speed switches (docs/speed.md).
    """

    def __init__(
        self,
        size: str = "256x192",
        width: str = "full",
        pose_channels: int = 3,
        weights: dict | None = None,
        w_adv: float = 0.1,
        gradient_penalty: float = 10.0,
        adversarial: str = "relativistic",
        lr: float = 2e-4,
        lr_d: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        lr_decay_epochs: int = 1,
        zero_init_matcher: bool = True,
        matcher_lr_scale: float = 0.1,
        vgg_weights: str | None = None,
        allow_random_vgg: bool = False,
        channels_last: bool = False,
        compile: bool | str = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.save_hyperparameters()  # with the subclass's own arguments (Lightning reads every __init__ frame)
        parse_size(size)
        if not isinstance(w_adv, (int, float)) or w_adv < 0:
            raise ValueError(f"model.init_args.w_adv {w_adv!r}: a weight >= 0")
        if not isinstance(matcher_lr_scale, (int, float)) or matcher_lr_scale <= 0:
            raise ValueError(f"model.init_args.matcher_lr_scale {matcher_lr_scale!r}: a positive scale")
        self.weights = check_weights(WEIGHTS if weights is None else weights)
        self.net = build_wuton(self.hparams)
        self.discriminator = build_discriminator(self.hparams)
        self.adversarial = AdversarialLoss(adversarial, gradient_penalty)
        self.setup_vgg(vgg_weights, allow_random_vgg, self.weights["vgg"] > 0, VGG_LAYERS, VGG_LAYER_WEIGHTS)
        self.metrics = nn.ModuleDict({"tryon": ImageMetrics(), "warp": ImageMetrics()})
        # subclasses call self.accelerate_nets(channels_last, compile) once their frozen nets are loaded

    @property
    def input_size(self) -> tuple[int, int]:
        """The (H, W) the matcher was built for (the run's checks compare it with the data module's size)."""
        return parse_size(self.hparams.size)

    def parameter_groups(self):
        return [
            ("matcher", list(self.net.matcher.parameters()), self.hparams.matcher_lr_scale),
            ("generator", list(self.net.generator.parameters()), 1.0),
        ]

    def person(self, person: PersonSample):
        """The network's person input of a batch of persons (teacher: ``p*``; student: the image)."""
        raise NotImplementedError

    def tryon(self, batch: PairSample) -> TryOnOutput:
        """Test-time try-on: the target dressed in the source's in-shop garment."""
        return self.net(self.person(batch.target), batch.source.cloth, batch.source.cloth_mask)

    def weighted(self, terms: dict):
        return sum(self.weights[name] * value for name, value in terms.items())


class WUTONDataModule(GarmentDataModule):
    """WUTON's data: ``unpaired`` training pairs (the target ``t`` a real person with their own in-shop garment
    ``C_t``, the source ``s`` a random other person lending ``C_s``), evaluation on transfer pairs (whose synthetic
    truth is the true try-on of ``t`` in ``C_s``), and ``inputs`` with ``wuton_person``, the teacher's ``p*``
    computed in the loader workers (it needs the parsing and the keypoints: leave augmentation off)."""

    def __init__(
        self, train_pairs: str = "unpaired", eval_pairs: str = "transfer", inputs: list[str] | None = None, **kwargs
    ):
        inputs = ["wuton_person"] if inputs is None else inputs
        super().__init__(train_pairs=train_pairs, eval_pairs=eval_pairs, inputs=inputs, **kwargs)
