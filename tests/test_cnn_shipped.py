"""The pretrained CNN shipped in the package, on the real MNIST test set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from digitrec.models import load_model
from digitrec.models.cnn import DEFAULT_MODEL_DIR, CnnModel
from digitrec.models.cnn.spec import file_sha256

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def real_mnist(mnist):
    """The shared session fixture (skips without DIGITREC_DATA_DIR)."""
    return mnist


@pytest.fixture(scope="module")
def shipped() -> CnnModel:
    return load_model("default")


@pytest.mark.slow  # 10,000 test digits through the CNN
def test_shipped_model_reaches_99_6_percent(shipped, real_mnist):
    pred = shipped.predict(real_mnist.test_images)
    accuracy = float((pred == real_mnist.test_labels).mean())
    assert accuracy >= 0.996
    # the model card tells the truth about it
    assert accuracy == pytest.approx(shipped.meta["metrics"]["accuracy"], abs=1e-4)


@pytest.mark.slow  # the CLI on the 10,000 test digits
def test_evaluate_default_json(real_mnist):
    from typer.testing import CliRunner

    from digitrec.cli import app

    result = CliRunner().invoke(app, ["evaluate", "default", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["accuracy"] >= 0.996 and metrics["n_test"] == 10000


def test_shipped_metadata_records_its_origin(shipped, real_mnist):
    meta = shipped.meta
    assert meta["dataset"]["fingerprint"] == real_mnist.fingerprint
    assert meta["dataset"]["checksums"] == real_mnist.checksums
    assert meta["sha256"] == file_sha256(DEFAULT_MODEL_DIR / "model.safetensors")
    assert meta["training"]["config"]["seed"] == 0 and meta["training"]["seconds"] > 0
    assert meta["code"]["digitrec"] and meta["temperature"] > 0
    card = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    assert card["files"]["model.safetensors"]["sha256"] == meta["sha256"]
    for name in ("model.safetensors", "model.onnx"):
        assert (DEFAULT_MODEL_DIR / name).stat().st_size < 2_000_000


def test_shipped_onnx_agrees_with_torch(shipped, real_mnist):
    pytest.importorskip("torch")
    from digitrec.models import load_saved
    from digitrec.models.cnn.export import net_from_saved
    from digitrec.models.cnn.train import predict_logits

    images = real_mnist.test_images[:1000]
    net = net_from_saved(load_saved(DEFAULT_MODEL_DIR))
    want = predict_logits(net, images)
    np.testing.assert_allclose(shipped.logits(images), want, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(shipped.predict(images), want.argmax(1))


@pytest.mark.slow  # 10,000 test digits through the CNN
def test_shipped_calibration_is_good(shipped, real_mnist):
    from digitrec.models.cnn.calibrate import expected_calibration_error

    probs = shipped.predict_proba(real_mnist.test_images)
    assert expected_calibration_error(probs, real_mnist.test_labels) < 0.01


def test_reading_digits_needs_no_torch():
    code = (
        "import sys, numpy as np\n"
        "from digitrec.models import load_model\n"
        "m = load_model('default')\n"
        "p = m.predict_proba(np.zeros((2, 28, 28), np.uint8))\n"
        "assert p.shape == (2, 10)\n"
        "assert 'torch' not in sys.modules, 'inference imported torch'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_default_model_is_named_default(shipped):
    assert shipped.meta["name"] == "default" and shipped.meta["accuracy"] >= 0.996
