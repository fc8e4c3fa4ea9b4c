"""The whole study as one run: figures, ``metrics.json`` and ``report.html``."""

from __future__ import annotations

import html
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import write_json
from digitrec.experiments.steps import STUDY, compare, fit_final, study_split, sweep
from digitrec.models.classical import STUDY_MODELS
from digitrec.report import html as H
from digitrec.report import plots
from digitrec.report.metrics import interval
from digitrec.report.metrics import interval_text as _ci

__all__ = ["LR_SPREAD", "explore", "reproduce"]

#: Logistic regression's correct answers of the 1,980 split images, lowest and highest,
#: across OpenBLAS kernels: one process per ``OPENBLAS_CORETYPE`` on one machine
#: (issue 14, and the measurement in tests/test_study_mnist.py): raw pixels 1649
#: (Prescott) to 1652 (Sandybridge, Haswell); 10x10 1781 (Haswell) to 1786 (SkylakeX).
#: The study: 1653 and 1785. liblinear stops at ``max_iter`` before converging, so
#: where it stops, and its score, move with the kernel's rounding.
LR_SPREAD = {"raw": (1649, 1652), "downscaled": (1781, 1786)}


def explore(data, out_dir: str | Path, n: int = 10) -> Path:
    """Save a grid of the first ``n`` training digits with their labels."""
    fig = plots.plot_digit_grid(data.train_images[:n], data.train_labels[:n], columns=min(n, 10))
    return plots.save_figure(fig, Path(out_dir) / "samples.png")


def _match_class(
    ours: float, study: float, spread: tuple[int, int] | None = None, n: int = 1980
) -> str:
    """CSS class of our figure beside the study's: ok (equal), spread, near or bad.

    With ``spread`` (lowest and highest correct count measured across BLAS kernels),
    a count inside it, or between it and the study's, is "spread": expected, not wrong.
    """
    delta = abs(round(ours, 6) - study)
    if delta < 1e-6:
        return "ok"
    if spread is not None:
        counts = (round(ours * n), round(study * n))
        low, high = min(spread[0], counts[1]), max(spread[1], counts[1])
        return "spread" if low <= counts[0] <= high else "bad"
    return "near" if delta < 0.002 else "bad"


def reproduce(
    data,
    out_dir: str | Path,
    *,
    on_step: Callable[[str], None] | None = None,
    extra_sections: list[Callable[[Any, Path, dict], H.Section | None]] | None = None,
) -> dict[str, Any]:
    """Run every step of the study and write its report.

    Writes into ``out_dir``: ``metrics.json`` (the study's figures in a fixed
    shape), ``run.json`` (timings and versions), the PNG figures and a
    self-contained ``report.html``.

    Parameters
    ----------
    data : digitrec.data.Data
        The loaded data set (MNIST for the study's figures).
    out_dir : path-like
        Folder for the outputs; created if needed.
    on_step : callable, optional
        Called with a description as each step starts (progress display).
    extra_sections : list of callable, optional
        Each is called as ``f(data, out_dir, context)`` after the study's own
        steps and may return a :class:`~digitrec.report.html.Section` to append;
        ``context`` holds the final KNN's ``predictions`` and the metrics.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = on_step or (lambda _msg: None)
    timings: dict[str, float] = {}
    metrics, fin, samples_png = _run_steps(data, out, say, timings)
    write_json(out / "metrics.json", metrics)

    say("drawing figures and writing the report")
    figures = {"samples": samples_png, **_draw_figures(data, metrics, fin.predictions, out)}
    sections = _study_sections(data, metrics, figures)
    context = {"predictions": fin.predictions, "metrics": metrics, "timings": timings}
    for extra in extra_sections or []:
        start = time.perf_counter()
        section = extra(data, out, context)
        timings[getattr(extra, "__name__", "extra")] = round(time.perf_counter() - start, 3)
        if section is not None:
            sections.append(section)
    sections.append(_reproduce_section(timings))
    run = _run_record(data, timings)
    write_json(out / "run.json", run)
    subtitle = [
        f"{data.name}: {len(data.train_images):,} training and {len(data.test_images):,} "
        f"test images; data fingerprint {data.fingerprint[:16]}…",
        f"digitrec {run['digitrec']}, scikit-learn {run['scikit-learn']}, numpy {np.__version__}, "
        f"Python {platform.python_version()}; steps took {sum(timings.values()):.1f} s",
    ]
    page = H.render_page("The MNIST study, reproduced", subtitle, sections)
    H.write_page(out / "report.html", page)
    return metrics


def _run_steps(data, out: Path, say: Callable[[str], None], timings: dict[str, float]):
    """The study's steps, timed into ``timings``: (metrics, final result, samples figure)."""

    def timed(name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - start, 3)
        return result

    say("drawing sample digits")
    samples_png = timed("explore", explore, data, out)
    say("comparing three models on the 6,000-image split")
    cmp = timed("compare", compare, data, on_step=lambda m: say(f"compare: {m}"))
    say("sweeping k = 1..20")
    ks = timed("sweep", sweep, data, ks=STUDY["ks"], on_step=lambda m: say(f"sweep: {m}"))
    say("final KNN (k=5) on 60,000 10x10 images, predicting 10,000")
    fin = timed("final", fit_final, data, k=STUDY["k"], factor=STUDY["downscale"])
    metrics = {
        "dataset": {
            "name": data.name,
            "train": len(data.train_images),
            "test": len(data.test_images),
        },
        "compare": cmp,
        "k_sweep": ks,
        "final": fin.metrics,
    }
    metrics["ci95"] = _intervals(data, metrics)
    return metrics, fin, samples_png


def _intervals(data, metrics: dict) -> dict[str, Any]:
    """95% Wilson intervals of every accuracy in ``metrics`` (metrics.json's ``ci95``)."""
    n_split = len(study_split(data, STUDY["subset"]).test_labels)
    return {
        "method": "Wilson score interval, 95%",
        "compare": {
            variant: {name: interval(acc, n_split) for name, acc in accs.items()}
            for variant, accs in metrics["compare"].items()
        },
        "k_sweep": [{"k": r["k"], **interval(r["accuracy"], n_split)} for r in metrics["k_sweep"]],
        "final": interval(metrics["final"]["accuracy"], len(data.test_labels)),
    }


def _ks(ks: list[int]) -> str:
    """ks as runs: [1, 3, 4, 5, 6, 9] -> ``1, 3..6, 9``."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def _draw_figures(data, metrics: dict, predictions: np.ndarray, out: Path) -> dict[str, Path]:
    """The study's figures after the first: name -> PNG path."""
    fin = metrics["final"]
    n_grid = 40
    wrong = np.flatnonzero(predictions != data.test_labels)[:30]
    figures = {
        "compare": plots.plot_compare(metrics["compare"], STUDY_MODELS, metrics["ci95"]["compare"]),
        "k_sweep": plots.plot_sweep(metrics["k_sweep"], STUDY["k"], metrics["ci95"]["k_sweep"]),
        "confusion": plots.plot_confusion(fin["confusion_matrix"], "KNN k=5, 10x10: test set"),
        "predictions": plots.plot_digit_grid(
            data.test_images[:n_grid], data.test_labels[:n_grid], predictions[:n_grid]
        ),
        "knn_errors": plots.plot_digit_grid(
            data.test_images[wrong], data.test_labels[wrong], predictions[wrong]
        ),
    }
    return {name: plots.save_figure(fig, out / f"{name}.png") for name, fig in figures.items()}


def _run_record(data, timings: dict[str, float]) -> dict[str, Any]:
    """What ``run.json`` holds: timings, versions, machine and data fingerprint."""
    import sklearn

    from digitrec import __version__

    return {
        "timings_s": timings,
        "digitrec": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "data_fingerprint": data.fingerprint,
    }


def _study_sections(data, metrics: dict, figures: dict[str, Path]) -> list[H.Section]:
    """The report's sections for the study itself, in reading order."""
    return [
        _summary_section(metrics),
        _data_section(data, figures["samples"]),
        _compare_section(metrics["compare"], metrics["ci95"]["compare"], figures["compare"]),
        _sweep_section(metrics["k_sweep"], metrics["ci95"]["k_sweep"], figures["k_sweep"]),
        _final_section(metrics["final"], metrics["ci95"]["final"], figures),
    ]


def _summary_section(metrics: dict) -> H.Section:
    study = STUDY["figures"]
    fin = metrics["final"]
    best_k = max(metrics["k_sweep"], key=lambda r: r["accuracy"])
    return H.Section(
        "Summary",
        H.cards(
            [
                (
                    f"{fin['accuracy']:.4f}",
                    f"final test accuracy (study: {study['final']}); 95% CI "
                    f"{_ci(metrics['ci95']['final'])}",
                ),
                (f"{metrics['compare']['downscaled']['knn']:.4f}", "KNN on the 10x10 split"),
                (f"{best_k['accuracy']:.4f}", f"best k on the split: k={best_k['k']}"),
                (
                    f"{sum(r[c] for c, r in enumerate(fin['confusion_matrix'])):,}",
                    f"of {metrics['dataset']['test']:,} test digits right",
                ),
            ]
        ),
        lead="A classic data-science study recognises handwritten digits with k-nearest "
        "neighbours on 10x10 downscaled MNIST images. Every figure below is recomputed "
        "from the raw IDX files and set beside the study's own.",
    )


def _data_section(data, samples: Path) -> H.Section:
    return H.Section(
        "The data",
        H.figure(samples, "The first ten training images with their labels.")
        + H.table(
            ["split", "images", "shape", "pixel type"],
            [
                ["train", f"{len(data.train_images):,}", "28 x 28", "uint8, 0-255"],
                ["test", f"{len(data.test_images):,}", "28 x 28", "uint8, 0-255"],
            ],
        ),
        lead="Images are read from the IDX files (16-byte header for images, 8 for labels) "
        "after their content checksums are verified.",
    )


def _compare_section(cmp: dict, ci: dict, compare_png: Path) -> H.Section:
    study = STUDY["figures"]
    rows, classes = [], []
    for key, name in STUDY_MODELS.items():
        row, css = [name], [""]
        for variant in ("raw", "downscaled"):
            ours, theirs = cmp[variant][key], study["compare"][variant][key]
            match = _match_class(ours, theirs, LR_SPREAD.get(variant) if key in _SPREAD else None)
            row += [f"{ours:.6f}" + (" †" if match == "spread" else ""), _ci(ci[variant][key])]
            row += [f"{theirs:.6f}"]
            css += [match, "", ""]
        rows.append(row)
        classes.append(css)
    return H.Section(
        "Three models compared",
        H.table(_COMPARE_HEADER, rows, classes)
        + _spread_note(cmp, ci)
        + H.figure(
            compare_png, "Accuracy on the 1,980 held-out images of the split, with 95% intervals."
        ),
        lead="The first 6,000 training images, split with train_test_split(test_size=0.33, "
        "random_state=42): 4,020 to fit, 1,980 to score; raw 784 pixels against 10x10 "
        "images (3x3 local mean).",
    )


_COMPARE_HEADER = ["model", "raw: digitrec", "95% CI", "raw: study"]
_COMPARE_HEADER += ["10x10: digitrec", "95% CI", "10x10: study"]

#: The models whose score moves with the BLAS kernel (see :data:`LR_SPREAD`).
_SPREAD = ("logistic_regression",)


def _spread_note(cmp: dict, ci: dict) -> str:
    """Why logistic regression's figure may differ from the study's, with the measurements."""
    study = STUDY["figures"]["compare"]
    parts = []
    for variant, label in (("raw", "raw pixels"), ("downscaled", "10x10")):
        c = ci[variant]["logistic_regression"]
        low, high = LR_SPREAD[variant]
        parts.append(
            f"on {label} {low:,}–{high:,} correct of {c['n']:,} (the study: "
            f"{round(study[variant]['logistic_regression'] * c['n']):,}; this run: "
            f"{c['correct']:,})"
        )
    return (
        "<p>† Logistic regression (liblinear, one-vs-rest) stops at <code>max_iter</code> "
        "before it converges, so where it stops, and its score, move with the BLAS kernel's "
        "rounding. Across OpenBLAS kernels (Prescott, Nehalem, Sandybridge, Haswell, "
        f"SkylakeX) on one machine it scored {html.escape('; '.join(parts))}. A figure "
        "inside that spread is shown in amber: expected, not a failure, and far inside the "
        "95% interval. KNN and naive Bayes match the study exactly.</p>"
    )


def _sweep_section(k_sweep: list[dict], ci: list[dict], sweep_png: Path) -> H.Section:
    rows = [
        [r["k"], f"{i['correct']:,}", f"{r['accuracy']:.6f}", _ci(i)]
        for r, i in zip(k_sweep, ci, strict=True)
    ]
    best = max(range(len(k_sweep)), key=lambda j: k_sweep[j]["accuracy"])
    within = [r["k"] for r in k_sweep if r["accuracy"] >= ci[best]["low"]]
    n = ci[best]["n"]
    return H.Section(
        "Choosing k",
        H.figure(sweep_png, "KNN accuracy on the 10x10 split for k = 1..20, with 95% intervals.")
        + f"<p>The best, k = {k_sweep[best]['k']}, scores {ci[best]['correct']:,} of {n:,} "
        f"(95% interval {_ci(ci[best])}). k = {_ks(within)} fall inside that interval: on "
        f"{n:,} images their differences, a few digits, are within noise.</p>"
        + "<details><summary>All values</summary>"
        + H.table(["k", f"correct of {n:,}", "accuracy", "95% CI (Wilson)"], rows)
        + "</details>",
        lead="The study picks k = 5 for the final model.",
    )


def _final_section(fin: dict, ci: dict, figures: dict[str, Path]) -> H.Section:
    cr_rows = [
        [label, f"{v['precision']:.4f}", f"{v['recall']:.4f}", f"{v['f1-score']:.4f}",
         f"{int(v['support']):,}"]
        for label, v in fin["classification_report"].items()
        if isinstance(v, dict)
    ]  # fmt: skip
    return H.Section(
        "The final model",
        H.cards(
            [
                (f"{fin['accuracy']:.4f}", f"test accuracy; 95% CI {_ci(ci)}"),
                (f"{STUDY['figures']['final']:.4f}", "the study's figure"),
                (f"{1 - fin['accuracy']:.2%}", "test error"),
            ]
        )
        + "<h3>Confusion matrix</h3>"
        + H.figure(
            figures["confusion"], "Rows: true digit; columns: predicted digit (log colour scale)."
        )
        + H.table(
            ["true \\ predicted", *map(str, range(10))],
            [[str(i), *row] for i, row in enumerate(fin["confusion_matrix"])],
        )
        + "<h3>Classification report</h3>"
        + H.table(["class", "precision", "recall", "f1-score", "support"], cr_rows)
        + "<h3>Predictions</h3>"
        + H.figure(
            figures["predictions"],
            "The first 40 test digits: prediction, and in red the truth where the model is wrong.",
        )
        + H.figure(
            figures["knn_errors"],
            "The first 30 test digits the model gets wrong: prediction (truth).",
        ),
        lead="KNN with k = 5 trained on all 60,000 training images downscaled to 10x10, "
        "scored on the 10,000 test images.",
    )


def _reproduce_section(timings: dict[str, float]) -> H.Section:
    from digitrec import __version__

    rows = [[name, f"{secs:.2f}"] for name, secs in timings.items()]
    commands = (
        "# From source (Python 3.11 and make): sets up .venv, gets MNIST, runs the study\n"
        "git clone <digitrec repository URL> digitrec && cd digitrec && make run\n"
        "# the report: reports/reproduce/report.html\n\n"
        "# Or from the package index\n"
        f"pip install digitrec=={__version__}\n"
        "digitrec reproduce --out reports/reproduce"
    )
    return H.Section(
        "Reproduce it",
        f"<pre>{html.escape(commands)}</pre>" + H.table(["step", "seconds"], rows),
        lead="Each step is also its own command: digitrec explore, compare, sweep, evaluate. "
        "MNIST is read from $DIGITREC_DATA_DIR when set, else downloaded once and verified.",
    )
