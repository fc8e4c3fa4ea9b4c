"""The CNN: training smoke test, calibration, ONNX/torch agreement, bad weight files."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # training and export need the train extra

from digitrec.errors import InputError, ModelError  # noqa: E402
from digitrec.models import load_model, load_saved, save_model  # noqa: E402
from digitrec.models.cnn import CnnModel  # noqa: E402
from digitrec.models.cnn.augment import Augment  # noqa: E402
from digitrec.models.cnn.calibrate import (  # noqa: E402
    expected_calibration_error,
    fit_temperature,
    rejection_table,
    risk_coverage,
    softmax_t,
)
from digitrec.models.cnn.export import export_saved, net_from_saved  # noqa: E402
from digitrec.models.cnn.net import DigitNet  # noqa: E402
from digitrec.models.cnn.pipeline import build_model  # noqa: E402
from digitrec.models.cnn.spec import ARCH, expected_shapes  # noqa: E402
from digitrec.models.cnn.train import TrainConfig, one_cycle, predict_logits, train  # noqa: E402

TINY_NET = {"widths": [4, 8, 8], "dropout": 0.0}


def bar_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: class c is a bright horizontal bar at rows 3c+1..3c+2."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 30, size=(n, 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, 3 * c : 3 * c + 3, 4:24] = 255
    return images, labels


class FakeData:
    """Just what the pipeline reads from :class:`digitrec.data.Data`."""

    name = "bars"
    fingerprint = "0" * 64
    checksums = {"train_images": "1" * 64}  # noqa: RUF012

    def __init__(self) -> None:
        self.train_images, self.train_labels = bar_digits(400, seed=1)
        self.test_images, self.test_labels = bar_digits(100, seed=2)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """The CI smoke test's product: a tiny CNN trained for one short epoch (seconds)."""
    out = tmp_path_factory.mktemp("cnn") / "tiny"
    # No augmentation: shifting the fake bars by 2 px would turn one class into another.
    config = TrainConfig(
        epochs=3,
        batch_size=32,
        holdout=80,
        max_lr=1e-2,
        net=TINY_NET,
        threads=1,
        seed=3,
        augment=False,
    )
    build_model(FakeData(), config, out, progress=False)
    return out


# -- training -----------------------------------------------------------------------------


def test_smoke_training_learns_and_writes_all_files(tiny_model_dir):
    card = json.loads((tiny_model_dir / "model.json").read_text())
    # Bars are trivially separable: chance is 10%, a working loop is far above it.
    assert card["metrics"]["accuracy"] >= 0.8
    assert card["training"]["history"][-1]["loss"] < card["training"]["history"][0]["loss"]
    assert card["training"]["config"]["seed"] == 3
    assert card["dataset"]["fingerprint"] == "0" * 64
    assert card["dataset"]["holdout_size"] == 80
    assert card["temperature"] > 0
    assert "digitrec" in card["code"]
    for name in ("model.safetensors", "model.onnx"):
        assert card["files"][name]["bytes"] == (tiny_model_dir / name).stat().st_size


def test_training_is_reproducible_from_the_seed():
    images, labels = bar_digits(128, seed=4)
    cfg = dict(epochs=1, batch_size=32, holdout=0, net=TINY_NET, threads=1, seed=7)
    a = train(images, labels, TrainConfig(**cfg), progress=False)
    b = train(images, labels, TrainConfig(**cfg), progress=False)
    assert not a.stopped_by_budget and a.schedule_done == 1.0 and "note" not in a.summary()
    for (ka, va), (kb, vb) in zip(
        a.net.state_dict().items(), b.net.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)


def test_training_with_augmentation_runs_and_reduces_loss():
    images, labels = bar_digits(256, seed=6)
    cfg = TrainConfig(epochs=2, batch_size=32, holdout=0, max_lr=1e-2, net=TINY_NET, threads=1)
    result = train(images, labels, cfg, progress=False)
    losses = [h["loss"] for h in result.history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_time_budget_stops_training_early(capsys):
    images, labels = bar_digits(3200, seed=5)
    cfg = TrainConfig(epochs=50, time_budget=1.0, batch_size=32, holdout=0, net=TINY_NET, threads=1)
    result = train(images, labels, cfg, progress=True)
    assert result.steps < 50 * 100  # far fewer than the 5,000 steps of 50 epochs
    assert result.seconds < 10
    # The run says it was cut short, and how much of the 50-epoch schedule it took.
    assert result.stopped_by_budget and result.total_steps == 50 * 100
    assert result.schedule_done == result.steps / 5000 and 0 < result.schedule_done < 1
    summary = result.summary()
    assert summary["stopped_by_budget"] is True
    assert summary["note"] == (
        f"stopped by the 1 s time budget after {result.steps:,} of 5,000 steps: "
        f"{result.schedule_done:.0%} of the 50-epoch schedule"
    )
    # One bar for the run, in seconds of the budget: no per-epoch bar with its steps and ETA.
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()
    shown = [line for line in bar if "epoch" in line]
    assert shown and all("s of budget" in line for line in shown)
    assert "100%" in shown[-1] and "1/1 s of budget" in shown[-1]
    assert not any("it/s" in line or "/100 [" in line for line in bar)


def test_one_cycle_warms_up_then_anneals():
    lrs = [one_cycle(p / 100, 1e-2, 0.2) for p in range(101)]
    assert lrs[0] == pytest.approx(1e-2 / 25)
    assert max(lrs) == pytest.approx(1e-2) and int(np.argmax(lrs)) == 20
    assert lrs[-1] == pytest.approx(1e-2 / 1e4)
    assert all(a >= b for a, b in itertools.pairwise(lrs[20:]))


def test_bad_training_input_is_refused():
    images, labels = bar_digits(64, seed=0)
    with pytest.raises(InputError, match="uint8"):
        train(images.astype(np.float32), labels, TrainConfig(holdout=0), progress=False)
    with pytest.raises(InputError, match="holdout"):
        train(images, labels, TrainConfig(holdout=64), progress=False)
    with pytest.raises(InputError, match="epochs"):
        train(images, labels, TrainConfig(epochs=0), progress=False)


def test_augment_keeps_shape_range_and_distorts():
    images, _ = bar_digits(16, seed=0)
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    y = Augment()(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert (y - x).abs().mean() > 0.01  # it changed the images
    # a digit stays mostly a digit: most ink survives the small distortion
    assert y.sum() / x.sum() > 0.8
    still = Augment().scaled(0.0)(x)
    assert torch.allclose(still, x, atol=1e-5)


def test_spec_lists_exactly_the_networks_tensors():
    net = DigitNet({"widths": [8, 16, 24], "dropout": 0.1})
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert got == expected_shapes(net.config)


# -- calibration --------------------------------------------------------------------------


def test_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 10))
    labels = np.array([rng.choice(10, p=p) for p in softmax_t(true_logits)])
    # a network 3x overconfident: its logits are the calibrated ones times 3
    t = fit_temperature(3 * true_logits, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(softmax_t(3 * true_logits), labels)
    after = expected_calibration_error(softmax_t(3 * true_logits, t), labels)
    assert after < before / 2


def test_ece_of_perfect_and_wrong_confidence():
    labels = np.array([0, 1, 2, 3])
    sure = np.eye(10)[labels]
    assert expected_calibration_error(sure, labels) == pytest.approx(0.0)
    assert expected_calibration_error(np.eye(10)[[1, 2, 3, 4]], labels) == pytest.approx(1.0)


def test_risk_coverage_and_rejection_agree():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])
    labels = np.array([0, 1, 1, 0])  # the 0.6 and 0.55 answers are wrong
    curve = risk_coverage(probs, labels)
    np.testing.assert_allclose(curve["coverage"], [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curve["risk"], [0, 0, 1 / 3, 0.5])
    rows = rejection_table(probs, labels, thresholds=(0.0, 0.7))
    assert rows[0] == pytest.approx(
        {"threshold": 0.0, "rejected": 0, "n_rejected": 0, "error": 0.5, "n_errors": 2}
    )
    assert rows[1]["n_rejected"] == 2 and rows[1]["error"] == 0.0


# -- inference on onnxruntime -------------------------------------------------------------


def test_onnxruntime_and_torch_agree(tiny_model_dir):
    saved = load_saved(tiny_model_dir)
    net = net_from_saved(saved)
    images, _ = bar_digits(50, seed=9)
    model = CnnModel.load(tiny_model_dir)
    want = predict_logits(net, images)
    np.testing.assert_allclose(model.logits(images), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(model.predict(images), want.argmax(1))


def test_loaded_model_offers_the_model_interface(tiny_model_dir):
    model = load_model(tiny_model_dir)
    assert isinstance(model, CnnModel)
    images, _ = bar_digits(30, seed=11)
    proba = model.predict_proba(images)
    assert proba.shape == (30, 10) and np.allclose(proba.sum(1), 1)
    assert model.predict(images).dtype == np.uint8
    np.testing.assert_array_equal(model.predict(images), proba.argmax(1))
    # the temperature is applied: probabilities are softmax(logits / T)
    np.testing.assert_allclose(proba, softmax_t(model.logits(images), model.temperature))
    assert model.meta["arch"] == ARCH and len(model.meta["sha256"]) == 64
    assert model.predict(images[0]).shape == (1,)  # one (28, 28) image is accepted
    with pytest.raises(InputError, match="uint8"):
        model.predict(images.astype(np.float32))


def test_export_cli_rewrites_onnx(tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from digitrec.cli import app

    target = tmp_path / "again.onnx"
    result = CliRunner().invoke(app, ["export", str(tiny_model_dir), "--onnx", str(target)])
    assert result.exit_code == 0, result.output
    import onnxruntime as ort

    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    images, _ = bar_digits(5, seed=3)
    got = session.run(None, {"images": images[:, None].astype(np.float32) / 255})[0]
    np.testing.assert_allclose(got, CnnModel.load(tiny_model_dir).logits(images), atol=1e-5)


# -- bad weight files ---------------------------------------------------------------------


def copy_model(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_truncated_weights_name_the_file(tiny_model_dir, tmp_path):
    bad = copy_model(tiny_model_dir, tmp_path / "bad")
    raw = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelError, match=r"bad.model\.safetensors.*(corrupt|truncated)"):
        load_model(bad)


def test_corrupted_weights_name_the_file(tiny_model_dir, tmp_path):
    bad = copy_model(tiny_model_dir, tmp_path / "bad")
    raw = bytearray((bad / "model.safetensors").read_bytes())
    raw[8:40] = b"\xff" * 32  # garble the JSON header
    (bad / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=r"model\.safetensors"):
        load_model(bad)


def test_weights_changed_after_export_are_caught(tiny_model_dir, tmp_path):
    bad = copy_model(tiny_model_dir, tmp_path / "bad")
    saved = load_saved(bad)
    arrays = {k: v * 1.01 if v.dtype.kind == "f" else v for k, v in saved.arrays.items()}
    save_model(bad, "cnn", arrays, saved.meta)
    with pytest.raises(ModelError, match=r"model\.onnx.*do not belong together"):
        load_model(bad)


def test_wrong_shape_weights_name_file_and_tensor(tiny_model_dir, tmp_path):
    saved = load_saved(tiny_model_dir)
    arrays = dict(saved.arrays)
    arrays["head.weight"] = np.zeros((10, 3), np.float32)
    save_model(tmp_path / "bad", "cnn", arrays, saved.meta)
    with pytest.raises(ModelError, match=r"bad.model\.safetensors.*head\.weight.*\(10, 3\)"):
        CnnModel.load(tmp_path / "bad")


def test_another_architecture_is_refused(tiny_model_dir, tmp_path):
    saved = load_saved(tiny_model_dir)
    save_model(tmp_path / "other", "cnn", saved.arrays, {**saved.meta, "arch": "resnet18"})
    with pytest.raises(ModelError, match=r"other.model\.safetensors.*resnet18"):
        load_model(tmp_path / "other")
    # same arch name, but the tensors are those of other widths
    save_model(tmp_path / "wide", "cnn", saved.arrays, {**saved.meta, "net": {"widths": [8] * 3}})
    with pytest.raises(ModelError, match=r"wide.model\.safetensors.*shape"):
        load_model(tmp_path / "wide")
    # a model of another kind
    save_model(tmp_path / "knn", "knn", {"x": np.zeros(3)}, {})
    with pytest.raises(ModelError, match=r"knn.model\.safetensors.*'cnn'"):
        CnnModel.load(tmp_path / "knn")


def test_missing_or_corrupt_onnx_names_the_file(tiny_model_dir, tmp_path):
    bad = copy_model(tiny_model_dir, tmp_path / "bad")
    (bad / "model.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(ModelError, match=r"bad.model\.onnx.*re-export"):
        load_model(bad)
    (bad / "model.onnx").unlink()
    with pytest.raises(ModelError, match=r"model\.onnx: missing.*digitrec export"):
        load_model(bad)
    export_saved(bad)  # the fix the message gives works
    assert load_model(bad).predict(bar_digits(3, 0)[0]).shape == (3,)


def test_a_pickle_posing_as_weights_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelError, match=r"model\.safetensors"):
        load_model(tmp_path / "evil")
    assert not marker.exists()


# -- report hook --------------------------------------------------------------------------


def test_cnn_vs_knn_metrics_and_figures(tiny_model_dir, tmp_path):
    from digitrec.experiments.cnn_section import cnn_vs_knn

    data = FakeData()
    model = CnnModel.load(tiny_model_dir)
    knn_pred = data.test_labels.copy()
    knn_pred[:7] = (knn_pred[:7] + 1) % 10  # a KNN that misses exactly 7 digits
    res = cnn_vs_knn(data, knn_pred, tmp_path / "fig", model=model, knn_proba=np.eye(10)[knn_pred])
    cnn_pred = model.predict(data.test_images)
    assert res["cnn"]["accuracy"] == pytest.approx((cnn_pred == data.test_labels).mean())
    assert res["knn"]["accuracy"] == pytest.approx(0.93) and res["knn"]["n_errors"] == 7
    assert np.trace(res["knn"]["confusion_matrix"]) == 93
    assert res["knn"]["ci95"]["correct"] == 93 and res["knn"]["ci95"]["n"] == 100
    assert res["cnn"]["ci95"]["low"] <= res["cnn"]["accuracy"] <= res["cnn"]["ci95"]["high"]
    a = res["agreement"]
    assert a["both_wrong"] + a["only_knn_wrong"] == 7
    assert a["both_wrong"] + a["only_cnn_wrong"] == res["cnn"]["n_errors"]
    for path in res["figures"].values():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="knn_predictions"):
        cnn_vs_knn(data, knn_pred[:5], tmp_path, model=model)


# -- command line -------------------------------------------------------------------------


def test_train_cnn_cli_then_evaluate(tmp_path, monkeypatch):
    """`digitrec train cnn` on a tiny registered data set, then `digitrec evaluate` on it."""
    import dataclasses
    import gzip
    import hashlib

    from typer.testing import CliRunner

    from digitrec.cli import app
    from digitrec.data import DATASETS, PARTS, write_idx
    from digitrec.data.registry import DataFile

    train_x, train_y = bar_digits(120, seed=1)
    test_x, test_y = bar_digits(40, seed=2)
    arrays = dict(zip(PARTS, (train_x, train_y, test_x, test_y), strict=True))
    base, files = DATASETS["mnist"], {}
    (tmp_path / "data").mkdir()
    for part in PARTS:
        spec = base.file(part)
        content = write_idx(None, arrays[part], compress=False)
        packed = gzip.compress(content, mtime=0)
        (tmp_path / "data" / spec.name).write_bytes(packed)
        files[part] = DataFile(
            spec.name,
            hashlib.sha256(content).hexdigest(),
            hashlib.md5(packed).hexdigest(),
            arrays[part].shape,
        )
    monkeypatch.setitem(
        DATASETS, "bars", dataclasses.replace(base, name="bars", files=files, mirrors=())
    )
    common = ["--dataset", "bars", "--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    args = ["train", "cnn", "--epochs", "2", "--batch-size", "16", "--holdout", "20"]
    args += ["--widths", "4,8,8", "--threads", "1", "--no-augment", "--out", str(tmp_path / "m")]
    result = runner.invoke(app, args + common)
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["net"]["widths"] == [4, 8, 8] and card["dataset"]["name"] == "bars"
    assert card["training"]["stopped_by_budget"] is False and "note:" not in result.output

    # Cut short by --time-budget: the console and the model card say so, with the share.
    budget = ["--epochs", "100000", "--time-budget", "1", "--out", str(tmp_path / "b")]
    result = runner.invoke(app, args[:-2] + budget + common)
    assert result.exit_code == 0, result.output
    training = json.loads((tmp_path / "b" / "model.json").read_text())["training"]
    assert training["stopped_by_budget"] is True and 0 < training["schedule_done"] < 1
    assert "note: stopped by the 1 s time budget" in result.output
    assert f"{training['schedule_done']:.0%} of the 100000-epoch schedule" in result.output
    saved = load_saved(tmp_path / "b", kind="cnn").meta["training"]
    assert saved["note"] == training["note"]  # in the weights file's metadata too

    result = runner.invoke(app, ["evaluate", str(tmp_path / "m"), "--json", *common])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(card["metrics"]["accuracy"])

    bad = runner.invoke(app, ["train", "cnn", "--widths", "4,x", *common])
    assert isinstance(bad.exception, InputError) and "--widths" in str(bad.exception)


def test_int8_quantisation_keeps_predictions_and_origin(tiny_model_dir, tmp_path):
    pytest.importorskip("onnx")
    from digitrec.models.cnn.export import quantize_int8

    calib, _ = bar_digits(200, seed=21)
    out = quantize_int8(tiny_model_dir / "model.onnx", calib, tmp_path / "q" / "model.onnx")
    (tmp_path / "q" / "model.safetensors").write_bytes(
        (tiny_model_dir / "model.safetensors").read_bytes()
    )
    quant = CnnModel.load(out.parent)  # same weights sha256 recorded: it loads
    images, _ = bar_digits(100, seed=22)
    agree = (quant.predict(images) == CnnModel.load(tiny_model_dir).predict(images)).mean()
    assert agree >= 0.95
