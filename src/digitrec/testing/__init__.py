"""Generators of test and benchmark inputs (evaluation only: never used to train)."""
