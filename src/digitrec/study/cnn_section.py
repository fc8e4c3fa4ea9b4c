"""The report's section that sets the study's KNN beside the shipped CNN."""

from __future__ import annotations

from pathlib import Path

from digitrec.report import html as H

__all__ = ["cnn_section"]


def cnn_section(data, out_dir: str | Path, context: dict) -> H.Section:
    """Compare the final KNN's test predictions with the shipped CNN's.

    Writes ``cnn.json`` and three figures into ``out_dir``; returns the section.
    ``context["predictions"]`` holds the KNN's test-set predictions.
    """
    from digitrec.models.cnn.report import cnn_vs_knn
    from digitrec.study.reproduce import write_json

    out = Path(out_dir)
    result = cnn_vs_knn(data, context["predictions"], out)
    write_json(out / "cnn.json", result)
    cnn, knn, agree = result["cnn"], result["knn"], result["agreement"]
    fewer = 1 - cnn["n_errors"] / max(knn["n_errors"], 1)
    body = H.cards(
        [
            (f"{knn['accuracy']:.4f}", "the study's KNN (k=5, 10x10)"),
            (f"{cnn['accuracy']:.4f}", f"the shipped CNN ({cnn['model'] or 'default'})"),
            (f"{fewer:.0%}", f"fewer errors: {cnn['n_errors']} against {knn['n_errors']}"),
            (f"{cnn['ece']:.4f}", "CNN expected calibration error (15 bins)"),
        ]
    )
    body += H.table(
        ["", "count"],
        [
            ["digits both models get wrong", agree["both_wrong"]],
            ["only the KNN gets wrong", agree["only_knn_wrong"]],
            ["only the CNN gets wrong", agree["only_cnn_wrong"]],
        ],
    )
    body += "<h3>Confusion matrices</h3>" + H.figure(
        result["figures"]["confusion"], "Rows: true digit; columns: predicted digit."
    )
    body += "<h3>What the CNN still gets wrong</h3>" + H.figure(
        result["figures"]["errors"],
        "Every test digit the CNN misreads, with its answer, the truth and its confidence.",
    )
    body += "<h3>Confidence and rejection</h3>" + H.figure(
        result["figures"]["risk_coverage"],
        "Error among the digits kept, against the share kept, as the confidence threshold rises.",
    )
    body += H.table(
        ["reject below confidence", "rejected", "error on the rest", "errors left"],
        [
            [f"{r['threshold']:g}", f"{r['rejected']:.2%}", f"{r['error']:.3%}", r["n_errors"]]
            for r in cnn["rejection"]
        ],
    )
    return H.Section(
        "Beyond the study: the CNN",
        body,
        lead="digitrec ships a small convolutional network trained on a laptop CPU. "
        "Its probabilities are temperature-scaled on held-out training images, so a "
        "threshold on confidence trades coverage for error in a predictable way.",
        anchor="cnn",
    )
