"""Line training: the replay pool, reproducible feeds, a short run that saves a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitrec.lines.feed import LineFeed, ReplayPool
from digitrec.lines.spec import STRIDE, decode_label, encode_label


def _line(width: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    return np.full((32, width), width % 251, np.uint8), encode_label(label)


def test_pool_replaces_the_oldest_line_when_full():
    pool = ReplayPool(3, np.random.default_rng(0))
    pool.add(_line(w, "1") for w in (10, 20, 30, 40, 50))
    assert len(pool) == 3 and pool.added == 5
    assert sorted(x.shape[1] for x in pool.xs) == [30, 40, 50]


def test_pool_batches_are_ctc_ready_and_sorted_by_width():
    pool = ReplayPool(100, np.random.default_rng(0))
    widths = np.random.default_rng(1).integers(20, 400, size=100)
    pool.add(_line(int(w), "12X3") for w in widths)
    batches = pool.batches(8, n=4)
    assert len(batches) == 4
    widest_before = 0
    for x, targets, in_len, tgt_len in batches:
        assert x.shape[0] == 8 and x.shape[1:3] == (1, 32) and x.shape[3] % STRIDE == 0
        assert x.dtype == torch.float32 and float(x.max()) <= 1.0
        assert decode_label(targets[:4]) == "12X3" and tgt_len.tolist() == [4] * 8
        # padded to the widest line of the batch, rounded up to whole frames
        assert int(in_len.max()) * STRIDE <= x.shape[3] < (int(in_len.max()) + 2) * STRIDE
        # sorted: each batch starts no narrower than the previous one ended
        assert int(in_len.min()) >= widest_before
        widest_before = int(in_len.max())


@pytest.mark.slow
def test_local_feed_is_reproducible_from_its_seed(mnist_dir, font_files):
    a, b = LineFeed(4, seed=3, workers=0, warm=8), LineFeed(4, seed=3, workers=0, warm=8)
    for _ in range(3):
        xa, ta, _, _ = next(a)
        xb, tb, _, _ = next(b)
        assert torch.equal(xa, xb) and torch.equal(ta, tb)
    # four lines per batch; the warm-up, then one fresh line per batch at max_reuse 4
    assert a.shown == 12 and a.pool.added == 8 + 2


@pytest.mark.slow
def test_short_training_run_saves_a_loadable_calibrated_model(tmp_path, mnist_dir, font_files):
    from digitrec.lines.infer import LineModel
    from digitrec.lines.train import train_lines

    logs: list[str] = []
    meta = train_lines(
        str(tmp_path / "m"),
        seed=1,
        time_budget=4,
        batch_size=8,
        workers=0,
        n_calibration=20,
        log=logs.append,
    )
    training = meta["training"]
    assert training["steps"] >= 1 and training["lines_shown"] >= 8
    assert training["lines_shown"] <= 4 * training["lines_generated"]  # max_reuse
    model = LineModel.load(tmp_path / "m")
    assert model.meta["training"]["seed"] == 1 and model.calibration["x"]
    frames = model.logits(np.zeros((32, 64), np.float32))
    assert frames.shape == (64 // STRIDE, 16)
    assert any("calibrating on 20 fresh lines" in m for m in logs)

    # --recalibrate: the same weights, a new calibration, the training record kept
    from digitrec.lines.train import recalibrate_lines

    before = LineModel.load(tmp_path / "m").logits(np.ones((32, 64), np.float32))
    again = recalibrate_lines(str(tmp_path / "m"), seed=2, n_calibration=20, log=logs.append)
    model = LineModel.load(tmp_path / "m")
    np.testing.assert_array_equal(model.logits(np.ones((32, 64), np.float32)), before)
    assert again["training"]["seed"] == 1 and again["training"]["recalibrated"]["seed"] == 2
    assert model.meta["training"]["recalibrated"]["calibration_lines"] == 20
    assert "agree" not in model.calibration  # under 50 agreeing lines: no map of its own


@pytest.mark.slow
def test_steps_fix_the_run_and_the_fresh_lines_whatever_the_generators(
    tmp_path, mnist_dir, font_files
):
    """--steps: exactly that many steps, one fresh line per max_reuse shown (here 2)
    even with a generator process that could make more, and the weights saved
    uncalibrated with their training record when no calibration is asked for."""
    from digitrec.lines.train import train_lines
    from digitrec.models.store import load_saved

    meta = train_lines(
        str(tmp_path / "m"),
        seed=1,
        steps=6,
        time_budget=600,
        batch_size=8,
        workers=1,
        max_reuse=2.0,
        n_calibration=0,
        leave_out=("delius",),
        log=lambda m: None,
    )
    t = meta["training"]
    assert t["steps"] == 6 and t["steps_asked"] == 6 and t["lines_shown"] == 48
    # the warm-up pool (512 lines), then only what reuse 2 asks for: no draining
    assert t["lines_generated"] <= 512 + 16  # chunks of 16 lines
    assert "delius" not in t["fonts"] and "itim" in t["fonts"] and t["device"] == "cpu"
    saved = load_saved(tmp_path / "m", kind="lines")
    assert saved.meta["stage"] == "trained, not yet calibrated"
    assert saved.meta["training"]["steps"] == 6 and "metrics" not in meta


def test_leave_out_and_device_are_checked_by_the_cli(tmp_path):
    from typer.testing import CliRunner

    from digitrec.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app, ["train", "lines", "--out", str(tmp_path / "m"), "--leave-out", "no-such-font"]
    )
    assert res.exit_code == 2 and "not a training font" in res.output
    res = runner.invoke(app, ["train", "lines", "--out", str(tmp_path / "m"), "--device", "nope"])
    assert res.exit_code == 2 and "not a torch device" in res.output
    assert not (tmp_path / "m").exists()
