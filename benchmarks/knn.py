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
- ``arithmetic``: the FLOPs of a brute-force search and of digitrec's screening
  GEMM, and the float32 GEMM rate numpy reaches here, to say how close to the
  arithmetic limit each engine is.

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
from threadpoolctl import threadpool_info

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


def gemm_gflops(n_q: int, n_t: int, d: int, block: int = 256, repeat: int = 3) -> float:
    """float32 GEMM rate numpy reaches on this machine, in the engine's shape."""
    rng = np.random.default_rng(0)
    a = rng.random((n_q, d), dtype=np.float32)
    b = rng.random((n_t, d), dtype=np.float32)
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for s in range(0, n_q, block):
            a[s : s + block] @ b.T
        best = min(best, time.perf_counter() - start)
    return 2.0 * n_q * n_t * d / best / 1e9


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

    n_q, n_t, d = 10_000, 60_000, 100
    brute = 2.0 * n_q * n_t * d
    screen_dims = ExactKNeighborsClassifier().fit(full["train_sums"][:64], full["y"][:64])
    dims = screen_dims._aug.shape[1]
    rate = gemm_gflops(n_q, n_t, d)
    rate_screen = gemm_gflops(n_q, n_t, dims)
    result["arithmetic"] = {
        "brute_force_gflop": round(brute / 1e9, 1),
        "digitrec_screen_gflop": round(2.0 * n_q * n_t * dims / 1e9, 1),
        "numpy_f32_gemm_gflops_d100": round(rate, 1),
        "numpy_f32_gemm_gflops_screen": round(rate_screen, 1),
        "brute_force_f32_floor_s": round(brute / 1e9 / rate, 3),
        "digitrec_screen_floor_s": round(2.0 * n_q * n_t * dims / 1e9 / rate_screen, 3),
        "effective_gflops": {
            n: round(brute / 1e9 / result[n], 1) for n in ("sklearn", "faiss", "digitrec")
        },
    }
    blas = [
        {k: v for k, v in lib.items() if k in ("internal_api", "architecture", "num_threads")}
        for lib in threadpool_info()
    ]
    result["threadpools"] = blas
    print(json.dumps(result))


if __name__ == "__main__":
    main()
