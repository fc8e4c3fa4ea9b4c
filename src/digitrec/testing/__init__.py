"""Generators of test and benchmark inputs, not used for reading (evaluation only).

:mod:`~digitrec.testing.synth` renders MNIST digits as strips, rows and noisy
"scans" with known answers; :mod:`~digitrec.testing.pages` composes whole pages
of lines in the held-out fonts of :mod:`~digitrec.testing.fonts`.
"""
