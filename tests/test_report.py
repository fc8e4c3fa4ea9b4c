"""The study report's pieces that need no MNIST: intervals, spread, figures, reproduce box."""

from __future__ import annotations

import importlib

import numpy as np

from digitrec.models.cnn.calibrate import risk_coverage
from digitrec.report import plots

#: The module itself: the package attribute ``reproduce`` is the function of that name.
R = importlib.import_module("digitrec.experiments.reproduce")


class _Data:
    """Just what the intervals read: the first 6,000 training images and the test labels."""

    def __init__(self) -> None:
        self.train_images = np.zeros((6000, 28, 28), np.uint8)
        self.train_labels = np.arange(6000, dtype=np.uint8) % 10
        self.test_labels = np.zeros(10000, np.uint8)


def _metrics() -> dict:
    return {
        "compare": {
            "raw": {"knn": 1854 / 1980, "logistic_regression": 1651 / 1980},
            "downscaled": {"knn": 1882 / 1980, "logistic_regression": 1782 / 1980},
        },
        "k_sweep": [
            {"k": k, "accuracy": c / 1980}
            for k, c in ((1, 1870), (3, 1870), (4, 1881), (5, 1881), (6, 1875), (12, 1840))
        ],
        "final": {"accuracy": 0.9676},
    }


def test_intervals_cover_every_accuracy_of_the_study():
    ci = R._intervals(_Data(), _metrics())
    assert ci["method"] == "Wilson score interval, 95%"
    lr = ci["compare"]["raw"]["logistic_regression"]
    assert lr["correct"] == 1651 and lr["n"] == 1980 and lr["low"] < 1651 / 1980 < lr["high"]
    assert [r["k"] for r in ci["k_sweep"]] == [1, 3, 4, 5, 6, 12]
    assert ci["final"]["correct"] == 9676 and ci["final"]["n"] == 10000
    assert 0.962 < ci["final"]["low"] < 0.9676 < ci["final"]["high"] < 0.972


def test_logistic_regression_inside_the_blas_spread_is_amber_not_red():
    study = 1653 / 1980  # the study's raw-pixel figure; the spread measured 1649..1652
    assert R._match_class(1653 / 1980, study, R.LR_SPREAD["raw"]) == "ok"
    for count in (1649, 1651, 1652):
        assert R._match_class(count / 1980, study, R.LR_SPREAD["raw"]) == "spread"
    assert R._match_class(1640 / 1980, study, R.LR_SPREAD["raw"]) == "bad"
    assert R._match_class(1786 / 1980, 1785 / 1980, R.LR_SPREAD["downscaled"]) == "spread"
    assert R._match_class(1790 / 1980, 1785 / 1980, R.LR_SPREAD["downscaled"]) == "bad"
    # Models without a measured spread: a sample off is "near" as before.
    assert R._match_class(1853 / 1980, 1854 / 1980) == "near"


def test_compare_table_explains_the_spread():
    metrics = _metrics()
    metrics["compare"]["raw"]["naive_bayes"] = 0.633838
    metrics["compare"]["downscaled"]["naive_bayes"] = 0.605556
    ci = R._intervals(_Data(), metrics)
    note = R._spread_note(metrics["compare"], ci["compare"])
    assert "1,649–1,652 correct of 1,980 (the study: 1,653; this run: 1,651)" in note
    assert "1,781–1,786" in note and "max_iter" in note


def test_sweep_names_the_ks_within_noise(tmp_path):
    metrics = _metrics()
    ci = R._intervals(_Data(), metrics)
    png = plots.save_figure(
        plots.plot_sweep(metrics["k_sweep"], 5, ci["k_sweep"]), tmp_path / "k.png"
    )
    body = R._sweep_section(metrics["k_sweep"], ci["k_sweep"], png).body
    # k=1 and 3 (1,870) are 11 below the best (1,881): inside its interval; k=12 is not.
    assert "k = 1, 3..6 fall inside that interval" in body
    assert "1,881 of 1,980" in body


def test_ks_are_written_as_runs():
    assert R._ks([1, 3, 4, 5, 6, 9]) == "1, 3..6, 9"
    assert R._ks([5]) == "5"


def test_sweep_figure_has_error_bars():
    rows = [{"k": k, "accuracy": a} for k, a in ((1, 0.94), (2, 0.95), (3, 0.945))]
    ci = [{"low": a - 0.01, "high": a + 0.008} for a in (0.94, 0.95, 0.945)]
    fig = plots.plot_sweep(rows, 2, ci)
    bars = [c for c in fig.axes[0].containers if c.__class__.__name__ == "ErrorbarContainer"]
    assert len(bars) == 1
    segments = bars[0].lines[2][0].get_segments()
    assert [tuple(np.round(s[:, 1], 3)) for s in segments] == [
        (0.93, 0.948), (0.94, 0.958), (0.935, 0.953),
    ]  # fmt: skip
    plots.plt.close(fig)


def test_risk_coverage_zooms_on_the_errors_with_a_log_error_axis():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    probs = np.full((1000, 10), 0.01)
    probs[np.arange(1000), labels] = np.linspace(0.999, 0.5, 1000)  # decreasing confidence
    wrong = np.arange(970, 1000)  # the 30 least confident digits are misread
    probs[wrong, labels[wrong]] = 0.01
    probs[wrong, (labels[wrong] + 1) % 10] = 0.4
    fig = plots.plot_risk_coverage({"model": risk_coverage(probs, labels)})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    left, right = ax.get_xlim()
    assert right == 100 and 90 <= left < 97  # first error at 97% coverage
    assert ax.get_yticklabels()[0].get_text() == "0"  # zero risk drawn on the floor
    plots.plt.close(fig)


def test_reproduce_box_gives_real_install_commands():
    from digitrec import __version__

    body = R._reproduce_section({"explore": 0.1}).body
    assert "git clone" in body and "make run" in body
    assert f"pip install digitrec=={__version__}" in body
    assert "digitrec reproduce --out reports/reproduce" in body
