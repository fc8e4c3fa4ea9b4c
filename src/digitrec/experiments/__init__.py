"""The MNIST study, step by step, and the whole of it as one report."""

from digitrec.experiments.reproduce import reproduce
from digitrec.experiments.steps import (
    STUDY,
    FinalResult,
    Split,
    compare,
    final,
    fit_final,
    study_split,
    sweep,
)

__all__ = [
    "STUDY",
    "FinalResult",
    "Split",
    "compare",
    "final",
    "fit_final",
    "reproduce",
    "study_split",
    "sweep",
]
