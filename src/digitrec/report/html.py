"""A self-contained HTML report: inline CSS, figures embedded as data URIs.

The page opens offline from a single file and prints cleanly. Sections are
built from small pieces (:class:`Section`, :func:`table`, :func:`figure`) so
other stages (the CNN, the leaderboard) can add their own.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digitrec._files import atomic_write

__all__ = ["Section", "cards", "figure", "render_page", "table", "write_page"]

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --accent:#2563eb;
        --ok:#15803d; --warn:#b45309; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#0f172a; color:white; padding:2.2rem 1rem 1.6rem; }
header .wrap, main { max-width: 980px; margin: 0 auto; }
header h1 { margin:0 0 .3rem; font-size:1.9rem; letter-spacing:-.01em; }
header p { margin:.2rem 0; color:#cbd5e1; }
main { padding: 1rem; }
section { background:white; border:1px solid var(--line); border-radius:12px;
          padding:1.2rem 1.4rem; margin:1.1rem 0; }
h2 { margin:.1rem 0 .6rem; font-size:1.3rem; }
h3 { margin:1rem 0 .4rem; font-size:1.05rem; }
p.lead { color:var(--muted); margin-top:0; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(180px,1fr)); gap:.8rem; }
.card { border:1px solid var(--line); border-radius:10px; padding:.8rem 1rem;
        background:var(--bg); }
.card .v { font-size:1.6rem; font-weight:700; font-variant-numeric: tabular-nums; }
.card .l { color:var(--muted); font-size:.85rem; }
table { border-collapse:collapse; margin:.5rem 0 1rem; font-variant-numeric: tabular-nums;
        font-size:.9rem; }
th, td { padding:.32rem .7rem; border-bottom:1px solid var(--line); text-align:right; }
th:first-child, td:first-child { text-align:left; }
thead th { background:var(--bg); font-weight:600; }
td.ok { color:var(--ok); } td.near { color:var(--warn); } td.bad { color:var(--bad); }
td.spread { color:var(--warn); }
td:not(:first-child) { white-space:nowrap; }
figure { margin: .8rem 0; } figure img { max-width:100%; height:auto; }
figcaption { color:var(--muted); font-size:.85rem; }
code { background:#f3f4f6; padding:.05rem .3rem; border-radius:4px; }
pre { background:#0f172a; color:#e2e8f0; padding:.8rem 1rem; border-radius:8px; overflow:auto; }
.scroll { overflow-x:auto; }
footer { color:var(--muted); text-align:center; padding:1.5rem; font-size:.85rem; }
@media print { body { background:white; } section { break-inside: avoid; } }
"""


@dataclass
class Section:
    """One titled block of the report; ``body`` is trusted HTML built by this module."""

    title: str
    body: str
    lead: str = ""
    anchor: str = ""
    parts: list[str] = field(default_factory=list)

    def render(self) -> str:
        anchor = self.anchor or self.title.lower().replace(" ", "-")
        lead = f'<p class="lead">{html.escape(self.lead)}</p>' if self.lead else ""
        return (
            f'<section id="{html.escape(anchor)}"><h2>{html.escape(self.title)}</h2>'
            f"{lead}{self.body}</section>"
        )


def figure(path: str | Path, caption: str = "", alt: str = "") -> str:
    """An ``<img>`` with the PNG at ``path`` embedded as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{html.escape(alt or caption)}" '
        f'src="data:image/png;base64,{data}">{cap}</figure>'
    )


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    classes: Iterable[Sequence[str]] | None = None,
) -> str:
    """An HTML table; cells are escaped, ``classes`` gives optional per-cell CSS classes."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    class_rows = list(classes) if classes is not None else None
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            css = class_rows[i][j] if class_rows and class_rows[i][j] else ""
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{html.escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def cards(items: Iterable[tuple[str, str]]) -> str:
    """Headline numbers: (value, label) pairs."""
    inner = "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div>'
        f'<div class="l">{html.escape(label)}</div></div>'
        for v, label in items
    )
    return f'<div class="cards">{inner}</div>'


def render_page(title: str, subtitle: Iterable[str], sections: Iterable[Section]) -> str:
    """The whole page as one HTML string."""
    sub = "".join(f"<p>{html.escape(s)}</p>" for s in subtitle)
    body = "".join(s.render() for s in sections)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><div class="wrap"><h1>{html.escape(title)}</h1>{sub}</div></header>'
        f"<main>{body}</main><footer>Made by digitrec.</footer></body></html>"
    )


def write_page(path: str | Path, page: str) -> Path:
    """Write the page atomically."""
    return atomic_write(path, page)
