"""The exact KNN engine: identical to scikit-learn, a valid estimator, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from digitrec.errors import InputError
from digitrec.models.knn import ExactKNeighborsClassifier, KnnModel


def _sklearn(k: int = 5) -> KNeighborsClassifier:
    return KNeighborsClassifier(n_neighbors=k, algorithm="brute")


def _assert_same(ours, ref, X) -> None:
    """Same neighbours in the same order, same distances, votes and labels.

    Where distances tie, scikit-learn's choice and order come from its heap
    and its (unstable) final sort, and with few queries also from its thread
    count; with more queries than training rows it searches in parallel over
    the queries, deterministically, and that is what the engine reproduces.
    """
    assert len(X) > ref.n_samples_fit_ or not _has_ties(ref, X)
    d_ours, i_ours = ours.kneighbors(X)
    d_ref, i_ref = ref.kneighbors(X)
    np.testing.assert_array_equal(i_ours, i_ref)
    np.testing.assert_allclose(d_ours, d_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def _has_ties(ref, X) -> bool:
    d, _ = ref.kneighbors(X, n_neighbors=min(ref.n_neighbors + 1, ref.n_samples_fit_))
    return bool((np.diff(d, axis=1) == 0).any())


@parametrize_with_checks([ExactKNeighborsClassifier(), ExactKNeighborsClassifier(n_neighbors=1)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 4, 5])
def test_identical_to_sklearn_with_exact_ties(seed, k):
    # Tiny integer grids: many training rows at exactly the same distance from
    # a query (and exact duplicates), and even k so that votes tie too.
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, size=(150, 3)).astype(np.float64)
    y = rng.integers(0, 4, size=150)
    Q = rng.integers(0, 3, size=(400, 3)).astype(np.float64)
    ours = ExactKNeighborsClassifier(n_neighbors=k, block_size=32).fit(X, y)
    ref = _sklearn(k).fit(X, y)
    _assert_same(ours, ref, Q)
    # Querying the training set itself: the k nearest other rows.  Among
    # exact duplicates scikit-learn drops an arbitrary one, so only the
    # distances can be compared here (indices are, on distinct rows, below).
    np.testing.assert_array_equal(ours.kneighbors()[0], ref.kneighbors()[0])


def test_vote_ties_go_to_the_smallest_label():
    # Two neighbours of label 7 and two of label 3 at the same distances.
    X = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1], [9, 9]])
    y = np.array([7, 3, 7, 3, 5])
    model = ExactKNeighborsClassifier(n_neighbors=4).fit(X, y)
    assert model.predict([[0.0, 0.0]])[0] == 3
    np.testing.assert_array_equal(model.predict_proba([[0.0, 0.0]]), [[0.5, 0.0, 0.5]])
    assert set(model.kneighbors([[0.0, 0.0]])[1][0]) == {0, 1, 2, 3}


@pytest.mark.parametrize("seed", range(3))
def test_identical_to_sklearn_on_continuous_data(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 40)) * rng.uniform(0.1, 10, size=40)
    y = rng.integers(0, 10, size=500)
    Q = rng.normal(size=(120, 40))
    ours, ref = ExactKNeighborsClassifier(block_size=50).fit(X, y), _sklearn().fit(X, y)
    _assert_same(ours, ref, Q)
    np.testing.assert_array_equal(ours.kneighbors()[1], ref.kneighbors()[1])


def test_identical_to_sklearn_on_pixel_sums():
    # The study's kind of data: sums of 3x3 bytes, 100 features, wide screening.
    rng = np.random.default_rng(7)
    X = rng.integers(0, 2296, size=(2000, 100)).astype(np.float64)
    X[:, :20] = 0.0
    y = rng.integers(0, 10, size=2000)
    Q = np.vstack([rng.integers(0, 2296, size=(200, 100)), X[:50]]).astype(np.float64)
    _assert_same(ExactKNeighborsClassifier().fit(X, y), _sklearn().fit(X, y), Q)


def test_many_equidistant_rows():
    # 700 copies of one row: hundreds of exactly tied candidates spread over
    # many tiles, and the replay of scikit-learn's heap over all of them.
    rng = np.random.default_rng(3)
    X = np.vstack([np.tile([[1.0, 2.0, 3.0]], (700, 1)), rng.normal(size=(50, 3)) + 10])
    y = np.arange(750) % 3
    Q = np.repeat([[1.0, 2.0, 3.5], [0.0, 0.0, 0.0], [10.0, 10.0, 10.0]], 300, axis=0)
    _assert_same(ExactKNeighborsClassifier(n_neighbors=5).fit(X, y), _sklearn().fit(X, y), Q)


def test_ties_across_tiles_and_blocks():
    # More training rows than one tile (2,048) and more queries than one block
    # (128), on a coarse integer grid: every query has exact ties, spread over
    # several tiles and chunks.
    rng = np.random.default_rng(6)
    X = rng.integers(0, 6, size=(4500, 4)).astype(float)
    y = rng.integers(0, 10, size=4500)
    Q = rng.integers(0, 6, size=(4600, 4)).astype(float)
    _assert_same(ExactKNeighborsClassifier().fit(X, y), _sklearn().fit(X, y), Q)


@pytest.mark.slow  # the only test on the float64 path: numba compiles its kernels here
def test_values_beyond_float32_use_float64_screening():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5)) * 1e20
    y = rng.integers(0, 2, size=300)
    Q = rng.normal(size=(40, 5)) * 1e20
    ours = ExactKNeighborsClassifier().fit(X, y)
    assert not ours._f32
    np.testing.assert_array_equal(ours.kneighbors(Q)[1], _sklearn().fit(X, y).kneighbors(Q)[1])


def test_block_size_and_screen_dims_do_not_change_the_result():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 5, size=(400, 12)).astype(float)
    y = rng.integers(0, 10, size=400)
    Q = rng.integers(0, 5, size=(60, 12)).astype(float)
    ref = ExactKNeighborsClassifier().fit(X, y).kneighbors(Q)[1]
    for bs, dims in [(1, 1), (7, 3), (1000, 12)]:
        got = ExactKNeighborsClassifier(block_size=bs, screen_dims=dims).fit(X, y)
        np.testing.assert_array_equal(got.kneighbors(Q)[1], ref)


# --- bad input ---------------------------------------------------------------


@pytest.fixture
def fitted():
    rng = np.random.default_rng(0)
    return ExactKNeighborsClassifier(n_neighbors=3).fit(rng.normal(size=(10, 4)), np.arange(10) % 2)


def test_k_larger_than_training_set(fitted):
    with pytest.raises(ValueError, match=r"n_neighbors <= n_samples_fit.*n_neighbors = 11"):
        fitted.kneighbors(np.zeros((2, 4)), n_neighbors=11)
    small = ExactKNeighborsClassifier(n_neighbors=5).fit(np.zeros((3, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="n_samples_fit = 3"):
        small.predict(np.zeros((1, 2)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(fitted, bad):
    X = np.zeros((5, 4))
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        ExactKNeighborsClassifier().fit(X, np.arange(5))
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        fitted.predict(X)


def test_wrong_shapes_and_dtypes(fitted):
    with pytest.raises(ValueError, match=r"X has 3 features.*expecting 4"):
        fitted.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted.predict(np.zeros(4))
    with pytest.raises(ValueError, match="dim 3"):
        fitted.predict(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"could not convert|dtype"):
        fitted.predict(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ExactKNeighborsClassifier().fit(np.zeros((4, 2)), [0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        ExactKNeighborsClassifier().fit(np.zeros((4, 2)), [0.5, 1.5, 2.5, 3.5])


def test_empty_input(fitted):
    with pytest.raises(ValueError, match="0 sample"):
        fitted.predict(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="0 sample"):
        ExactKNeighborsClassifier().fit(np.zeros((0, 4)), [])


@pytest.mark.parametrize(
    "param", [{"n_neighbors": 0}, {"n_neighbors": 2.5}, {"block_size": 0}, {"screen_dims": "many"}]
)
def test_bad_parameters(param):
    with pytest.raises(ValueError, match=next(iter(param))):
        ExactKNeighborsClassifier(**param).fit(np.zeros((6, 2)), np.arange(6) % 2)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ExactKNeighborsClassifier().predict(np.zeros((1, 2)))


# --- the study's model ---------------------------------------------------------


def _images(rng, n):
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def test_knn_model_matches_sklearn_on_the_study_features(tmp_path):
    from digitrec.features import prepare

    rng = np.random.default_rng(11)
    train = _images(rng, 300)
    train[100:130] = train[0]  # duplicates: exact ties among neighbours
    labels = rng.integers(0, 10, size=300).astype(np.uint8)
    test = np.concatenate([_images(rng, 40), train[:10]])
    model = KnnModel(k=5, factor=3).fit(train, labels)
    ref = KNeighborsClassifier(n_neighbors=5).fit(prepare(train, 3), labels)
    np.testing.assert_array_equal(model.predict(test), ref.predict(prepare(test, 3)))
    np.testing.assert_array_equal(model.predict_proba(test), ref.predict_proba(prepare(test, 3)))
    loaded = KnnModel.load(model.save(tmp_path / "knn"))
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_knn_model_refuses_k_above_training_size():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="k=5 is larger than the 3 training images"):
        KnnModel(k=5).fit(_images(rng, 3), np.arange(3))


@pytest.mark.mnist
@pytest.mark.slow
def test_study_predictions_identical_to_sklearn(mnist):
    """All 10,000 test predictions of the study's final step equal scikit-learn's."""
    from digitrec.features import prepare

    data = mnist
    ours = KnnModel(k=5, factor=3).fit(data.train_images, data.train_labels)
    ref = KNeighborsClassifier(n_neighbors=5).fit(prepare(data.train_images, 3), data.train_labels)
    expected = ref.predict(prepare(data.test_images, 3))
    got = ours.predict(data.test_images)
    assert int((got == expected).sum()) == 10_000
    assert abs(float((got == data.test_labels).mean()) - 0.9676) < 1e-12
