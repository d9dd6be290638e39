"""The report page: sections, tables and charts rendered into one HTML file.

Everything the page needs is inline: the style sheet, and every chart as an
``<img>`` whose source is a ``data:`` URI (SVG or PNG), so the file opens
offline in any browser with no request at all. No script runs on the page.
Each section is a ``<section data-section="KEY">``, each table a
``<table data-table="NAME">``, each chart a ``<figure data-chart="NAME">``, so
a test (or a user's scraper) finds them without parsing the text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Chart", "Section", "format_value", "render_page", "table_html"]


@dataclass(frozen=True)
class Chart:
    """A chart ready to embed: its name, caption and ``data:`` URI."""

    name: str
    caption: str
    uri: str


@dataclass
class Section:
    """One part of the report: its tables are the numbers its charts show.

    Attributes
    ----------
    key : str
        Stable identifier (``data-section`` and the anchor of the table of
        contents).
    title : str
        Heading.
    intro : str
        One paragraph (plain text) saying what the section shows.
    tables : dict of DataFrame
        The section's numbers by name, rendered in insertion order.
    charts : list of Chart
        Rendered before the tables.
    notes : list of str
        Plain-text remarks (what was left out and why).
    captions : dict of str
        A caption per table name.
    """

    key: str
    title: str
    intro: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)


def format_value(value: object) -> str:
    """How a table cell is written: shares and ratios to 4 significant digits.

    Examples
    --------
    >>> [format_value(v) for v in (3, 0.123456, 1234567.891, float("nan"), "A")]
    ['3', '0.1235', '1234567.89', '', 'A']
    >>> format_value(pd.Timestamp("2024-01-31 23:59:59.999999"))
    '2024-01-31'
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating) and np.isnan(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if abs(v) >= 1000:
            return f"{v:.2f}"
        return f"{v:.4g}"
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        end_of_day = ts.normalize() + pd.Timedelta(days=1, microseconds=-1)
        return str(ts.date()) if ts in (ts.normalize(), end_of_day) else str(ts)
    return str(value)


def table_html(
    name: str,
    frame: pd.DataFrame,
    *,
    caption: str = "",
    formatter: Callable[[object], str] = format_value,
) -> str:
    """A DataFrame as an HTML table (index first), every cell escaped.

    An unnamed default index (0, 1, ...) is left out.
    """
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        frame = frame.set_index(frame.columns[0]) if len(frame.columns) else frame
    index_names = [str(n) if n is not None else "" for n in frame.index.names]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in index_names)
    head += "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for key, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        keys = key if isinstance(key, tuple) else (key,)
        cells = "".join(f"<th>{html.escape(formatter(k))}</th>" for k in keys)
        cells += "".join(
            f'<td class="{_cell_class(v)}">{html.escape(formatter(v))}</td>'
            for v in values
        )
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table data-table="{html.escape(name)}">{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _cell_class(value: object) -> str:
    return "num" if isinstance(value, int | float | np.number) else "text"


def _section_html(section: Section) -> str:
    parts = [
        f'<section id="{section.key}" data-section="{section.key}">',
        f"<h2>{html.escape(section.title)}</h2>",
    ]
    if section.intro:
        parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
    for note in section.notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    if section.charts:
        parts.append('<div class="charts">')
        for chart in section.charts:
            parts.append(
                f'<figure data-chart="{html.escape(chart.name)}">'
                f'<img src="{chart.uri}" alt="{html.escape(chart.caption)}">'
                f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    for name, frame in section.tables.items():
        parts.append(table_html(name, frame, caption=section.captions.get(name, "")))
    parts.append("</section>")
    return "\n".join(parts)


_STYLE = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --accent: #1b9e77; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
       "DejaVu Sans", sans-serif; color: var(--ink); background: #f7f9fb; }
header { background: #102a43; color: white; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 8px 0 0; }
header dt { color: #9fb3c8; font-size: 12px; text-transform: uppercase; }
header dd { margin: 0 0 0 0; font-weight: 600; }
nav { position: sticky; top: 0; background: white; border-bottom: 1px solid
      var(--line); padding: 8px 28px; z-index: 1; display: flex;
      flex-wrap: wrap; gap: 4px 16px; }
nav a { color: var(--accent); text-decoration: none;
        font-weight: 600; white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; padding: 16px 28px 0; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px;
        padding: 10px 16px; min-width: 150px; }
.card b { display: block; font-size: 22px; }
.card span { color: var(--muted); font-size: 13px; }
main { padding: 0 28px 40px; }
section { background: white; border: 1px solid var(--line); border-radius: 8px;
          margin: 18px 0; padding: 6px 20px 16px; }
h2 { font-size: 19px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
.intro { color: var(--muted); max-width: 980px; }
.note { background: #fff8e1; border-left: 4px solid #f0b429; padding: 6px 10px; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; flex: 1 1 420px; max-width: 760px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; max-height: 480px; overflow-y: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 9px; }
thead th { position: sticky; top: 0; background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody th { text-align: left; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
"""


def render_page(
    title: str,
    sections: Sequence[Section],
    *,
    facts: Mapping[str, str] | None = None,
    cards: Mapping[str, str] | None = None,
    footer: str = "",
) -> str:
    """The whole report as one HTML document (no external resource)."""
    facts_html = "".join(
        f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>"
        for k, v in (facts or {}).items()
    )
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    cards_html = "".join(
        f'<div class="card"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>'
        for k, v in (cards or {}).items()
    )
    body = "\n".join(_section_html(s) for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # nothing may be fetched: the page is one file that opens offline
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><header><h1>{html.escape(title)}</h1><dl>{facts_html}</dl></header>\n"
        f"<nav>{nav}</nav>\n"
        f'<div class="cards">{cards_html}</div>\n'
        f"<main>\n{body}\n</main>\n"
        f"<footer>{html.escape(footer)}</footer></body></html>\n"
    )
