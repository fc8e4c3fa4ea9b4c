"""The whole study as one run: figures, ``metrics.json`` and ``report.html``."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from digitrec._files import write_json
from digitrec.experiments.steps import STUDY, compare, fit_final, sweep
from digitrec.models.classical import STUDY_MODELS
from digitrec.report import html as H
from digitrec.report import plots

__all__ = ["explore", "reproduce"]


def explore(data, out_dir: str | Path, n: int = 10) -> Path:
    """Save a grid of the first ``n`` training digits with their labels."""
    fig = plots.plot_digit_grid(data.train_images[:n], data.train_labels[:n], columns=min(n, 10))
    return plots.save_figure(fig, Path(out_dir) / "samples.png")


def _match_class(ours: float, study: float, digits: int = 6) -> str:
    delta = abs(round(ours, digits) - study)
    if delta < 10**-digits:
        return "ok"
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
    return metrics, fin, samples_png


def _draw_figures(data, metrics: dict, predictions: np.ndarray, out: Path) -> dict[str, Path]:
    """The study's figures after the first: name -> PNG path."""
    fin = metrics["final"]
    n_grid = 40
    wrong = np.flatnonzero(predictions != data.test_labels)[:30]
    figures = {
        "compare": plots.plot_compare(metrics["compare"], STUDY_MODELS),
        "k_sweep": plots.plot_sweep(metrics["k_sweep"], STUDY["k"]),
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
        _compare_section(metrics["compare"], figures["compare"]),
        _sweep_section(metrics["k_sweep"], figures["k_sweep"]),
        _final_section(metrics["final"], figures),
    ]


def _summary_section(metrics: dict) -> H.Section:
    study = STUDY["figures"]
    fin = metrics["final"]
    best_k = max(metrics["k_sweep"], key=lambda r: r["accuracy"])
    return H.Section(
        "Summary",
        H.cards(
            [
                (f"{fin['accuracy']:.4f}", f"final test accuracy (study: {study['final']})"),
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


def _compare_section(cmp: dict, compare_png: Path) -> H.Section:
    study = STUDY["figures"]
    rows, classes = [], []
    for key, name in STUDY_MODELS.items():
        row, css = [name], [""]
        for variant in ("raw", "downscaled"):
            ours, theirs = cmp[variant][key], study["compare"][variant][key]
            row += [f"{ours:.6f}", f"{theirs:.6f}"]
            css += [_match_class(ours, theirs), ""]
        rows.append(row)
        classes.append(css)
    return H.Section(
        "Three models compared",
        H.table(
            ["model", "raw: digitrec", "raw: study", "10x10: digitrec", "10x10: study"],
            rows,
            classes,
        )
        + H.figure(compare_png, "Accuracy on the 1,980 held-out images of the split.")
        + "<p>Logistic regression runs liblinear one-vs-rest. liblinear's solver has "
        "changed across scikit-learn releases, so its accuracy may differ from the study's "
        "by a sample or two (each sample is 1/1,980 = 0.000505); KNN and naive Bayes match "
        "exactly.</p>",
        lead="The first 6,000 training images, split with train_test_split(test_size=0.33, "
        "random_state=42): 4,020 to fit, 1,980 to score; raw 784 pixels against 10x10 "
        "images (3x3 local mean).",
    )


def _sweep_section(k_sweep: list[dict], sweep_png: Path) -> H.Section:
    sweep_rows = [[r["k"], f"{r['accuracy']:.6f}"] for r in k_sweep]
    return H.Section(
        "Choosing k",
        H.figure(sweep_png, "KNN accuracy on the 10x10 split for k = 1..20.")
        + "<details><summary>All values</summary>"
        + H.table(["k", "accuracy"], sweep_rows)
        + "</details>",
        lead="The study picks k = 5 for the final model.",
    )


def _final_section(fin: dict, figures: dict[str, Path]) -> H.Section:
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
                (f"{fin['accuracy']:.4f}", "test accuracy"),
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
    rows = [[name, f"{secs:.2f}"] for name, secs in timings.items()]
    return H.Section(
        "Reproduce it",
        "<pre>pip install digitrec\ndigitrec reproduce --out reports/reproduce</pre>"
        + H.table(["step", "seconds"], rows),
        lead="Each step is also its own command: digitrec explore, compare, sweep, evaluate.",
    )
