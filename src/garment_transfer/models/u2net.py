"""U-2-Net (Qin et al. 2020), the parsing backbone of ``T_P`` and ``S_P`` (``docs/methods/distilled-transfer.md``,
"U-2-Net").

Architecture. ``REBNCONV(in, out, d)`` is a 3x3 conv (dilation = padding = ``d``) + BatchNorm + ReLU. A residual
U-block ``RSU-L(in, mid, out)`` maps the input to ``hxin`` (in -> out), runs an L-level U-Net on ``mid`` channels
(L - 1 encoder convs with L - 2 max-pools between them, a d=2 bottom conv, L - 1 decoder convs on concatenation skips,
the last one mid -> out) and returns ``hx1d + hxin``. ``RSU4F`` replaces pooling by dilations 1, 2, 4 (bottom 8,
decoder 4, 2, 1). The model chains six encoder stages (max-pool between them) down to ``hx6`` at H/32, five decoder
stages on ``cat(upsampled deeper output, encoder skip)`` giving ``hx5d .. hx1d``, a 3x3 side conv on each of
``hx1d .. hx5d, hx6`` upsampled to the input size, and a 1x1 conv fusing the six. Pooling uses ``ceil_mode=True``
and every upsampling is bilinear (align_corners=False) to the skip's size, so any input size works. All outputs are
logits. Widths are data (``_WIDTHS``): "full" (U2NET, 44.0 M parameters at 3 in / 1 out), "small" (U2NETP, 1.13 M)
and "tiny" (U2NETP at a quarter of its channels, for CPU training).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_LAYERS = ("hx6", "hx5d", "hx4d", "hx3d", "hx2d", "hx1d")

# Per width: encoder stages (shallow -> deep) and decoder stages (deep -> shallow) as (block, mid, out);
# input channels follow from the wiring (encoder: previous output; decoder: deeper output + skip).
_WIDTHS = {
    "full": {
        "encoder": (
            ("RSU7", 32, 64),
            ("RSU6", 32, 128),
            ("RSU5", 64, 256),
            ("RSU4", 128, 512),
            ("RSU4F", 256, 512),
            ("RSU4F", 256, 512),
        ),
        "decoder": (("RSU4F", 256, 512), ("RSU4", 128, 256), ("RSU5", 64, 128), ("RSU6", 32, 64), ("RSU7", 16, 64)),
    },
    "small": {
        "encoder": (
            ("RSU7", 16, 64),
            ("RSU6", 16, 64),
            ("RSU5", 16, 64),
            ("RSU4", 16, 64),
            ("RSU4F", 16, 64),
            ("RSU4F", 16, 64),
        ),
        "decoder": (("RSU4F", 16, 64), ("RSU4", 16, 64), ("RSU5", 16, 64), ("RSU6", 16, 64), ("RSU7", 16, 64)),
    },
    # The CPU preset's width: the small layout at a quarter of its channels (U2NETP / 4), 148 K parameters at 8 in /
    # 7 out.
    "tiny": {
        "encoder": (
            ("RSU7", 8, 16),
            ("RSU6", 8, 16),
            ("RSU5", 8, 16),
            ("RSU4", 8, 16),
            ("RSU4F", 8, 16),
            ("RSU4F", 8, 16),
        ),
        "decoder": (("RSU4F", 8, 16), ("RSU4", 8, 16), ("RSU5", 8, 16), ("RSU6", 8, 16), ("RSU7", 8, 16)),
    },
}


def _resize_like(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    if x.shape[-2:] == ref.shape[-2:]:
        return x
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class REBNCONV(nn.Sequential):
    """3x3 conv (dilation and padding ``dilation``) + BatchNorm + ReLU; keeps the spatial size."""

    def __init__(self, in_ch: int, out_ch: int, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class RSU(nn.Module):
    """Residual U-block RSU-L (``levels`` in 4..7); ``dilated=True`` is the pooling-free RSU4F variant.

    Maps (B, in_ch, H, W) -> (B, out_ch, H, W).
    """

    def __init__(self, levels: int, in_ch: int, mid_ch: int, out_ch: int, dilated: bool = False) -> None:
        super().__init__()
        if dilated:  # RSU4F: dilations replace pooling
            enc_d, bottom_d = [1, 2, 4], 8
        else:
            enc_d, bottom_d = [1] * (levels - 1), 2
        self.pool = not dilated
        self.conv_in = REBNCONV(in_ch, out_ch)
        self.encoder = nn.ModuleList(REBNCONV(out_ch if i == 0 else mid_ch, mid_ch, d) for i, d in enumerate(enc_d))
        self.bottom = REBNCONV(mid_ch, mid_ch, bottom_d)
        dec_d = enc_d[::-1]
        self.decoder = nn.ModuleList(
            REBNCONV(2 * mid_ch, out_ch if i == len(dec_d) - 1 else mid_ch, d) for i, d in enumerate(dec_d)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.conv_in(x)
        skips, h = [], hxin
        for i, conv in enumerate(self.encoder):
            if i and self.pool:
                h = F.max_pool2d(h, 2, 2, ceil_mode=True)
            h = conv(h)
            skips.append(h)
        h = self.bottom(h)
        for conv, skip in zip(self.decoder, reversed(skips)):
            h = conv(torch.cat([_resize_like(h, skip), skip], 1))
        return h + hxin


class RSU4F(RSU):
    """RSU-4F: four levels at full resolution with dilations 1, 2, 4 (bottom 8) instead of pooling."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__(4, in_ch, mid_ch, out_ch, dilated=True)


def _block(name: str, in_ch: int, mid_ch: int, out_ch: int) -> RSU:
    return RSU4F(in_ch, mid_ch, out_ch) if name == "RSU4F" else RSU(int(name[3:]), in_ch, mid_ch, out_ch)


class U2NetOutput(NamedTuple):
    """``logits`` (B, out, H, W) fused; ``side_logits`` six (B, out, H, W), d1..d6 (from hx1d .. hx6);
    ``features`` the decoder taps by name (``FEATURE_LAYERS``) or None."""

    logits: torch.Tensor
    side_logits: tuple[torch.Tensor, ...]
    features: dict[str, torch.Tensor] | None


class U2Net(nn.Module):
    """U-2-Net with logits outputs (see the module docstring).

    Args:
        in_channels: input channels (8 for the parsing nets: ``M^r`` 4 + garment mask 1 + DensePose 3).
        out_channels: output channels (7 parsing classes).
        width: "full" (U2NET) or "small" (U2NETP).
    """

    def __init__(self, in_channels: int, out_channels: int, width: str = "full") -> None:
        super().__init__()
        if width not in _WIDTHS:
            raise ValueError(f"width must be one of {sorted(_WIDTHS)}, got {width!r}")
        self.in_channels, self.out_channels, self.width = in_channels, out_channels, width
        spec = _WIDTHS[width]
        outs, ch = [], in_channels
        self.encoder = nn.ModuleList()
        for name, mid, out in spec["encoder"]:
            self.encoder.append(_block(name, ch, mid, out))
            outs.append(ch := out)
        self.decoder = nn.ModuleList()
        dec_outs = [outs[-1]]  # hx6, hx5d, ..., hx1d
        for (name, mid, out), skip in zip(spec["decoder"], reversed(outs[:-1])):
            self.decoder.append(_block(name, dec_outs[-1] + skip, mid, out))
            dec_outs.append(out)
        self.sides = nn.ModuleList(nn.Conv2d(c, out_channels, 3, padding=1) for c in reversed(dec_outs))
        self.fuse = nn.Conv2d(6 * out_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> U2NetOutput:
        """Run the net.

        Args:
            x: (B, in_channels, H, W), any H, W.
            return_features: also return the decoder taps. Full width: ``hx6`` (B, 512, H/32, W/32),
                ``hx5d`` (B, 512, H/16, W/16), ``hx4d`` (B, 256, H/8, W/8), ``hx3d`` (B, 128, H/4, W/4),
                ``hx2d`` (B, 64, H/2, W/2), ``hx1d`` (B, 64, H, W); small width: 64 channels each. Sizes are
                ceil-divided for odd inputs (``H/4 = ceil(ceil(H/2)/2)``).

        Returns:
            :class:`U2NetOutput` with logits (B, out_channels, H, W), not normalised.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        skips, h = [], x
        for i, stage in enumerate(self.encoder):
            h = stage(F.max_pool2d(h, 2, 2, ceil_mode=True) if i else h)
            skips.append(h)
        decoded = [h]
        for stage, skip in zip(self.decoder, reversed(skips[:-1])):
            h = stage(torch.cat([_resize_like(h, skip), skip], 1))
            decoded.append(h)
        sides = tuple(_resize_like(conv(f), x) for conv, f in zip(self.sides, reversed(decoded)))
        features = dict(zip(FEATURE_LAYERS, decoded)) if return_features else None
        return U2NetOutput(self.fuse(torch.cat(sides, 1)), sides, features)
