import gzip
import json
import os
import subprocess
import sys

from cli_helpers import run
from data_helpers import TINY


def test_fetch_prints_verified_paths(monkeypatch, capsys, tiny_dir):
    code, out, err = run(
        monkeypatch, capsys, "fetch", "--dataset", TINY, "--data-dir", str(tiny_dir)
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [
        "train_images", "train_labels", "test_images", "test_labels",
    ]  # fmt: skip
    assert "verified" in err


def test_error_is_one_line_without_traceback(monkeypatch, capsys, tiny_dir):
    path = tiny_dir / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0x01
    path.write_bytes(gzip.compress(bytes(raw)))
    code, _, err = run(monkeypatch, capsys, "fetch", "--dataset", TINY, "--data-dir", str(tiny_dir))
    assert code == 1
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "train-labels-idx1-ubyte.gz: content sha256 mismatch" in err


def test_train_then_evaluate_json(monkeypatch, capsys, tiny_dir, tmp_path):
    model_dir = tmp_path / "model"
    code, _, err = run(
        monkeypatch, capsys, "train", "knn", "--k", "3", "--out", str(model_dir),
        "--dataset", TINY, "--data-dir", str(tiny_dir),
    )  # fmt: skip
    assert code == 0, err
    assert (model_dir / "model.safetensors").is_file()
    code, out, err = run(
        monkeypatch, capsys, "evaluate", str(model_dir), "--json",
        "--dataset", TINY, "--data-dir", str(tiny_dir),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] > 0.9
    assert len(result["confusion_matrix"]) == 10
    from digitrec.models import load_model

    meta = load_model(model_dir).meta
    assert meta["metrics"]["accuracy"] == result["accuracy"]
    assert meta["params"] == {"k": 3}
    assert len(meta["dataset"]["fingerprint"]) == 64


def test_evaluate_missing_model(monkeypatch, capsys, tiny_dir, tmp_path):
    code, _, err = run(
        monkeypatch, capsys, "evaluate", str(tmp_path / "nope"),
        "--dataset", TINY, "--data-dir", str(tiny_dir),
    )  # fmt: skip
    assert code == 1 and "no model file there" in err


def test_usage_error_exit_code(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", "knn", "--k", "0")
    assert code == 2 and "Traceback" not in err


def test_console_script_runs_as_module(tmp_path):
    env = {**os.environ, "DIGITREC_DATA_DIR": str(tmp_path / "empty")}
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "digitrec", "fetch"], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "data folder is missing train-images-idx3-ubyte.gz" in proc.stderr
