"""The network: a compact batch-normalised CNN for 28x28 digits (PyTorch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from digitrec.models.cnn.spec import DEFAULT_CONFIG, check_config, conv_layers

__all__ = ["MNIST_MEAN", "MNIST_STD", "DigitNet", "build_net"]

# Pixel statistics of the MNIST training set (scaled to [0, 1]); the network
# normalises its own input, so callers and the ONNX graph only divide by 255.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


class ConvBN(nn.Module):
    """3x3 convolution, batch norm, ReLU (the conv has no bias: BN supplies one)."""

    def __init__(self, cin: int, cout: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class DigitNet(nn.Module):
    """Six 3x3 conv-BN-ReLU layers in three stages, global average pooling, a linear head.

    Parameters
    ----------
    config : dict
        ``widths`` (three channel counts) and ``dropout``; see
        :data:`digitrec.models.cnn.spec.DEFAULT_CONFIG`.

    Notes
    -----
    Input: float tensor (n, 1, 28, 28) with pixels in [0, 1]. Output: logits (n, 10).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = check_config(DEFAULT_CONFIG if config is None else config)
        self.convs = nn.ModuleList(ConvBN(*layer) for layer in conv_layers(self.config))
        self.drop = nn.Dropout(self.config["dropout"])
        self.head = nn.Linear(self.config["widths"][-1], 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - MNIST_MEAN) / MNIST_STD
        for i, layer in enumerate(self.convs):
            x = layer(x)
            if i in (1, 3):  # end of the 28x28 and 14x14 stages
                x = torch.nn.functional.max_pool2d(x, 2)
        x = x.mean(dim=(2, 3))
        return self.head(self.drop(x))

    def _load_from(self, other: DigitNet) -> DigitNet:
        """Copy ``other``'s weights into this network (contiguous, on the CPU)."""
        state = other.state_dict()
        self.load_state_dict({k: v.detach().cpu().contiguous() for k, v in state.items()})
        return self


def build_net(config: dict[str, Any] | None = None) -> DigitNet:
    """A freshly initialised :class:`DigitNet` (seed torch first for reproducibility)."""
    return DigitNet(config)
