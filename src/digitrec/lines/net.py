"""The line network (PyTorch): a small convolutional stack, a BiLSTM and a CTC head.

Input: float (n, 1, 32, W), 0 = paper, 1 = ink. Output: logits (n, W / 4, 16)
over the CTC blank and :data:`~digitrec.lines.spec.CLASSES`. A strided first
convolution and a 2x2 pooling (full resolution is the costliest; CPU training
must be cheap), then two 2x1 poolings leave 2 rows; their features are flattened per column
and read by a bidirectional LSTM, so each frame sees the whole line.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from digitrec.lines.spec import CLASSES, HEIGHT

__all__ = ["DEFAULT_CONFIG", "LineNet"]

#: widths: channels of the four conv stages; hidden: LSTM units per direction.
DEFAULT_CONFIG: dict[str, Any] = {"widths": [16, 32, 64, 96], "proj": 128, "hidden": 96}


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class LineNet(nn.Module):
    """Conv (32 -> 2 rows, width / 4) -> linear projection -> BiLSTM -> per-frame logits."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = dict(DEFAULT_CONFIG if config is None else config)
        w1, w2, w3, w4 = self.config["widths"]
        self.c1, self.c2 = _block(1, w1, stride=2), _block(w1, w2)
        self.c3, self.c4 = _block(w2, w3), _block(w3, w4)
        rows = HEIGHT // 16
        self.proj = nn.Linear(w4 * rows, self.config["proj"])
        self.rnn = nn.LSTM(
            self.config["proj"], self.config["hidden"], batch_first=True, bidirectional=True
        )
        self.head = nn.Linear(2 * self.config["hidden"], len(CLASSES) + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = nn.functional.max_pool2d
        x = pool(self.c1(x), 2)  # strided, then pooled: 8 x W/4
        x = self.c2(x)
        x = pool(self.c3(x), (2, 1))  # 4 x W/4
        x = pool(self.c4(x), (2, 1))  # 2 x W/4
        n, c, h, w = x.shape
        x = x.permute(0, 3, 1, 2).reshape(n, w, c * h)
        x = torch.relu(self.proj(x))
        x, _ = self.rnn(x)
        return self.head(x)
