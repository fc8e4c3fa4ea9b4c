"""Experiments: the MNIST study step by step and as one report, the classical
leaderboard, and the CNN set beside the study's KNN.

- :mod:`~digitrec.experiments.steps`: the study's steps (split, compare, sweep, final);
- :mod:`~digitrec.experiments.reproduce`: all of them as ``report.html`` and ``metrics.json``;
- :mod:`~digitrec.experiments.leaderboard`: classical models against published errors;
- :mod:`~digitrec.experiments.cnn_section`: the shipped CNN against the study's KNN.
"""

from digitrec.experiments import steps
from digitrec.experiments.reproduce import reproduce
from digitrec.experiments.steps import *  # noqa: F403  (the steps are the package's API)

__all__ = [*steps.__all__, "reproduce"]
