"""The shipped line model loads checked; damaged or foreign files give a clear ModelError."""

from __future__ import annotations

import shutil

import pytest

from digitrec.errors import ModelError
from digitrec.lines.infer import DEFAULT_LINES_DIR, LineModel
from digitrec.models.cnn.infer import DEFAULT_MODEL_DIR


@pytest.fixture
def copy(tmp_path):
    folder = tmp_path / "lines"
    shutil.copytree(DEFAULT_LINES_DIR, folder)
    return folder


def test_shipped_model_loads_and_is_small():
    model = LineModel.load()
    assert model.meta["arch"] == "digitrec-lines-crnn-v1"
    assert model.calibration["x"] and model.calibration["y"]
    for name in ("model.safetensors", "model.onnx"):
        assert (DEFAULT_LINES_DIR / name).stat().st_size < 2_000_000


def test_truncated_onnx(copy):
    onnx = copy / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:5000])
    with pytest.raises(ModelError, match=r"model\.onnx: onnxruntime cannot load it"):
        LineModel.load(copy)


def test_corrupt_weights(copy):
    w = copy / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[:8] = b"\xff" * 8  # an impossible header length
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.safetensors: expected a safetensors model file"):
        LineModel.load(copy)


def test_weights_changed_after_export(copy):
    w = copy / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="do not belong together"):
        LineModel.load(copy)


def test_foreign_model_the_digit_cnn(copy):
    shutil.copy(DEFAULT_MODEL_DIR / "model.safetensors", copy / "model.safetensors")
    with pytest.raises(ModelError, match="expected a 'lines' model, found a 'cnn' model"):
        LineModel.load(copy)


def test_missing_onnx(copy):
    (copy / "model.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        LineModel.load(copy)


def test_not_a_model_at_all(tmp_path):
    (tmp_path / "model.safetensors").write_text("hello")
    with pytest.raises(ModelError):
        LineModel.load(tmp_path)
