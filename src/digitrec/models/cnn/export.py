"""Weights <-> PyTorch <-> ONNX: the only place a saved CNN meets torch.

Weights are stored as safetensors (plain tensors, never pickle). ONNX is
exported from them so that inference runs on onnxruntime without torch; the
ONNX file records the sha256 of the weights file it came from, and loading
checks that the pair belongs together.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from digitrec._files import atomic_write
from digitrec.models.cnn.net import DigitNet
from digitrec.models.cnn.spec import check_arrays, expected_shapes, file_sha256

__all__ = [
    "ONNX_INPUT",
    "ONNX_OUTPUT",
    "check_arrays",
    "export_onnx",
    "export_saved",
    "file_sha256",
    "net_from_saved",
    "quantize_int8",
    "state_arrays",
]

ONNX_INPUT = "images"  # float32 (n, 1, 28, 28), pixels / 255
ONNX_OUTPUT = "logits"  # float32 (n, 10), before temperature scaling


def state_arrays(net: DigitNet) -> dict[str, np.ndarray]:
    """The network's state dict as contiguous numpy arrays (ready for safetensors)."""
    return {k: v.detach().cpu().contiguous().numpy() for k, v in net.state_dict().items()}


def net_from_saved(saved) -> DigitNet:
    """Rebuild the PyTorch network from a :class:`~digitrec.models.store.SavedModel`."""
    config = check_arrays(saved.path, saved.meta, saved.arrays)
    net = DigitNet(config)
    shapes = expected_shapes(config)
    net.load_state_dict(
        {k: torch.from_numpy(np.array(v).reshape(shapes[k])) for k, v in saved.arrays.items()}
    )
    return net.eval()


def export_onnx(
    net: DigitNet, path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``net`` as ONNX (dynamic batch size), atomically.

    Parameters
    ----------
    net : DigitNet
        The network (exported in evaluation mode, on the CPU).
    path : path-like
        Destination ``.onnx`` file.
    metadata : dict of str, optional
        Stored as ONNX ``metadata_props`` (e.g. ``weights_sha256``).
    """
    import onnx

    net = DigitNet(net.config).eval()._load_from(net)

    def write(tmp: Path) -> None:
        # The TorchScript-based exporter (dynamo=False) needs no extra package and
        # handles this plain conv net exactly; opset 17 runs on any recent onnxruntime.
        torch.onnx.export(
            net,
            (torch.zeros(1, 1, 28, 28),),
            str(tmp),
            input_names=[ONNX_INPUT],
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUT: {0: "n"}, ONNX_OUTPUT: {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
        model = onnx.load(str(tmp))
        for key, value in (metadata or {}).items():
            prop = model.metadata_props.add()
            prop.key, prop.value = key, str(value)
        model.doc_string = "digitrec CNN: images float32 (n,1,28,28) in [0,1] -> logits (n,10)"
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))

    return atomic_write(path, write)


def export_saved(weights: str | os.PathLike, onnx_path: str | os.PathLike | None = None) -> Path:
    """Export a saved CNN (folder or ``.safetensors``) to ONNX next to it or at ``onnx_path``."""
    from digitrec.models.store import load_saved

    saved = load_saved(weights, kind="cnn")
    net = net_from_saved(saved)
    target = Path(onnx_path) if onnx_path else saved.path.with_suffix(".onnx")
    return export_onnx(net, target, onnx_metadata(saved.path, saved.meta))


def onnx_metadata(weights_path: Path, meta: dict[str, Any]) -> dict[str, str]:
    """What the ONNX file records about its origin."""
    return {
        "weights_sha256": file_sha256(weights_path),
        "arch": str(meta.get("arch")),
        "temperature": str(meta.get("temperature", 1.0)),
        "digitrec_version": str(meta.get("digitrec_version", "")),
    }


def quantize_int8(
    onnx_path: str | os.PathLike, calibration_images: np.ndarray, out_path: str | os.PathLike
) -> Path:
    """Static int8 quantisation of an exported CNN with onnxruntime's tools.

    Weights are quantised per output channel (int8), activations per tensor
    (uint8) with ranges observed on ``calibration_images`` (uint8 (n, 28, 28);
    a few hundred training images suffice). The origin metadata is kept.

    Parameters
    ----------
    onnx_path : path-like
        A float ONNX file written by :func:`export_onnx`.
    calibration_images : ndarray
        Images that set the activation ranges (never the test set).
    out_path : path-like
        Where to write the int8 model.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    batches = [
        {ONNX_INPUT: calibration_images[i : i + 100, None].astype(np.float32) / 255}
        for i in range(0, len(calibration_images), 100)
    ]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self):
            return next(self._it, None)

    out_path = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(onnx_path), str(pre))
        staged = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre),
            str(staged),
            Reader(),
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )
        model = onnx.load(str(staged))
        del model.metadata_props[:]
        for prop in onnx.load(str(onnx_path)).metadata_props:
            model.metadata_props.add(key=prop.key, value=prop.value)
        model.metadata_props.add(key="quantization", value="static int8, per-channel weights")
        onnx.save(model, str(staged))
        return atomic_write(out_path, staged.read_bytes())
