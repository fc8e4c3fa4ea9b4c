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
    "plot_sweep",
    "save_figure",
]

INK = "#1f2937"
ACCENT = "#2563eb"
WRONG = "#dc2626"
MUTED = "#9ca3af"


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG via a temporary file (no partial files) and close it."""
    try:
        return atomic_write(
            path,
            lambda tmp: fig.savefig(
                tmp, format="png", dpi=110, bbox_inches="tight", facecolor="white"
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


def plot_compare(compare: dict[str, dict[str, float]], names: dict[str, str]):
    """Grouped bars: each model's accuracy on raw and on downscaled pixels."""
    models = list(names)
    x = np.arange(len(models))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for offset, (variant, color, label) in zip(
        (-0.2, 0.2),
        (("raw", MUTED, "raw 28x28"), ("downscaled", ACCENT, "downscaled 10x10")),
        strict=True,
    ):
        values = [compare[variant][m] for m in models]
        bars = ax.bar(x + offset, values, width=0.38, color=color, label=label)
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(x, [names[m] for m in models], fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy on 1,980 held-out images")
    ax.legend(frameon=False, loc="upper center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, 1.12))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_sweep(rows: list[dict], chosen: int):
    """Accuracy against k, with the chosen k marked."""
    ks = [r["k"] for r in rows]
    acc = [r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
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
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot_confusion(matrix, title: str = "Confusion matrix"):
    """A heat map of a 10x10 confusion matrix, counts written in the cells."""
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    # Log colour scale: the diagonal dwarfs the errors, which are what matters.
    shown = np.log1p(m)
    ax.imshow(shown, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                color = "white" if shown[i, j] > shown.max() * 0.6 else INK
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig
