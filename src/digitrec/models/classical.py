"""The study's three classical classifiers, configured as the study had them."""

from __future__ import annotations

from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

__all__ = ["STUDY_MODELS", "make_study_model"]

#: Keys as they appear in metrics.json, with a display name.
STUDY_MODELS = {
    "knn": "k-nearest neighbours (k=5)",
    "naive_bayes": "Gaussian naive Bayes",
    "logistic_regression": "logistic regression (liblinear, one-vs-rest)",
}


def make_study_model(name: str, k: int = 5) -> ClassifierMixin:
    """A fresh, unfitted instance of one of the study's models.

    The study used scikit-learn's defaults. Logistic regression ran liblinear,
    which is one-vs-rest by nature; scikit-learn 1.7 removed ``multi_class``
    and refuses liblinear on more than two classes, so the same scheme is
    spelled out with :class:`~sklearn.multiclass.OneVsRestClassifier`.
    """
    if name == "knn":
        return KNeighborsClassifier(n_neighbors=k)
    if name == "naive_bayes":
        return GaussianNB()
    if name == "logistic_regression":
        return OneVsRestClassifier(LogisticRegression(solver="liblinear"))
    from digitrec.errors import InputError

    raise InputError(f"unknown model {name!r}: expected one of {', '.join(STUDY_MODELS)}")
