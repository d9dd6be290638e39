"""Helpers of the report tests: the tiny hand-made log (see conftest.py) and a
reader of the report's HTML tables."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

AS_OF = "2024-03-31 23:59:59.999999"

_ROWS = [
    ("a", "2024-01-05", 100.0),
    ("b", "2024-01-06", 50.0),
    ("c", "2024-01-07", 20.0),
    ("d", "2024-01-08", 10.0),
    ("e", "2024-01-09", 5.0),
    ("a", "2024-02-05", 10.0),
    ("b", "2024-02-06", 80.0),
    ("c", "2024-02-07", 30.0),
    ("d", "2024-02-08", 5.0),
    ("e", "2024-02-09", 60.0),
    ("a", "2024-03-05", 200.0),
    ("c", "2024-03-07", 90.0),
    ("d", "2024-03-08", 40.0),
    ("e", "2024-03-09", 1.0),
]


def make_tiny_tx() -> pd.DataFrame:
    frame = pd.DataFrame(_ROWS, columns=["customer_id", "ts", "amount"])
    return frame.assign(ts=pd.to_datetime(frame["ts"]).astype("M8[us]"))


def make_tiny_config():
    from segml.config import Config
    from segml.config.models import TiersConfig

    return Config(tiers=TiersConfig(count_shares=(0.2, 0.2, 0.6)))


class _Tables(HTMLParser):
    """Collect every ``<table data-table=...>`` as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: dict[str, list[str]] = {}
        self._section: str | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-section" in a:
            self._section = a["data-section"]
            self.sections[self._section] = []
        elif tag == "table" and "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = []
            if self._section is not None:
                self.sections[self._section].append(self._table)
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_tables(html: str) -> dict[str, list[list[str]]]:
    """``{name: [header row, row, ...]}`` of every named table of a page."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def as_text_rows(frame: pd.DataFrame) -> list[list[str]]:
    """The rows a DataFrame should show in the report (index first)."""
    from segml.report.page import format_value

    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        frame = frame.set_index(frame.columns[0])
    header = [str(n) if n is not None else "" for n in frame.index.names]
    header += [str(c) for c in frame.columns]
    rows = [header]
    for key, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        keys = key if isinstance(key, tuple) else (key,)
        rows.append([format_value(k) for k in keys] + [format_value(v) for v in values])
    return rows


def write_config(cfg, folder) -> str:
    """The validated config as a YAML file the CLI reads back."""
    import yaml

    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return str(path)
