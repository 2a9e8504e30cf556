"""GP-VTON's networks (docs/methods/other-systems.md): exact parameter counts of the official classes, LFGP shapes for
both variants and the ablation without global parsing, identity at initialisation, gradients, the SPADE condition,
the inference-time part assembly, the discriminators."""

from __future__ import annotations

import pytest
import torch

from garment_transfer.models.complexity import count_parameters
from garment_transfer.models.gpvton import GPVTON_TRYON, GPVTON_WARPING
from garment_transfer.models.gpvton.networks import (
    LFGP,
    assemble,
    build_generator_discriminator,
    build_gpvton_generator,
    build_lfgp,
    build_warp_discriminator,
    fold_parts,
    split_parts,
    warp_discriminator_channels,
)

B, H, W = 2, 64, 48


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "builder, hparams, expected",
    [
        (build_lfgp, {"variant": "vitonhd"}, 54_304_622),
        (build_lfgp, {"variant": "dresscode"}, 81_406_877),
        (build_warp_discriminator, {}, 2_822_081),
        (build_gpvton_generator, {}, 43_916_672),
        (build_generator_discriminator, {}, 2_801_601),
    ],
)
def test_parameter_counts_equal_gpvtons_official_classes(builder, hparams, expected):
    assert _count(builder(hparams)) == expected


def test_lfgp_flow_part_splits_as_the_official_heads():
    net = build_lfgp({"variant": "vitonhd"})
    sizes = {
        "main_heads": 747_050 * 3,
        "refine_heads": 3_413_930 * 3,
        "attention_heads": 6_364_495,
        "fusion_blocks": 6_882_560,
        "parsing_heads": 3_421_155,
    }
    assert {name: _count(getattr(net, name)) for name in sizes} == sizes
    assert sum(sizes.values()) == 29_151_150
    assert _count(net.garment_pyramid) == 9_365_760 and _count(net.person_pyramid) == 9_392_832
    assert count_parameters(net) == 54_304_622


def test_stage_ids_and_discriminator_channels():
    assert (GPVTON_WARPING, GPVTON_TRYON) == ("gpvton/warping", "gpvton/tryon")
    assert warp_discriminator_channels("vitonhd") == 59 and warp_discriminator_channels("dresscode") == 62
    assert build_warp_discriminator({"variant": "dresscode", "width": "tiny"}).in_channels == 62


def _inputs(variant: str = "vitonhd", parts: bool = True, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    part_masks = torch.zeros(B, 3, H, W)
    part_masks[:, 0, 8:40, 4:14], part_masks[:, 1, 8:56, 14:34], part_masks[:, 2, 8:40, 34:44] = 1, 1, 1
    garment_mask = part_masks.sum(1, keepdim=True)
    return dict(
        garment=torch.rand(B, 3, H, W, generator=g) * 2 - 1,
        garment_mask=garment_mask,
        garment_label=(part_masks * torch.tensor([1.0, 2, 3])[:, None, None]).sum(1, keepdim=True) / 3,
        person=torch.rand(B, 51, H, W, generator=g) * 2 - 1,
        part_masks=part_masks if parts else None,
        preserve=torch.zeros(B, 1, H, W),
        condition=torch.full((B, 1, H, W), 1 / 3) if variant == "dresscode" else None,
    )


@pytest.mark.parametrize("variant, classes", [("vitonhd", 7), ("dresscode", 10)])
def test_lfgp_outputs_have_documented_shapes(variant, classes):
    torch.manual_seed(0)
    net = LFGP("tiny", variant)
    out = net(**_inputs(variant))
    sizes = [(4, 3), (8, 6), (16, 12), (32, 24), (64, 48)]
    assert out.num_parts == 3
    assert [tuple(g.shape) for g in out.parts.grids] == [(3 * B, *s, 2) for s in sizes]
    assert [tuple(g.shape) for g in out.full.grids] == [(B, *s, 2) for s in sizes]
    assert tuple(out.parts.warped_garment.shape) == (3 * B, 3, H, W) and tuple(out.full.warped_mask.shape) == (
        B,
        1,
        H,
        W,
    )
    assert [tuple(a.shape) for a in out.attention] == [(B, 3, *s) for s in sizes]
    assert [tuple(p.shape) for p in out.parsing] == [(B, classes, *s) for s in sizes]
    assert len(out.parts.offsets) == 10
    for a in out.attention:
        torch.testing.assert_close(a.sum(1), torch.ones_like(a[:, 0]))
    assert all(p.abs().max() <= 1 for p in out.parsing)  # tanh-bounded logits


def test_without_global_parsing_one_flow_warps_the_whole_garment():
    net = LFGP("tiny", global_parsing=False)
    assert net.num_parts == 1 and not hasattr(net, "parsing_heads") and not hasattr(net, "attention_heads")
    assert _count(net) < _count(LFGP("tiny"))
    out = net(**_inputs(parts=False))
    assert out.parsing is None and out.attention is None and out.full is out.parts
    assert tuple(out.full.warped_garment.shape) == (B, 3, H, W) and len(out.parts.offsets) == 10
    with pytest.raises(ValueError, match="num_parts"):
        LFGP("tiny", num_parts=3, global_parsing=False)


def test_zero_initialised_flow_heads_warp_each_part_and_the_garment_onto_itself():
    inputs = _inputs()
    out = LFGP("tiny")(**inputs)
    masked = inputs["garment"] * inputs["garment_mask"]
    parts = split_parts(out.parts.warped_garment, 3)
    torch.testing.assert_close(parts, masked[:, None] * inputs["part_masks"][:, :, None], atol=1e-4, rtol=0)
    torch.testing.assert_close(out.full.warped_garment, masked, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.full.warped_mask, inputs["garment_mask"], atol=1e-4, rtol=0)


def test_fold_and_split_are_part_major_inverses():
    x = torch.arange(2 * 3 * 5.0).view(2, 3, 5)
    folded = fold_parts(x)
    assert torch.equal(folded[1 * 2 + 0], x[0, 1]) and torch.equal(split_parts(folded, 3), x)


def test_gradients_reach_both_branches_and_every_head():
    torch.manual_seed(0)
    net = LFGP("tiny", zero_init_heads=False)
    out = net(**_inputs())
    loss = out.full.warped_garment.mean() + out.parts.warped_garment.mean() + sum(p.mean() for p in out.parsing)
    loss = loss + sum(a[:, 0].mean() for a in out.attention)
    loss.backward()
    for name in ("garment_pyramid", "person_pyramid", "garment_fpn", "person_fpn", "main_heads", "refine_heads",
                 "attention_heads", "fusion_blocks", "parsing_heads"):  # fmt: skip
        grads = [p.grad for p in getattr(net, name).parameters()]
        assert all(g is not None for g in grads), name
        assert sum(g.abs().sum() for g in grads) > 0, name
    for k in range(5):
        for head in (*net.main_heads[k], *net.refine_heads[k]):
            assert head[-1].weight.grad.abs().sum() > 0


def test_parsing_reads_the_preserve_mask_and_dresscode_reads_its_condition():
    torch.manual_seed(0)
    net = LFGP("tiny")
    inputs = _inputs()
    a = net(**inputs).parsing[-1]
    inputs["preserve"] = torch.ones(B, 1, H, W)
    assert not torch.allclose(a, net(**inputs).parsing[-1])
    torch.manual_seed(0)
    dress = LFGP("tiny", "dresscode", zero_init_heads=False)
    inputs = _inputs("dresscode")
    upper = dress(**inputs)
    inputs["condition"] = torch.full((B, 1, H, W), 2 / 3)
    lower = dress(**inputs)
    assert not torch.allclose(upper.parsing[-1], lower.parsing[-1])
    assert not torch.allclose(upper.parts.grid, lower.parts.grid)
    with pytest.raises(ValueError, match="condition"):
        dress(**{**inputs, "condition": None})
    with pytest.raises(ValueError, match="condition"):
        net(**_inputs("dresscode"))


def test_bad_inputs_are_refused_with_the_tensor_named():
    net = LFGP("tiny")
    with pytest.raises(ValueError, match="part_masks"):
        net(**{**_inputs(), "part_masks": torch.ones(B, 2, H, W)})
    with pytest.raises(ValueError, match="person"):
        net(**{**_inputs(), "person": torch.ones(B, 45, H, W)})
    with pytest.raises(ValueError, match="width"):
        LFGP("huge")
    with pytest.raises(ValueError, match="variant"):
        LFGP("tiny", "viton")


def test_assemble_takes_the_part_the_parsing_names_and_nothing_in_the_preserve_region():
    b, h, w = 1, 2, 4
    part_warps = torch.stack([torch.full((b, 3, h, w), float(v)) for v in (10, 20, 30)], 1)
    part_masks = torch.ones(b, 3, 1, h, w)
    labels = torch.tensor([[[0, 1, 2, 3], [3, 2, 1, 4]]])  # 4: left arm, no part
    logits = torch.nn.functional.one_hot(labels, 7).permute(0, 3, 1, 2).float()
    preserve = torch.zeros(b, 1, h, w)
    preserve[0, 0, 1, 0] = 1
    garment, mask = assemble(part_warps, part_masks, logits, preserve)
    expected = torch.tensor([[0, 10, 20, 30], [0, 20, 10, 0]], dtype=torch.float32)
    torch.testing.assert_close(garment, expected.expand(b, 3, h, w))
    torch.testing.assert_close(mask[0, 0], (expected > 0).float())
    lower, _ = assemble(part_warps, part_masks, logits, preserve, part_classes=(4, 5, 6))
    assert lower[0, 0, 1, 3] == 10 and lower[0, 0, 0].abs().sum() == 0
    with pytest.raises(ValueError, match="part_classes"):
        assemble(part_warps, part_masks, logits, preserve, part_classes=(1, 2))


def test_discriminators_and_generator_run_at_tiny_width():
    d = build_warp_discriminator({"width": "tiny"})
    assert tuple(d(torch.zeros(1, 59, 64, 48)).shape) == (1, 1, 6, 4)  # padding 1, as GP-VTON
    assert tuple(build_generator_discriminator({"width": "tiny"})(torch.zeros(1, 39, 64, 48)).shape) == (1, 1, 6, 4)
    assert tuple(build_gpvton_generator({"width": "tiny"})(torch.zeros(1, 36, 64, 48)).shape) == (1, 4, 64, 48)
    with pytest.raises(ValueError, match="input"):
        d(torch.zeros(1, 58, 64, 48))
