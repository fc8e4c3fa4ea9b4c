"""The classical leaderboard, on tiny synthetic digits."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from digitrec.errors import InputError
from digitrec.experiments.leaderboard import (
    ENTRIES,
    PUBLISHED,
    run_leaderboard,
    write_leaderboard,
)


def _tiny_data(n_train: int = 90, n_test: int = 45, seed: int = 0) -> SimpleNamespace:
    """Three classes: a slanted bar at one of three positions, with noise."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = np.arange(n) % 3
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            col = 6 + 7 * label
            slant = rng.uniform(-0.3, 0.3)
            for r in range(6, 22):
                c = round(col + slant * (r - 14))
                images[i, r, c : c + 3] = 255
        return images, labels

    (xtr, ytr), (xte, yte) = make(n_train), make(n_test)
    return SimpleNamespace(
        name="tiny", train_images=xtr, train_labels=ytr, test_images=xte, test_labels=yte
    )


def test_every_model_learns_and_is_timed():
    data = _tiny_data()
    result = run_leaderboard(data, list(ENTRIES))
    assert [row["key"] for row in result["rows"]] == list(ENTRIES)
    for row in result["rows"]:
        assert 0.0 <= row["test_error_pct"] < 10.0, row  # easy data: all should learn it
        assert row["train_s"] >= 0 and row["predict_s"] >= 0
        assert row["published"]["error_pct"] == PUBLISHED[row["published"]["key"]]["error_pct"]
    assert result["n_train"] == 90 and result["n_test"] == 45


def test_train_size_and_model_subset():
    data = _tiny_data()
    steps = []
    result = run_leaderboard(data, ["knn_raw"], train_size=30, on_step=steps.append)
    assert result["n_train"] == 30
    assert [row["key"] for row in result["rows"]] == ["knn_raw"]
    assert len(steps) == 2


def test_writes_json_and_html(tmp_path):
    result = run_leaderboard(_tiny_data(), ["knn_study", "knn_deskew"])
    paths = write_leaderboard(result, tmp_path / "lb")
    assert json.loads(paths["json"].read_text()) == result
    page = paths["html"].read_text()
    for row in result["rows"]:
        assert row["model"] in page
    assert "3.09" in page and "1.10" in page  # the published figures
    assert sorted(p.name for p in (tmp_path / "lb").iterdir()) == [
        "leaderboard.html",
        "leaderboard.json",
    ]


def test_bad_arguments(tmp_path):
    data = _tiny_data()
    with pytest.raises(InputError, match="unknown 'nope'"):
        run_leaderboard(data, ["nope"])
    with pytest.raises(InputError, match="train_size=1000"):
        run_leaderboard(data, ["knn_raw"], train_size=1000)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="expected a folder"):
        write_leaderboard({"rows": []}, blocker)


@pytest.mark.mnist
def test_cli_on_real_mnist(tmp_path, mnist_dir, monkeypatch):
    from typer.testing import CliRunner

    from digitrec.cli import app

    monkeypatch.setenv("DIGITREC_DATA_DIR", str(mnist_dir))
    res = CliRunner().invoke(
        app,
        ["leaderboard", "--models", "knn_study", "--train-size", "2000", "--out", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "leaderboard.json").read_text())
    (row,) = result["rows"]
    assert result["n_train"] == 2000 and result["n_test"] == 10_000
    assert 3.0 < row["test_error_pct"] < 15.0
