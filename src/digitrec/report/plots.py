"""The report's figures, drawn with matplotlib's Agg backend into PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here, and none needed: figures go to files.

import matplotlib.pyplot as plt
import numpy as np

from digitrec._files import atomic_write

__all__ = [
    "plot_compare",
    "plot_confusion",
    "plot_digit_grid",
    "plot_errors",
    "plot_risk_coverage",
    "plot_sweep",
    "save_figure",
]

INK = "#1f2937"
ACCENT = "#2563eb"
WRONG = "#dc2626"
MUTED = "#9ca3af"


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically (no partial files) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; closed afterwards, even on failure.
    path : path-like
        The ``.png`` file.
    dpi : int
        Resolution.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    try:
        return atomic_write(
            path,
            lambda tmp: fig.savefig(
                tmp, format="png", dpi=dpi, bbox_inches="tight", facecolor="white"
            ),
        )
    finally:
        plt.close(fig)


def plot_digit_grid(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray | None = None,
    *,
    columns: int = 10,
    title: str | None = None,
):
    """A grid of digits captioned with their label, or prediction and label.

    With ``predictions``, wrong predictions are captioned in red as
    ``pred (true)``.
    """
    n = len(images)
    rows = max(1, int(np.ceil(n / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.95, rows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        if predictions is None:
            ax.set_title(str(labels[i]), fontsize=11, color=INK)
        else:
            ok = predictions[i] == labels[i]
            text = f"{predictions[i]}" if ok else f"{predictions[i]} ({labels[i]})"
            ax.set_title(text, fontsize=10, color=INK if ok else WRONG, weight="bold")
    if title:
        fig.suptitle(title, fontsize=12, color=INK)
    fig.tight_layout()
    return fig


def _yerr(values: list[float], intervals: list[dict] | None) -> np.ndarray | None:
    """Error bar lengths (2, n) below and above ``values`` from ``{low, high}`` intervals."""
    if intervals is None:
        return None
    low = np.array([i["low"] for i in intervals])
    high = np.array([i["high"] for i in intervals])
    v = np.asarray(values)
    return np.vstack([np.maximum(v - low, 0), np.maximum(high - v, 0)])


def plot_compare(
    compare: dict[str, dict[str, float]],
    names: dict[str, str],
    intervals: dict[str, dict[str, dict]] | None = None,
):
    """Grouped bars: each model's accuracy on raw and on downscaled pixels.

    ``intervals`` (``{variant: {model: {low, high}}}``, e.g. 95% Wilson) adds error bars.
    """
    models = list(names)
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for offset, (variant, color, label) in zip(
        (-0.2, 0.2),
        (("raw", MUTED, "raw 28x28"), ("downscaled", ACCENT, "downscaled 10x10")),
        strict=True,
    ):
        values = [compare[variant][m] for m in models]
        ci = [intervals[variant][m] for m in models] if intervals else None
        bars = ax.bar(
            x + offset,
            values,
            width=0.38,
            color=color,
            label=label,
            yerr=_yerr(values, ci),
            error_kw={"ecolor": INK, "capsize": 3, "lw": 1},
        )
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(x, [names[m] for m in models], fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy on 1,980 held-out images")
    ax.legend(frameon=False, loc="upper center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, 1.12))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_sweep(rows: list[dict], chosen: int, intervals: list[dict] | None = None):
    """Accuracy against k, with the chosen k marked.

    ``intervals`` (one ``{low, high}`` per row, e.g. 95% Wilson) adds error bars and
    shades the best k's interval: the ks whose accuracy falls inside it are within noise.
    """
    ks = [r["k"] for r in rows]
    acc = [r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    if intervals is not None:
        best = intervals[int(np.argmax(acc))]
        ax.axhspan(best["low"], best["high"], color=ACCENT, alpha=0.08, lw=0)
        ax.errorbar(ks, acc, yerr=_yerr(acc, intervals), fmt="none", ecolor=MUTED, capsize=3, lw=1)
    ax.plot(ks, acc, marker="o", color=ACCENT, lw=1.8, ms=4)
    if chosen in ks:
        a = acc[ks.index(chosen)]
        ax.scatter([chosen], [a], s=120, facecolors="none", edgecolors=WRONG, lw=2, zorder=3)
        ax.annotate(
            f"k={chosen}: {a:.4f}",
            (chosen, a),
            xytext=(8, 10),
            textcoords="offset points",
            color=WRONG,
            fontsize=9,
        )
    ax.set_xticks(ks)
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel("accuracy (10x10, held-out)")
    if intervals is not None:
        ax.set_title(
            "bars: 95% Wilson intervals; band: the best k's interval", fontsize=9, color=INK
        )
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _write_counts(ax, m: np.ndarray, shown: np.ndarray, skip_diagonal: bool) -> None:
    """Write each nonzero count in its cell, white on the darkest cells."""
    dark = np.nanmax(shown) * 0.6 if np.isfinite(shown).any() else np.inf
    for (i, j), v in np.ndenumerate(m):
        if v and not (skip_diagonal and i == j):
            color = "white" if shown[i, j] > dark else INK
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=color)


def plot_confusion(matrices, title: str = "Confusion matrix", *, errors_only: bool = False):
    """Heat maps of 10x10 confusion matrices, counts written in the cells.

    Parameters
    ----------
    matrices : array-like or dict
        One matrix (titled ``title``), or ``{name: matrix}`` drawn side by side.
    title : str
        Title of a single matrix.
    errors_only : bool
        Leave the diagonal blank and colour only the errors (with a colour bar),
        each panel titled with its share correct; else a log colour scale over
        every cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    named = dict(matrices) if isinstance(matrices, dict) else {title: matrices}
    width, height = (5.0, 4.4) if errors_only else (5.6, 4.8)
    fig, axes = plt.subplots(1, len(named), figsize=(width * len(named), height), squeeze=False)
    for ax, (name, matrix) in zip(axes[0], named.items(), strict=True):
        m = np.asarray(matrix)
        if errors_only:
            # The correct answers would drown the errors' scale.
            shown = m.astype(float)
            np.fill_diagonal(shown, np.nan)
            name = f"{name}: {int(np.trace(m))}/{int(m.sum())} correct"
        else:
            shown = np.log1p(m)  # log scale: the diagonal dwarfs the errors
        image = ax.imshow(shown, cmap="Reds" if errors_only else "Blues")
        _write_counts(ax, m, shown, skip_diagonal=errors_only)
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=11)
        if errors_only:
            fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def plot_errors(
    images: np.ndarray,
    labels: np.ndarray,
    probs: np.ndarray,
    max_digits: int = 60,
    title: str = "CNN errors, most confident first",
):
    """The misread digits, most confident first, captioned ``true→predicted confidence``.

    Parameters
    ----------
    images : ndarray (n, 28, 28)
        The test images.
    labels : ndarray (n,)
        Their true digits.
    probs : ndarray (n, 10)
        A model's probabilities.
    max_digits : int
        At most this many digits are drawn.
    title : str
        Figure title (the counts are appended).

    Returns
    -------
    matplotlib.figure.Figure
    """
    pred = probs.argmax(1)
    conf = probs.max(1)
    wrong = np.flatnonzero(pred != labels)
    n_wrong = len(wrong)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:max_digits]
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.15 + 0.4), squeeze=False)
    fig.suptitle(f"{title} ({n_wrong} of {len(labels)})", fontsize=10)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < len(wrong):
            i = wrong[k]
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(f"{labels[i]}→{pred[i]} {conf[i]:.2f}", fontsize=7, pad=2)
    return fig


def _operating_points(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, risk) at each distinct confidence: digits tied in confidence go together."""
    t = np.asarray(c["threshold"])
    last = np.append(t[1:] != t[:-1], True) if len(t) else np.zeros(0, bool)
    return np.asarray(c["coverage"])[last], np.asarray(c["risk"])[last]


def _coverage_from(curves: dict[str, dict[str, np.ndarray]]) -> float:
    """Left end of the coverage axis (%): from a little before the first error on.

    Every digit accepted before any error is zero risk: a long flat line that says
    nothing. The axis starts as far before the first error as the error region is wide.
    """
    first = 100.0
    for c in curves.values():
        wrong = np.flatnonzero(np.asarray(c["risk"]) > 0)
        if len(wrong):
            first = min(first, float(c["coverage"][wrong[0]]) * 100)
    return float(np.clip(5 * np.floor((2 * first - 100) / 5), 0, 95))


def plot_risk_coverage(curves: dict[str, dict[str, np.ndarray]], marks=(0.5, 0.9, 0.99, 0.999)):
    """Risk (error among accepted digits) against coverage (share accepted), per model.

    The error axis is logarithmic (from half an error to 100%) and the coverage axis
    starts shortly before the first error: that is where rejection changes anything.

    Parameters
    ----------
    curves : dict
        Model name -> :func:`~digitrec.models.cnn.calibrate.risk_coverage` result
        (``coverage``, ``risk`` and ``threshold``, fractions).
    marks : sequence of float
        Confidence thresholds marked on the first curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n = max((len(c["risk"]) for c in curves.values()), default=1)
    floor = 50 / max(n, 1)  # half an error among all digits, in %: where zero risk is drawn
    for i, (name, c) in enumerate(curves.items()):
        cov, risk = _operating_points(c)
        line = ax.step(cov * 100, np.maximum(risk * 100, floor), where="post", label=name)
        if i == 0:
            _mark_thresholds(ax, c, marks, floor, line[0].get_color())
    worst = max((float(np.max(c["risk"])) * 100 for c in curves.values() if len(c["risk"])),
                default=1.0)  # fmt: skip
    top = min(100.0, 10 ** np.ceil(np.log10(max(worst, floor) * 1.5)))  # a decade above
    ax.set_yscale("log")
    ax.set_ylim(floor * 0.7, top)
    ax.set_xlim(_coverage_from(curves), 100)
    ticks = [floor, *(t for t in (0.01, 0.1, 1, 10, 100) if floor * 1.9 < t <= top)]
    ax.set_yticks(ticks, ["0", *(f"{t:g}%" for t in ticks[1:])])
    ax.minorticks_off()
    ax.set_xlabel("coverage: digits accepted (%)")
    ax.set_ylabel("risk: error among accepted (log scale)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title("Rejecting the least confident digits", fontsize=11)
    return fig


def _mark_thresholds(ax, c: dict, marks, floor: float, color: str) -> None:
    """Mark where accepting only confidence >= t puts the curve, for each t in ``marks``."""
    t = np.asarray(c["threshold"])
    for m in marks:
        k = int((t >= m).sum())  # digits accepted at this threshold
        if 0 < k < len(t):
            x, y = c["coverage"][k - 1] * 100, max(c["risk"][k - 1] * 100, floor)
            ax.plot([x], [y], "o", ms=4, color=color)
            ax.annotate(
                f"p ≥ {m:g}", (x, y), xytext=(-6, 6), textcoords="offset points",
                ha="right", fontsize=8, color=color,
            )  # fmt: skip
