"""Helpers for tests and benchmarks, not for reading: synthetic scan-like images.

:mod:`~digitrec.testing.synth` renders MNIST digits as strips, rows and
noisy "scans" with known answers, so the reader's tests and benchmarks share
one renderer.
"""
