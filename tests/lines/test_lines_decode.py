"""CTC decoding, number extraction, calibration maths (no model needed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from digitrec.lines import calibrate
from digitrec.lines.decode import greedy, letters_among_words, line_score, numbers, tokens_text
from digitrec.lines.spec import CLASSES


def _probs(path: str) -> np.ndarray:
    """Frame probabilities that spell ``path`` (``_`` = blank), 0.9 on the chosen class."""
    p = np.full((len(path), len(CLASSES) + 1), 0.1 / len(CLASSES))
    for t, c in enumerate(path):
        p[t, 0 if c == "_" else CLASSES.index(c) + 1] = 0.9
    return p


def test_greedy_collapses_repeats_and_blanks():
    tokens = greedy(_probs("11_1_22__.__5"))
    assert "".join(t.char for t in tokens) == "112.5"
    assert [t.start for t in tokens] == [0, 3, 5, 9, 12]


def test_words_and_end_separators_are_skipped():
    nums, skipped = numbers(greedy(_probs("X__-_1_2_._5_0_.__X")))
    assert ["".join(t.char for t in n) for n in nums] == ["12.50"]
    assert [t.char for t in skipped] == ["X", "-", ".", "X"]
    assert tokens_text(greedy(_probs("X_X"))) == ""
    assert tokens_text(greedy(_probs("1_2_X_3"))) == "12 3"


def _sure(tokens, confidences):
    return [replace(t, confidence=c) for t, c in zip(tokens, confidences, strict=True)]


def test_a_short_doubtful_run_among_words_is_read_as_letters():
    # "Zoo Lane": the "o" read as 0 at 0.8 goes with the words; at 0.95 it stays a digit
    doubtful = _sure(greedy(_probs("X__0__X")), [0.99, 0.8, 0.99])
    assert tokens_text(letters_among_words(doubtful)) == ""
    sure = _sure(greedy(_probs("X__0__X")), [0.99, 0.95, 0.99])
    assert tokens_text(letters_among_words(sure)) == "0"
    # a longer run ("Total 12.50") or a line with no word is never touched
    total = _sure(greedy(_probs("X__1_2_._5_0")), [0.99, 0.6, 0.6, 0.9, 0.6, 0.6])
    assert tokens_text(letters_among_words(total)) == "12.50"
    alone = _sure(greedy(_probs("4")), [0.3])
    assert tokens_text(letters_among_words(alone)) == "4"
    # two doubtful digits at the line's start, before a word, go with it
    start = _sure(greedy(_probs("1_1__X")), [0.6, 0.5, 0.99])
    assert tokens_text(letters_among_words(start)) == ""


def test_line_score_drops_with_a_doubtful_character_or_blank():
    sure = _probs("1_2")
    assert np.isclose(line_score(sure, greedy(sure)), 0.9**3)
    doubtful = sure.copy()
    doubtful[1, 0], doubtful[1, 5] = 0.5, 0.45  # the blank might be a "4"
    assert line_score(doubtful, greedy(doubtful)) < line_score(sure, greedy(sure))


def test_isotonic_calibration_maps_scores_to_accuracy():
    rng = np.random.default_rng(0)
    score = rng.uniform(0, 1, 4000)
    correct = rng.uniform(0, 1, 4000) < score**2  # overconfident raw scores
    cal = calibrate.fit(score, correct)
    conf = np.array([calibrate.apply(cal, s) for s in score])
    assert calibrate.ece(conf, correct) < 0.03 < calibrate.ece(score, correct)
    assert calibrate.apply(None, 0.3) == 0.3


def test_risk_coverage_accepts_the_most_confident_first():
    conf = np.array([0.99, 0.98, 0.97, 0.5, 0.4])
    correct = np.array([True, True, True, False, True])
    rc = calibrate.risk_coverage(conf, correct)
    assert rc["coverage_at_0.01"] == 0.6 and rc["coverage_at_0.005"] == 0.6
    assert (
        calibrate.risk_coverage(np.ones(4), np.array([1, 1, 1, 0], bool))["coverage_at_0.01"] == 0.0
    )  # ties go together: all four or none
