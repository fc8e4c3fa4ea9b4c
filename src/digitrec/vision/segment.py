"""Find the digits of a binarised line of writing, left to right.

Connected components are the first guess. Two repairs follow, both driven by
the height of the line (the median height of the large components):

* **merge** a broken stroke (a piece that sits above or below another piece,
  e.g. the detached bar of a 5) into the component it overlaps horizontally;
* **split** a component that is too wide for one digit (digits written so close
  that they touch) into as many pieces as its width suggests, along the
  cheapest vertical path through the ink near each expected cut.

Specks far smaller than the line's digits are dropped as noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Piece", "bounds", "find_digits", "segment", "select"]

#: A component wider than this times the line height holds more than one digit.
SPLIT_ASPECT = 1.0
#: Typical digit width over line height, for the number of pieces of a wide component.
DIGIT_ASPECT = 0.62
#: Components this much narrower than SPLIT_ASPECT are never split.
AMBIGUOUS = 0.8
#: Up to this aspect a component may still be one (wide, slanted) digit.
WHOLE_ASPECT = 2.2
#: Components shorter than this fraction of the line height are not digits alone.
SHORT = 0.45
#: At most this many components are read, and a component is cut into at most
#: MAX_PIECES pieces: clutter cannot make a read slow.
MAX_COMPONENTS = 64
MAX_PIECES = 12
#: Every piece of a split must be at least this fraction of the line height.
MIN_PIECE_HEIGHT = 0.5
#: Slopes of the candidate cuts of a wide component (columns per row), upright first,
#: and the small cost that makes an upright cut win a tie.
_CUT_SLOPES = np.array([0.0, -0.15, 0.15, -0.3, 0.3])
_SLANT_COST = 0.1 * np.abs(_CUT_SLOPES)[:, None]
#: 8-connectivity, made once (scipy converts a float structure on every call).
_EIGHT = np.ones((3, 3), bool)


@dataclass
class Piece:
    """One digit's ink: bounding box in working pixels and its own mask.

    Attributes
    ----------
    x, y, w, h : int
        Bounding box.
    mask : numpy.ndarray
        bool (h, w): the pixels of this digit inside the box.
    """

    x: int
    y: int
    w: int
    h: int
    mask: np.ndarray

    @property
    def area(self) -> int:
        return int(self.mask.sum())


def _of(labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """``np.isin(labels, ids)``; one id (most components) by one comparison, far cheaper."""
    return labels == ids[0] if len(ids) == 1 else np.isin(labels, ids)


def _piece(labels: np.ndarray, ids: list[int], box: tuple[int, int, int, int]) -> Piece:
    y0, y1, x0, x1 = box
    m = _of(labels[y0:y1, x0:x1], ids)
    return _tight(m, x0, y0)


def bounds(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box of the True pixels of a non-empty mask.

    From the mask's row and column projections and their first and last True
    (``argmax`` of each way round): small reductions instead of ``np.nonzero``
    over every pixel (it runs for every digit and piece).

    Parameters
    ----------
    mask : numpy.ndarray
        bool (h, w) with at least one True pixel.

    Returns
    -------
    tuple of int
        ``(y0, y1, x0, x1)``: rows ``y0:y1`` and columns ``x0:x1``.
    """
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    y1, x1 = len(rows) - int(rows[::-1].argmax()), len(cols) - int(cols[::-1].argmax())
    return int(rows.argmax()), y1, int(cols.argmax()), x1


def _tight(m: np.ndarray, x0: int, y0: int) -> Piece:
    if not m.any():
        return Piece(x0, y0, 0, 0, m[:0, :0])
    a, b, c, d = bounds(m)
    return Piece(int(x0 + c), int(y0 + a), d - c, b - a, m[a:b, c:d])


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _cut_path(m: np.ndarray, centre: int, half: int) -> np.ndarray:
    """Column per row of the straight cut near ``centre`` that crosses least ink.

    Candidate cuts are lines through every column within ``half`` of
    ``centre``, vertical or slanted (up to about 17 degrees either way), so that
    a cut can follow the slanted gap between two slanted digits. Cost is the
    ink crossed plus a small pull towards ``centre``; all candidates are scored
    at once with one gather.
    """
    h, w = m.shape
    lo, hi = max(1, centre - half), min(w - 1, centre + half + 1)
    if hi <= lo:
        return np.full(h, int(np.clip(centre, 1, w - 1)))
    cols = np.arange(lo, hi)
    rows = np.arange(h) - (h - 1) / 2
    # (slope, column, row) -> x of the line in that row
    xs = np.rint(cols[None, :, None] + (_CUT_SLOPES[:, None] * rows)[:, None, :]).astype(int)
    np.minimum(np.maximum(xs, 0, out=xs), w - 1, out=xs)  # np.clip's values, in place
    # One gather from the flat mask: cheaper than indexing rows and columns apart.
    flat = np.ascontiguousarray(m).ravel()
    ink = flat[xs + w * np.arange(h)].sum(axis=2).astype(np.float64)
    ink += 0.25 * np.abs(cols - centre)[None, :] / max(half, 1)
    ink += _SLANT_COST  # prefer upright cuts on ties
    si, ci = np.unravel_index(int(ink.argmin()), ink.shape)
    return xs[si, ci]


def _split(p: Piece, n: int) -> list[Piece]:
    """Cut a component into ``n`` pieces at the cheapest paths."""
    m = p.mask
    h, w = m.shape
    cols = np.arange(w)[None, :]
    pieces, start = [], np.zeros(h, np.int64)
    for k in range(1, n + 1):
        if k < n:
            path = _cut_path(m, round(k * w / n), max(2, w // (2 * n)))
            path = np.maximum(path, start + 1)
        else:
            path = np.full(h, w)
        part = m & (cols >= start[:, None]) & (cols < path[:, None])
        # A cut may leave crumbs of the neighbour: keep the largest blob.
        lab, nlab = ndimage.label(part, structure=_EIGHT)
        if nlab > 1:
            sizes = np.bincount(lab.ravel())[1:]
            keep = sizes >= 0.15 * sizes.max()
            part = keep[lab - 1] & (lab > 0)
        t = _tight(part, p.x, p.y)
        if t.w and t.h:
            pieces.append(t)
        start = path
    return pieces


def _ink_distance(labels: np.ndarray, a: list[int], b: list[int], box: list[int]) -> float:
    """Smallest distance in pixels between the ink of label sets ``a`` and ``b``."""
    win = labels[box[0] : box[1], box[2] : box[3]]
    edt = ndimage.distance_transform_edt(~_of(win, b))
    return float(edt[_of(win, a)].min())


def _merge_target(c: dict, merged: list[dict], tallest: float, labels: np.ndarray) -> dict | None:
    """The component that ``c`` is a broken-off part of, if any.

    Writing is one line, so two components one above the other belong to one
    digit (a 5 whose bar came loose, a 3 broken at its waist). A component
    mostly inside another's box is part of it too. A short loose bit joins the
    component it overlaps, if together they are no taller than a digit.
    Among several candidates, the one whose ink is nearest wins: the loose bar
    of a 5 is closer to its own stem than to the neighbouring digit.
    """
    y0, y1, x0, x1 = c["box"]
    h, w = y1 - y0, x1 - x0
    short = h < SHORT * tallest
    target, best = None, (False, 0.0)
    for m in merged:
        my0, my1, mx0, mx1 = m["box"]
        mh, mw = my1 - my0, mx1 - mx0
        ox, oy = _overlap(x0, x1, mx0, mx1), _overlap(y0, y1, my0, my1)
        gap = max(0, max(y0, my0) - min(y1, my1))
        contained = ox * oy >= 0.6 * min(h * w, mh * mw) and c["area"] < 0.5 * m["area"]
        stacked = ox >= 0.4 * min(w, mw) and oy < 0.5 * min(h, mh) and gap <= max(h, mh)
        fragment = c["area"] < 0.2 * m["area"] and h < 0.7 * tallest
        union = [min(y0, my0), max(y1, my1), min(x0, mx0), max(x1, mx1)]
        loose = (short or fragment) and union[1] - union[0] <= 1.6 * tallest
        if not (contained or stacked or loose):
            continue
        dist = _ink_distance(labels, c["ids"], m["ids"], union)
        # A flat bar (the top of a 5, the cross of a 7) may float further away.
        reach = 0.3 if (w >= 2 * h and h < 0.3 * tallest) else 0.1
        near = ox >= 0.25 * w or (short and dist <= reach * tallest)
        if not (contained or stacked or near):
            continue  # a loose bit joins only ink that it overlaps or nearly touches
        # One above the other (or inside) beats merely close; then nearest ink wins.
        score = (contained or stacked, -dist)
        if target is None or score > best:
            target, best = m, score
    return target


def segment(mask: np.ndarray, parts: tuple | None = None) -> list[list[list[Piece]]]:
    """Candidate segmentations of a binarised line, left to right.

    Parameters
    ----------
    mask : numpy.ndarray
        bool (h, w), True on ink.
    parts : tuple, optional
        ``mask``'s components when the caller has them already
        (:meth:`digitrec.vision.normalize.InkMap.parts`).

    Returns
    -------
    list
        One group per (merged) connected component, in reading order. Each
        group lists alternative readings of it, each a list of :class:`Piece`:
        a digit-shaped component has one (itself); a wide one has several
        splits (2, 3, ... pieces), the geometrically likeliest first, plus
        itself when it could still be one wide digit.
    """
    if parts is None:
        labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
        boxes, areas = (
            ndimage.find_objects(labels),
            np.bincount(labels[np.asarray(mask, bool)], minlength=n + 1)[1:],
        )
    else:
        labels, n, boxes, areas = parts
    if n == 0:
        return []
    comps, tallest = _components(boxes, areas)
    merged = _merge(comps, tallest, labels)
    top = max(m["area"] for m in merged)
    line_h = float(
        np.median([m["box"][1] - m["box"][0] for m in merged if m["area"] >= 0.25 * top])
    )
    # Noise: what is much shorter than the line and did not join a digit.
    merged = [m for m in merged if m["box"][1] - m["box"][0] >= SHORT * line_h]
    # Bounded work on cluttered pages: the largest components only.
    merged = sorted(merged, key=lambda m: -m["area"])[:MAX_COMPONENTS]
    groups = [_readings(_piece(labels, m["ids"], tuple(m["box"])), line_h) for m in merged]
    groups.sort(key=lambda g: g[0][0].x + g[0][0].w / 2 if g[0] else 0)
    return groups


def _components(boxes: list, areas: np.ndarray) -> tuple[list[dict], float]:
    """Components large enough to matter, largest first, and the tallest large one's height.

    Each component is a group of label ids with a box (y0, y1, x0, x1) and an area.
    """
    big = areas >= 0.25 * areas.max()
    heights = np.array([b[0].stop - b[0].start for b in boxes])
    tallest = float(heights[big].max())
    comps = [
        {
            "ids": [i + 1],
            "box": [b[0].start, b[0].stop, b[1].start, b[1].stop],
            "area": int(areas[i]),
        }
        for i, b in enumerate(boxes)
        if areas[i] >= max(3, 0.01 * areas.max())
    ]
    comps.sort(key=lambda c: -c["area"])
    del comps[4 * MAX_COMPONENTS :]  # the merge is quadratic in their number
    return comps, tallest


def _merge(comps: list[dict], tallest: float, labels: np.ndarray) -> list[dict]:
    """Merge broken strokes into the components they belong to.

    Until nothing changes: a stroke broken into several bits joins up bit by
    bit (each pass sees the boxes the previous one grew).
    """
    for _ in range(4):
        merged: list[dict] = []
        for c in comps:
            target = _merge_target(c, merged, tallest, labels)
            if target is None:
                merged.append({"ids": list(c["ids"]), "box": list(c["box"]), "area": c["area"]})
            else:
                y0, y1, x0, x1 = c["box"]
                target["ids"] += c["ids"]
                b = target["box"]
                target["box"] = [min(b[0], y0), max(b[1], y1), min(b[2], x0), max(b[3], x1)]
                target["area"] += c["area"]
        if len(merged) == len(comps):
            break
        comps = sorted(merged, key=lambda c: -c["area"])
    return merged


def _readings(p: Piece, line_h: float) -> list[list[Piece]]:
    """The alternative readings of one component: itself, and splits when it is wide."""
    ref = max(p.h, 0.8 * line_h)
    aspect = p.w / ref
    if aspect <= SPLIT_ASPECT * AMBIGUOUS:
        return [[p]]
    k = min(MAX_PIECES, max(2, round(aspect / DIGIT_ASPECT)))
    # Digit-shaped but wide: at most two narrow digits touching.
    counts = [2] if aspect <= SPLIT_ASPECT else sorted({max(2, k - 1), k, k + 1})
    hyps = [_split(p, j) for j in counts]
    # Digits on a line are all tall: a cut that leaves a short piece is wrong.
    hyps = [h for h in hyps if h and min(q.h for q in h) >= MIN_PIECE_HEIGHT * ref]
    hyps.sort(key=lambda h: abs(len(h) - k))
    # One wide digit (a slanted 7, a flat 5) stays a candidate unless far too wide.
    if aspect <= WHOLE_ASPECT or not hyps:
        hyps.insert(0 if aspect <= SPLIT_ASPECT else len(hyps), [p])
    return [h for h in hyps if h]


def find_digits(mask: np.ndarray, max_digits: int | None = None) -> list[Piece]:
    """Digit pieces of a binarised image, sorted left to right (geometry only).

    Parameters
    ----------
    mask : numpy.ndarray
        bool (h, w), True on ink.
    max_digits : int, optional
        Keep at most this many pieces (the largest ones), still in reading order.

    Returns
    -------
    list of Piece
        One per digit found; empty when there is no ink. Where
        :func:`segment` offers alternatives, the first (geometric) one is used;
        :func:`digitrec.vision.read` chooses among them with the model instead.
    """
    pieces = [p for g in segment(mask) for p in g[0]]
    return select(pieces, max_digits)


def select(pieces: list[Piece], max_digits: int | None) -> list[Piece]:
    """The ``max_digits`` largest pieces (all when None), in reading order."""
    if max_digits is not None and len(pieces) > max_digits:
        pieces = sorted(pieces, key=lambda p: -p.area)[:max_digits]
    return sorted(pieces, key=lambda p: p.x + p.w / 2)
