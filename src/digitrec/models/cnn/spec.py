"""The CNN's architecture as plain data: layer names and tensor shapes, no torch.

Inference runs on onnxruntime and must check a weights file without importing
torch, so the list of tensors an architecture owns lives here. The PyTorch
network in :mod:`digitrec.models.cnn.net` is built from the same description,
and a test checks that the two agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from digitrec._files import sha256 as file_sha256
from digitrec.errors import InputError, ModelError

__all__ = [
    "ARCH",
    "DEFAULT_CONFIG",
    "check_arrays",
    "check_config",
    "conv_layers",
    "expected_shapes",
    "file_sha256",
]

#: Architecture identifier stored in every saved CNN; bump it when the layout changes.
ARCH = "digitrec-cnn-v1"

#: widths: channels of the three stages (28x28, 14x14, 7x7).
#: dropout: dropout rate before the classifier.
DEFAULT_CONFIG: dict[str, Any] = {"widths": [32, 64, 128], "dropout": 0.1}


def check_config(config: Any) -> dict[str, Any]:
    """Validate an architecture config and return a clean copy.

    Raises
    ------
    ValueError
        If ``widths`` is not three positive ints or ``dropout`` is not in [0, 1).
    """
    if not isinstance(config, dict):
        raise InputError(f"expected a dict config, found {type(config).__name__}")
    widths = config.get("widths")
    if (
        not isinstance(widths, list)
        or len(widths) != 3
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
    ):
        raise InputError(f"widths: expected three positive ints, found {widths!r}")
    dropout = config.get("dropout", 0.0)
    if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
        raise InputError(f"dropout: expected a number in [0, 1), found {dropout!r}")
    return {"widths": list(widths), "dropout": float(dropout)}


def conv_layers(config: dict[str, Any]) -> list[tuple[int, int, int]]:
    """The convolutions as (in_channels, out_channels, padding), in order.

    Stage 1 and 2 are two padded 3x3 convolutions followed by 2x2 max pooling
    (28 -> 14 -> 7); stage 3 is two unpadded 3x3 convolutions (7 -> 5 -> 3)
    before global average pooling. Each convolution is followed by batch norm.
    """
    w1, w2, w3 = config["widths"]
    return [(1, w1, 1), (w1, w1, 1), (w1, w2, 1), (w2, w2, 1), (w2, w3, 0), (w3, w3, 0)]


def expected_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor name in a saved state dict and its shape.

    Names follow the PyTorch module layout of :class:`~digitrec.models.cnn.net.DigitNet`.
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (cin, cout, _) in enumerate(conv_layers(config)):
        shapes[f"convs.{i}.conv.weight"] = (cout, cin, 3, 3)
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"convs.{i}.bn.{name}"] = (cout,)
        shapes[f"convs.{i}.bn.num_batches_tracked"] = ()
    last = config["widths"][-1]
    shapes["head.weight"] = (10, last)
    shapes["head.bias"] = (10,)
    return shapes


def check_arrays(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict:
    """Check that ``arrays`` are exactly the tensors of the architecture ``meta`` names.

    Returns the validated network config; raises :class:`ModelError` naming ``path``.
    """
    arch = meta.get("arch")
    if arch != ARCH:
        raise ModelError(
            f"{path}: expected a CNN of architecture {ARCH!r}, found {arch!r}; this file was "
            "made by another digitrec version or for another network: retrain it with "
            "`digitrec train cnn`"
        )
    try:
        config = check_config(meta.get("net"))
    except InputError as exc:
        raise ModelError(f"{path}: invalid network config in metadata ({exc})") from exc
    want = expected_shapes(config)
    missing = sorted(set(want) - set(arrays))
    extra = sorted(set(arrays) - set(want))
    if missing or extra:
        raise ModelError(
            f"{path}: tensors do not match architecture {ARCH} {config['widths']}: "
            f"missing {missing[:3]}, unexpected {extra[:3]}; the file is from another network"
        )
    for name, shape in want.items():
        found = tuple(arrays[name].shape)
        # safetensors stores a 0-d counter (num_batches_tracked) as shape (1,)
        if found != shape and not (shape == () and found == (1,)):
            raise ModelError(
                f"{path}: tensor {name!r} has shape {found}, expected "
                f"{shape} for architecture {ARCH} {config['widths']}; the file is damaged or "
                "from another network"
            )
        if arrays[name].dtype.kind == "f" and not np.isfinite(arrays[name]).all():
            raise ModelError(f"{path}: tensor {name!r} holds NaN or infinite values")
    return config
