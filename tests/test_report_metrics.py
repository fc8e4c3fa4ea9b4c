"""Report metrics: Wilson intervals against published values; evaluation in bounded batches."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.report.metrics import evaluate_model, wilson_interval


@pytest.mark.parametrize(
    ("correct", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Statistics in Medicine 17:857-872, Table I, method 3 (score, no continuity
        # correction), to four decimals.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombes_table(correct, n, low, high):
    lo, hi = wilson_interval(correct, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_wilson_interval_on_the_studys_split_is_about_a_point_wide():
    lo, hi = wilson_interval(1881, 1980)  # KNN k=5 on the 10x10 split: 0.950
    assert lo < 1881 / 1980 < hi
    assert 0.008 < hi - lo < 0.02  # a few digits either way are within noise
    assert wilson_interval(1980, 1980)[1] == 1.0


def test_wilson_interval_refuses_impossible_counts():
    from digitrec.errors import InputError

    with pytest.raises(InputError, match="correct"):
        wilson_interval(5, 4)
    with pytest.raises(InputError, match="n"):
        wilson_interval(0, 0)


class _Recorder:
    """A model that answers the pixel sum mod 10 and records each call's size."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, images):
        self.calls.append(len(images))
        return images.reshape(len(images), -1).sum(1) % 10


class _Data:
    name = "fake"

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(0)
        self.test_images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        self.test_labels = rng.integers(0, 10, n).astype(np.uint8)


def test_evaluate_model_predicts_in_bounded_batches():
    data, model = _Data(2500), _Recorder()
    metrics = evaluate_model(model, data, batch_size=1000)
    assert model.calls == [1000, 1000, 500]
    expected = (data.test_images.reshape(2500, -1).sum(1) % 10 == data.test_labels).mean()
    assert metrics["accuracy"] == pytest.approx(expected)
    assert metrics["n_test"] == 2500
