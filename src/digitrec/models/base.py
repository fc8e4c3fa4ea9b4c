"""What a model is (the :class:`Model` protocol), loading one, and the shared cache.

Every model digitrec reads with (the shipped CNN, a saved KNN or CNN, or any
object of the user's) answers ``predict_proba(images)`` for uint8 images
(n, 28, 28) with probabilities (n, 10), and describes itself in ``meta``.
Saved models are found by their kind through :data:`LOADERS`, a registry of
names; :func:`shared_model` keeps one loaded copy per process for the CLI, the
service and the batch workers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from digitrec.errors import ModelError
from digitrec.models.store import SavedModel, load_saved

__all__ = ["LOADERS", "Model", "load_model", "register_kind", "shared_model"]


@runtime_checkable
class Model(Protocol):
    """A digit classifier: what :func:`digitrec.read` and the service need.

    Attributes
    ----------
    meta : dict
        Name, accuracy, checksums and whatever else the model records.
    """

    meta: dict[str, Any]

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 10) for uint8 images (n, 28, 28), white on black."""
        ...


#: Builds a model from a saved file; the second argument is the thread count (or None).
Loader = Callable[[SavedModel, "int | None"], Model]


def _load_knn(saved: SavedModel, threads: int | None) -> Model:
    from digitrec.models.knn.model import KnnModel

    return KnnModel.from_saved(saved)


def _load_cnn(saved: SavedModel, threads: int | None) -> Model:
    from digitrec.models.cnn.infer import CnnModel

    return CnnModel.from_saved(saved, threads=threads)


#: model kind (as saved in the file) -> loader. Extend it with :func:`register_kind`.
LOADERS: dict[str, Loader] = {"knn": _load_knn, "cnn": _load_cnn}

# Kinds written as "module:Class" by early versions, read as the registered name.
_LEGACY_KINDS = {
    "digitrec.models.knn:KnnModel": "knn",
    "digitrec.models.cnn.onnx_infer:CnnModel": "cnn",
}


def register_kind(kind: str, loader: Loader) -> None:
    """Teach :func:`load_model` a new model kind.

    Parameters
    ----------
    kind : str
        The ``kind`` saved in the model file.
    loader : callable
        ``loader(saved, threads) -> Model``.
    """
    LOADERS[kind] = loader


def load_model(spec: str | os.PathLike, threads: int | None = None) -> Model:
    """Load a saved model of any kind from its folder or file.

    Parameters
    ----------
    spec : str or path-like
        A folder written by ``digitrec train`` or its ``model.safetensors``, or
        ``"default"``: the pretrained CNN shipped in the package (onnxruntime, no torch).
    threads : int, optional
        Inference threads (onnxruntime's intra-op pool for a CNN); default: the
        runtime's own choice.

    Returns
    -------
    Model
        A model with ``predict_proba`` and ``meta`` (and ``predict``).

    Raises
    ------
    ModelError
        A missing, corrupt or unknown model.
    """
    if str(spec) == "default":
        from digitrec.models.cnn.infer import CnnModel

        return CnnModel.load("default", threads=threads)
    saved = load_saved(spec)
    saved.kind = _LEGACY_KINDS.get(saved.kind, saved.kind)
    loader = LOADERS.get(saved.kind)
    if loader is None:
        raise ModelError(
            f"{saved.path}: unknown model kind {saved.kind!r}; expected one of "
            f"{', '.join(LOADERS)} (is it from a newer digitrec?)"
        )
    return loader(saved, threads)


_SHARED_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _shared(spec: str, threads: int) -> Model:
    return load_model(spec, threads=threads)


def shared_model(name: str | os.PathLike = "default", threads: int = 1) -> Model:
    """The process-wide copy of a model: loaded on first use, then reused.

    The CLI, :func:`digitrec.read`, the service and the batch workers all get
    their model here, under one thread policy: one inference thread per model
    by default. Reading feeds a model a handful of digits at a time, where a
    thread pool costs more than it gains (a 5-digit strip: about 18 ms with one
    thread against 36 ms with onnxruntime's default pool on 2 busy cores), so
    parallelism comes from serving threads or worker processes instead.

    Parameters
    ----------
    name : str or path-like
        ``"default"`` or a saved model's folder, as for :func:`load_model`.
    threads : int
        Inference threads of this copy.

    Returns
    -------
    Model
        The same object for the same ``(name, threads)`` in this process.
    """
    # The lock makes concurrent first calls load once (lru_cache alone may load twice).
    with _SHARED_LOCK:
        return _shared(os.fspath(name), int(threads))


shared_model.cache_clear = _shared.cache_clear  # type: ignore[attr-defined]
