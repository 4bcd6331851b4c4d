"""Every check of the ingest, written once: an Ibis condition paired with its warning text.

A :class:`Rule` says which rows it flags (``when``: a boolean expression over the checked
table) and what happens to them: ``drop`` (the row is left out), ``blank`` (a value is
left empty) or ``keep`` (the row is only reported). :func:`apply_rules` runs a list of
them over one table in one pass: drop rules are exclusive in their order (a row is
counted by the first that drops it), and each rule that fires becomes one warning with its
count, the first few file rows and example values. Files and database tables go through
the same rules; a table has no file rows, so its warnings give counts only.

The cleaning expressions every input shares (trimmed text, blanks as missing, ids as text,
typed extra columns, duplicate rows) live here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import ibis
import pandas as pd

from journeylib.engine import Engine
from journeylib.ingest.errors import MAX_EXAMPLES, Findings, examples, rows_text
from journeylib.ingest.read import ROW

__all__ = [
    "Rule",
    "Applied",
    "kept_by",
    "apply_rules",
    "id_text",
    "duplicate_rows",
    "row_count",
    "row_hash",
    "typed_extras",
    "extra_kinds",
    "EARLIEST",
    "latest_plausible",
]

EARLIEST = pd.Timestamp("1900-01-01")


def latest_plausible() -> pd.Timestamp:
    """Timestamps after this (the day after tomorrow, UTC) are in the future."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=2)


# --------------------------------------------------------------------------- cleaning


def id_text(c: ibis.Value, whole_floats: bool = False) -> ibis.Value:
    """An id as text, so ids match across files: whole floats lose their ".0" (a typed
    column, or a text column whose every value is written like "123.0": ``whole_floats``)."""
    typ = c.type()
    if typ.is_string():
        return c.re_replace(r"\.0+$", "") if whole_floats else c
    if typ.is_floating():
        whole = c.notnull() & (c == c.floor())
        return ibis.ifelse(whole, c.cast("int64").cast("string"), c.cast("string"))
    return c.cast("string")


def row_hash(t: ibis.Table, columns: Sequence[str]) -> ibis.Value:
    """A hash of the values of ``columns`` (equal rows hash alike)."""
    return ibis.struct({f"c{i}": t[n] for i, n in enumerate(columns)}).hash()


def duplicate_rows(t: ibis.Table, columns: Sequence[str]) -> ibis.Table:
    """The rows (:data:`ROW`) of ``t`` equal in every one of ``columns`` to an earlier row;
    one column, ``_jl_dup_row``. Give it the rows whose :func:`row_hash` repeats: comparing
    every column of every row would cost a sort of the whole file."""
    w = ibis.window(group_by=[t[n] for n in columns], order_by=t[ROW])
    ranked = t.select(ROW, _jl_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._jl_rank > 0).select(_jl_dup_row=ranked[ROW])


# --------------------------------------------------------------------------- extra columns


# The same numbers without a leading zero ("0", "0.5" and "12" but not "007" or "-01.5"):
# a column is of a kind when every value matches, so one test per value and kind does.
_INTEGER_NO_LEAD_RE = r"^-?(0|[1-9]\d{0,17})$"
_NUMBER_NO_LEAD_RE = r"^-?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"


def extra_kinds(t: ibis.Table, columns: Sequence[str], run: Callable[[Any], pd.DataFrame]) -> dict[str, str]:
    """How to type each extra column: ``int`` or ``float`` when every value is such a
    number and none has a leading zero (codes such as "007" stay text), else ``text``.
    Text columns are looked at in one aggregate over all of them (two per column: does
    every value match; a column without values has none and is text)."""
    texts = [c for c in columns if t[c].type().is_string()]
    kinds = {c: "as is" for c in columns if c not in texts}
    if not texts:
        return kinds
    aggs = {}
    for i, c in enumerate(texts):
        aggs[f"i{i}"] = t[c].re_search(_INTEGER_NO_LEAD_RE).min()
        aggs[f"n{i}"] = t[c].re_search(_NUMBER_NO_LEAD_RE).min()
    got = run(t.aggregate(**aggs)).iloc[0]
    for i, c in enumerate(texts):
        kinds[c] = "int" if _true(got[f"i{i}"]) else "float" if _true(got[f"n{i}"]) else "text"
    return kinds


def _true(value: Any) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def typed_extras(t: ibis.Table, kinds: Mapping[str, str]) -> dict[str, ibis.Value]:
    """Extra columns typed as :func:`extra_kinds` decided."""
    cast = {"int": "int64", "float": "float64"}
    return {c: t[c].cast(cast[k]) if k in cast else t[c] for c, k in kinds.items()}


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """One check: the rows it flags and the warning it gives.

    ``when(t)`` is the condition over the checked table ``t``; ``action`` is ``drop``,
    ``blank`` or ``keep``; ``column`` names the user's column the warning is about (None
    for whole rows); ``example`` is the checked column whose first values the warning
    quotes. ``text(n, examples)`` words the warning (rows are appended).
    """

    key: str
    action: str
    when: Callable[[ibis.Table], ibis.Value]
    text: Callable[[int, str], str]
    column: str | None = None
    example: str | None = None
    n_examples: int = 3


def row_count(n: int, one: str = "", many: str = "") -> str:
    """ "1 row" or "1,234 rows", with the verb that agrees (``one`` for one row, ``many``
    for more): ``row_count(n, "has", "have")``."""
    verb = one if n == 1 else many
    return f"{n:,} {'row' if n == 1 else 'rows'}" + (f" {verb}" if verb else "")


def dropped(what: str) -> Callable[[int, str], str]:
    """The wording of a drop rule: "N rows dropped: what (e.g. ...)" ("1 row" for one)."""
    def text(n: int, ex: str) -> str:
        return f"{row_count(n)} dropped: {what}" + (f" (e.g. {ex})" if ex else "")
    return text


def _run(engine: Engine, expr) -> pd.DataFrame:
    with engine.lock:
        return expr.to_pyarrow().to_pandas()


def apply_rules(t: ibis.Table, rules: Sequence[Rule], label: str, engine: Engine, findings: Findings,
                database: bool = False, by: str | None = None, extra: Mapping[str, Any] | None = None,
                by_order: Sequence[str] = ()) -> "Applied":
    """Run ``rules`` over ``t`` in one aggregate pass and record a warning per rule that
    fires (per value of ``by`` when given: a wide survey's score columns).

    Returns an :class:`Applied`: the rows no drop rule flagged (each blank rule's flag as
    a column ``_flag_<key>``, for the caller to empty those values), whether any row was
    dropped, the relation with every row's ``_reason`` (0: kept), and the values of the
    ``extra`` aggregates computed in the same pass.
    """
    drops = [r for r in rules if r.action == "drop"]
    reason = ibis.cases(*[(r.when(t), i + 1) for i, r in enumerate(drops)], else_=0) if drops else ibis.literal(0)
    flagged = t.mutate(_reason=reason)
    conds: dict[str, ibis.Value] = {}
    for i, r in enumerate(drops):
        conds[r.key] = flagged._reason == i + 1
    kept = flagged._reason == 0
    for r in rules:
        if r.action != "drop":
            conds[r.key] = kept & r.when(flagged).fill_null(False)
    aggs = {f"n_{k}": c.cast("int64").sum() for k, c in conds.items()}
    aggs.update(extra or {})
    grouped = flagged.group_by(by).aggregate(**aggs) if by else flagged.aggregate(**aggs)
    got = _run(engine, grouped)
    totals = {k: got[k].iloc[0] if len(got) and not by else None for k in (extra or {})}
    if by:  # a grouping comes back in any order: warn in the order of the values
        got = got.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)
    groups = [(None, got.iloc[0])] if not by else [(row[by], row) for _, row in got.iterrows()]
    if by:  # one warning per group, in the order the groups have in the file
        rank = {v: i for i, v in enumerate(by_order)}
        groups.sort(key=lambda g: (rank.get(g[0], len(rank)), str(g[0])))
    for r in rules:
        for group, row in groups:
            n = _int(row[f"n_{r.key}"]) if len(got) else 0
            if not n:
                continue
            cond = conds[r.key] if group is None else conds[r.key] & (flagged[by] == group)
            rows, ex = _first(flagged, cond, r, engine, database)
            message = r.text(n, examples(ex, r.n_examples) if ex else "")
            where = rows_text(rows, n)
            findings.warn(label, group if group is not None else r.column,
                          message + (f"; {where}" if where else ""), n, rows)
    n_dropped = sum(_int(row[f"n_{r.key}"]) for _, row in groups for r in drops) if len(got) else 0
    out = flagged.filter(kept) if n_dropped else flagged
    blanks = {f"_flag_{r.key}": r.when(out).fill_null(False) for r in rules if r.action == "blank"}
    if blanks:
        out = out.mutate(**blanks)
    return Applied(out.drop("_reason"), n_dropped, flagged, totals)


@dataclass
class Applied:
    """What :func:`apply_rules` left: the kept rows, how many were dropped, every row
    with its ``_reason`` (0: kept) and the extra aggregates."""

    kept: ibis.Table
    dropped: int
    flagged: ibis.Table
    totals: dict[str, Any]


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def kept_by(t: ibis.Table, rules: Sequence[Rule]) -> ibis.Table:
    """The rows of ``t`` no drop rule of ``rules`` flags (for a table with no row numbers
    to tell the dropped rows by)."""
    drops = [r.when(t).fill_null(False) for r in rules if r.action == "drop"]
    if not drops:
        return t
    flagged = drops[0]
    for d in drops[1:]:
        flagged = flagged | d
    return t.filter(~flagged)


def _first(t: ibis.Table, cond: ibis.Value, rule: Rule, engine: Engine, database: bool) -> tuple[list[int], list[str]]:
    """The first file rows (1-based) a rule flags and its first distinct example values."""
    rows: list[int] = []
    if not database:
        got = _run(engine, t.filter(cond).order_by(ROW).select(ROW).limit(MAX_EXAMPLES))
        rows = [int(v) + 1 for v in got[ROW]]
    values: list[str] = []
    if rule.example is not None:
        part = t.filter(cond & t[rule.example].notnull())
        order = part[ROW].min() if not database else part[rule.example].min()
        got = _run(engine, part.group_by(v=part[rule.example]).aggregate(f=order).order_by("f")
                   .limit(rule.n_examples))
        values = [str(v) for v in got["v"]]
    return rows, values
