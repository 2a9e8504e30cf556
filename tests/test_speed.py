"""Speed switches of the stages (issue 16): channels-last and compile in place leave checkpoints and results as they
were (within float tolerance), bf16 autocast keeps the flows in float32, and a training step waits for the device
nowhere it need not."""

from __future__ import annotations

import copy

import pytest
import torch

from garment_transfer.models.acceleration import accelerate, compile_arguments, compile_function, fold_batch_norms
from garment_transfer.stages.distilled_transfer.arm_regrowth import ArmRegrowthModule
from garment_transfer.stages.distilled_transfer.transfer_warping import TransferWarpingDataModule, TransferWarpingModule


@pytest.fixture(scope="module")
def warping_batch(synthetic_root):
    data = TransferWarpingDataModule(root=str(synthetic_root), size="64x48", batch_size=2)
    data.setup("fit")
    return next(iter(data.train_dataloader()))


def student(checkpoints, **switches) -> TransferWarpingModule:
    torch.manual_seed(0)
    return TransferWarpingModule(
        teacher_checkpoint=checkpoints["tryon_warping"],
        parsing_checkpoint=checkpoints["transfer_parsing"],
        width="tiny",
        w_vgg=0,
        **switches,
    )


def test_switches_convert_the_net_and_its_frozen_nets_in_place_and_keep_the_checkpoint_keys(stage_checkpoints):
    plain = student(stage_checkpoints)
    fast = student(stage_checkpoints, channels_last=True, compile=True)
    assert fast.state_dict().keys() == plain.state_dict().keys()  # compiled in place: no "_orig_mod." prefix
    assert all(torch.equal(fast.state_dict()[k], v) for k, v in plain.state_dict().items())
    for net in (fast.net, fast.teacher.net, fast.transfer_parser.net):
        conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert fast.net._compiled_call_impl is not None and plain.net._compiled_call_impl is None
    assert fast.hparams.channels_last and not plain.hparams.channels_last


def test_channels_last_training_loss_and_gradients_equal_the_eager_reference(stage_checkpoints, warping_batch):
    losses, grads = [], []
    for switches in ({}, {"channels_last": True}):
        module = student(stage_checkpoints, **switches)
        loss = module.objective(warping_batch).terms["total"]
        loss.backward()
        losses.append(loss.detach())
        grads.append(torch.cat([p.grad.flatten() for p in module.net.parameters() if p.grad is not None]))
    assert torch.allclose(losses[0], losses[1], rtol=1e-5)
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-5)


def test_bf16_autocast_training_step_keeps_flows_and_grids_in_float32(stage_checkpoints, warping_batch):
    module = student(stage_checkpoints)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        step = module.objective(warping_batch)
    out = step.out
    assert out.grid.dtype == torch.float32 and all(g.dtype == torch.float32 for g in out.grids)
    assert out.warped_garment.dtype == torch.float32 and out.theta.dtype == torch.float32
    assert torch.isfinite(step.terms["total"])
    step.terms["total"].backward()
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in module.net.parameters())


def test_regrowth_swap_mask_runs_s_p_on_the_chosen_rows_without_boolean_mask_indexing(
    stage_checkpoints, synthetic_root
):
    """The swap samples' ``S_P`` pass used ``inputs[rows]`` and ``mask[rows] = ...`` (boolean-mask indexing: a
    device-to-host wait per step on a GPU); now an index drawn on the CPU. The mask is the same."""
    from garment_transfer.data.samples import PairSample
    from garment_transfer.models.distilled_transfer.parsing import parsing_inputs
    from garment_transfer.stages.distilled_transfer.arm_regrowth import ArmRegrowthDataModule
    from garment_transfer.stages.distilled_transfer.arm_regrowth.lightning_module import skin_of

    data = ArmRegrowthDataModule(root=str(synthetic_root), size="64x48", batch_size=3, train_pairs="transfer")
    data.setup("fit")
    batch: PairSample = next(iter(data.train_dataloader()))
    module = ArmRegrowthModule(width="tiny", parsing_checkpoint=stage_checkpoints["transfer_parsing"], w_vgg=0)
    rows = torch.tensor([True, False, True])
    with torch.profiler.profile() as profile:
        mask = module.swap_mask(batch, rows)
    names = {event.name for event in profile.events()}
    assert not names & {"aten::index", "aten::index_put_", "aten::_index_put_impl_"}
    inputs = parsing_inputs(batch.target.remaining, batch.source.garment_mask, batch.target.densepose)
    expected = torch.zeros_like(batch.target.skin_mask)
    expected[rows] = skin_of(module.transfer_parser(inputs[rows]).logits.argmax(1), expected.dtype)
    assert torch.equal(mask, expected) and mask[1].sum() == 0


def test_compile_switch_values():
    assert compile_arguments(True) == {} and compile_arguments("reduce-overhead") == {"mode": "reduce-overhead"}
    with pytest.raises(ValueError, match="compile must be"):
        compile_arguments("fastest")
    with pytest.raises(ValueError, match="inference"):  # frozen weights cannot train
        compile_arguments("frozen")
    with pytest.raises(ValueError, match="compile must be"):
        compile_function(lambda x: x, "fastest")
    with pytest.raises(ValueError, match="inference"):
        accelerate(torch.nn.Conv2d(2, 3, 3), compile="frozen")
    net = torch.nn.Conv2d(2, 3, 3)
    assert accelerate(net) is net and net.weight.is_contiguous() and net._compiled_call_impl is None


def test_frozen_compile_packs_the_convolutions_and_equals_eager():
    """``compile="frozen"`` (the pipeline's CPU fast path): inductor with the weights as constants runs every
    convolution as one oneDNN call on prepacked weights (a folded BatchNorm, a fused ReLU) and equals eager."""
    torch.manual_seed(0)
    net = (
        torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1)
        )
        .eval()
        .requires_grad_(False)
    )
    for norm in net.modules():
        if isinstance(norm, torch.nn.BatchNorm2d):
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 3, 12, 10)
    compiled = compile_function(net, "frozen")
    with torch.no_grad():
        expected, out = net(x), compiled(x)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
            compiled(x)
    names = [event.name for event in profile.events()]
    assert torch.allclose(out, expected, atol=1e-5)
    assert sum(name.startswith("mkldnn::_convolution_pointwise") for name in names) == 2
    assert not any(name in ("aten::convolution", "aten::batch_norm", "aten::thnn_conv2d") for name in names)


def _trained_norm(channels: int) -> torch.nn.BatchNorm2d:
    norm = torch.nn.BatchNorm2d(channels)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.1, 3)
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    return norm


@pytest.mark.parametrize("bias", [False, True])
def test_fold_batch_norms_folds_norms_after_convolutions_into_them_and_keeps_the_function(bias):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=bias),
        _trained_norm(8),
        torch.nn.ReLU(),
        torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, stride=2, bias=bias), _trained_norm(8)),
        _trained_norm(8),
        torch.nn.Conv2d(8, 4, 1),
    )  # a norm before a convolution: not foldable
    net.eval().requires_grad_(False)
    x = torch.randn(2, 3, 16, 12)
    before = net(x)
    before_net = copy.deepcopy(net)
    assert fold_batch_norms(net) == 2
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 1
    assert isinstance(net[1], torch.nn.Identity) and isinstance(net[3][1], torch.nn.Identity)
    assert net[0].bias is not None and not net[0].weight.requires_grad
    assert torch.allclose(net(x), before, atol=1e-5, rtol=1e-5)
    # the folded norms mattered: with them dropped instead of folded, the output differs
    unfolded = torch.nn.Sequential(
        *[torch.nn.Identity() if isinstance(m, torch.nn.BatchNorm2d) else m for m in before_net]
    )
    assert not torch.allclose(unfolded(x), before, atol=1e-3)


def test_fold_batch_norms_refuses_a_network_that_trains():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norms(net)
    net.eval()
    with pytest.raises(ValueError, match="eval mode"):  # still requires gradients
        accelerate(net, fold_norms=True)
    assert isinstance(net[1], torch.nn.BatchNorm2d)
