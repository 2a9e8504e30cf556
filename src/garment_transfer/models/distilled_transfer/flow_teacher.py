"""Try-on warping teacher ``T_W``: parser-based, style-modulated appearance flow, FS-VTON style (arXiv 2401.12433,
Sec. 3.3.1; ``docs/methods/distilled-transfer.md``, "Try-on warping teacher").

Architecture. Two :class:`~garment_transfer.models.pyramid.FeaturePyramid` +
:class:`~garment_transfer.models.pyramid.FPN` branches encode the garment (``cat(C * C^m, C^m)``, 4 channels) and the
person representation (parsing one-hot 7 + DensePose, ``person_channels``) into five levels ``g_k, p_k`` (fine ->
coarse, ``H/2 .. H/32``, all ``fpn`` channels). A global style vector,
``s = LeakyReLU(Linear(flatten(AdaptiveAvgPool(cat(g_coarsest, p_coarsest), style_pool))))``, stands in for FS-VTON's
conv whose kernel is the whole coarsest map (8 x 6 at 256 x 192, where the pooling is the identity and the two
coincide); the adaptive pooling makes it work at any resolution. The flow is then estimated coarse -> fine; at level
``k``, with ``f`` the incoming grid (identity at the coarsest level):

1. global, style-modulated flow: ``o = StyleHead(cat(warp(g_k, f), p_k), s)``, ``f = compose(f, grid(o))``;
2. local refinement: ``o = RefineHead(cat(warp(g_k, f), p_k))``, ``f = compose(f, grid(o))``;
3. ``f`` is upsampled to the next level's size (to ``(H, W)`` after the finest level): this is ``grids[k]``.

Both heads are ``2 fpn -> 128 -> 64 -> 32 -> 2`` 3x3 convs with LeakyReLU(0.1) (widths per preset); the style head's
first three convs are :class:`ModulatedConv2d` (StyleGAN2 weight modulation with demodulation). Heads predict **offsets
in pixels** of their level; every head's last conv is zero-initialised, so the initial flow is the identity. Grid
conventions are those of :mod:`garment_transfer.geometry` (composition on displacements keeps gradients alive at
map borders, so even the 2 x 2 coarsest level of a 64 x 48 input learns from the first step).
Size: FS-VTON's original has about 33 M parameters; this net has 39.17 M at width "full" with ``person_channels = 10``
(6.29 M of them in the style linear, one layer over both branches) and 55.69 G MACs at 256 x 192
(:func:`~garment_transfer.models.complexity.count_macs`); width "tiny" has 2.25 M.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from garment_transfer.geometry import warp
from garment_transfer.models.flow import FlowOutput, check_flow_inputs, coarse_to_fine, flow_head, width_spec
from garment_transfer.models.pyramid import FPN, FeaturePyramid

# Per width, beside the flow warps' widths (``flow.WIDTHS``): the style vector's size and the style pooling grid.
_STYLE = {"full": dict(style_dim=256, style_pool=(8, 6)), "tiny": dict(style_dim=64, style_pool=(4, 3))}


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated conv, unfused: ``y = demod * Conv(x * scale) + bias`` with ``scale = Linear(style)``.

    Scaling the input channels by ``scale`` (B, in) equals scaling the kernel's input channels per sample;
    ``demod[b, o] = rsqrt(sum_{i,kh,kw} (w[o, i] * scale[b, i])^2 + eps)`` renormalises every output channel as the
    demodulated kernel would. The scale's bias starts at 1, so an untrained style leaves the conv nearly unmodulated.

    Args:
        in_channels, out_channels, kernel_size: as :class:`torch.nn.Conv2d` ("same" padding).
        style_dim: size of the style vector.
        demodulate: apply the demodulation.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True
    ) -> None:
        super().__init__()
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in_channels, H, W); style (B, style_dim). Returns (B, out_channels, H, W)."""
        scale = self.affine(style)
        y = self.conv(x * scale[:, :, None, None])
        if self.demodulate:
            weight = self.conv.weight[None] * scale[:, None, :, None, None]  # (B, out, in, kh, kw)
            y = y * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4)) + 1e-8)[:, :, None, None]
        return y + self.bias[None, :, None, None]


def _zero_(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class StyleFlowHead(nn.Module):
    """Style-modulated offset head: :class:`ModulatedConv2d` + LeakyReLU(0.1) layers, then a zero-initialised conv."""

    def __init__(self, in_channels: int, widths: Sequence[int], style_dim: int) -> None:
        super().__init__()
        chans = (in_channels, *widths)
        self.convs = nn.ModuleList(ModulatedConv2d(a, b, 3, style_dim) for a, b in zip(chans[:-1], chans[1:]))
        self.out = _zero_(nn.Conv2d(chans[-1], 2, 3, padding=1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in_channels, h, w); style (B, style_dim). Returns offsets (B, 2, h, w) in pixels (dx, dy)."""
        for conv in self.convs:
            x = F.leaky_relu(conv(x, style), 0.1)
        return self.out(x)


class FlowTeacher(nn.Module):
    """Try-on warping teacher ``T_W`` (see the module docstring).

    Args:
        person_channels: channels of the person representation (7 parsing + 3 DensePose IUV = 10 by default).
        width: "full" (pyramids (64, 128, 256, 256, 256), FPN 256, heads (128, 64, 32)) or "tiny" (pyramids
            (16, 32, 64, 64, 64), FPN 64, heads (32, 32, 16), for CPU training).
        style_dim: size of the global style vector; ``None`` takes the preset's (256 full, 64 tiny).
    """

    garment_channels = 4  # C * C^m and C^m

    def __init__(self, person_channels: int = 10, width: str = "full", style_dim: int | None = None) -> None:
        super().__init__()
        spec = {**width_spec(width), **_STYLE[width]}
        self.person_channels, self.width = person_channels, width
        self.style_dim, self.style_pool = style_dim or spec["style_dim"], spec["style_pool"]
        fpn, levels = spec["fpn"], len(spec["pyramid"])
        self.garment_pyramid = FeaturePyramid(self.garment_channels, spec["pyramid"])
        self.garment_fpn = FPN(spec["pyramid"], fpn)
        self.person_pyramid = FeaturePyramid(person_channels, spec["pyramid"])
        self.person_fpn = FPN(spec["pyramid"], fpn)
        pool_h, pool_w = self.style_pool
        self.style = nn.Sequential(nn.Linear(2 * fpn * pool_h * pool_w, self.style_dim), nn.LeakyReLU(0.1))
        # Heads are indexed coarse -> fine.
        self.style_heads = nn.ModuleList(StyleFlowHead(2 * fpn, spec["head"], self.style_dim) for _ in range(levels))
        self.refine_heads = nn.ModuleList(flow_head(2 * fpn, spec["head"]) for _ in range(levels))

    def forward(self, garment: torch.Tensor, garment_mask: torch.Tensor, person: torch.Tensor) -> FlowOutput:
        """Warp the in-shop garment onto the person representation.

        Args:
            garment: (B, 3, H, W) in-shop garment ``C`` in [-1, 1] (masked here by ``garment_mask``).
            garment_mask: (B, 1, H, W) its mask ``C^m`` in [0, 1].
            person: (B, person_channels, H, W) person representation (parsing one-hot + DensePose).

        Returns:
            :class:`~garment_transfer.models.flow.FlowOutput` (``person_features`` unset).
        """
        check_flow_inputs("", garment, garment_mask, person, self.person_channels)
        masked = garment * garment_mask
        g_feats = self.garment_fpn(self.garment_pyramid(torch.cat([masked, garment_mask], 1)))[::-1]  # coarse -> fine
        p_feats = self.person_fpn(self.person_pyramid(person))[::-1]
        style = F.adaptive_avg_pool2d(torch.cat([g_feats[0], p_feats[0]], 1), self.style_pool)
        style = self.style(style.flatten(1))
        steps = [(self._styled(k, style), self._refine(k)) for k in range(len(self.style_heads))]
        return coarse_to_fine(steps, g_feats, p_feats, masked, garment_mask)

    def _styled(self, k: int, style: torch.Tensor):
        def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor | None) -> torch.Tensor:
            return self.style_heads[k](torch.cat([g if grid is None else warp(g, grid, "feature"), p], 1), style)

        return step

    def _refine(self, k: int):
        def step(g: torch.Tensor, p: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
            return self.refine_heads[k](torch.cat([warp(g, grid, "feature"), p], 1))

        return step
