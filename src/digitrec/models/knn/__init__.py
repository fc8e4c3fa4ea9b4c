"""k-nearest neighbours: the exact engine and the study's saved model.

- :mod:`~digitrec.models.knn.engine`: :class:`ExactKNeighborsClassifier`, a
  scikit-learn estimator (bounded float32 screening, exact ranking);
- :mod:`~digitrec.models.knn.kernels`: its numba kernels;
- :mod:`~digitrec.models.knn.model`: :class:`KnnModel`, the study's KNN on
  block sums, saved as safetensors.
"""

from digitrec.models.knn.engine import ExactKNeighborsClassifier
from digitrec.models.knn.model import KnnModel

__all__ = ["ExactKNeighborsClassifier", "KnnModel"]
