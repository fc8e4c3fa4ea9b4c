"""Find the lines of writing on a page, in reading order.

The steps, on a grey page (float32, 0 = black) at working size:

1. **Ink.** :func:`digitrec.vision.normalize.ink_map` (polarity, lighting,
   binarisation). A second, lower threshold keeps faint printed rules (light
   blue ruling) so that they can be removed too.
2. **Skew.** The page's tilt is the angle whose projection profile of the ink
   is sharpest (largest variance of the row sums after shearing the ink
   coordinates by ``tan(angle)``), searched over +/-6 degrees, coarse then fine.
   The page is never rotated: the rules and the lines are found in sheared
   coordinates, and every box stays in the page's own pixels.
3. **Rules.** Printed rules are long thin runs of ink. In the sheared frame a
   tilted rule is straight, so a morphological opening with a long line
   (``minimum_filter1d`` then ``maximum_filter1d``'s pixels, computed from the
   starts and stops of the runs of ink) finds it: horizontal rules longer than several text heights,
   vertical rules much taller than the writing, and the short walls of comb
   boxes (vertical runs that join a horizontal rule at both ends). Ink that
   crosses a rule (a stroke drawn through it) is given back.
4. **Lines.** Connected components of what is left, minus specks and stains
   (a line of smaller writing takes back its own decimal points and dashes),
   are grouped: components at least half the text height start or join a line
   when they overlap its band vertically and are no further than
   :data:`FIELD_GAP` line heights to its right (a larger gap starts another
   field on the same row); small marks (dots, commas, dashes, accents) join the
   line whose band holds them.
5. **Order.** Lines whose bands overlap form a row; rows top to bottom, lines
   in a row left to right.

Each :class:`Line` has its box and a crop for the line reader in which the
rules, the other lines' ink and the noise are painted over with paper.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from digitrec.vision.normalize import InkMap, grow, ink_map, paper_background
from digitrec.vision.quantile import median, percentiles
from digitrec.vision.segment import bounds

__all__ = ["FIELD_GAP", "Cell", "Layout", "Line", "estimate_skew", "find_lines", "find_rules"]

#: A horizontal gap wider than this many line heights separates two fields on one row
#: (a faint digit lost inside a number can leave close to 3; generated pages put fields 4.5+ apart).
FIELD_GAP = 3.0
#: Skew search range (degrees) and its coarse and fine steps.
MAX_SKEW = 6.0
#: A horizontal rule is at least this many text heights long ...
RULE_LENGTH = 5.0
#: ... a comb box's (only taken where walls stand on it) at least this many ...
COMB_LENGTH = 2.5
#: ... and a vertical one at least this many (a tall 1 is about 1.5).
VRULE_LENGTH = 2.6
#: Ink (relative darkness, :class:`~digitrec.vision.normalize.InkMap`) above which a pixel
#: may be a faint mark, painted over in other lines' crops ...
FAINT_INK = 0.1
#: Contrast with the local paper (0 = paper, 1 = black) above which a pixel may belong to
#: a printed rule: a thin light-blue comb box blurs below FAINT_INK (the ink map's
#: stretch sets the faintest marks to 0), yet stands well above the paper's noise.
RULE_CONTRAST = 0.08
#: Components of fewer pixels than this, or than this share of the text height squared,
#: are specks (dust, noise): a line of smaller writing takes back its own (see _points_inside).
SPECK_AREA = 4.0
SPECK_SHARE = 0.006
#: Components whose bounding box is taller than this many text heights are stains.
STAIN_HEIGHT = 4.0
#: Components at least this fraction of the text height can start a line.
TALL = 0.3
#: A page with more lines than this is clutter: the largest are kept.
MAX_LINES = 200


@dataclass
class Cell:
    """The writing in one box of a comb row (one character per box).

    Attributes
    ----------
    box : tuple of int
        ``(x, y, w, h)`` of the writing in the box, in the page's working
        pixels; ``ink`` and ``mask`` cover it.
    ink : numpy.ndarray
        float32, 0 = paper, 1 = ink; the box's rules are removed.
    mask : numpy.ndarray
        bool: the pixels of the marks written in this box.
    """

    box: tuple[int, int, int, int]
    ink: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)


@dataclass
class Line:
    """One line (or field) of writing.

    Attributes
    ----------
    box : tuple of int
        ``(x, y, w, h)`` of its ink, in the page's working pixels.
    crop : numpy.ndarray
        float32 grey (0 = black) region around the line, with everything that
        is not this line's ink (rules, other lines, specks) painted as paper.
        Painted on first use: a one-line page, read whole, never needs it.
    origin : tuple of int
        Working pixel of the crop's top-left corner.
    height : float
        The line's text height (median height of its tall components).
    cells : list of Cell
        For writing in a comb row (every mark between the walls of printed
        boxes), the boxes that hold writing, left to right: one character
        each. Empty for any other line.
    """

    box: tuple[int, int, int, int]
    _crop: np.ndarray | Callable[[], np.ndarray] = field(repr=False)
    origin: tuple[int, int]
    height: float
    cells: list[Cell] = field(default_factory=list)

    @property
    def crop(self) -> np.ndarray:
        """The line's crop (see the class docstring), painted once."""
        if callable(self._crop):
            self._crop = self._crop()
        return self._crop


@dataclass
class Layout:
    """The lines of a page and what was found on the way.

    Attributes
    ----------
    lines : list of Line
        In reading order.
    skew : float
        The page's tilt in degrees (positive: lines rise to the right).
        Measured on first use when the lines did not depend on it (a single
        mark of ink and no rule).
    rules : numpy.ndarray
        bool mask of the printed rules removed.
    text_height : float
        Typical height of the writing, in working pixels (0 when none).
    reason : str or None
        Why there are no lines, when ``lines`` is empty.
    """

    lines: list[Line]
    _skew: float | Callable[[], float]
    rules: np.ndarray = field(repr=False)
    text_height: float
    reason: str | None = None

    @property
    def skew(self) -> float:
        """The page's tilt in degrees (see the class docstring)."""
        if callable(self._skew):
            self._skew = self._skew()
        return self._skew


def _profile_scores(ys: np.ndarray, xs: np.ndarray, slopes: list[float]) -> list[float]:
    """Sharpness (sum of squares) of the row histogram of the ink sheared by each slope.

    The row of a point is ``(y - slope x - min) / 2``, rounded down, and these
    are the very floats of that expression: halving is exact in binary floating
    point, so halving ``y`` and the slope first (once) and the difference after
    gives the same bits. That leaves five passes over the points per slope
    (the search tries about 45 slopes per page), in place, the last
    subtraction writing the rows as integers directly (truncation; the values
    are >= 0).
    """
    half_ys = ys * 0.5
    buf = np.empty_like(ys)
    rows = np.empty(ys.shape, np.int64)
    scores = []
    for slope in slopes:
        np.multiply(xs, slope * 0.5, out=buf)
        np.subtract(half_ys, buf, out=buf)
        np.subtract(buf, buf.min(), out=rows, casting="unsafe")
        hist = np.bincount(rows)
        scores.append(float(np.dot(hist, hist)))
    return scores


def estimate_skew(mask: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """The page's tilt in degrees, from the projection profile of its ink.

    Parameters
    ----------
    mask : numpy.ndarray
        bool (h, w) ink.
    max_angle : float
        Largest tilt searched, either way.

    Returns
    -------
    float
        Angle whose shear (``y - tan(angle) * x``) makes the rows of ink
        sharpest; positive when lines fall to the right in image coordinates
        (y grows downwards). 0.0 when there is too little ink to tell.
    """
    # np.nonzero's coordinates, from the flat indices (np.nonzero is ten times slower on a page).
    ys, xs = np.divmod(np.flatnonzero(mask), mask.shape[1])
    if ys.size < 50:
        return 0.0
    if ys.size > 60_000:  # a regular subsample keeps the profile's shape
        step = ys.size // 60_000 + 1
        ys, xs = ys[::step], xs[::step]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    best = 0.0
    for span, step in ((max_angle, 0.5), (0.5, 0.1), (0.1, 0.025)):
        angles = np.arange(best - span, best + span + step / 2, step)
        scores = _profile_scores(ys, xs, [math.tan(math.radians(a)) for a in angles])
        best = float(angles[int(np.argmax(scores))])
    return round(best, 3)


def _column_runs(shifts: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, shift) of the runs of columns that share one shift."""
    edges = np.flatnonzero(np.diff(shifts)) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [shifts.size]))
    return [(int(a), int(b), int(shifts[a])) for a, b in zip(starts, stops, strict=True)]


def _shear_rows(mask: np.ndarray, slope: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Shift each column ``x`` up by ``slope * x`` so that lines of that slope become flat.

    Returns the sheared mask (taller by the largest shift), the per-column
    shifts and the padding on top, for :func:`_unshear_rows`. Columns that
    share a shift are copied as one block, so this costs a few copies of the
    mask whatever its size.
    """
    h, w = mask.shape
    shifts = np.rint(slope * np.arange(w)).astype(np.int64)
    pad = int(max(0, shifts.max()))
    out = np.zeros((h + pad + int(max(0, -shifts.min())), w), mask.dtype)
    for a, b, s in _column_runs(shifts):
        out[pad - s : pad - s + h, a:b] = mask[:, a:b]
    return out, shifts, pad


def _unshear_rows(sheared: np.ndarray, shifts: np.ndarray, pad: int, h: int) -> np.ndarray:
    out = np.empty((h, sheared.shape[1]), sheared.dtype)
    for a, b, s in _column_runs(shifts):
        out[:, a:b] = sheared[pad - s : pad - s + h, a:b]
    return out


def _row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of True along each row of a bool image: ``(row, start, stop)``, stop exclusive.

    In raster order. The changes between neighbours, with a False column on
    either side, alternate between a run's start and its stop in every row.
    """
    h, w = mask.shape
    if w == 0:
        return (np.zeros(0, np.int64),) * 3  # type: ignore[return-value]
    changes = np.empty((h, w + 1), bool)  # np.diff with a False column prepended and appended
    changes[:, 0], changes[:, w] = mask[:, 0], mask[:, w - 1]
    np.not_equal(mask[:, 1:], mask[:, :-1], out=changes[:, 1:w])
    row, col = np.divmod(np.flatnonzero(changes), w + 1)
    return row[0::2], col[0::2], col[1::2]


def _paint(shape: tuple[int, int], row: np.ndarray, start: np.ndarray, stop: np.ndarray):
    """A bool image of ``shape``, True on the given runs along rows (see :func:`_row_runs`)."""
    out = np.zeros(shape, bool)
    lengths = stop - start
    total = int(lengths.sum())
    if total:
        # Flat index of every pixel of every run: its run's first pixel plus its rank in the run.
        shift = row * shape[1] + start - (np.cumsum(lengths) - lengths)
        out.ravel()[np.arange(total) + np.repeat(shift, lengths)] = True
    return out


def _open_rows(mask: np.ndarray, length: int) -> np.ndarray:
    """``maximum_filter1d(minimum_filter1d(mask, length), length)`` along rows, from the runs.

    The same pixels as scipy's filters (mode ``reflect``) for ``length`` up to
    the row's width: a reflected pixel lies inside the window anyway, so the
    windows are clipped to the row. A run keeps its pixels when it holds a
    whole window: it is at least ``length`` long, or at least the part of a
    window inside the row where it touches an end. A window of even length
    has one pixel more on its left, so the max filter misses the first pixel
    of a run that starts inside the row.
    """
    w = mask.shape[1]
    before = length // 2
    after = length - 1 - before
    row, start, stop = _row_runs(mask)
    left, right = start == 0, stop == w
    ok = (stop - start >= length) | (left & (stop > after)) | (right & (w - start > before))
    start = np.where(left, start, start + (before - after))
    return _paint(mask.shape, row[ok], start[ok], stop[ok])


def _runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Opening with a ``length``-long line along ``axis``: straight runs of at least that length.

    A run may wander by one pixel across (a residual tilt), so the mask is
    first thickened by one pixel across the run; the result is then limited to
    the ink itself.
    """
    if axis == 0:
        return _runs(mask.T, length, 1).T
    thick = mask.copy()  # a max filter of 3 across (edges add nothing to a max)
    thick[1:] |= mask[:-1]
    thick[:-1] |= mask[1:]
    if length <= mask.shape[1]:
        return _open_rows(thick, length) & mask
    # Windows longer than the row: scipy's reflection reaches outside the window.
    thick = thick.astype(np.uint8)
    opened = ndimage.maximum_filter1d(ndimage.minimum_filter1d(thick, length, axis=1), length, 1)
    return opened.astype(bool) & mask


def _box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of a bool image's True pixels (None when there are none)."""
    if not mask.any():
        return None
    y0, y1, x0, x1 = bounds(mask)
    return slice(y0, y1), slice(x0, x1)


def _comb_walls(vert: np.ndarray, horiz: np.ndarray, text_h: float, length: int) -> np.ndarray:
    """Vertical runs that join horizontal rules at both ends: the walls of comb boxes.

    Judged column by column: a wall's column is one run of ink from the top
    rule to the bottom one, where a digit in the box stops short. A digit
    written against a wall (the back of a 6, a 1) thus stays with its digit,
    and the wall is judged by its own width. ``vert`` and ``horiz`` are the
    vertical runs (at least ``length`` long) and the horizontal rules, in a
    frame where walls are upright.
    """
    if not horiz.any():  # no horizontal rule, no comb box
        return np.zeros_like(vert)
    # Worked on transposed (the callers' arrays are transposed views): a column is a row.
    up, hz = vert.T, horiz.T
    # The runs of each column (a gap of a pixel or two closed: blur and noise break a run).
    closed = up.copy()
    closed[:, 1:] |= up[:, :-1]
    closed[:, :-1] |= up[:, 1:]
    closed[:, 1:-1] = closed[:, :-2] & closed[:, 1:-1] & closed[:, 2:]
    closed[:, [0, -1]] = False  # binary_closing erodes with paper outside the image
    x, y0, y1 = _row_runs(closed | up)
    # A wall's run goes on into both rules (it is printed across them); a stroke that
    # merely comes close to them, however close, stops short. A rule's opened run may
    # stop a column short of the wall: a column either side counts.
    near = hz.copy()
    near[1:] |= hz[:-1]
    near[:-1] |= hz[1:]
    top, bottom = near.copy(), near.copy()
    top[:, :-1] |= near[:, 1:]  # the run's first row or the next
    bottom[:, 1:] |= near[:, :-1]  # its last row or the one before
    keep = top[x, y0] & bottom[x, y1 - 1] & (y1 - y0 >= length) & ~hz[x, (y0 + y1) // 2]
    cols_up = _paint(up.shape, x[keep], y0[keep], y1[keep]) & up
    box = _box(cols_up)
    if box is None:
        return cols_up.T
    # A wall is a few columns wide; a wider block is ink that fills a box (a blot), not a wall.
    blocks, n = ndimage.label(cols_up[box], np.ones((3, 3), bool))
    wide = np.zeros(n + 1, bool)
    for i, sl in enumerate(ndimage.find_objects(blocks), start=1):
        wide[i] = sl[0].stop - sl[0].start > 0.25 * text_h + 3
    cols_up[box] &= ~wide[blocks]
    # Labelled in the page's frame: their order decides ties in the comb's grid.
    cols_up[box] = _on_grid(cols_up[box].T, box[0].start).T
    # A pixel either side: the wall's soft edge.
    walls = cols_up.copy()
    walls[1:] |= cols_up[:-1]
    walls[:-1] |= cols_up[1:]
    return (walls & up).T


def _on_grid(walls: np.ndarray, x0: int = 0) -> np.ndarray:
    """The walls that stand where their comb's boxes put walls (``walls``' first column is ``x0``).

    Walls side by side over the same rows are one comb; a stroke of a digit
    that passed for a wall (one written the full height of its box) stands
    off the comb's evenly spaced walls (:func:`_grid`) and is left to its
    digit. A wall alone, or a comb whose walls fit no grid, is kept whole.
    """
    labels, n = ndimage.label(walls, np.ones((3, 3), bool))
    if n < 3:
        return walls
    spans = [
        (x0 + sl[1].start + (sl[1].stop - sl[1].start) / 2, sl[0].start, sl[0].stop)
        for sl in ndimage.find_objects(labels)
    ]
    groups: list[list[int]] = []
    for i in sorted(range(n), key=lambda i: spans[i][0]):
        x, a, b = spans[i]
        for g in groups:
            gx, ga, gb = spans[g[-1]]
            if x - gx <= 3 * (b - a) and min(b, gb) - max(a, ga) >= 0.5 * min(b - a, gb - ga):
                g.append(i)
                break
        else:
            groups.append([i])
    keep = np.ones(n + 1, bool)
    for g in groups:
        xs = np.array([spans[i][0] for i in g])
        grid = _grid(xs, float(np.median([spans[i][2] - spans[i][1] for i in g])))
        if len(g) < 3 or grid is None:
            continue
        x0, pitch, _ = grid
        off = np.abs(xs - x0 - np.rint((xs - x0) / pitch) * pitch) > max(2.0, 0.12 * pitch)
        keep[np.asarray(g)[off] + 1] = False
    return keep[labels] & walls


def _may_run(occupied: np.ndarray, length: int) -> bool:
    """Whether :func:`_runs` can find a run of ``length`` along an axis with this occupancy.

    ``occupied`` says which positions along the axis hold any ink (shearing
    across the axis does not change it). A run needs that many occupied
    positions in a row, or half as many at the border (the filters mirror the
    edge), or a full row. Most one-line images fail this test, and their
    rule search is skipped.
    """
    if not occupied.any():
        return False
    edges = np.flatnonzero(np.diff(np.concatenate(([0], occupied.astype(np.int8), [0]))))
    longest = int((edges[1::2] - edges[::2]).max())
    return longest >= occupied.size or 2 * longest >= length


def _rule_lengths(text_h: float) -> tuple[int, int]:
    """Shortest horizontal and vertical rule, in pixels, for writing ``text_h`` tall."""
    return int(max(40, RULE_LENGTH * text_h)), int(max(30, VRULE_LENGTH * text_h))


def _comb_length(text_h: float) -> int:
    """Shortest rule of a comb box, in pixels, for writing ``text_h`` tall."""
    return int(max(20, COMB_LENGTH * text_h))


def _may_hold_rules(faint: np.ndarray, text_h: float) -> bool:
    """False when :func:`find_rules` cannot find any rule, whatever the skew."""
    vlen = _rule_lengths(text_h)[1]
    return _may_run(faint.any(axis=0), _comb_length(text_h)) or _may_run(faint.any(axis=1), vlen)


def find_rules(faint: np.ndarray, skew: float, text_h: float) -> np.ndarray:
    """Printed rules (ruling, form lines, comb boxes, margins) in a page's ink.

    Parameters
    ----------
    faint : numpy.ndarray
        bool (h, w) ink at a low threshold (faint ruling included).
    skew : float
        The page's tilt in degrees (:func:`estimate_skew`).
    text_h : float
        Typical height of the writing in pixels.

    Returns
    -------
    numpy.ndarray
        bool (h, w), True on rule pixels, widened by a pixel to take their
        soft edges, minus the ink of strokes that cross them.
    """
    return _rules_and_walls(faint, skew, text_h)[0]


def _rules_and_walls(faint: np.ndarray, skew: float, text_h: float, low=None):
    """:func:`find_rules`, and the comb walls among the rules (bool (h, w), not widened).

    ``low`` (default ``faint``) is ink of lower contrast, in which comb boxes
    are sought too: printed in a light colour, a thin box blurs below
    ``faint``'s threshold. Only the boxes' walls and the rules between them
    are taken from it: elsewhere its blurred edges of writing that sits on a
    rule would go with the rule.
    """
    low = faint if low is None else low
    h, w = faint.shape
    slope = math.tan(math.radians(skew))
    hlen, vlen = _rule_lengths(text_h)
    rules = np.zeros((h, w), bool)
    walls = np.zeros((h, w), bool)
    if _may_run(faint.any(axis=0), hlen):
        flat, shifts, pad = _shear_rows(faint, slope)
        rules = _unshear_rows(_runs(flat, hlen, axis=1), shifts, pad, h)
    # Comb boxes: their rules may be as short as a few boxes (taken only where walls
    # stand on them, below), and printed light.
    clen = _comb_length(text_h)
    horiz = np.zeros((h, w), bool)
    if _may_run(low.any(axis=0), clen):
        flat, shifts, pad = _shear_rows(low, slope)
        horiz = _unshear_rows(_runs(flat, clen, axis=1), shifts, pad, h)
    tall_possible = _may_run(faint.any(axis=1), vlen)
    if tall_possible or horiz.any():
        # Vertical rules are perpendicular to the horizontal ones: shear the columns.
        up, vshifts, vpad = _shear_rows(faint.T, -slope)
        vert = _runs(up, vlen, axis=1) if tall_possible else np.zeros_like(up)
        if horiz.any():  # comb walls stand on a horizontal rule
            up_low = up if low is faint else _shear_rows(low.T, -slope)[0]
            length = max(6, int(0.6 * text_h))
            runs = _runs(up_low, length, axis=1)
            horiz_up = _shear_rows(horiz.T, -slope)[0]
            comb = _comb_walls(runs.T, horiz_up.T, text_h, length).T
            vert |= comb
            walls = _unshear_rows(comb, vshifts, vpad, w).T
        rules |= _unshear_rows(vert, vshifts, vpad, w).T
        if walls.any():
            # The rules of the combs: near their walls (a pitch either side at most).
            rules |= horiz & _near_walls(walls, 2 * int(1.5 * text_h) + 1)
    if not rules.any():
        return rules, walls
    rules = grow(rules) & faint | rules
    # Give back strokes that cross a rule (ink right above and right below it);
    # ink that only sits on a rule stays separate from it.
    return rules & ~_vertical_strokes(faint & ~rules, rules), walls


def _near_walls(walls: np.ndarray, reach: int) -> np.ndarray:
    """``ndimage.maximum_filter(walls, size=(7, reach))``, filtered only around the walls.

    Elsewhere no window holds a wall; at the edges of the region, as at the
    image's, the filter's reflected pixels lie inside the window anyway.
    """
    out = np.zeros_like(walls)
    rows, cols = _box(walls)  # type: ignore[misc]
    h, w = walls.shape
    region = (
        slice(max(0, rows.start - 4), min(h, rows.stop + 4)),
        slice(max(0, cols.start - reach // 2 - 1), min(w, cols.stop + reach // 2 + 1)),
    )
    out[region] = ndimage.maximum_filter(walls[region], size=(7, reach))
    return out


def _vertical_strokes(rest: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """Columns where ink meets a rule from both sides (so it crosses rather than touches)."""
    touch_up = np.zeros_like(rules)
    touch_dn = np.zeros_like(rules)
    touch_up[1:] = rest[:-1]
    touch_dn[:-1] = rest[1:]
    # Propagate through the rule's thickness (at most a few pixels) both ways.
    for _ in range(4):
        touch_up[1:] |= touch_up[:-1] & rules[:-1]
        touch_dn[:-1] |= touch_dn[1:] & rules[1:]
    return touch_up & touch_dn


@dataclass
class _Comps:
    """Connected components of the ink: label image and per-component geometry."""

    labels: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    area: np.ndarray

    @classmethod
    def of(cls, mask: np.ndarray, ink: InkMap | None = None) -> _Comps:
        """The components of ``mask``; of ``ink.mask`` (the same) from ``ink``'s cache."""
        if ink is None:
            labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
            return cls(labels, *_extents(labels, n, mask))
        labels, n, boxes, area = ink.parts()
        geo = np.array(
            [(b[0].start, b[0].stop, b[1].start, b[1].stop) for b in boxes], np.int64
        ).reshape(n, 4)
        return cls(labels, geo[:, 0], geo[:, 1], geo[:, 2], geo[:, 3], area)

    @property
    def h(self) -> np.ndarray:
        return self.y1 - self.y0

    @property
    def w(self) -> np.ndarray:
        return self.x1 - self.x0


def _extents(labels: np.ndarray, n: int, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows ``y0, y1``, columns ``x0, x1`` (stops exclusive) and pixel count of each label.

    :func:`scipy.ndimage.find_objects`' boxes, from the ink's pixels alone
    (``mask``, where ``labels`` is not 0): find_objects reads every pixel of
    the page, which costs it about five times as much.
    """
    h, w = labels.shape
    flat = np.flatnonzero(mask)
    ids = labels.ravel()[flat] - 1
    ys, xs = np.divmod(flat, w)
    y0, x0 = np.full(n, h, np.int64), np.full(n, w, np.int64)
    y1, x1 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    np.minimum.at(y0, ids, ys)
    np.maximum.at(y1, ids, ys + 1)
    np.minimum.at(x0, ids, xs)
    np.maximum.at(x1, ids, xs + 1)
    return y0, y1, x0, x1, np.bincount(ids, minlength=n)


def _text_height(c: _Comps) -> float:
    """Typical height of the writing: median height of its substantial components.

    Long thin runs (rules) and the smallest specks are left out; what remains
    is dominated by characters.
    """
    h, w = c.h, c.w
    ok = (w < 6 * h) & (h < 6 * w) & (c.area >= 6)
    # quantile's median and percentiles: numpy's values without its per-call cost.
    if not ok.any():
        return float(median(h)) if h.size else 0.0
    big = ok & (c.area >= 0.15 * percentiles(c.area[ok], 90))
    return float(median(h[big]))


def _median(values: list[float]) -> float:
    """``np.median`` of a few values (the same float), without numpy's per-call cost."""
    s = sorted(values)
    k = len(s) // 2
    return s[k] if len(s) % 2 else (s[k - 1] + s[k]) / 2


def _upper_quartile(values: list[float]) -> float:
    """``np.percentile(values, 75)`` (linear interpolation, numpy's own arithmetic)."""
    s = sorted(values)
    q = 0.75
    virtual = len(s) * q + (1 + q * (1 - 1 - 1)) - 1
    below = math.floor(virtual)
    if virtual >= len(s) - 1:
        return s[-1]
    a, b, t = s[below], s[below + 1], virtual - below
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _band(members: list[int], yc: np.ndarray, h: np.ndarray) -> tuple[float, float]:
    """Sheared vertical centre and height of a line from its members.

    The height is the upper quartile of the members' heights, so that a line
    of lower-case letters with a few capitals is as tall as its capitals.
    Computed in Python: it runs after every member added, on a handful of values.
    """
    return _median([float(yc[m]) for m in members]), _upper_quartile([float(h[m]) for m in members])


def _joins(ln: dict, yc: float, h: float, x0: int, gap: float) -> float:
    """How well a component fits a line: vertical overlap ratio, 0 if too far right."""
    lc, lh = ln["band"]
    ov = min(yc + h / 2, lc + lh / 2) - max(yc - h / 2, lc - lh / 2)
    ratio = ov / max(min(h, lh), 1.0)
    return ratio if ratio >= 0.5 and x0 - ln["x1"] <= gap * lh else 0.0


def _hangs(mark: dict, host: dict) -> bool:
    """Whether a line is a comma hanging from ``host``'s baseline.

    A handwritten comma may be most of a digit's height and hang below the
    line, too low to overlap its band by half and too far down for
    :func:`_absorb`'s reach: it then made a line of its own, and
    ``7,342.19`` read ``7342.19``. A lone narrow mark that starts in the
    lower half of the host's band (or just below it), ends less than the
    host's height below its baseline and stands between the host's ends
    (where a comma is written) is one.
    """
    if len(mark["members"]) != 1:
        return False
    (lc, lh), (mc, mh) = mark["band"], host["band"]
    top, bottom = lc - lh / 2, lc + lh / 2
    width = mark["x1"] - mark["x0"]
    return (
        lh < 0.9 * mh
        and width <= 0.6 * mh
        and mc <= top <= mc + 0.6 * mh
        and bottom <= mc + 1.3 * mh
        and host["x0"] < mark["x0"]
        and mark["x1"] < host["x1"]
    )


def _absorb(lines: list[dict], c: _Comps, yc: np.ndarray, h: np.ndarray) -> list[dict]:
    """Fold lines much smaller than a neighbour they sit in (a comma, a detached dot) into it."""
    lines = sorted(lines, key=lambda ln: ln["band"][1])
    out: list[dict] = []
    for k, ln in enumerate(lines):
        lc, lh = ln["band"]
        x0, x1 = ln["x0"], ln["x1"]
        host = None
        for m in lines[k + 1 :]:
            mc, mh = m["band"]
            near = m["x0"] - 0.6 * mh <= x0 and x1 <= m["x1"] + 0.6 * mh
            # A lone small mark (an i's dot, an accent) may float further above.
            reach = 1.0 if len(ln["members"]) == 1 and lh < 0.5 * mh else 0.6
            if (lh < 0.7 * mh and abs(lc - mc) <= reach * mh and near) or _hangs(ln, m):
                host = m
                break
        if host is None:
            out.append(ln)
            continue
        host["members"] += ln["members"]
        host["x0"], host["x1"] = min(host["x0"], x0), max(host["x1"], x1)
    return out


def _group(c: _Comps, slope: float, text_h: float, gap: float) -> list[list[int]]:
    """Group component indices into lines (tall components first, then small marks)."""
    xc = (c.x0 + c.x1) / 2.0
    yc = (c.y0 + c.y1) / 2.0 - slope * xc
    h = c.h.astype(np.float64)
    tall = np.flatnonzero(h >= TALL * text_h)
    lines: list[dict] = []
    for i in tall[np.argsort(c.x0[tall], kind="stable")]:
        scores = [_joins(ln, yc[i], h[i], int(c.x0[i]), gap) for ln in lines]
        if scores and max(scores) > 0:
            best = lines[int(np.argmax(scores))]
        else:
            best = {"members": [], "x0": int(c.x0[i]), "x1": 0}
            lines.append(best)
        best["members"].append(int(i))
        best["x1"] = max(best["x1"], int(c.x1[i]))
        best["band"] = _band(best["members"], yc, h)
    lines = _absorb(lines, c, yc, h)
    small = np.flatnonzero(h < TALL * text_h)
    loose: list[int] = []  # small marks no line took (yet)
    for i in small[np.argsort(c.x0[small], kind="stable")]:  # left to right: marks chain up
        for ln in lines:
            lc, lh = ln["band"]
            if abs(yc[i] - lc) <= 0.75 * lh and (ln["x0"] - lh <= xc[i] <= ln["x1"] + lh):
                ln["members"].append(int(i))
                ln["x0"], ln["x1"] = min(ln["x0"], int(c.x0[i])), max(ln["x1"], int(c.x1[i]))
                break
        else:
            loose.append(int(i))
    return _merge_fields(lines, gap, c, slope, loose)


def _covered(a: list[int], b: list[int], c: _Comps) -> bool:
    """True when the boxes of two member sets overlap by half the smaller one."""
    boxes = [(c.x0[m].min(), c.y0[m].min(), c.x1[m].max(), c.y1[m].max()) for m in (a, b)]
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    return inter >= 0.5 * min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Vertical overlap of two bands ``(centre, height)`` over the smaller height."""
    (ac, ah), (bc, bh) = a, b
    ov = min(ac + ah / 2, bc + bh / 2) - max(ac - ah / 2, bc - bh / 2)
    return ov / max(min(ah, bh), 1.0)


def _same_row(ln: dict, m: dict, slope: float, c: _Comps) -> bool:
    """Whether two lines are pieces of one row, in the sheared frame or the page's own.

    The skew of a short row (a few digits at random heights) is ill-measured,
    and shearing by a wrong one can push its ends apart. Where the two frames
    differ by at most half a line height between the lines' centres, the
    skew cannot tell them apart, so the page's own frame decides too: two
    separate rows are a line spacing apart in both.
    """
    if _overlap(ln["band"], m["band"]) >= 0.5:
        return True
    h = max(ln["band"][1], m["band"][1])
    xc = [float(median((c.x0[g["members"]] + c.x1[g["members"]]) / 2)) for g in (ln, m)]
    if abs(slope * (xc[0] - xc[1])) > 0.5 * h:
        return False
    own = [
        (float(median((c.y0[g["members"]] + c.y1[g["members"]]) / 2)), g["band"][1])
        for g in (ln, m)
    ]
    return _overlap(own[0], own[1]) >= 0.5


def _bridged_gap(m: dict, ln: dict, loose: list[int], c: _Comps, slope: float):
    """Widest stretch of paper between ``m``'s right end and ``ln``'s left end, and its marks.

    Small marks that no line took but that sit in the band of either line
    between them (a faint digit broken into specks) fill the gap they lie in,
    so that they do not split a number into two fields.
    """
    lo, hi = m["x1"], ln["x0"]
    if hi <= lo or not loose:
        return hi - lo, []
    ids = np.asarray(loose)
    xc = (c.x0[ids] + c.x1[ids]) / 2.0
    yc = (c.y0[ids] + c.y1[ids]) / 2.0 - slope * xc
    in_band = [np.abs(yc - bc) <= 0.75 * bh for bc, bh in (m["band"], ln["band"])]
    marks = ids[(xc > lo) & (xc < hi) & (in_band[0] | in_band[1])]
    widest, reached = 0, lo
    for k in marks[np.argsort(c.x0[marks], kind="stable")]:
        widest, reached = max(widest, int(c.x0[k]) - reached), max(reached, int(c.x1[k]))
    return max(widest, hi - reached), [int(k) for k in marks]


def _merge_fields(
    lines: list[dict], gap: float, c: _Comps, slope: float, loose: list[int]
) -> list[list[int]]:
    """Join pieces of one row left apart only by small marks (lower-case letters, dots).

    Lines whose boxes mostly overlap are one line too (a short line whose tilt
    was misjudged). Only the merged lines are returned: a piece folded into
    another is not a line of its own (its ink would be read twice). A merge
    grows a line, which may then cover a piece already passed over, so the
    passes repeat until none merges.
    """
    while True:
        out = _merge_pass(lines, gap, c, slope, loose)
        if len(out) == len(lines):
            return [ln["members"] for ln in out]
        lines = out


def _merge_pass(
    lines: list[dict], gap: float, c: _Comps, slope: float, loose: list[int]
) -> list[dict]:
    """One left-to-right pass of :func:`_merge_fields`: the lines left after it.

    The loose marks that bridge two merged pieces join the line (and leave ``loose``).
    """
    lines = sorted(lines, key=lambda ln: ln["x0"])
    out: list[dict] = []
    for ln in lines:
        for m in out:
            widest, marks = _bridged_gap(m, ln, loose, c, slope)
            near = widest <= gap * max(ln["band"][1], m["band"][1])
            row = near and _same_row(ln, m, slope, c)
            if row or _covered(ln["members"], m["members"], c):
                bridge = marks if row else []
                m["members"] = m["members"] + bridge + ln["members"]
                loose[:] = [k for k in loose if k not in bridge]
                m["x1"] = max(m["x1"], ln["x1"])
                # The row is as tall as its taller piece (not a dot that started it).
                m["band"] = max(m["band"], ln["band"], key=lambda b: b[1])
                break
        else:
            out.append(ln)
    return out


def _wall_positions(walls: np.ndarray, min_gap: float) -> list[tuple[float, int, int]]:
    """``(x, y0, y1)`` of each comb wall: its mean column and its rows.

    Pieces of one wall (broken where a stroke crosses it) closer than
    ``min_gap`` columns, and less than that apart along it, are one wall.
    """
    box = _box(walls)
    if box is None:
        return []
    labels, _ = ndimage.label(walls[box], structure=np.ones((3, 3), bool))
    (y, _), (x, _) = ((b.start, b.stop) for b in box)
    found = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        xs = np.nonzero(labels[sl] == i)[1]
        found.append([x + sl[1].start + float(xs.mean()), y + sl[0].start, y + sl[0].stop])
    found.sort()
    out: list[list] = []
    for x, y0, y1 in found:
        prev = out[-1] if out else None
        if (
            prev is not None
            and x - prev[0] < min_gap
            and min(y1, prev[2]) > max(y0, prev[1]) - min_gap
        ):
            prev[1], prev[2] = min(prev[1], y0), max(prev[2], y1)
            continue
        out.append([x, y0, y1])
    return [(x, y0, y1) for x, y0, y1 in out]


def _grid(xs: np.ndarray, lh: float) -> tuple[float, float, int] | None:
    """The evenly spaced walls that best explain the walls found: ``(x0, pitch, matched)``.

    A comb's walls stand one box apart. Some may be missed (a faint or broken
    wall) and a straight stroke of a digit may pass for one; the grid that
    takes in the most walls found, with a pitch of 0.6 to 3 line heights,
    says where the boxes are. Refined by least squares on the walls it takes.
    None when no grid takes two walls.
    """
    best = _best_pitch(xs, lh)
    if best is None or best[0] < 2:
        return None
    n, pitch, anchor = best
    k = np.rint((xs - anchor) / pitch)
    hit = np.abs(xs - anchor - k * pitch) <= max(2.0, 0.12 * pitch)
    pitch, x0 = np.polyfit(k[hit], xs[hit], 1) if np.unique(k[hit]).size > 1 else (pitch, anchor)
    return float(x0), float(pitch), n


def _best_pitch(xs: np.ndarray, lh: float) -> tuple[int, float, float] | None:
    """The grid of :func:`_grid` before refinement: ``(walls taken, pitch, anchor)``.

    Every grid anchored on a wall ``i`` whose pitch divides its distance to a
    later wall ``j`` into ``m`` boxes is scored at once (walls within its
    tolerance); the best takes the most walls, then has the widest pitch, and
    of equals the first in the order ``i``, ``j``, ``m``.
    """
    anchors, pitches = [], []
    for i in range(xs.size):
        for j in range(i + 1, xs.size):
            d = xs[j] - xs[i]
            ms = np.arange(max(1, math.ceil(d / (3 * lh))), int(d / (0.6 * lh)) + 1)
            anchors.append(np.full(ms.size, i))
            pitches.append(d / ms)
    if not anchors or not sum(p.size for p in pitches):
        return None
    i, pitch = np.concatenate(anchors), np.concatenate(pitches)
    off = xs[None, :] - xs[i][:, None]
    k = np.rint(off / pitch[:, None])
    hits = (np.abs(off - k * pitch[:, None]) <= np.maximum(2.0, 0.12 * pitch)[:, None]).sum(axis=1)
    top = hits == hits.max()
    first = int(np.flatnonzero(top & (pitch == pitch[top].max()))[0])
    return int(hits[first]), float(pitch[first]), float(xs[i[first]])


def _comb_cells(
    ids: list[int], comps: _Comps, walls: list, lh: float, ink: InkMap, rules: np.ndarray
) -> list[Cell]:
    """The boxes of a comb row that hold this line's writing; [] unless it is one.

    It is one when at least three walls taller than the writing stand across
    the line's band and fit a grid (:func:`_grid`) that holds every mark of
    the line, with at most one wall missed beyond each end of the walls found
    and half its walls found;
    each mark belongs to the box its centre falls in. A box holding only
    marks smaller than :data:`TALL` of the line's height (a speck) is left out.
    """
    x0, x1 = int(comps.x0[ids].min()), int(comps.x1[ids].max())
    y0, y1 = int(comps.y0[ids].min()), int(comps.y1[ids].max())
    xs = np.array(
        [
            x
            for x, a, b in walls
            if min(b, y1) - max(a, y0) >= 0.5 * (y1 - y0)
            and x0 - 2 * lh <= x <= x1 + 2 * lh
            and b - a >= 1.05 * lh  # a box is taller than what is written in it
        ]
    )
    grid = _grid(xs, lh) if xs.size >= 3 else None
    if grid is None or grid[2] < 3:
        return []
    g0, pitch, matched = grid
    centres = (comps.x0[ids] + comps.x1[ids]) / 2.0
    box_of = np.floor((centres - g0) / pitch).astype(np.int64)
    first, last = int(box_of.min()), int(box_of.max())  # boxes k span [g0 + k p, g0 + (k+1) p]
    found = np.rint((xs - g0) / pitch)
    if first < found.min() - 1 or last + 1 > found.max() + 1 or 2 * matched < last - first + 2:
        return []
    cells = []
    for k in range(first, last + 1):
        members = [ids[j] for j in np.flatnonzero(box_of == k)]
        if members and comps.h[members].max() >= TALL * lh:
            cells.append(_cell(members, comps, lh, ink, rules))
    return cells


def _cell(members: list[int], comps: _Comps, lh: float, ink: InkMap, rules: np.ndarray) -> Cell:
    """The writing in one box: its marks, with what the rules took from them given back.

    Rules are found at a coarse scale and widened, so they take the edge of a
    stroke that comes close (the foot of a 2 near the bottom rule, the side of
    a 0 near a wall), enough to change the digit. Around the box's marks, rule
    pixels of ink in rows or columns that the rules do not fill (the rule's
    own; a row only when the rules fill it beyond the box's writing too) go
    back to the digit they touch.
    """
    m = max(2, int(0.15 * lh))
    h, w = rules.shape
    y0, y1 = max(0, int(comps.y0[members].min()) - m), min(h, int(comps.y1[members].max()) + m)
    x0, x1 = max(0, int(comps.x0[members].min()) - m), min(w, int(comps.x1[members].max()) + m)
    mine = np.isin(comps.labels[y0:y1, x0:x1], np.asarray(members) + 1)
    taken = rules[y0:y1, x0:x1] & ink.mask[y0:y1, x0:x1]
    # A rule's row goes on beyond the writing, into the next boxes; the foot of a 2 taken
    # by the bottom rule fills its own box's row, no further (kept, it reads 2, not 7).
    wx0, wx1 = max(0, x0 - int(lh)), min(w, x1 + int(lh))
    wide = rules[y0:y1, wx0:wx1] & ink.mask[y0:y1, wx0:wx1]
    rows = (taken.mean(axis=1) >= 0.6) & (wide.mean(axis=1) >= 0.6)
    line = rows[:, None] | (taken.mean(axis=0) >= 0.6)[None, :]
    near = mine
    for _ in range(m):
        near = grow(near)
    mine |= taken & ~line & near
    ys, xs = np.nonzero(mine)
    a, b, c, d = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    region = np.where(line, 0.0, ink.ink[y0:y1, x0:x1])[a:b, c:d].astype(np.float32)
    return Cell((x0 + int(c), y0 + int(a), int(d - c), int(b - a)), region, mine[a:b, c:d])


def _points_inside(
    ids: list[int], comps: _Comps, dots: np.ndarray, slope: float, text_h: float
) -> list[int]:
    """The specks that are a line's own small marks: decimal points, commas, dashes.

    Specks are judged against the page's text height, so on a page of large
    writing a line of small writing loses its separators (a 2 x 5 dash beside
    20-pixel digits is a speck beside 50-pixel ones), and a thin pen's decimal
    point may be a mere pixel or two, like dust: ``12.50`` then reads
    ``1250``. A speck is given back to the line when, between the line's
    first and last marks (dust beyond its ends stays out), either

    * it is no speck at the line's own height and lies within its band, or
    * it sits on the line's baseline in the gap between two characters, as a
      decimal point does (:func:`_on_baseline`): dust rarely lands just there.

    Parameters
    ----------
    ids : list of int
        The line's components.
    comps : _Comps
        The page's components.
    dots : numpy.ndarray
        Indices of the page's specks (not stains).
    slope : float
        The page's skew, as the tangent used to shear the bands.
    text_h : float
        The page's text height.

    Returns
    -------
    list of int
        The specks to add to the line's components.
    """
    x0, x1 = int(comps.x0[ids].min()), int(comps.x1[ids].max())
    y0, y1 = int(comps.y0[ids].min()), int(comps.y1[ids].max())
    xc = (comps.x0[dots] + comps.x1[dots]) / 2.0
    yc = (comps.y0[dots] + comps.y1[dots]) / 2.0
    dots = dots[(xc > x0) & (xc < x1) & (yc >= y0) & (yc <= y1)]
    if dots.size == 0:
        return []
    tall = np.asarray([m for m in ids if comps.h[m] >= TALL * text_h] or ids)
    lh = float(median(comps.h[tall]))
    sheared = lambda k: (comps.y0[k] + comps.y1[k] - slope * (comps.x0[k] + comps.x1[k])) / 2  # noqa: E731
    band = float(median(sheared(tall)))
    big = (comps.area[dots] >= max(SPECK_AREA, SPECK_SHARE * lh**2)) & (
        np.abs(sheared(dots) - band) <= 0.75 * lh
    )
    return [
        int(d) for d, ok in zip(dots, big, strict=True) if ok or _on_baseline(d, tall, comps, lh)
    ]


def _on_baseline(dot: int, tall: np.ndarray, comps: _Comps, lh: float) -> bool:
    """Whether a speck sits in the gap between two of a line's characters, at their feet.

    A decimal point (or a comma's head) is written there: clear of both
    neighbours' columns, its bottom between a fifth of the line height above
    the lower of the neighbours' feet and a fifth below the higher.
    """
    xc = (comps.x0[dot] + comps.x1[dot]) / 2.0
    mid = (comps.x0[tall] + comps.x1[tall]) / 2.0
    left, right = tall[mid < xc], tall[mid > xc]
    if left.size == 0 or right.size == 0:
        return False
    a = left[np.argmax(comps.x1[left])]
    b = right[np.argmin(comps.x0[right])]
    if comps.x0[dot] < comps.x1[a] - 1 or comps.x1[dot] > comps.x0[b] + 1:
        return False
    feet = sorted((int(comps.y1[a]), int(comps.y1[b])))
    return feet[0] - 0.2 * lh <= comps.y1[dot] <= feet[1] + 0.2 * lh


def _reading_order(boxes: list[tuple[int, int, int, int]], centres: list[float], heights):
    """Indices of the lines in reading order: rows top to bottom, left to right in a row."""
    order = sorted(range(len(boxes)), key=lambda k: centres[k])
    rows: list[list[int]] = []
    for k in order:
        if rows:
            first = rows[-1][0]
            if abs(centres[k] - centres[first]) < 0.5 * min(heights[k], heights[first]):
                rows[-1].append(k)
                continue
        rows.append([k])
    return [k for row in rows for k in sorted(row, key=lambda k: boxes[k][0])]


def _window(box: tuple[int, int, int, int], pad: int, shape) -> tuple[int, int, int, int]:
    """``box`` grown by ``pad`` on every side, within the page: (x0, y0, x1, y1)."""
    x, y, w, h = box
    H, W = shape
    return max(0, x - pad), max(0, y - pad), min(W, x + w + pad), min(H, y + h + pad)


def _crop(
    gray: np.ndarray,
    c: _Comps,
    members: list[int],
    faint: np.ndarray,
    window: tuple[int, int, int, int],
    rules: np.ndarray | None = None,
    ink: np.ndarray | None = None,
) -> np.ndarray:
    """The line's region (``window``) with every other mark painted over with paper.

    With the page's ``rules`` and its ``ink`` (:attr:`InkMap.ink`), the line's
    writing that the rules took is given back first (:func:`_pen_on_rules`).
    """
    x0, y0, x1, y1 = window
    region = gray[y0:y1, x0:x1].copy()
    mine = np.isin(c.labels[y0:y1, x0:x1], np.asarray(members) + 1)
    if rules is not None and ink is not None:
        mine |= _pen_on_rules(mine, rules[y0:y1, x0:x1], ink[y0:y1, x0:x1])
    own = grow(grow(mine))
    erase = grow(faint[y0:y1, x0:x1] & ~mine) & ~own
    if erase.any():
        region[erase] = float(median(region))
    return region


def _pen_on_rules(mine: np.ndarray, rules: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The pixels of the rules in a line's window that are as dark as the line's pen.

    A rule is found by its shape, and may take writing with it: strokes that
    lie along a ruling line or a form rule, and on some pages whole letters
    whose blurred halos join into a rule's long run (``Room 857-9086`` lost
    its ``Room 8`` and read ``57-9086``). Painted over with the rule, those
    strokes left digits no reader can name. A printed rule is lighter than the
    pen (light-blue ruling, grey form lines) and ink written over it is as
    dark as the pen, so the rule pixels darker than half-way between the
    rule's own ink (away from the writing) and the line's pen are writing,
    where they join the line's writing.

    Parameters
    ----------
    mine : numpy.ndarray
        bool: the line's own ink.
    rules : numpy.ndarray
        bool: the rules found.
    ink : numpy.ndarray
        float: how dark each pixel is (0 = paper, 1 = the darkest ink).

    Returns
    -------
    numpy.ndarray
        bool: the rule pixels that are the line's writing.
    """
    if not rules.any() or not mine.any():
        return np.zeros_like(rules)
    bare = rules & ~grow(grow(mine))  # the rule away from the writing: its own colour
    if not bare.any():
        return np.zeros_like(rules)
    # The rule's darkest (its core, not its soft edges) against the pen's typical.
    pen, rule = float(median(ink[mine])), float(median(ink[bare]))
    if pen - rule < 0.2:  # a rule printed as dark as the pen: no telling them apart
        return np.zeros_like(rules)
    dark = rules & (ink > (pen + rule) / 2)
    # Only pieces that join the line's writing: where rules cross (the corners of comb
    # boxes) a rule is darker too, and such a speck would read as a point.
    pieces, n = ndimage.label(dark, np.ones((3, 3), bool))
    joined = np.zeros(n + 1, bool)
    joined[np.unique(pieces[grow(mine)])] = True
    joined[0] = False
    return joined[pieces]


def _pool(mask: np.ndarray, f: int) -> np.ndarray:
    """``f`` x ``f`` max pooling: a thin rule stays (at least) one pixel thick."""
    h, w = mask.shape
    out = np.zeros((-(-h // f), -(-w // f)), bool)
    for dy in range(f):  # f * f strided ORs: far faster than any() over a 4-d view
        for dx in range(f):
            part = mask[dy::f, dx::f]  # the last block's row or column may be missing
            out[: part.shape[0], : part.shape[1]] |= part
    return out


def _unpool(m: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Each pixel of ``m`` as an ``f`` x ``f`` block, cut to ``shape`` (undoes :func:`_pool`'s
    scale): ``np.repeat`` along both axes."""
    out = np.empty((m.shape[0] * f, m.shape[1] * f), m.dtype)
    for dy in range(f):  # f * f strided copies: far faster than a 4-d broadcast
        for dx in range(f):
            out[dy::f, dx::f] = m
    return out[: shape[0], : shape[1]]


def _rule_ink(gray: np.ndarray, ink: InkMap) -> np.ndarray:
    """Pixels that may belong to a printed rule: the ink, and marks of low contrast.

    The contrast is taken against the local paper, as the ink map does before
    it stretches the ink (which sets the faintest marks to paper). Noise
    passes here and there, but never makes a straight run as long as a rule.
    """
    paper = gray if ink.dark_ink else 1.0 - gray
    # The ink map's own estimate when it has one (the same values: the same paper).
    bg = np.maximum(paper_background(paper), 0.02) if ink.paper is None else ink.paper
    level = (1.0 - RULE_CONTRAST) * float(np.median(paper[::4, ::4] / bg[::4, ::4]))
    return ink.mask | (paper < bg * level)


def _rules_pooled(faint: np.ndarray, ink: InkMap, skew: Callable[[], float], low: Callable):
    """:func:`find_rules` at half resolution when the writing is large enough (4x faster).

    ``skew`` and ``low`` (the ink of low contrast, see :func:`_rules_and_walls`)
    are called only when a rule may be there. Returns the rules, the comb walls
    among them, and the components of ``ink.mask`` when they were computed on
    the way (None otherwise): with no rules found they are the page's components.
    """
    mask = ink.mask
    none = np.zeros(faint.shape, bool)
    f = 2 if min(mask.shape) >= 400 else 1
    comps = _Comps.of(_pool(mask, f)) if f > 1 else _Comps.of(mask, ink)
    text_h = _text_height(comps)
    if f == 1 or text_h < 14:
        if f > 1:  # a page of small writing (the page's labels: none are shared with a reader)
            comps = _Comps.of(mask)
            text_h = _text_height(comps)
        if not (_may_hold_rules(faint, text_h) or _may_hold_rules(low(), text_h)):
            return none, none, comps
        return (*_rules_and_walls(faint, skew(), text_h, low()), comps)
    pooled = _pool(faint, f)
    if not (_may_hold_rules(pooled, text_h) or _may_hold_rules(_pool(low(), f), text_h)):
        return none, none, None
    h, w = faint.shape
    light = low()
    rules, walls = (
        _unpool(m, f, (h, w)) & light if m.any() else np.zeros((h, w), bool)
        for m in _rules_and_walls(pooled, skew(), text_h, _pool(light, f))
    )
    return rules, walls, None


def find_lines(
    gray: np.ndarray, *, field_gap: float = FIELD_GAP, ink: InkMap | None = None
) -> Layout:
    """Every line of writing on a page, in reading order.

    Parameters
    ----------
    gray : numpy.ndarray
        float32 (h, w) page in [0, 1], 0 = black (either polarity is accepted).
    field_gap : float
        Horizontal gap, in line heights, beyond which two pieces of writing on
        one row are separate fields.
    ink : InkMap, optional
        ``ink_map(gray)`` when the caller has it already (the page reader
        shares it with the line reader); computed here otherwise.

    Returns
    -------
    Layout
        The lines (boxes and crops in ``gray``'s pixels), the page's skew, the
        rules removed and the text height; ``reason`` when there are no lines.
    """
    ink = ink_map(gray) if ink is None else ink
    empty = np.zeros(gray.shape, bool)
    if ink.reason:
        return Layout([], 0.0, empty, 0.0, ink.reason)
    faint = ink.mask | (ink.ink > FAINT_INK)
    # Measured once, and only when the rules or the grouping depend on it.
    skew = functools.cache(functools.partial(estimate_skew, ink.mask))
    low = functools.cache(functools.partial(_rule_ink, gray, ink))
    rules, walls, comps = _rules_pooled(faint, ink, skew, low)
    if comps is None or rules.any():
        comps = _Comps.of(ink.mask & ~rules)
    text_h = _text_height(comps)
    if comps.area.size == 0 or text_h <= 0:
        return Layout([], skew(), rules, 0.0, "only printed rules found")
    h = comps.h
    specks = comps.area < max(SPECK_AREA, SPECK_SHARE * text_h**2)
    stains = h > STAIN_HEIGHT * text_h
    keep = ~(specks | stains)
    idx = np.flatnonzero(keep)
    sub = _Comps(
        comps.labels, *(a[idx] for a in (comps.y0, comps.y1, comps.x0, comps.x1)), comps.area[idx]
    )
    # A single mark makes one line at any slope: the skew is then left to Layout.skew.
    slope = math.tan(math.radians(skew())) if idx.size > 1 else 0.0
    groups = _group(sub, slope, text_h, field_gap)
    groups = sorted(groups, key=lambda g: -int(sub.area[g].sum()))[:MAX_LINES]
    wall_at = _wall_positions(walls, 0.3 * text_h)
    others = faint  # painted over in each line's crop
    lines, centres, heights = [], [], []
    dots = np.flatnonzero(specks & ~stains)
    for g in groups:
        ids = [int(idx[m]) for m in g]
        ids += _points_inside(ids, comps, dots, slope, text_h)
        y0, y1 = int(comps.y0[ids].min()), int(comps.y1[ids].max())
        x0, x1 = int(comps.x0[ids].min()), int(comps.x1[ids].max())
        tall = [m for m in ids if comps.h[m] >= TALL * text_h] or ids
        lh = float(median(comps.h[tall]))
        box = (x0, y0, x1 - x0, y1 - y0)
        win = _window(box, max(2, int(0.25 * lh)), gray.shape)
        crop = functools.partial(_crop, gray, comps, ids, others, win, rules, ink.ink)
        cells = _comb_cells(ids, comps, wall_at, lh, ink, rules) if wall_at else []
        lines.append(Line(box, crop, win[:2], lh, cells))
        xc = (x0 + x1) / 2
        centres.append((y0 + y1) / 2 - slope * xc)
        heights.append(lh)
    order = _reading_order([ln.box for ln in lines], centres, heights)
    lines = [lines[k] for k in order]
    return Layout(lines, skew, rules, text_h, None if lines else "no writing found")
