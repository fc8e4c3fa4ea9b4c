"""Models: the :class:`Model` protocol, loading and sharing, and saving safely.

The kinds live in sub-packages: :mod:`~digitrec.models.classical` (the study's
scikit-learn models), :mod:`~digitrec.models.knn` and :mod:`~digitrec.models.cnn`.
"""

from __future__ import annotations

from digitrec.models.base import LOADERS, Model, load_model, register_kind, shared_model
from digitrec.models.store import SavedModel, load_saved, save_model

__all__ = [
    "LOADERS",
    "Model",
    "SavedModel",
    "load_model",
    "load_saved",
    "register_kind",
    "save_model",
    "shared_model",
]
