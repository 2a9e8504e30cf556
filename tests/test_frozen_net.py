"""The one frozen-network object: checked for stage and DensePose encoding, frozen, eval mode always, no gradients,
outside its owner's parameters and state_dict, moved with its owner; old checkpoints still load."""

from __future__ import annotations

import pytest
import torch
from conftest import untrained_checkpoint
from torch import nn

from garment_transfer.checkpoints import STAGE_ID_KEY, STAGE_KEY, read_checkpoint
from garment_transfer.models.distilled_transfer import TRANSFER_PARSING, TRYON_PARSING
from garment_transfer.models.distilled_transfer.parsing import build_parsing_net
from garment_transfer.models.frozen import FrozenNet
from garment_transfer.stages.distilled_transfer.transfer_parsing import TransferParsingModule
from garment_transfer.stages.distilled_transfer.tryon_parsing import TryOnParsingModule

TEACHER = {TRYON_PARSING: build_parsing_net}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    torch.manual_seed(0)
    return untrained_checkpoint(TryOnParsingModule(width="tiny"), tmp_path_factory.mktemp("frozen") / "tp.ckpt")


class Owner(nn.Module):
    def __init__(self, frozen: FrozenNet):
        super().__init__()
        self.student = nn.Conv2d(1, 1, 1)
        self.teacher = frozen


def test_a_frozen_net_is_outside_its_owner_and_stays_in_eval_mode(teacher):
    frozen = FrozenNet.from_checkpoint(teacher, TEACHER, pose_channels=3)
    owner = Owner(frozen).train()
    assert not frozen.net.training and not any(m.training for m in frozen.net.modules())
    assert all(not p.requires_grad for p in frozen.net.parameters())
    assert [name for name, _ in owner.named_parameters()] == ["student.weight", "student.bias"]
    assert list(owner.state_dict()) == ["student.weight", "student.bias"]
    owner.load_state_dict({"student.weight": torch.ones(1, 1, 1, 1), "student.bias": torch.zeros(1)})  # strict
    saved = read_checkpoint(teacher)["state_dict"]
    assert all(torch.equal(saved[f"net.{k}"], v) for k, v in frozen.net.state_dict().items())
    owner.to(torch.float64)
    assert next(frozen.net.parameters()).dtype == torch.float64, "device and dtype moves reach the frozen net"
    out = frozen(torch.zeros(1, 8, 64, 48, dtype=torch.float64, requires_grad=True))
    assert not out.logits.requires_grad, "forward runs under no_grad"
    assert frozen.in_channels == frozen.net.in_channels


def test_a_checkpoint_of_another_stage_or_encoding_is_refused(teacher, tmp_path):
    student = untrained_checkpoint(
        TransferParsingModule(width="tiny", phases={"self_study": {"self": 1.0}}), tmp_path / "sp.ckpt"
    )
    with pytest.raises(
        ValueError,
        match=r"sp.ckpt: teacher_checkpoint must be a checkpoint of TryOnParsingModule "
        r"\(distilled_transfer/tryon_parsing\); this is TransferParsingModule",
    ):
        FrozenNet.from_checkpoint(student, TEACHER, argument="teacher_checkpoint")
    with pytest.raises(ValueError, match="tp.ckpt: trained with pose_channels=3, this stage has pose_channels=25"):
        FrozenNet.from_checkpoint(teacher, TEACHER, pose_channels=25)
    anonymous = tmp_path / "anonymous.ckpt"
    torch.save(
        {k: v for k, v in torch.load(teacher, weights_only=True).items() if k not in (STAGE_KEY, STAGE_ID_KEY)},
        anonymous,
    )
    with pytest.raises(ValueError, match="this is a checkpoint that records no stage"):
        FrozenNet.from_checkpoint(anonymous, TEACHER)


def test_checkpoints_written_before_the_method_folders_still_load(teacher, tmp_path):
    """Before this layout, LightningCLI recorded ``garment_transfer.stages.<stage>.<Class>`` and no stage keys."""
    old = {k: v for k, v in torch.load(teacher, weights_only=True).items() if k not in (STAGE_KEY, STAGE_ID_KEY)}
    old["hyper_parameters"] = {
        **old["hyper_parameters"],
        "_class_path": "garment_transfer.stages.tryon_parsing.TryOnParsingModule",
        "_instantiator": "pytorch_lightning.cli.instantiate_module",
    }
    torch.save(old, tmp_path / "old.ckpt")
    frozen = FrozenNet.from_checkpoint(tmp_path / "old.ckpt", TEACHER, pose_channels=3)
    assert frozen.stage == TRYON_PARSING and "_class_path" not in frozen.hparams
    with pytest.raises(ValueError, match="must be a checkpoint of TransferParsingModule"):
        FrozenNet.from_checkpoint(tmp_path / "old.ckpt", {TRANSFER_PARSING: build_parsing_net})


def test_a_run_written_before_the_method_folders_resumes_through_the_cli(synthetic_root, tmp_path):
    """Its checkpoint names ``garment_transfer.stages.tryon_parsing.TryOnParsingModule`` (LightningCLI reads that
    ``_class_path`` on ``--ckpt_path``) and no stage keys: the old module path resolves to today's class."""
    import yaml
    from conftest import tiny_parsing_config

    from garment_transfer.cli import main

    config = tiny_parsing_config(
        synthetic_root, tmp_path / "run", max_epochs=1, limit_train_batches=2, limit_val_batches=1, logger=False
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["fit", "-c", str(path)]) == 0
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    del checkpoint[STAGE_KEY], checkpoint[STAGE_ID_KEY]
    checkpoint["hyper_parameters"]["_class_path"] = "garment_transfer.stages.tryon_parsing.TryOnParsingModule"
    torch.save(checkpoint, tmp_path / "old.ckpt")
    assert main(["fit", "-c", str(path), "--trainer.max_epochs", "2", "--ckpt_path", str(tmp_path / "old.ckpt")]) == 0
    resumed = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert resumed["global_step"] == 4 and resumed[STAGE_ID_KEY] == TRYON_PARSING
