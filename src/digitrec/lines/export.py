"""Save a trained line network: safetensors (weights + metadata), ONNX, model.json.

The only place the line model meets torch besides training. The ONNX file
records the sha256 of the weights file it was exported from; inference checks
that the pair belongs together (see :mod:`digitrec.lines.infer`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from digitrec._files import atomic_write
from digitrec.lines.net import LineNet
from digitrec.lines.spec import ARCH, CLASSES, HEIGHT
from digitrec.models.cnn.spec import file_sha256
from digitrec.models.store import save_model

__all__ = ["KIND", "ONNX_INPUT", "ONNX_OUTPUT", "save_line_model"]

KIND = "lines"
ONNX_INPUT = "lines"  # float32 (n, 1, 32, W), 0 = paper, 1 = ink
ONNX_OUTPUT = "logits"  # float32 (n, W / 4, 16): blank + CLASSES


def _export_onnx(net: LineNet, path: Path, metadata: dict[str, str]) -> None:
    def write(tmp: Path) -> None:
        torch.onnx.export(
            net.eval(),
            (torch.zeros(1, 1, HEIGHT, 160),),
            str(tmp),
            input_names=[ONNX_INPUT],
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUT: {0: "n", 3: "width"}, ONNX_OUTPUT: {0: "n", 1: "frames"}},
            opset_version=17,
            dynamo=False,
        )
        _stamp(str(tmp), metadata)

    atomic_write(path, write)


def _stamp(onnx_file: str, metadata: dict[str, str]) -> None:
    """Record the origin in the ONNX file's metadata and check the graph."""
    import onnx

    model = onnx.load(onnx_file)
    model.metadata_props.extend(
        onnx.StringStringEntryProto(key=k, value=str(v)) for k, v in metadata.items()
    )
    model.doc_string = f"digitrec line reader: {ONNX_INPUT} -> CTC {ONNX_OUTPUT}"
    onnx.checker.check_model(model)
    onnx.save(model, onnx_file)


def save_line_model(net: LineNet, folder: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write ``model.safetensors``, ``model.onnx`` and ``model.json`` into ``folder``.

    Parameters
    ----------
    net : LineNet
        The trained network (moved to the CPU, evaluation mode).
    folder : path-like
        Destination folder (created).
    meta : dict
        JSON metadata (calibration, metrics, training record); ``arch``,
        ``net``, ``classes`` and ``height`` are added.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    net = net.cpu().eval()
    arrays = {k: v.detach().contiguous().numpy() for k, v in net.state_dict().items()}
    full = {
        **meta,
        "arch": ARCH,
        "net": net.config,
        "classes": CLASSES,
        "height": HEIGHT,
        "shapes": {k: list(v.shape) for k, v in arrays.items()},
    }
    weights = save_model(folder, KIND, arrays, full)
    _export_onnx(net, folder / "model.onnx", {"weights_sha256": file_sha256(weights), "arch": ARCH})
    card = {
        **full,
        "files": {p: file_sha256(folder / p) for p in ("model.safetensors", "model.onnx")},
    }
    card.pop("shapes")
    atomic_write(folder / "model.json", (json.dumps(card, indent=2) + "\n").encode())
    return folder


def state_from_arrays(net: LineNet, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Tensors for ``net.load_state_dict`` from saved arrays (0-d counters come back as (1,))."""
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    return {k: torch.from_numpy(np.array(v).reshape(shapes[k])) for k, v in arrays.items()}
