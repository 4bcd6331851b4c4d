"""Shared widgets: charts with downloads, metric cards, safe CSV, error display."""

from __future__ import annotations

import contextlib
import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

# Cells a spreadsheet would run as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that start with = + - @ tab or CR with a quote, so a spreadsheet
    shows them as text instead of running them. Numbers are left as numbers."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            text = s.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                out[col] = text.where(~risky, "'" + text)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) with formulas neutralised."""
    # CRLF line ends (RFC 4180) also make the writer quote cells holding a bare CR.
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def safe_filename(text: str, ext: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "download"
    return f"{stem[:80]}.{ext}"


def csv_download(frame: pd.DataFrame, label: str, file_name: str, key: str, on_click: bool = False) -> None:
    """A download button for a table as CSV; with ``on_click`` the file is written when the
    button is clicked, not on every run (for tables beside a chart, rarely downloaded)."""
    st.download_button(label, data=(lambda: csv_bytes(frame)) if on_click else csv_bytes(frame),
                       file_name=safe_filename(file_name, "csv"), mime="text/csv", key=key,
                       icon=":material/download:", on_click="ignore")


def chart(fig: go.Figure, key: str, frame: pd.DataFrame | None = None, file_name: str | None = None) -> None:
    """Show a figure in our theme (not Streamlit's) with PNG export in the toolbar, and
    optionally a CSV download of the table behind it."""
    name = safe_filename(file_name or key, "png")[:-4]
    st.plotly_chart(
        fig, theme=None, key=key, width="stretch",
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}},
    )
    if frame is not None and not frame.empty:
        csv_download(frame, "Download data (CSV)", name, key=f"{key}_csv", on_click=True)


def metric_cards(items: list[tuple[str, str, str | None]]) -> None:
    """A row of bordered metrics: (label, value, help)."""
    if not items:
        return
    for col, (label, value, help_text) in zip(st.columns(len(items)), items):
        col.metric(label, value, help=help_text, border=True)


def empty_text(filtered: bool, what: str, otherwise: str) -> str:
    """What an empty chart says: that the filters leave no ``what`` when some are set,
    else ``otherwise`` (why the data itself has none), never blaming filters nobody set."""
    return f"No {what} match the current filters." if filtered else otherwise


_MD_SPECIAL = "\\`*_{}[]<>()#+-.!|$~"


def md_escape(text: str) -> str:
    """Text shown through st.markdown exactly as written (user text may hold * _ [ ] $...)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


def pct(x: float | None) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.0%}"


@contextlib.contextmanager
def errors_shown(what: str = ""):
    """Turn expected errors (bad input, missing dataset, bad parameters) into st.error."""
    from journeylib.ingest import InputError
    from journeylib.workspace import WorkspaceError

    try:
        yield
    except (InputError, WorkspaceError, ValueError) as exc:
        st.error(f"{what}{': ' if what else ''}{exc}", icon=":material/error:")
