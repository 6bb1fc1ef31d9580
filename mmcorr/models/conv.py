"""Convolutional encoders / decoders for image and audio modalities, and the wrapper of a user's encoder.

Every module here maps flat rows to flat rows, (n, d) -> (n, out), like the MLPs of :mod:`mmcorr.models.mlp`:
it reshapes inside, so the trainer, the losses and the heads never see a pixel grid.

An image row is a flattened (C, H, W) grid; an audio row a flattened (1, n_mels, frames) log-mel
spectrogram (:class:`mmcorr.data.types.MediaSpec`). Encoders are stride-2 3x3 convolutions (each
halves the grid, rounding up), channels 32-64-128, then one linear map; decoders mirror them with
stride-2 transposed convolutions and crop to the exact (H, W), so any size works.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from mmcorr.models.mlp import ACTIVATIONS

__all__ = [
    "CONV_CHANNELS",
    "CONV_KINDS",
    "ConvKind",
    "Crop2d",
    "feature_width",
    "make_conv_decoder",
    "make_conv_encoder",
    "wrap_encoder",
]

#: Modality kinds that get convolutional encoders / decoders (the others keep the MLP).
ConvKind = Literal["image", "audio"]
CONV_KINDS: tuple[ConvKind, ...] = ("image", "audio")
#: Channels of the first conv blocks; deeper blocks (for grids over 32) keep the last width.
CONV_CHANNELS: tuple[int, ...] = (32, 64, 128)
# The encoder halves the grid until its longer side is at most this (at least len(CONV_CHANNELS)
# blocks): 32x32 -> 4x4x128 = 2048 features before the linear map, and a 256x256 image the same,
# so the linear map's size does not grow with the resolution.
_FINAL_SIDE = 4


def _n_blocks(side: int) -> int:
    return max(len(CONV_CHANNELS), math.ceil(math.log2(max(side, 1) / _FINAL_SIDE)))


def _channels(n_blocks: int) -> list[int]:
    return [CONV_CHANNELS[min(i, len(CONV_CHANNELS) - 1)] for i in range(n_blocks)]


def _halved(side: int, times: int) -> int:
    for _ in range(times):  # a 3x3 conv with stride 2 and padding 1 gives ceil(side / 2)
        side = (side + 1) // 2
    return side


def _check_grid(shape: Sequence[int]) -> tuple[int, int, int]:
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"A conv modality's shape must be (channels, height, width) >= 1. Got {tuple(shape)}."
        )
    c, h, w = (int(v) for v in shape)
    return c, h, w


def _block(c_in: int, c_out: int, activation: str, batch_norm: bool, *, transpose: bool) -> list[nn.Module]:
    conv: nn.Module = (
        nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1)  # exactly doubles the grid
        if transpose
        else nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1)
    )
    return [conv, *([nn.BatchNorm2d(c_out)] if batch_norm else []), ACTIVATIONS[activation]()]


def make_conv_encoder(
    kind: ConvKind,
    shape: Sequence[int],
    out_dim: int,
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """A conv encoder (n, C*H*W) -> (n, out_dim) for an image (C, H, W) or audio (1, n_mels, frames) row.

    Blocks of Conv2d(3x3, stride 2) -> [BatchNorm2d] -> activation, channels 32-64-128 (more blocks
    at 128 for grids over 32, so the last grid is at most 4 on its longer side), then flatten and
    [Dropout] and one Linear (the last module, so families can initialise it). ``audio`` averages over the time
    axis before the linear map (the features do not depend on the number of frames).
    """
    c, h, w = _check_grid(shape)
    blocks = _n_blocks(h if kind == "audio" else max(h, w))
    layers: list[nn.Module] = [nn.Unflatten(1, (c, h, w))]
    prev = c
    for width in _channels(blocks):
        layers += _block(prev, width, activation, batch_norm, transpose=False)
        prev = width
    fh, fw = _halved(h, blocks), _halved(w, blocks)
    if kind == "audio":
        layers.append(nn.AdaptiveAvgPool2d((fh, 1)))  # mean over time, mel bands kept
        fw = 1
    layers += [nn.Flatten(1), *([nn.Dropout(dropout)] if dropout > 0 else [])]
    layers.append(nn.Linear(prev * fh * fw, out_dim))
    return nn.Sequential(*layers)


class Crop2d(nn.Module):
    """Keep the top-left (height, width) of a (n, C, H', W') grid with H' >= height, W' >= width."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, : self.height, : self.width]


def make_conv_decoder(
    kind: ConvKind,
    shape: Sequence[int],
    in_dim: int,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
) -> nn.Sequential:
    """A conv decoder (n, in_dim) -> (n, C*H*W), mirroring :func:`make_conv_encoder`.

    Linear -> reshape to the encoder's last grid -> blocks of ConvTranspose2d(4x4, stride 2) ->
    [BatchNorm2d] -> activation (channels 128-64-32), a last transposed conv to C channels with no
    activation (preprocessed values are unconstrained reals), cropped to exactly (H, W), flattened.
    ``kind`` picks the number of blocks like the encoder's (audio by its mel bands).
    """
    c, h, w = _check_grid(shape)
    blocks = _n_blocks(h if kind == "audio" else max(h, w))
    chans = list(reversed(_channels(blocks)))
    fh, fw = _halved(h, blocks), _halved(w, blocks)
    layers: list[nn.Module] = [nn.Linear(in_dim, chans[0] * fh * fw), nn.Unflatten(1, (chans[0], fh, fw))]
    layers += [*([nn.BatchNorm2d(chans[0])] if batch_norm else []), ACTIVATIONS[activation]()]
    for c_in, c_out in itertools.pairwise(chans):
        layers += _block(c_in, c_out, activation, batch_norm, transpose=True)
    layers += [
        nn.ConvTranspose2d(chans[-1], c, kernel_size=4, stride=2, padding=1),
        Crop2d(h, w),
        nn.Flatten(1),
    ]
    return nn.Sequential(*layers)


def _device_of(module: nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def feature_width(module: nn.Module, shape: Sequence[int], name: str = "") -> int:
    """Features per sample of ``module`` on a (2, *shape) zero batch, run once in eval mode (the
    module's train / eval mode is restored after). ``name``: the modality, for the error message."""
    was_training = module.training
    module.eval()
    try:
        out = module(torch.zeros((2, *shape), device=_device_of(module)))
    finally:
        module.train(was_training)
    if not isinstance(out, Tensor) or out.ndim < 2 or out.shape[0] != 2:
        got = type(out).__name__ if not isinstance(out, Tensor) else f"a tensor of shape {tuple(out.shape)}"
        raise TypeError(
            f"The custom encoder of modality '{name}' must return one tensor of shape (n, features) "
            f"for n input rows of shape (n, {', '.join(str(v) for v in shape)}). Got {got}."
        )
    return int(out[0].numel())


def wrap_encoder(module: nn.Module, shape: Sequence[int], out_dim: int, name: str = "") -> nn.Sequential:
    """(n, prod(shape)) -> (n, out_dim): reshape rows to (n, *shape), the user's ``module``, flatten,
    one Linear(features -> out_dim) (the last module). ``module`` is used as given (not copied);
    ``name`` (the modality) goes into the error when it returns no (n, features) batch."""
    width = feature_width(module, shape, name)
    reshape: nn.Module = nn.Unflatten(1, tuple(shape)) if len(shape) > 1 else nn.Identity()
    return nn.Sequential(reshape, module, nn.Flatten(1), nn.Linear(width, out_dim))
