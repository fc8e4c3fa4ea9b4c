"""`digitrec predict`: files, folders, globs, JSON, and per-file errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner
from vision_helpers import draw_strokes

from digitrec.cli import app
from digitrec.models.knn import KnnModel


@pytest.fixture
def knn_dir(tmp_path):
    """A tiny saved KNN (one random image per class, k=3: top probability 1/3)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    path = tmp_path / "knn"
    KnnModel(k=3, factor=1).fit(images, np.arange(10)).save(path)
    return path


def _predict(*args: str):
    # In process (CliRunner) rather than a subprocess: the same code, seconds faster.
    return CliRunner().invoke(app, ["predict", *args])


def test_predict_json_files_folders_globs_and_errors(tmp_path, knn_dir):
    pics = tmp_path / "pics"
    pics.mkdir()
    draw_strokes().save(pics / "a.png")
    draw_strokes(n=2).save(pics / "b.jpg")
    (pics / "broken.png").write_bytes(b"not an image at all")
    run = _predict(str(pics), str(tmp_path / "pics" / "*.jpg"), "--model", str(knn_dir), "--json")
    assert run.exit_code == 0, run.output
    rows = json.loads(run.stdout)
    assert [r["path"].rsplit("/", 1)[1] for r in rows] == ["a.png", "b.jpg", "broken.png", "b.jpg"]
    a, b, broken, _ = rows
    assert len(a["text"]) == 3 and len(b["text"]) == 2
    for digit in a["digits"]:
        assert set(digit) >= {"digit", "confidence", "box"} and len(digit["box"]) == 4
    assert a["confidence"] == min(d["confidence"] for d in a["digits"])
    assert "broken.png" in broken["error"] and "expected an image" in broken["error"]


def test_predict_text_mode_and_all_failed_exit(tmp_path, knn_dir):
    draw_strokes().save(tmp_path / "a.png")
    run = _predict(str(tmp_path / "a.png"), "--model", str(knn_dir), "--min-confidence", "0.5")
    assert run.exit_code == 0, run.output
    path, text, conf = run.stdout.strip().split("\t")
    assert path.endswith("a.png") and text == "???" and 0 <= float(conf) <= 1
    (tmp_path / "bad.png").write_bytes(b"")
    run = _predict(str(tmp_path / "bad.png"), str(tmp_path / "gone.png"), "--model", str(knn_dir))
    assert run.exit_code == 1
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and all("\terror: " in line for line in lines)
