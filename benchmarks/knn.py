"""Exact KNN (k=5): scikit-learn vs faiss-cpu vs digitrec, in one process.

Each engine trains on the same features and predicts the test images; the
rounds are interleaved (sklearn, faiss, digitrec, sklearn, ...) so that load
from other processes hits all three alike.  Prints one JSON line:

- ``sklearn`` / ``faiss`` / ``digitrec``: median seconds (fit + predict) on the
  headline case, the study's final step: 60,000 10x10 images, 10,000 queries;
- ``accuracy`` and ``identical`` (predictions equal to scikit-learn's) per engine;
- ``speedup_vs_sklearn`` / ``speedup_vs_faiss``;
- ``raw784`` and ``split6000``: the same for raw pixels and for the study's
  6,000-image split (4,020 train, 1,980 queries);
- ``arithmetic`` (per case): the FLOPs of a brute-force search and of
  digitrec's screening GEMM, each engine's brute-force-equivalent GFLOP/s, and
  that rate as a fraction of the float32 GEMM rate this machine reaches, which
  ``gemm`` measures in the same run: numpy's ``sgemm`` on large square
  matrices (all BLAS threads), in the brute-force shape, and the engine's
  screening tile on one thread.

Run: ``DIGITREC_DATA_DIR=... python benchmarks/knn.py [--repeat 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from digitrec.data import load_mnist
from digitrec.errors import require_extra
from digitrec.features import block_sums
from digitrec.models.knn import ExactKNeighborsClassifier

K = 5


def _vote(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    # Uniform vote, ties to the smallest label (as scikit-learn's argmax).
    counts = np.zeros((len(labels), n_classes), dtype=np.int64)
    for col in labels.T:
        counts[np.arange(len(labels)), col] += 1
    return counts.argmax(axis=1)


def run_sklearn(case):
    model = KNeighborsClassifier(n_neighbors=K).fit(case["train_f64"], case["y"])
    return model.predict(case["test_f64"])


def run_faiss(case):
    import faiss

    index = faiss.IndexFlatL2(case["train_f32"].shape[1])
    index.add(case["train_f32"])
    _, ind = index.search(case["test_f32"], K)
    return _vote(case["y"][ind])


def run_digitrec(case):
    # The integer block sums, as KnnModel stores them: exact distances.
    model = ExactKNeighborsClassifier(n_neighbors=K).fit(case["train_sums"], case["y"])
    return model.predict(case["test_sums"])


ENGINES = {"sklearn": run_sklearn, "faiss": run_faiss, "digitrec": run_digitrec}


def make_case(train_images, y, test_images, y_test, factor):
    train_sums = block_sums(train_images, factor).astype(np.float64)
    test_sums = block_sums(test_images, factor).astype(np.float64)
    scale = float(factor * factor)
    # The study's features: sums / f**2 in float64 (bit-identical to skimage).
    return {
        "train_f64": train_sums / scale,
        "test_f64": test_sums / scale,
        "train_f32": (train_sums / scale).astype(np.float32),
        "test_f32": (test_sums / scale).astype(np.float32),
        "train_sums": train_sums,
        "test_sums": test_sums,
        "y": np.asarray(y, dtype=np.int64),
        "y_test": np.asarray(y_test),
    }


def bench(case, repeat: int) -> dict:
    times = {name: [] for name in ENGINES}
    cpu = {name: [] for name in ENGINES}
    preds = {}
    for fn in ENGINES.values():  # warm-up: numba compile / cache load, page-in
        fn(
            {
                **case,
                "test_f64": case["test_f64"][:16],
                "test_f32": case["test_f32"][:16],
                "test_sums": case["test_sums"][:16],
            }
        )
    for _ in range(repeat):
        for name, fn in ENGINES.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            preds[name] = fn(case)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    med = {name: round(statistics.median(t), 4) for name, t in times.items()}
    ref = preds["sklearn"]
    return {
        **med,
        "accuracy": {n: round(float((p == case["y_test"]).mean()), 4) for n, p in preds.items()},
        "identical": {n: int((p == ref).sum()) for n, p in preds.items()},
        "n_queries": len(ref),
        "n_train": len(case["y"]),
        "speedup_vs_sklearn": round(med["sklearn"] / med["digitrec"], 2),
        "speedup_vs_faiss": round(med["faiss"] / med["digitrec"], 2),
        "times": {n: [round(x, 3) for x in t] for n, t in times.items()},
        # CPU seconds (all threads): less sensitive to other users of the machine.
        "cpu_s": {n: round(statistics.median(t), 3) for n, t in cpu.items()},
    }


def _rate(flop: float, fn, repeat: int = 3) -> float:
    """GFLOP/s of the best of ``repeat`` calls of ``fn`` doing ``flop`` FLOPs."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return flop / best / 1e9


def gemm_rates(n_q: int, n_t: int, d: int, screen_cols: int) -> dict:
    """float32 GEMM rates numpy reaches on this machine, in GFLOP/s.

    ``square``: 2048 x 2048 x 2048, all BLAS threads, the machine's practical
    GEMM peak; ``brute_shape``: the brute-force product of ``n_q`` queries
    with ``n_t`` rows of ``d`` features, 256 queries at a time (on the first
    2,560 queries: the rate is per FLOP, and all of them take long); ``screen_tile``:
    the engine's screening tile (2048 rows x ``screen_cols``, 128 queries) on
    one thread, as each of its threads runs it.
    """
    rng = np.random.default_rng(0)
    n_q = min(n_q, 2560)
    sq = rng.random((2048, 2048), dtype=np.float32)
    a = rng.random((n_q, d), dtype=np.float32)
    b = rng.random((n_t, d), dtype=np.float32)

    def brute() -> None:
        for s in range(0, n_q, 256):
            a[s : s + 256] @ b.T

    tile = rng.random((2048, screen_cols), dtype=np.float32)
    queries = rng.random((screen_cols, 128), dtype=np.float32)

    def screen() -> None:
        for _ in range(200):
            tile @ queries

    with threadpool_limits(limits=1, user_api="blas"):
        screen_rate = _rate(200 * 2.0 * 2048 * screen_cols * 128, screen)
    return {
        "square_f32": round(_rate(2.0 * 2048**3, lambda: sq @ sq), 1),
        "brute_shape_f32": round(_rate(2.0 * n_q * n_t * d, brute), 1),
        "screen_tile_f32_one_thread": round(screen_rate, 1),
    }


def _screen_cols(d: int) -> int:
    """Columns of digitrec's screening GEMM for ``d`` features (its default)."""
    rng = np.random.default_rng(0)
    probe = ExactKNeighborsClassifier().fit(rng.random((256, d)), np.arange(256) % 10)
    return probe._aug.shape[1]


def arithmetic(case_result: dict, d: int, screen_cols: int, gemm_rate: float) -> dict:
    """FLOPs of the case and each engine's brute-force-equivalent GFLOP/s.

    ``fraction_of_gemm``: that rate over ``gemm_rate`` (the machine's measured
    float32 GEMM rate); above 1 means faster than any brute-force search could
    be here, by doing less arithmetic.
    """
    n_q, n_t = case_result["n_queries"], case_result["n_train"]
    brute = 2.0 * n_q * n_t * d / 1e9
    effective = {n: brute / case_result[n] for n in ENGINES}
    return {
        "brute_force_gflop": round(brute, 2),
        "digitrec_screen_gflop": round(2.0 * n_q * n_t * screen_cols / 1e9, 2),
        "brute_force_floor_s": round(brute / gemm_rate, 3),
        "effective_gflops": {n: round(v, 1) for n, v in effective.items()},
        "fraction_of_gemm": {n: round(v / gemm_rate, 2) for n, v in effective.items()},
    }


def _tune_faiss_blas() -> str | None:
    """Give faiss's bundled OpenBLAS the kernels numpy's OpenBLAS uses.

    faiss-cpu ships its own OpenBLAS, which on this CPU detects "Prescott" (no
    AVX) and runs several times slower; it reads OPENBLAS_CORETYPE when loaded,
    so it is set here, before faiss is imported, unless the user set it.
    """
    if "OPENBLAS_CORETYPE" not in os.environ:
        arch = [lib.get("architecture") for lib in threadpool_info() if lib.get("architecture")]
        if arch:
            os.environ["OPENBLAS_CORETYPE"] = arch[0]
    return os.environ.get("OPENBLAS_CORETYPE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds on the headline case")
    parser.add_argument("--quick", action="store_true", help="headline case only")
    args = parser.parse_args()

    require_extra("dev", "benchmarks/knn.py (faiss)")
    coretype = _tune_faiss_blas()
    data = load_mnist(progress=False)
    result: dict = {"k": K, "openblas_coretype": coretype}
    full = make_case(data.train_images, data.train_labels, data.test_images, data.test_labels, 3)
    result.update(bench(full, args.repeat))
    if not args.quick:
        raw = make_case(data.train_images, data.train_labels, data.test_images, data.test_labels, 1)
        result["raw784"] = bench(raw, max(1, args.repeat // 2))
        tr, te, ytr, yte = train_test_split(
            data.train_images[:6000], data.train_labels[:6000], test_size=0.33, random_state=42
        )
        result["split6000"] = bench(make_case(tr, ytr, te, yte, 3), args.repeat)

    screen_cols = _screen_cols(100)
    result["gemm_gflops"] = gemm_rates(10_000, 60_000, 100, screen_cols)
    rate = result["gemm_gflops"]["square_f32"]
    result["arithmetic"] = arithmetic(result, 100, screen_cols, rate)
    if not args.quick:
        result["raw784"]["arithmetic"] = arithmetic(result["raw784"], 784, _screen_cols(784), rate)
        result["split6000"]["arithmetic"] = arithmetic(result["split6000"], 100, screen_cols, rate)
    blas = [
        {k: v for k, v in lib.items() if k in ("internal_api", "architecture", "num_threads")}
        for lib in threadpool_info()
    ]
    result["threadpools"] = blas
    print(json.dumps(result))


if __name__ == "__main__":
    main()
