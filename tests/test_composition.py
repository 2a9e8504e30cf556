"""Composition of I_{t<-s}: untouched target pixels stay bit-exact, the garment goes where M^g_{t<-s} is, regrown skin
only outside the old skin, holes are filled from their new class, and bad inputs are refused clearly."""

from __future__ import annotations

import pytest
import torch

from garment_transfer import composition
from garment_transfer.composition import compose, inpaint, skin_cases
from garment_transfer.data.datamodule import GarmentDataModule
from garment_transfer.data.label_maps import LOWER_GARMENT, NUM_CLASSES, UPPER_GARMENT, UPPER_SKIN

H, W = 32, 24
RED, BLUE, GREEN, WHITE = (1.0, -1.0, -1.0), (-1.0, -1.0, 1.0), (-1.0, 1.0, -1.0), (1.0, 1.0, 1.0)


def paint(colour) -> torch.Tensor:
    return torch.tensor(colour).view(1, 3, 1, 1).expand(1, 3, H, W).clone()


def scene():
    """Target: blue background, a red long garment (rows 4..23), skin (cols 0..3, rows 4..13), a lower garment
    below. Transfer: a shorter garment (rows 4..13, cols 6..17), skin on cols 0..5 rows 4..17 (partly new)."""
    target_parsing = torch.zeros(1, H, W, dtype=torch.long)
    target_parsing[:, 4:24, 4:20] = UPPER_GARMENT
    target_parsing[:, 4:14, 0:4] = UPPER_SKIN
    target_parsing[:, 24:, 4:20] = LOWER_GARMENT
    transfer_parsing = torch.where(target_parsing == LOWER_GARMENT, LOWER_GARMENT, 0)
    transfer_parsing[:, 4:14, 6:18] = UPPER_GARMENT
    transfer_parsing[:, 4:18, 0:6] = UPPER_SKIN
    image = paint(BLUE)
    image = torch.where(target_parsing.unsqueeze(1) == UPPER_GARMENT, paint(RED), image)
    image = torch.where(target_parsing.unsqueeze(1) == UPPER_SKIN, paint(WHITE) * 0.8, image)
    image = torch.where(target_parsing.unsqueeze(1) == LOWER_GARMENT, paint(GREEN), image)
    image = image + 0.01 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    return image, target_parsing, transfer_parsing


def test_untouched_target_pixels_are_bit_exact_and_every_region_has_its_source():
    image, target_parsing, transfer_parsing = scene()
    warped, skin = torch.rand(1, 3, H, W) * 2 - 1, torch.rand(1, 3, H, W) * 2 - 1
    out, masks = compose(image, target_parsing, transfer_parsing, warped, skin)
    region = {name: m.bool().expand(-1, 3, -1, -1) for name, m in masks.items()}
    assert torch.equal(out[region["keep"]], image[region["keep"]])
    assert torch.equal(out[region["inherit"]], image[region["inherit"]])
    assert torch.equal(out[region["garment"]], warped[region["garment"]])
    assert torch.equal(out[region["regrow"]], skin[region["regrow"]])
    assert torch.equal(masks["garment"][:, 0].bool(), transfer_parsing == UPPER_GARMENT)
    assert masks["regrow"].sum() > 0 and masks["inherit"].sum() > 0 and masks["holes"].sum() > 0
    old_skin = (target_parsing == UPPER_SKIN).unsqueeze(1)
    assert not (masks["regrow"].bool() & old_skin).any(), "regrown skin only outside the old skin"
    partition = masks["garment"] + masks["inherit"] + masks["regrow"] + masks["keep"] + masks["holes"]
    assert torch.equal(partition, torch.ones_like(partition))
    assert torch.equal(masks["skin"], masks["inherit"] + masks["regrow"])


def test_holes_are_filled_from_their_new_class_not_the_old_garment():
    image, target_parsing, transfer_parsing = scene()
    out, masks = compose(image, target_parsing, transfer_parsing, torch.zeros_like(image), torch.zeros_like(image))
    holes = masks["holes"][0, 0].bool()
    filled = out[0][:, holes]  # (3, N): background holes next to the red garment, filled from the blue background
    red = torch.tensor(RED).view(3, 1)
    assert (filled - red).abs().amax(0).min() > 0.5, "no hole pixel keeps the old garment colour"
    assert (filled - torch.tensor(BLUE).view(3, 1)).abs().amax() < 0.1
    kept, _ = compose(
        image, target_parsing, transfer_parsing, torch.zeros_like(image), torch.zeros_like(image), fill="none"
    )
    assert torch.equal(kept[0][:, holes], image[0][:, holes]), "fill='none' leaves the target's pixels"
    again, _ = compose(image, target_parsing, transfer_parsing, torch.zeros_like(image), torch.zeros_like(image))
    assert torch.equal(again, out), "deterministic"


def test_true_transfer_composes_back_to_itself_on_synthetic_data(synthetic_root):
    data = GarmentDataModule(root=str(synthetic_root), size="64x48", eval_batch_size=4)
    data.setup("validate")
    batch = next(iter(data.val_dataloader()))
    target, truth = batch.target, batch.truth
    out, masks = compose(target.image, target.parsing, truth.parsing, truth.image, truth.image)
    placed = (masks["garment"] + masks["regrow"]).bool().expand(-1, 3, -1, -1)
    keep = masks["keep"].bool().expand(-1, 3, -1, -1)
    assert torch.equal(out[placed], truth.image[placed]) and torch.equal(out[keep], target.image[keep])


def compose_reference(target_image, target_parsing, transfer_parsing, warped_garment, skin_image):
    """The composition as it was written before it stopped synchronising with the device (issue 16): float skin
    cases, and the holes filled class by class over the classes present (``holes.any()``, ``torch.unique``)."""
    old, new = target_parsing.unsqueeze(1), transfer_parsing.unsqueeze(1)
    garment, new_skin, old_skin = new == UPPER_GARMENT, new == UPPER_SKIN, old == UPPER_SKIN
    placed, was_upper = garment | new_skin, (old == UPPER_GARMENT) | old_skin
    keep, holes = ~placed & ~was_upper, ~placed & was_upper
    dtype = target_image.dtype
    inherit, regrown = (m > 0.5 for m in skin_cases(old_skin.to(dtype), new_skin.to(dtype)))
    image = torch.where(garment, warped_garment, torch.where(regrown, skin_image, target_image))
    if holes.any():
        for cls in torch.unique(transfer_parsing[holes[:, 0]]).tolist():
            known = keep & (old == cls)
            known = torch.where(known.flatten(1).any(1).view(-1, 1, 1, 1), known, keep)
            known = torch.where(known.flatten(1).any(1).view(-1, 1, 1, 1), known, ~holes)
            image = torch.where(holes & (new == cls), inpaint(image, known), image)
    masks = {"garment": garment, "skin": new_skin, "inherit": inherit, "regrow": regrown, "keep": keep, "holes": holes}
    return image, {name: mask.to(dtype) for name, mask in masks.items()}


def blob_parsing(generator: torch.Generator, batch: int, height: int, width: int) -> torch.Tensor:
    """(B, H, W) class maps of random rectangles of random classes over a random background class."""
    parsing = torch.randint(NUM_CLASSES, (batch, 1, 1), generator=generator).expand(batch, height, width).clone()
    for _ in range(6):
        cls, y0, x0 = (torch.randint(n, (batch,), generator=generator) for n in (NUM_CLASSES, height, width))
        for b in range(batch):
            y1, x1 = y0[b] + height // 3, x0[b] + width // 3
            parsing[b, y0[b] : y1, x0[b] : x1] = cls[b]
    return parsing


@pytest.fixture(params=["present classes", "every class"])
def fill_path(request, monkeypatch):
    """The fill as on the CPU (only the hole classes present, read from the masks) and as on a GPU or compiled
    (every class a hole can take, nothing read back)."""
    if request.param == "every class":
        monkeypatch.setattr(composition, "_present_hole_classes", lambda new, holes: None)
    return request.param


@pytest.mark.parametrize("seed", range(6))
def test_composition_equals_the_class_by_class_reference_bit_for_bit(seed, fill_path):
    """Random parsings: holes of any class, samples without keep pixels of a hole's class or without any keep pixel,
    samples without holes, one batch."""
    generator = torch.Generator().manual_seed(seed)
    batch = 4
    target_parsing, transfer_parsing = (blob_parsing(generator, batch, H, W) for _ in range(2))
    target_parsing[0] = UPPER_GARMENT  # no keep pixel at all in sample 0
    transfer_parsing[1] = target_parsing[1]  # sample 1: no holes
    image, warped, skin = (torch.rand(batch, 3, H, W, generator=generator) * 2 - 1 for _ in range(3))
    out, masks = compose(image, target_parsing, transfer_parsing, warped, skin)
    want, want_masks = compose_reference(image, target_parsing, transfer_parsing, warped, skin)
    assert masks["holes"].sum() > 0
    assert torch.equal(out, want)
    assert all(torch.equal(masks[name], want_masks[name]) for name in want_masks)


def test_composition_on_a_gpu_or_compiled_makes_no_host_synchronisation(fill_path):
    """The old composition called ``.any()``, ``torch.unique`` and ``.tolist()`` (each waits for the device); off
    the CPU the composition reads nothing back."""
    if fill_path == "present classes":
        assert (
            composition._present_hole_classes(
                torch.zeros(1, 1, 2, 2, dtype=torch.long, device="meta"),
                torch.zeros(1, 1, 2, 2, dtype=torch.bool, device="meta"),
            )
            is None
        )
        return
    image, target_parsing, transfer_parsing = scene()
    with torch.profiler.profile() as profile:
        compose(image, target_parsing, transfer_parsing, torch.zeros_like(image), torch.zeros_like(image))
    names = {event.name for event in profile.events()}
    assert not names & {
        "aten::is_nonzero",
        "aten::item",
        "aten::_local_scalar_dense",
        "aten::_unique2",
        "aten::nonzero",
        "aten::index",
    }


def test_skin_cases_split_the_new_skin_by_the_old():
    old = torch.zeros(1, 1, 4, 4)
    new = torch.zeros(1, 1, 4, 4)
    old[..., :2, :] = 1
    new[..., 1:3, :] = 1
    cases = skin_cases(old, new)
    assert torch.equal(cases.inherit[0, 0, :, 0], torch.tensor([0.0, 1, 0, 0]))
    assert torch.equal(cases.regrow[0, 0, :, 0], torch.tensor([0.0, 0, 1, 0]))
    with pytest.raises(ValueError, match="old_skin, new_skin"):
        skin_cases(old, new[..., :3])


def test_inpaint_keeps_known_pixels_and_fills_a_constant_region_with_it():
    image = torch.randn(2, 3, 20, 14)
    known = torch.ones(2, 1, 20, 14)
    known[:, :, 5:15, 3:9] = 0
    image[:, :, :] = torch.where(known.bool(), torch.tensor([0.2, -0.4, 0.7]).view(1, 3, 1, 1), image)
    out = inpaint(image, known)
    assert torch.equal(out[known.bool().expand_as(out)], image[known.bool().expand_as(image)])
    assert torch.allclose(out, torch.tensor([0.2, -0.4, 0.7]).view(1, 3, 1, 1).expand_as(out), atol=1e-5)


def test_mismatched_inputs_are_refused_naming_the_tensor():
    image, target_parsing, transfer_parsing = scene()
    other = torch.zeros_like(image)
    with pytest.raises(ValueError, match="transfer_parsing"):
        compose(image, target_parsing, transfer_parsing[:, :-1], other, other)
    with pytest.raises(ValueError, match="warped_garment"):
        compose(image, target_parsing, transfer_parsing, other[..., :-2], other)
    with pytest.raises(ValueError, match="target_parsing"):
        compose(image, target_parsing.float(), transfer_parsing, other, other)
    with pytest.raises(ValueError, match="fill 'blur'"):
        compose(image, target_parsing, transfer_parsing, other, other, fill="blur")
