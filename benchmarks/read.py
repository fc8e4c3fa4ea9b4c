"""Reading digits in scan-like images: digitrec.read beside Tesseract.

Renders the test set of ``benchmarks/scans.py`` in memory (fixed seed), reads
every image with :func:`digitrec.read` and with Tesseract (``tesseract-ocr``,
digits whitelist; ``--psm 10`` for single digits, ``--psm 7`` for strings), and
prints one JSON line: per-digit accuracy on single digits, exact-string accuracy
on 5-digit strings and on all strings (3-9 digits), and the time to read one
5-digit strip (median wall and CPU time, model loaded beforehand), with ratios
against Tesseract.

    PYTHONPATH=src python benchmarks/read.py                   # the shipped model
    PYTHONPATH=src python benchmarks/read.py --model models/x  # a saved model
    PYTHONPATH=src python benchmarks/read.py --onnx net.onnx   # any (n,1,28,28)->logits ONNX
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec.testing.synth import test_set
from digitrec.vision import read, read_many


class OnnxLogits:
    """An ONNX network (n, 1, 28, 28) float in [0, 1] -> logits, as predict_proba."""

    def __init__(self, path: str) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        x = (np.asarray(images, np.float32) / 255.0)[:, None]
        z = self.session.run(None, {self.name: x})[0]
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


def tesseract(image: np.ndarray, psm: int) -> str:
    """Digits Tesseract reads in an image (whitelist 0-9)."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    run = subprocess.run(
        [
            "tesseract",
            "stdin",
            "stdout",
            "--psm",
            str(psm),
            "-c",
            "tessedit_char_whitelist=0123456789",
        ],
        input=buf.getvalue(),
        capture_output=True,
        timeout=60,
    )
    return "".join(ch for ch in run.stdout.decode(errors="replace") if ch.isdigit())


def score(texts: list[str], samples) -> dict:
    exact = [t == s.text for t, s in zip(texts, samples, strict=True)]
    five = [e for e, s in zip(exact, samples, strict=True) if len(s.text) == 5]
    return {
        "exact": round(float(np.mean(exact)), 4),
        "exact_5": round(float(np.mean(five)), 4) if five else None,
        "n": len(samples),
        "n_5": len(five),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="load_model spec (default: shipped)")
    parser.add_argument("--onnx", help="an ONNX network (n,1,28,28)->logits instead of --model")
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--strings", type=int, default=300, help="mixed-length (3-9) strings")
    parser.add_argument("--fives", type=int, default=300, help="extra 5-digit strings")
    parser.add_argument("--tesseract", type=int, default=150, help="images per kind (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0, help="onnxruntime threads for a CNN (0: its default)"
    )
    args = parser.parse_args()

    if args.onnx:
        model, name = OnnxLogits(args.onnx), f"onnx:{Path(args.onnx).name}"
    else:
        from digitrec.models import load_model

        model, name = load_model(args.model), args.model
        if args.threads:
            # Reopen with a fixed onnxruntime thread count (CnnModel.from_saved).
            from digitrec.models import load_saved

            model = type(model).from_saved(load_saved(model.meta["path"]), threads=args.threads)
            name += f" ({args.threads} thread)"
    singles, mixed = test_set(args.singles, args.strings, args.seed, five_only=args.fives)

    single_texts = [r.text for r in read_many([s.image for s in singles], model=model)]
    string_texts = [r.text for r in read_many([s.image for s in mixed], model=model)]
    ours_single = float(np.mean([t == s.text for t, s in zip(single_texts, singles, strict=True)]))
    ours_strings = score(string_texts, mixed)

    # Timing: one 5-digit strip at a time, as a service would read them.
    strips = [s.image for s in mixed if len(s.text) == 5][:100]
    read(strips[0], model=model)
    wall, cpu = [], []
    for img in strips:
        w0, c0 = time.perf_counter(), time.process_time()
        read(img, model=model)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)

    result = {
        "benchmark": "read",
        "model": name,
        "seed": args.seed,
        "single_digit_accuracy": round(ours_single, 4),
        "n_single": len(singles),
        "string_exact": ours_strings["exact"],
        "string5_exact": ours_strings["exact_5"],
        "n_strings": ours_strings["n"],
        "n_strings5": ours_strings["n_5"],
        "ms_per_5digit_strip_wall_median": round(1000 * float(np.median(wall)), 2),
        "ms_per_5digit_strip_cpu_median": round(1000 * float(np.median(cpu)), 2),
    }
    print(json.dumps(result), file=sys.stderr)  # ours, before the slow peer
    if args.tesseract <= 0:
        result["tesseract"] = "skipped (--tesseract 0)"
    elif shutil.which("tesseract"):
        k = args.tesseract
        ts = [tesseract(s.image, 10) for s in singles[:k]]
        tt = [tesseract(s.image, 7) for s in mixed[:k]] + [
            tesseract(s.image, 7) for s in mixed[args.strings : args.strings + k]
        ]
        tsamples = mixed[:k] + mixed[args.strings : args.strings + k]
        w0 = time.perf_counter()
        for img in strips[:20]:
            tesseract(img, 7)
        t_ms = 1000 * (time.perf_counter() - w0) / len(strips[:20])
        t_single = float(np.mean([t == s.text for t, s in zip(ts, singles[:k], strict=True)]))
        t_strings = score(tt, tsamples)
        result["tesseract"] = {
            "version": subprocess.run(
                ["tesseract", "--version"], capture_output=True, text=True
            ).stdout.split("\n")[0],
            "single_digit_accuracy": round(t_single, 4),
            "n_single": len(ts),
            "string_exact": t_strings["exact"],
            "string5_exact": t_strings["exact_5"],
            "n_strings": t_strings["n"],
            "ms_per_5digit_strip_wall_mean": round(t_ms, 1),
        }
        result["ratio_single_accuracy_vs_tesseract"] = round(ours_single / max(t_single, 1e-9), 2)
        result["ratio_string5_exact_vs_tesseract"] = round(
            (ours_strings["exact_5"] or 0) / max(t_strings["exact_5"] or 0, 1e-9), 2
        )
        result["speedup_vs_tesseract"] = round(t_ms / result["ms_per_5digit_strip_wall_median"], 1)
    else:
        result["tesseract"] = "not installed (apt-get install -y tesseract-ocr)"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
