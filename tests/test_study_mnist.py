"""The study's published figures, recomputed from the real MNIST.

The whole study runs once per module (``reproduced``): its compare, sweep and final
steps are the same functions the CLI commands call, so their figures are checked on
that one run instead of fitting every model a second time.
"""

import json

import pytest

from digitrec.experiments import STUDY, reproduce, study_split, sweep

pytestmark = pytest.mark.mnist

#: Logistic regression's allowed distance from the study, as a share of the 1,980
#: validation samples: the measured spread across BLAS kernels (4) plus a margin of 2.
LR_TOLERANCE = 6 / 1980


def test_split_sizes(mnist):
    split = study_split(mnist)
    assert len(split.train_images) == 4020 and len(split.test_images) == 1980


@pytest.fixture(scope="module")
def reproduced(mnist, tmp_path_factory):
    """(metrics, out_dir) of one full run of the study, the CNN section included."""
    from digitrec.experiments.cnn_section import cnn_section

    out = tmp_path_factory.mktemp("reproduce")
    return reproduce(mnist, out, extra_sections=[cnn_section]), out


@pytest.mark.slow  # the whole study runs once for these (module fixture)
def test_compare_matches_the_study(reproduced):
    result = reproduced[0]["compare"]
    study = STUDY["figures"]["compare"]
    for variant in ("raw", "downscaled"):
        for model in ("knn", "naive_bayes"):
            assert round(result[variant][model], 6) == study[variant][model]
        # liblinear stops at max_iter before converging, so its score moves with the
        # BLAS kernel. Measured (issue 14) on one machine, one process per
        # OPENBLAS_CORETYPE, kernel confirmed by threadpoolctl, correct of 1,980:
        #   Prescott (reported as Katmai): raw 1649, 10x10 1785
        #   Nehalem: raw 1651, 10x10 1782; Sandybridge: 1652, 1782; Haswell: 1652, 1781
        #   SkylakeX (this machine's own choice, no override): raw 1651, 10x10 1786
        # The study: raw 1653, 10x10 1785. Widest gap: 4 samples; allowed: 6.
        assert (
            abs(result[variant]["logistic_regression"] - study[variant]["logistic_regression"])
            <= LR_TOLERANCE + 1e-9
        )


@pytest.mark.slow  # the whole study runs once for these (module fixture)
def test_final_accuracy_is_the_studys(reproduced):
    metrics = reproduced[0]["final"]
    assert metrics["accuracy"] == pytest.approx(0.9676, abs=1e-12)
    assert sum(map(sum, metrics["confusion_matrix"])) == 10000
    assert metrics["classification_report"]["accuracy"] == metrics["accuracy"]


@pytest.mark.slow  # the whole study runs once for these (module fixture)
def test_sweep_picks_up_k5(mnist, reproduced):
    rows = sweep(mnist, ks=[1, 5])
    assert [r["k"] for r in rows] == [1, 5]
    assert round(rows[1]["accuracy"], 6) == STUDY["figures"]["compare"]["downscaled"]["knn"]
    assert rows == [r for r in reproduced[0]["k_sweep"] if r["k"] in (1, 5)]


@pytest.mark.slow  # the whole study runs once for these (module fixture)
def test_reproduce_writes_report(reproduced):
    metrics, tmp_path = reproduced
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    # The study's four keys, unchanged, then the 95% intervals of their accuracies.
    assert list(on_disk) == ["dataset", "compare", "k_sweep", "final", "ci95"]
    ci = on_disk["ci95"]
    assert ci["final"]["correct"] == 9676 and ci["final"]["n"] == 10000
    assert [r["k"] for r in ci["k_sweep"]] == list(range(1, 21))
    for row, k_ci in zip(on_disk["k_sweep"], ci["k_sweep"], strict=True):
        assert k_ci["n"] == 1980 and k_ci["low"] < row["accuracy"] < k_ci["high"]
    assert on_disk["dataset"] == {"name": "mnist", "train": 60000, "test": 10000}
    assert [r["k"] for r in on_disk["k_sweep"]] == list(range(1, 21))
    assert set(on_disk["final"]) == {
        "model", "k", "accuracy", "confusion_matrix", "classification_report",
    }  # fmt: skip
    assert on_disk["final"]["accuracy"] == 0.9676
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 6
    assert "http://" not in html and "https://" not in html  # opens offline
    assert 'class="bad"' not in html  # logistic regression: within the measured BLAS spread
    for name in ("samples", "compare", "k_sweep", "confusion", "predictions"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    assert not list(tmp_path.glob(".*"))  # no partial files
    # The CNN section: the shipped model beside the study's KNN, on the same test set.
    assert "Beyond the study: the CNN" in html
    cnn = json.loads((tmp_path / "cnn.json").read_text())
    assert cnn["knn"]["accuracy"] == on_disk["final"]["accuracy"]
    assert cnn["cnn"]["accuracy"] >= 0.996
    assert (tmp_path / "cnn_risk_coverage.png").stat().st_size > 1000
