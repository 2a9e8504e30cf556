"""Input checks the networks' adapters share: a clear ``ValueError`` naming the tensor and the expected shape."""

from __future__ import annotations

import torch


def check_maps(name: str, x: torch.Tensor, channels: int, like: torch.Tensor | None = None) -> None:
    """``x`` must be (B, channels, H, W), and have the batch and size of ``like`` when given: else a ``ValueError``
    naming ``name``."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be (B, {channels}, H, W), got {got}")
    if like is not None and (x.shape[0], *x.shape[2:]) != (like.shape[0], *like.shape[-2:]):
        raise ValueError(f"{name} {tuple(x.shape)} does not match the batch and size of {tuple(like.shape)}")


def check_pose_channels(pose: torch.Tensor, expected: int) -> None:
    """A DensePose batch (B, C, H, W) whose C is not the ``pose_channels`` a net was built for is an error."""
    if pose.shape[1] != expected:
        raise ValueError(
            f"DensePose input has {pose.shape[1]} channels but the model was built for "
            f"pose_channels={expected}: match the data module's densepose encoding"
        )
