"""The ingest put together: read each input, map its columns, check it by the rules, and
hand back the canonical tables with everything the checks found.

:func:`check` does the work once and returns a :class:`Checked`: the JourneyData (when the
inputs can be used) and the report. :func:`validate` gives the report only, and
:func:`load_journey` the data (raising the first error). A Data page keeps the Checked of
an upload, shows its report, and saves its data on "Use this data" without reading the
files again; :meth:`Checked.release` then drops the engine tables the check made.

Every input takes this path: files (read by :mod:`journeylib.ingest.read`) and database
tables (:func:`load_tables`) alike are checked by the rules of
:mod:`journeylib.ingest.rules`, as Ibis expressions on the engine holding them.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import ibis
import pandas as pd

from journeylib.engine import MAX_INLINE_VALUES, Engine, default_engine, map_values
from journeylib.ingest.errors import Findings, InputError, Issue, ValidationReport, examples
from journeylib.ingest.mapping import (
    comment_column,
    detect_mapping,
    form_id_column,
    id_fallback,
    kind_fields,
    rating_columns,
    recognise_export,
    require,
    resolve_mapping,
    survey_ratings,
    used_columns,
)
from journeylib.ingest.parse import header_rows, not_a_number, number, read_times, scale_counts, scale_of_counts
from journeylib.ingest.read import ROW, RawTable, read_source, source_table
from journeylib.ingest.xes import CASE_PREFIX
from journeylib.ingest.rules import (
    EARLIEST,
    Rule,
    apply_rules,
    kept_by,
    dropped,
    duplicate_rows,
    extra_kinds,
    id_text,
    latest_plausible,
    row_count,
    row_hash,
    typed_extras,
)
from journeylib.journey import JourneyModel, place_ratings, unreachable_default_goal
from journeylib.words import label as label_words
from journeylib.schema import EVENT_COLUMNS, FIELDS, SURVEY_COLUMNS, JourneyData

__all__ = ["Checked", "check", "validate", "load_journey", "load_tables", "release", "parse_where",
           "SurveyPreview", "preview_survey"]

_names = itertools.count()


@dataclass
class Checked:
    """One check of some inputs: the data (None when an error stops it) and the report.

    ``owned`` lists the engine tables and views the check made; :meth:`release` drops them
    (the data is gone after that: save it first).
    """

    data: JourneyData | None
    report: ValidationReport
    engine: Engine
    owned: list[tuple[str, str]] = field(default_factory=list)  # (kind: table | view, name)
    exports: dict[str, str] = field(default_factory=dict)  # input kind -> the tool it came from
    questions: dict[str, str] = field(default_factory=dict)  # a wide survey's score column -> its label

    def release(self) -> None:
        """Drop every engine table and view this check made (safe to call twice)."""
        with self.engine.lock:
            for kind, name in sorted(self.owned, key=lambda o: o[0] != "view"):
                if kind == "view":
                    self.engine.con.drop_view(name, force=True)
                else:
                    self.engine.con.drop_table(name, force=True)
        self.owned = []


class _Work:
    """What one check is making: its engine, its findings and the tables it owns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.findings = Findings()
        self.owned: list[tuple[str, str]] = []
        self.labels: dict[str, str] = {}  # a wide survey's score column -> its touchpoint label
        self.exports: dict[str, str] = {}
        self.questions: list[str] = []
        self.ratings: list[tuple[str, Any]] = []  # (file, mapping.Ratings) of each wide survey

    def name(self, what: str) -> str:
        return f"_jl_{what}_{os.getpid()}_{next(_names)}"

    def run(self, expr) -> pd.DataFrame:
        with self.engine.lock:
            return expr.to_pyarrow().to_pandas()

    def materialize(self, expr: ibis.Table, what: str) -> ibis.Table:
        name = self.name(what)
        with self.engine.lock:
            if self.engine.backend_name == "pyspark":
                t = self.engine.con.create_view(name, expr, overwrite=True)
                self.owned.append(("view", name))
            else:
                t = self.engine.con.create_table(name, expr, temp=True)
                self.owned.append(("table", name))
        return t

    def view(self, expr: ibis.Table, what: str) -> ibis.Table:
        name = self.name(what)
        with self.engine.lock:
            v = self.engine.con.create_view(name, expr)
        self.owned.append(("view", name))
        return v

    def frame(self, frame: pd.DataFrame, what: str) -> ibis.Table:
        name = self.name(what)
        t = self.engine.table(frame, name=name)
        self.owned.append(("view" if self.engine.backend_name == "pyspark" else "table", name))
        return t

    def warn(self, *args, **kw) -> None:
        self.findings.warn(*args, **kw)

    def note(self, file: str, column: str | None, message: str, count: int = 0) -> None:
        """What the loader chose for the user (not a change to their rows)."""
        self.findings.warnings.append(Issue(file, column, message, int(count), [], "note"))

    def labels_for(self, column: str) -> str:
        """A score column's touchpoint label: the user's or the export's, else its name as words."""
        return self.labels.get(column) or label_words(column)


# --------------------------------------------------------------------------- helpers


def _spec_id(t: ibis.Table, spec: Any, whole: Mapping[str, bool]) -> ibis.Value:
    if spec is None:  # a survey alone without an id column: one respondent per row
        return ibis.literal("respondent ").concat((t[ROW] + 1).cast("string"))
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    values = [id_text(t[c], whole.get(c, False)) for c in specs]
    return values[0] if len(values) == 1 else ibis.coalesce(*values)


def _whole_float_ids(work: _Work, t: ibis.Table, spec: Any) -> dict[str, bool]:
    """Id text columns whose every value is written like "123.0" (a float column saved
    as text): they lose the ".0" so the ids match the other files."""
    if spec is None:
        return {}
    specs = [c for c in (spec if isinstance(spec, (list, tuple)) else [spec]) if t[c].type().is_string()]
    if not specs:
        return {}
    t = t.select(*specs)
    aggs = {}
    for i, c in enumerate(specs):
        v = t[c]
        aggs[f"n{i}"], aggs[f"w{i}"] = v.count(), v.re_search(r"^-?\d+\.0+$").cast("int64").sum()
    got = work.run(t.aggregate(**aggs)).iloc[0]
    return {c: int(got[f"n{i}"]) > 0 and int(got[f"w{i}"] or 0) == int(got[f"n{i}"]) for i, c in enumerate(specs)}


def _text_or_null(t: ibis.Table, cols: Mapping[str, Any], fld: str) -> ibis.Value:
    if fld in cols and isinstance(cols[fld], str):
        return t[cols[fld]].cast("string")
    if fld in cols:  # several columns: the first present value
        return ibis.coalesce(*[t[c].cast("string") for c in cols[fld]])
    return ibis.null("string")


def _dups(work: _Work, t: ibis.Table, checked: ibis.Table, columns: Sequence[str]) -> ibis.Table:
    """The file rows that repeat an earlier row exactly (a small engine table); ``checked``
    holds every row's ROW and :func:`~journeylib.ingest.rules.row_hash` ``_jl_h``."""
    twins = checked.group_by("_jl_h").aggregate(_jl_n=checked.count())
    twins = twins.filter(twins._jl_n > 1).select("_jl_h")
    cand = work.materialize(checked.semi_join(twins, "_jl_h").select(ROW), "twins")
    if not _count(work, cand):  # (comparing every column costs a compile of them all)
        return cand.select(_jl_dup_row=cand[ROW])
    return work.materialize(duplicate_rows(t.semi_join(cand, ROW), columns), "dups")


def _duplicates(work: _Work, raw: RawTable, t: ibis.Table, checked: ibis.Table,
                keep_duplicates: bool) -> ibis.Table | None:
    """A file's exact duplicate rows (None when they are kept: then a note counts them)."""
    if raw.database:
        return None
    dups = _dups(work, t, checked, raw.columns)
    if keep_duplicates:
        n = _count(work, dups)
        if n:
            work.warn(raw.label, None, _kept_duplicates(n), n)
        return None
    return dups


def _kept_duplicates(n: int) -> str:
    return f"{row_count(n, 'is an exact duplicate', 'are exact duplicates')} of an earlier row; kept (keep " \
           "duplicates is on)"


def _distinct_table(work: _Work, raw: RawTable, keep_duplicates: bool) -> ibis.Table:
    """A database table's rows without exact duplicates (it has no file order to say which
    came first, and equal rows cannot be told apart), counted as for a file."""
    t = raw.table
    got = work.run(t.select(*raw.columns).aggregate(n=ibis._.count()))
    n = int(got["n"].iloc[0])
    unique = t.select(*raw.columns).distinct()
    m = _count(work, unique)
    if n > m and keep_duplicates:  # counted as for a file
        work.warn(raw.label, None, _kept_duplicates(n - m), n - m)
    elif n > m:
        work.warn(raw.label, None, dropped("exact duplicates of an earlier row")(n - m, ""), n - m)
        return unique.mutate(**{ROW: ibis.null("int64")})
    return t


def _with_dups(t: ibis.Table, dups: ibis.Table | None) -> ibis.Table:
    if dups is None:
        return t.mutate(_jl_dup=ibis.literal(False))
    j = t.left_join(dups, t[ROW] == dups._jl_dup_row)
    return j.mutate(_jl_dup=j._jl_dup_row.notnull()).drop("_jl_dup_row")


def _times(work: _Work, t: ibis.Table, column: str, raw: RawTable) -> ibis.Table:
    """``t`` with ``_jl_ts``: its column ``column`` read as timestamps (parse.read_times)."""
    reading = read_times(t.select(ROW, column), column, raw.label, work.engine, raw.database, ROW)
    work.owned += [("table", n) for n in reading.owned]
    work.findings.warnings.extend(reading.notes)
    return reading.attach(t)


def _header_rows(work: _Work, raw: RawTable, kind: str):
    """A survey export's extra header rows, left out: (the raw table without them, what
    they said), or None for a file without such rows."""
    if raw.database or kind == "customers":
        return None
    t = raw.table
    first = work.run((t if list(t.columns) == [*raw.columns, ROW] else t.select(*raw.columns, ROW))
                     .order_by(ROW).limit(2))
    found = header_rows(raw.columns, raw.header, first)
    if found is None:
        return None
    rows = found.rows
    work.warn(raw.label, None, f"read as {found.note}; {row_count(len(rows))} under the header skipped", len(rows),
              [r + 1 for r in rows])
    kept = work.materialize(raw.table.filter(~raw.table[ROW].isin(rows)), "export")
    return replace(raw, table=kept, owned=[]), found


def _form_survey(work: _Work, raw: RawTable, kind: str, cols: dict[str, Any], export: str | None,
                 has_events: bool, mapping) -> None:
    """A survey's columns the common spellings miss: a form's own respondent column, the
    rating columns of a wide survey (one question each), and a respondent number for a
    survey alone that has no id column."""
    if kind != "survey":
        return
    if "customer_id" not in cols:
        own = form_id_column(raw.columns, export)
        if own is not None:
            cols["customer_id"] = own
    if "score" not in cols:
        found = survey_ratings(raw.table, raw.columns, cols, work.run)
        if found is not None and found.columns:
            cols["score"] = list(found.columns)
            shown = ", ".join(repr(work.labels_for(c)) for c in found.columns[:6])
            more = f" and {len(found.columns) - 6} more" if len(found.columns) > 6 else ""
            work.note(raw.label, None, f"{len(found.columns)} rating columns found, one question each: "
                      f"{shown}{more}; set others with --map score=COLUMN (one per question)", len(found.columns))
    elif isinstance(cols["score"], list):  # mapped by hand: read for their codes only
        found = rating_columns(raw.table.select(*cols["score"]), cols["score"], work.run)
    else:
        found = None
    if found is not None and found.columns:
        work.ratings.append((raw.label, found))
        for col, codes in found.codes.items():
            work.note(raw.label, col, f"values {', '.join(f'{v:g}' for v in codes)} in {col!r} look like "
                      "'not applicable' codes, not ratings; count them as not rated with --not-rated "
                      f"{codes[0]:g} (on the Data page: score values meaning not rated)", len(codes))
    if "comment" not in cols:
        used = used_columns(cols)
        candidates = [c for c in raw.columns if c not in used]
        found_text = comment_column(raw.table.select(*candidates), candidates, work.run) if candidates else None
        if found_text is not None:
            cols["comment"] = found_text
            work.note(raw.label, found_text, f"comments read from {work.labels_for(found_text)!r} (free text); set "
                      "another with --map comment=COLUMN", 0)
    if "customer_id" not in cols and "score" in cols and not has_events:
        cols["customer_id"] = None  # numbered below: each row is one respondent
        work.note(raw.label, None, "no respondent id column: each row is one respondent, numbered by its row",
                  0)


def _not_rated(work: _Work, not_rated: Sequence[float] | None) -> tuple[float, ...]:
    """The score values to count as not rated: those given, or (None) the codes the wide
    surveys' ratings propose; a 0 read as "not applicable" is said either way."""
    auto = not_rated is None
    if auto:
        not_rated = tuple(sorted({v for _, found in work.ratings for v in found.proposed}))
    for label, found in work.ratings:
        why = found.zero_note()
        if why is not None and auto:
            work.note(label, None, f"{why}: 0 counts as not rated (proposed); to count 0 as a score give "
                      "--not-rated none (on the Data page: clear 'Score values meaning not rated')",
                      len(found.zeros))
        elif why is not None and 0 not in not_rated:
            work.note(label, None, f"{why}; 0 counts as a score here: to count it as not rated give --not-rated 0 "
                      "(on the Data page: 'Score values meaning not rated')", len(found.zeros))
    return tuple(float(v) for v in not_rated)


def _kept_rows(work: _Work, checked: ibis.Table, applied, rules: Sequence[Rule] = (),
               database: bool = False) -> ibis.Table:
    """The checked rows no drop rule flagged: an anti-join with the (usually few) dropped
    rows, so the rules ran on a narrow table and the wide one is filtered only here. A
    database table has no row numbers: its rows are filtered by the rules themselves."""
    if not applied.dropped:
        return checked
    if database:
        return kept_by(checked.mutate(_jl_dup=ibis.literal(False)), rules).drop("_jl_dup")
    flagged = applied.flagged
    dropped = work.materialize(flagged.filter(flagged._reason != 0).select(_jl_gone=flagged[ROW]), "dropped")
    return checked.anti_join(dropped, checked[ROW] == dropped._jl_gone)


def _mapped(work: _Work, t: ibis.Table, column: str, mapping: dict, out: str) -> ibis.Table:
    """:func:`~journeylib.engine.map_values`, with a long mapping's lookup as an engine table
    this load owns: as a memtable Ibis would keep it registered until the process ends."""
    pairs = {str(k): str(v) for k, v in mapping.items() if v is not None}
    if len(pairs) <= MAX_INLINE_VALUES:
        return map_values(t, column, pairs, out)
    key = f"_jl_key_{out}"
    lookup = work.frame(pd.DataFrame({key: list(pairs), out: list(pairs.values())}, dtype="str"), "lookup")
    return t.left_join(lookup, t[column] == lookup[key]).drop(key)


def _stages(work: _Work, t: ibis.Table, journey: JourneyModel, has_label: bool) -> tuple[ibis.Table, dict[str, str]]:
    """``t`` with ``stage`` (from its own label by the stage order, else from its touchpoint
    by the rules) and ``_jl_label_stage``; and where the rules placed each touchpoint."""
    keys = ["touchpoint"] + (["_jl_stage_label"] if has_label else [])
    combos = work.run(t.group_by(keys).aggregate(_jl_n=t.count()))
    names = sorted(str(v) for v in pd.unique(combos["touchpoint"].dropna()))
    stage_map = journey.touchpoint_stages(names)
    if has_label:
        labels = [str(v) for v in pd.unique(combos["_jl_stage_label"].dropna())]
        t = _mapped(work, t, "_jl_stage_label", {v: journey.stage_name(v) for v in labels}, "_jl_label_stage")
    else:
        t = t.mutate(_jl_label_stage=ibis.null("string"), _jl_stage_label=ibis.null("string"))
    t = _mapped(work, t, "touchpoint", stage_map, "_jl_tp_stage")
    return t.mutate(stage=ibis.coalesce(t._jl_label_stage, t._jl_tp_stage)), stage_map


def _extras(raw: RawTable, used: set[str], reserved: Sequence[str]) -> list[str]:
    return [c for c in raw.columns if c not in used and c not in reserved and not c.startswith("_jl_")]


def _count(work: _Work, t: ibis.Table) -> int:
    return int(work.run(t.aggregate(n=t.count()))["n"].iloc[0])


# --------------------------------------------------------------------------- the rules of each input


def event_rules(cols: Mapping[str, Any], journey: JourneyModel) -> list[Rule]:
    """The checks of a touchpoints file, in the order rows are dropped."""
    ts_col = cols["timestamp"]
    latest = latest_plausible()
    return [
        Rule("dup", "drop", lambda t: t._jl_dup, dropped("exact duplicates of an earlier row")),
        Rule("no_id", "drop", lambda t: t.customer_id.isnull(), dropped("no customer id"),
             column=str(cols["customer_id"])),
        Rule("no_ts", "drop", lambda t: t._jl_ts_blank, dropped("no timestamp"), column=ts_col),
        Rule("bad_ts", "drop", lambda t: t.timestamp.isnull(), dropped("unparseable timestamp"),
             column=ts_col, example="_jl_ts_text"),
        Rule("no_tp", "drop", lambda t: t.touchpoint.isnull(), dropped("no touchpoint"),
             column=str(cols["touchpoint"])),
        Rule("future", "keep", lambda t: t.timestamp > latest.to_pydatetime(),
             lambda n, ex: f"{n} timestamps are in the future (after {latest:%Y-%m-%d}); kept, check the dates"
                           + (f" (e.g. {ex})" if ex else ""), column=ts_col, example="_jl_ts_text"),
        Rule("past", "keep", lambda t: t.timestamp < EARLIEST.to_pydatetime(),
             lambda n, ex: f"{n} timestamps are before 1900; kept, check the dates"
                           + (f" (e.g. {ex})" if ex else ""), column=ts_col, example="_jl_ts_text"),
        _unknown_stage_rule(cols, journey),
    ]


def _unknown_stage_rule(cols: Mapping[str, Any], journey: JourneyModel) -> Rule:
    return Rule("unknown_stage", "blank", lambda t: t._jl_stage_label.notnull() & t._jl_label_stage.isnull(),
                lambda n, ex: f"{row_count(n, 'has', 'have')} a stage not in the stage order ({', '.join(journey.stages)}): "
                              f"{ex}; their stage is left empty", column=cols.get("stage"),
                example="_jl_stage_label", n_examples=5)


def survey_row_rules(cols: Mapping[str, Any], journey: JourneyModel, combined: bool) -> list[Rule]:
    """The checks of a survey's rows (respondents), before its scores."""
    rules = []
    if not combined:  # a combined file's duplicates and missing ids are reported with its events
        rules += [
            Rule("dup", "drop", lambda t: t._jl_dup, dropped("exact duplicates of an earlier row")),
            Rule("no_id", "drop", lambda t: t.customer_id.isnull(), dropped("no customer id"),
                 column=str(cols["customer_id"])),
        ]
    if "timestamp" in cols:
        rules.append(Rule("bad_ts", "blank", lambda t: t._jl_ts_text.notnull(),
                          lambda n, ex: f"{n} unparseable timestamps left empty" + (f" (e.g. {ex})" if ex else ""),
                          column=cols["timestamp"], example="_jl_ts_text"))
    if "nps" in cols:
        rules += [
            Rule("nps_text", "blank", lambda t: t._jl_nps_text.notnull(),
                 lambda n, ex: f"{n} NPS values are not numbers and were left empty" + (f" (e.g. {ex})" if ex else ""),
                 column=cols["nps"], example="_jl_nps_text"),
            Rule("nps_out", "blank", lambda t: t.nps.notnull() & ~t.nps.between(0, 10),
                 lambda n, ex: f"{n} NPS values outside 0-10 left empty", column=cols["nps"]),
        ]
    if "stage" in cols and not isinstance(cols["score"], (list, tuple)) and not combined:  # (as for duplicates)
        rules.append(_unknown_stage_rule(cols, journey))
    return rules


def score_rules(cols: Mapping[str, Any], not_rated: Sequence[float], combined: bool) -> list[Rule]:
    """The checks of the scores (a row per answer; a wide survey's per score column)."""
    spec = cols["score"]
    column = None if isinstance(spec, (list, tuple)) else str(spec)
    codes = [float(v) for v in not_rated]
    # A long survey's answer with a comment but no score is kept for its comment (themes,
    # sentiment); a wide survey's comment rides on its other answers anyway.
    blank = (lambda t: t.score.isnull() & t._jl_score_text.isnull() & t.comment.isnull()) if column else \
        (lambda t: t.score.isnull() & t._jl_score_text.isnull())
    rules = [Rule("no_score", "drop", blank, dropped("no score" if not column else "no score and no comment"),
                  column=column)]
    rules.append(Rule("not_number", "drop", lambda t: t._jl_score_text.notnull(), dropped("score is not a number"),
                      column=column, example="_jl_score_text"))
    if codes:
        rules.append(Rule("not_rated", "drop", lambda t: t.score.isin(codes),
                          lambda n, ex: f"{n:,} {'score' if n == 1 else 'scores'} coded as not rated "
                                        f"({', '.join(f'{v:g}' for v in codes)}) treated as missing", column=column))
    if combined:  # a combined file's rows without a score are events, not answers
        rules[0] = Rule("no_score", "drop", lambda t: t.score.isnull() & t._jl_score_text.isnull(),
                        dropped("no score"), column=column)
    elif column:
        rules.append(Rule("comment_only", "keep", lambda t: t.score.isnull(),
                          lambda n, ex: f"{n} answers have a comment but no score; kept for their comment (they "
                                        "count in comment themes, not in scores)", column=column))
    return rules


def customer_rules(cols: Mapping[str, Any]) -> list[Rule]:
    """The checks of a customers file."""
    return [
        Rule("dup", "drop", lambda t: t._jl_dup, dropped("exact duplicates of an earlier row")),
        Rule("no_id", "drop", lambda t: t.customer_id.isnull(), dropped("no customer id"),
             column=str(cols["customer_id"])),
        Rule("repeated", "drop", lambda t: t._jl_rank > 0, dropped("customer id repeated (first row kept)"),
             column=str(cols["customer_id"])),
    ]


# --------------------------------------------------------------------------- events


@dataclass
class _Events:
    table: ibis.Table
    stage_map: dict[str, str]
    kept: ibis.Table  # the kept rows' ROW and customer_id (a combined file's answers are among them)
    attributes: ibis.Table | None  # an event log's case attributes (case:...), one row per customer


def _first_per_customer(t: ibis.Table, columns: Sequence[str]) -> ibis.Table:
    """The first row's ``columns`` of each customer (file order; for a table, the first by
    those columns as given)."""
    t = t.select(ROW, "customer_id", *columns)
    w = ibis.window(group_by=t.customer_id, order_by=[t[ROW], *[t[c] for c in columns]])
    ranked = t.mutate(_jl_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._jl_rank == 0).drop("_jl_rank", ROW)


def _id_spec(raw: RawTable, cols: dict[str, Any], work: _Work) -> None:
    """An export's id column that is mostly empty gets its fallback id column per row
    (Segment's userId then anonymousId, GA4's user_id then user_pseudo_id), said in a note."""
    spec = cols.get("customer_id")
    if not isinstance(spec, str):
        return
    fallback = id_fallback(spec, raw.columns)
    if fallback is None:
        return
    t = raw.table.select(spec)
    got = work.run(t.aggregate(n=t.count(), empty=t[spec].isnull().cast("int64").sum()))
    empty = int(got["empty"].iloc[0] or 0)
    if empty:  # else the fallback column stays an attribute (Amplitude's device_id)
        cols["customer_id"] = [spec, fallback]
        work.warn(raw.label, spec, f"{empty:,} of {int(got['n'].iloc[0]):,} rows {'has' if empty == 1 else 'have'} no {spec!r}; their customer id "
                  f"is taken from {fallback!r}", empty)


def _events(work: _Work, raw: RawTable, cols: dict[str, Any], journey: JourneyModel, keep_duplicates: bool,
            order_column: str | None) -> _Events:
    label = raw.label
    require("touchpoints", label, raw.columns, cols)
    ts_col = cols["timestamp"]
    if isinstance(ts_col, (list, tuple)):
        raise InputError(label, "timestamp must be mapped to one column", column="timestamp")
    if order_column is not None and order_column not in raw.columns:
        raise InputError(label, f"order column {order_column!r} not found; columns: {', '.join(raw.columns)}",
                         column=order_column)
    t = _distinct_table(work, raw, keep_duplicates) if raw.database else raw.table
    used = used_columns(cols) | ({order_column} if order_column else set())
    extras = _extras(raw, used, EVENT_COLUMNS + ("stage_label",))
    kinds = extra_kinds(t, extras, work.run)
    whole = _whole_float_ids(work, t, cols["customer_id"])
    # A file's rules run on its mapped columns only (Ibis compiles every column an
    # expression carries, and a survey export has hundreds); its other columns are joined
    # back by row once, at the end. A table has no row numbers to join by: they ride along.
    carried = extras if raw.database else []
    if not raw.database:  # the duplicate rule's hash of every column rides in the same pass
        t = t.select(ROW, *[c for c in raw.columns if c in used], _jl_h=row_hash(t, raw.columns))
    t2 = _times(work, t, ts_col, raw)
    ts, raw_ts = t2._jl_ts, t2[ts_col]
    latest = latest_plausible()
    odd = ts.isnull() | (ts > latest.to_pydatetime()) | (ts < EARLIEST.to_pydatetime())
    select = {
        ROW: t2[ROW],
        "customer_id": _spec_id(t2, cols["customer_id"], whole),
        "timestamp": ts,
        "touchpoint": _text_or_null(t2, cols, "touchpoint"),
        "_jl_stage_label": _text_or_null(t2, cols, "stage"),
        "channel": _text_or_null(t2, cols, "channel"),
        "_jl_ts_blank": raw_ts.isnull(),
        "_jl_ts_text": ibis.ifelse(odd, raw_ts.cast("string"), ibis.null("string")),
        **({"_jl_order": t2[order_column]} if order_column else {}),
        **typed_extras(t2, {c: kinds[c] for c in carried}),
        **({} if raw.database else {"_jl_h": t2._jl_h}),
    }
    checked = work.materialize(t2.select(**select), "events_checked")
    hashes = None if raw.database else checked.select(ROW, "_jl_h")
    dups = _duplicates(work, raw, raw.table, hashes, keep_duplicates)
    narrow = checked.select(ROW, "customer_id", "timestamp", "touchpoint", "_jl_stage_label", "_jl_ts_blank",
                            "_jl_ts_text")
    narrow, stage_map = _stages(work, _with_dups(narrow, dups), journey, "stage" in cols)
    rules = event_rules(cols, journey)
    applied = apply_rules(narrow, rules, label, work.engine, work.findings, database=raw.database,
                          extra={"_present": (~narrow._jl_ts_blank).cast("int64").sum(),
                                 "_parsed": narrow.timestamp.count()})
    if not int(applied.totals["_present"] or 0):
        raise InputError(label, f"column {ts_col!r} (timestamp) is empty", column=ts_col)
    if not int(applied.totals["_parsed"] or 0):
        ex = work.run(narrow.filter(narrow._jl_ts_text.notnull()).select("_jl_ts_text").limit(3))["_jl_ts_text"]
        raise InputError(label, f"no parseable timestamp in column {ts_col!r} (e.g. {examples(ex)}); expected "
                         "ISO 8601, DD/MM/YYYY, '19th November 2023' or epoch numbers", column=ts_col, rows=[1])
    kept, _ = _stages(work, _kept_rows(work, checked, applied, rules, raw.database), journey, "stage" in cols)
    out = {
        "customer_id": kept.customer_id,
        "timestamp": kept.timestamp,
        "seq": kept[ROW].cast("int64"),
        "touchpoint": kept.touchpoint,
        "stage": kept.stage.cast("string"),
        "channel": kept.channel.cast("string"),
    }
    if "stage" in cols:
        out["stage_label"] = kept._jl_stage_label
    # A process log's case attributes (XES, or a log flattened from one) describe the customer.
    case_cols = [c for c in extras if c.startswith(CASE_PREFIX)]
    if order_column:
        out["_jl_order"] = kept._jl_order
    joined = bool(extras) and not raw.database
    if joined:
        typed = raw.table.select(_jl_xrow=raw.table[ROW], **typed_extras(raw.table, kinds))
        narrow_kept = kept.select(ROW, **out)
        kept = narrow_kept.join(typed, narrow_kept[ROW] == typed._jl_xrow)
        out = {c: kept[c] for c in out}
    out.update({c: kept[c] for c in extras if c not in case_cols})
    if order_column:  # last, as the order of the columns is the events' own
        out["_jl_order"] = out.pop("_jl_order")
    events = kept.select(**out)
    attributes = _first_per_customer(kept, case_cols) if case_cols else None
    if raw.database:
        # A table has no file order: equal timestamps keep the order of the columns as given.
        order = [events.timestamp] + ([events._jl_order] if order_column else []) + \
                [events[c] for c in events.columns if c not in ("customer_id", "timestamp", "seq", "_jl_order")]
        w = ibis.window(group_by=events.customer_id, order_by=order)
        events = events.mutate(seq=ibis.row_number().over(w).cast("int64"))
    if order_column:
        events = events.drop("_jl_order")
    if joined:
        # One engine table: a view would read the raw file table, which is dropped after the check.
        events = work.materialize(events, "events")
        if attributes is not None:
            attributes = work.materialize(attributes, "case_attributes")
    else:
        events = work.view(events, "events")
    return _Events(events, stage_map, applied.kept.select(ROW, "customer_id"), attributes)


# --------------------------------------------------------------------------- survey


@dataclass
class _Survey:
    table: ibis.Table  # the canonical survey rows
    checks: ibis.Table  # customer_id, score, ROW of the kept answers
    attributes: ibis.Table | None  # a wide table's respondents' other columns
    label: str
    database: bool


def _survey(work: _Work, raw: RawTable, cols: dict[str, Any], journey: JourneyModel, not_rated: Sequence[float],
            keep_duplicates: bool, combined: _Events | None = None) -> _Survey:
    label = raw.label
    require("survey", label, raw.columns, cols)
    t = _distinct_table(work, raw, keep_duplicates) if raw.database and combined is None else raw.table
    if raw.database and combined is not None and not keep_duplicates:
        # A combined table's exact duplicates (counted with its events) are no answers either.
        t = t.select(*raw.columns).distinct().mutate(**{ROW: ibis.null("int64")})
    spec = cols["score"]
    wide = isinstance(spec, (list, tuple))
    score_cols = list(spec) if wide else [spec]
    used = used_columns(cols)
    extras = [] if combined else _extras(raw, used, SURVEY_COLUMNS + ("stage_label",))
    kinds = extra_kinds(t, extras, work.run)
    whole = _whole_float_ids(work, t, cols["customer_id"])
    if "timestamp" in cols:
        t2 = _times(work, t, cols["timestamp"], raw)
        raw_ts, ts = t2[cols["timestamp"]], t2._jl_ts
        ts_text = ibis.ifelse(ts.isnull() & raw_ts.notnull(), raw_ts.cast("string"), ibis.null("string"))
    else:
        t2, ts, ts_text = t, ibis.null("timestamp"), ibis.null("string")
    select: dict[str, Any] = {
        ROW: t2[ROW],
        "customer_id": _spec_id(t2, cols["customer_id"], whole),
        "comment": _text_or_null(t2, cols, "comment"),
        "timestamp": ts,
        "_jl_ts_text": ts_text,
        "touchpoint": _text_or_null(t2, cols, "touchpoint") if not wide else ibis.null("string"),
        "_jl_stage_label": _text_or_null(t2, cols, "stage") if not wide else ibis.null("string"),
        "nps": ibis.null("float64"),
        "_jl_nps_text": ibis.null("string"),
    }
    if "nps" in cols:
        nps_raw = t2[cols["nps"]]
        select["nps"] = number(nps_raw)
        select["_jl_nps_text"] = ibis.ifelse(not_a_number(nps_raw), nps_raw.cast("string"), ibis.null("string"))
    for i, col in enumerate(score_cols):
        s = t2[col]
        select[f"_jl_s{i}"] = number(s)
        select[f"_jl_s{i}_text"] = ibis.ifelse(not_a_number(s), s.cast("string"), ibis.null("string"))
    select.update(typed_extras(t2, kinds))
    if not raw.database and combined is None:
        select["_jl_h"] = row_hash(t2, raw.columns)
    checked = work.materialize(t2.select(**select), "survey_checked")

    scores = [f"_jl_s{i}" for i in range(len(score_cols))] + [f"_jl_s{i}_text" for i in range(len(score_cols))]
    # A long survey's own columns ride along with its answers (a wide one's describe customers).
    narrow = checked.select(ROW, "customer_id", "comment", "timestamp", "_jl_ts_text", "touchpoint",
                            "_jl_stage_label", "nps", "_jl_nps_text", *scores, *([] if wide else extras))
    if combined is not None:
        # The rows the events' rules dropped are not answers either (a table's, which has no
        # row numbers to match, by the same conditions: no id, time or touchpoint).
        narrow = narrow.filter(narrow.customer_id.notnull() & narrow.timestamp.notnull()
                               & narrow.touchpoint.notnull()) if raw.database else \
            narrow.semi_join(combined.kept.filter(combined.kept.customer_id.notnull()), ROW)
        narrow = narrow.mutate(_jl_dup=ibis.literal(False))
    else:
        narrow = _with_dups(narrow, _duplicates(work, raw, t, checked, keep_duplicates))
    narrow, _ = _stages(work, narrow, journey, "stage" in cols and not wide)
    if not wide and "stage" not in cols and "touchpoint" not in cols:
        work.warn(label, None, "no stage or touchpoint column: scores cannot be placed on the journey")
    rows = apply_rules(narrow, survey_row_rules(cols, journey, combined is not None), label, work.engine,
                       work.findings, database=raw.database).kept
    blanks = {"timestamp": ibis.ifelse(rows._flag_bad_ts, ibis.null("timestamp"), rows.timestamp)} \
        if "timestamp" in cols else {}
    if "nps" in cols:
        blanks["nps"] = ibis.ifelse(rows._flag_nps_text | rows._flag_nps_out, ibis.null("float64"), rows.nps)
    rows = rows.mutate(**blanks) if blanks else rows
    if wide:
        # Each score column becomes a select over these rows: kept as a table, the union of
        # them compiles in milliseconds instead of repeating the checks once per column.
        rows = work.materialize(rows, "survey_rows")

    def answers_of(i: int, col: str) -> ibis.Table:
        if wide:
            name = work.labels_for(col)
            stage = journey.rating_stage(col, name)
            place = {"stage": ibis.literal(stage, type="string"), "touchpoint": ibis.literal(name, type="string")}
        else:
            place = {"stage": rows.stage.cast("string"), "touchpoint": rows.touchpoint.cast("string")}
        own = {} if wide else {**({"stage_label": rows._jl_stage_label} if "stage" in cols else {}),
                               **{c: rows[c] for c in extras}}
        return rows.select(ROW, customer_id=rows.customer_id, **place, score=rows[f"_jl_s{i}"],
                           _jl_score_text=rows[f"_jl_s{i}_text"], comment=rows.comment.cast("string"),
                           timestamp=rows.timestamp, nps=rows.nps.cast("float64"),
                           _jl_col=ibis.literal(str(col), type="string"), **own)

    parts = [answers_of(i, c) for i, c in enumerate(score_cols)]
    answers = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    if wide:
        answers = work.materialize(answers, "survey_answers")
    by = "_jl_col" if wide else None
    rules = score_rules(cols, not_rated, combined is not None)
    if combined is not None:
        # In a combined file a row without a score is an event: only bad answers are reported.
        quiet = apply_rules(answers, rules[:1], label, work.engine, Findings(), database=raw.database, by=by).kept
        applied = apply_rules(quiet, rules[1:], label, work.engine, work.findings, database=raw.database, by=by,
                              by_order=score_cols)
    else:
        applied = apply_rules(answers, rules, label, work.engine, work.findings, database=raw.database, by=by,
                              by_order=score_cols)
    kept = work.materialize(applied.kept.drop("_jl_score_text", "_jl_col"), "answers")
    if not _count(work, kept.filter(kept.score.notnull())):
        raise InputError(label, f"no usable scores in {', '.join(map(repr, score_cols))}", column=str(score_cols[0]))
    own = [] if wide else (["stage_label"] if "stage" in cols else []) + list(extras)
    table = work.view(kept.select(*SURVEY_COLUMNS, *own), "survey")
    attributes = None
    if wide and extras:
        # A wide table has one row per respondent: its other columns describe the customer.
        # (a table's rows have no numbers: its kept respondents are those with an id)
        respondents = checked.filter(checked.customer_id.notnull()) if raw.database else \
            checked.semi_join(rows.select(ROW), ROW)
        attributes = _first_per_customer(respondents, extras)
    return _Survey(table, kept.select("customer_id", "score", ROW), attributes, label, raw.database)


# --------------------------------------------------------------------------- customers


def _customers(work: _Work, raw: RawTable, cols: dict[str, Any], keep_duplicates: bool) -> ibis.Table:
    label = raw.label
    require("customers", label, raw.columns, cols)
    t = _distinct_table(work, raw, keep_duplicates) if raw.database else raw.table
    extras = _extras(raw, used_columns(cols), ("customer_id",))
    kinds = extra_kinds(t, extras, work.run)
    whole = _whole_float_ids(work, t, cols["customer_id"])
    select = {ROW: t[ROW], "customer_id": _spec_id(t, cols["customer_id"], whole), **typed_extras(t, kinds)}
    if not raw.database:
        select["_jl_h"] = row_hash(t, raw.columns)
    checked = work.materialize(t.select(**select), "customers_checked")
    if raw.database:
        # A table has no file order (and no duplicates left): an id's first row is the
        # first by its other columns as given.
        w = ibis.window(group_by=checked.customer_id, order_by=[checked[c] for c in extras])
        ranked = checked.mutate(_jl_dup=ibis.literal(False), _jl_rank=ibis.row_number().over(w))
    else:
        narrow = _with_dups(checked.select(ROW, "customer_id"), _duplicates(work, raw, t, checked, keep_duplicates))
        # Among rows with an id that are not duplicates, the first of each id is kept.
        first = narrow.filter(~narrow._jl_dup & narrow.customer_id.notnull())
        w = ibis.window(group_by=first.customer_id, order_by=first[ROW])
        rank = first.select(_jl_rrow=first[ROW], _jl_rank=ibis.row_number().over(w))
        j = narrow.left_join(rank, narrow[ROW] == rank._jl_rrow)
        ranked = j.mutate(_jl_rank=j._jl_rank.fill_null(0)).drop("_jl_rrow")
    rules = customer_rules(cols)
    applied = apply_rules(ranked, rules, label, work.engine, work.findings, database=raw.database)
    if raw.database:
        kept = kept_by(ranked, rules) if applied.dropped else checked
    else:
        kept = _kept_rows(work, checked, applied)
    return work.view(kept.select("customer_id", *extras), "customers")


# --------------------------------------------------------------------------- across files


def _scale_and_checks(work: _Work, surveys: list[_Survey], events: ibis.Table | None):
    union = surveys[0].checks if len(surveys) == 1 else ibis.union(*[s.checks for s in surveys], distinct=False)
    got = work.run(union.aggregate(**scale_counts(union.score))).iloc[0]
    scale = scale_of_counts(got)
    if scale is None:
        return None
    outside = Rule("out_of_scale", "keep", lambda t: ~t.score.between(scale.low, scale.high),
                   lambda n, ex: f"{n} scores outside the detected scale {scale.label} (kept, not rescaled"
                                 + (f"; e.g. {ex})" if ex else ")"), column="score", example="_jl_score_shown")
    for s in surveys:
        shown = s.checks.mutate(_jl_score_shown=s.checks.score.cast("string"))
        apply_rules(shown, [outside], s.label, work.engine, work.findings, database=s.database)
    if events is not None:
        ids = events.select("customer_id").distinct()
        for s in surveys:
            lost = s.checks.anti_join(ids, "customer_id")
            got = work.run(lost.aggregate(n=lost.customer_id.nunique()))
            n = int(got["n"].iloc[0] or 0)
            if not n:
                continue
            first = work.run(lost.group_by("customer_id").aggregate(f=lost[ROW].min())
                             .order_by(["f", "customer_id"]).limit(5))
            rows = work.run(lost.select(ROW).distinct().order_by(ROW).limit(5))[ROW]
            n_rows = int(work.run(lost.aggregate(n=lost[ROW].nunique()))["n"].iloc[0] or 0)
            rows = [int(r) + 1 for r in rows if r is not None and not pd.isna(r)]
            from journeylib.ingest.errors import rows_text

            where = rows_text(rows, n_rows)
            work.warn(s.label, "customer_id", f"{n} survey customers have no events (e.g. {examples(first['customer_id'])}); "
                      "their answers count in scores but not in flows" + (f"; {where}" if where else ""), n, rows)
    return scale


def _merge_attributes(work: _Work, customers: ibis.Table | None, attributes: list[ibis.Table]) -> ibis.Table | None:
    for attrs in attributes:
        if len(attrs.columns) <= 1:
            continue
        if customers is None:
            customers = attrs
            continue
        new = [c for c in attrs.columns if c == "customer_id" or c not in customers.columns]
        if len(new) > 1:
            a = attrs.select(*new)
            customers = customers.left_join(a, "customer_id").select(*customers.columns, *new[1:])
    return customers if customers is None or not attributes else work.view(customers, "customers_all")


def _empty_events(work: _Work) -> ibis.Table:
    frame = pd.DataFrame({
        "customer_id": pd.Series([], dtype="str"), "timestamp": pd.Series([], dtype="datetime64[us]"),
        "seq": pd.Series([], dtype="int64"), "touchpoint": pd.Series([], dtype="str"),
        "stage": pd.Series([], dtype="str"), "channel": pd.Series([], dtype="str")})
    return work.frame(frame, "no_events")


# --------------------------------------------------------------------------- a survey's first rows


@dataclass(frozen=True)
class SurveyPreview:
    """What a check would make of a wide survey, from its first rows: its rating columns
    (column -> touchpoint label), where they sit (``places``), the score values proposed
    as not rated and why (``not_rated_why``, None when nothing is proposed)."""

    ratings: dict[str, str]
    places: Any  # journey.RatingPlaces
    proposed: tuple[float, ...]
    not_rated_why: str | None


def preview_survey(frame: pd.DataFrame, mapping: Mapping[str, Any] | None = None,
                   journey: JourneyModel | None = None, name: str = "", has_events: bool = False,
                   labels: Mapping[str, str] | None = None) -> SurveyPreview | None:
    """A survey file's rating columns, stages and proposed "not rated" codes as
    :func:`check` finds them (the same rules), from a frame of its first rows; ``mapping``
    is field -> column as the user set it. None when the file is not a wide survey."""
    cols: dict[str, Any] = dict(detect_mapping(frame, "survey"))
    cols.update({k: v for k, v in (mapping or {}).items() if v is not None})
    columns = [str(c) for c in frame.columns]
    plain = frame.rename(columns=str)
    plain.attrs = {}  # a read's notes are for the check, not for the table
    t = ibis.memtable(plain)
    run = lambda expr: expr.to_pyarrow().to_pandas()  # noqa: E731 - an in-memory frame, no engine
    score = cols.get("score")
    if isinstance(score, str):
        return None
    found = (rating_columns(t.select(*score), list(score), run) if isinstance(score, (list, tuple))
             else survey_ratings(t, columns, cols, run))
    if found is None or not found.columns:
        return None
    named = {c: (labels or {}).get(c) or label_words(c) for c in found.columns}
    places = place_ratings(journey or JourneyModel.default(), named, name, has_events)
    why = found.zero_note()
    codes = ", ".join(f"{v:g}" for v in found.proposed if v != 0)
    if codes:
        why = (f"{why}; " if why else "") + f"{codes} look like 'not applicable' codes, not ratings"
    return SurveyPreview(named, places, found.proposed, why)


# --------------------------------------------------------------------------- where


def parse_where(items: Sequence[str]) -> dict[str, list[str]]:
    """``COLUMN=VALUE[,VALUE...]`` conditions (the rows to keep) as column -> values."""
    out: dict[str, list[str]] = {}
    for item in items:
        column, sep, values = str(item).partition("=")
        column = column.strip()
        if not sep or not column or not values.strip():
            raise InputError("--where", f"expected COLUMN=VALUE[,VALUE...], got {item!r}")
        out.setdefault(column, []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


def _apply_where(work: _Work, raws: dict[str, RawTable], where: Mapping[str, Sequence[str]]) -> None:
    for column, values in where.items():
        hit = [k for k, r in raws.items() if column in r.columns]
        if not hit:
            cols = sorted({c for r in raws.values() for c in r.columns})
            raise InputError("where", f"no file has a column {column!r} to keep rows by; columns: {', '.join(cols)}",
                             column=column)
        for kind in hit:
            raw = raws[kind]
            t = raw.table
            cond = t[column].cast("string").isin([str(v) for v in values]).fill_null(False)
            narrow = t.select(column)
            got = work.run(narrow.aggregate(n=narrow.count(), kept=narrow[column].cast("string").isin(
                [str(v) for v in values]).fill_null(False).cast("int64").sum())).iloc[0]
            before, after = int(got["n"]), int(got["kept"] or 0)
            shown = " or ".join(repr(v) for v in values)
            if after == 0:
                raise InputError(raw.label, f"no row has {shown} in column {column!r}", column=column)
            work.warn(raw.label, column, f"kept {after:,} of {before:,} rows whose {column!r} is {shown}",
                      before - after)
            # Kept as a table of its own: every later query would filter the whole file again.
            kept = t.filter(cond) if raw.database else work.materialize(t.filter(cond), "where")
            raws[kind] = replace(raw, table=kept, owned=[])


# --------------------------------------------------------------------------- the entry points


def _read_all(work: _Work, sources: Mapping[str, Any], errors: list[Issue]) -> tuple[dict[str, RawTable], list[RawTable]]:
    raws: dict[str, RawTable] = {}
    mine: list[RawTable] = []
    for kind, source in sources.items():
        if source is None:
            continue
        try:
            raw = read_source(source, engine=work.engine)
        except InputError as exc:
            errors.append(Issue.of(exc))
            continue
        if raw is not source:
            mine.append(raw)
        work.findings.warnings.extend(raw.notes)
        if _count(work, raw.table.select(ROW)) == 0:
            errors.append(Issue.of(InputError(raw.label, "no data rows (the file has only a header)"
                                              if raw.columns else "empty file")))
            continue
        raws[kind] = raw
    return raws, mine


def check(touchpoints: Any = None, survey: Any = None, customers: Any = None, *,
          mapping: Mapping[str, Any] | None = None, journey: JourneyModel | None = None,
          not_rated: Sequence[float] | None = (), keep_duplicates: bool = False,
          where: Mapping[str, Sequence[str]] | None = None, engine: Engine | None = None,
          order_column: str | None = None, labels: Mapping[str, str] | None = None) -> Checked:
    """Read, map and check the inputs once: the data (None on errors) and the report.

    Each input is a path, a ``(name, bytes)`` pair, an upload, a DataFrame, a
    :class:`~journeylib.ingest.read.RawTable` (already read: it is left for its owner to
    release) or a database table from :func:`journeylib.ingest.read.source_table`.
    ``mapping`` sets field -> column (``"survey.timestamp"`` for one file only; a list for
    ``score`` melts a wide survey). ``not_rated`` score values are treated as missing; None
    takes the codes the wide surveys' ratings propose (a rare 0 beside a 1-5 scale, -99).
    Exact duplicate rows are dropped and counted unless ``keep_duplicates``. ``where`` keeps
    only rows whose column holds one of the values (column -> values). ``labels`` names a
    wide survey's score columns as touchpoints (column -> label; an export's question text
    is the default).
    """
    work = _Work(engine or default_engine())
    journey = journey or JourneyModel.default()
    errors: list[Issue] = []
    sources = {"touchpoints": touchpoints, "survey": survey, "customers": customers}
    raws, mine = _read_all(work, sources, errors)
    try:
        data = _check(work, raws, errors, mapping, journey, not_rated, keep_duplicates, where, order_column, labels)
    except BaseException:
        Checked(None, ValidationReport(), work.engine, work.owned).release()
        raise
    finally:
        for raw in mine:
            raw.release()
    report = ValidationReport(errors, work.findings.warnings)
    checked = Checked(data if not errors else None, report, work.engine, work.owned, work.exports,
                      {c: work.labels_for(c) for c in work.questions})
    if errors:
        checked.release()
    return checked


def _check(work: _Work, raws: dict[str, RawTable], errors: list[Issue], mapping, journey: JourneyModel,
           not_rated, keep_duplicates: bool, where, order_column, labels) -> JourneyData | None:
    if not raws and not errors:
        errors.append(Issue("(input)", None, "no input: give a touchpoints or survey file", 0, [], "error"))
    if not raws:
        return None
    if where:
        try:
            _apply_where(work, raws, where)
        except InputError as exc:
            errors.append(Issue.of(exc))
            return None
    formats = {kind: _header_rows(work, raw, kind) for kind, raw in raws.items()}
    for kind, found in formats.items():
        if found is not None:
            raws[kind] = found[0]
    cols, map_errors = resolve_mapping({k: (r.label, r.columns) for k, r in raws.items()}, mapping)
    errors.extend(Issue.of(e) for e in map_errors)
    if any(e.file == "mapping" for e in errors):
        return None
    failed = {e.file for e in errors}
    raws = {k: r for k, r in raws.items() if r.label not in failed}
    for header in formats.values():
        if header is not None:
            work.labels.update(header[1].labels)
    work.labels.update(labels or {})
    for kind, raw in raws.items():
        header = formats.get(kind)
        export = recognise_export(raw.columns, kind, header[1].export if header else None)
        if export:
            work.exports[kind] = export
        _form_survey(work, raw, kind, cols[kind], export, has_events="touchpoints" in raws, mapping=mapping)
        score = cols[kind].get("score")
        if isinstance(score, list):
            work.questions += [c for c in score if c not in work.questions]
            if kind == "survey":
                places = place_ratings(journey, {c: work.labels_for(c) for c in score}, raw.label,
                                       has_events="touchpoints" in raws)
                journey = places.model
                said = places.note()
                if said:
                    (work.warn if places.unplaced else work.note)(raw.label, None, said, len(places.grouped)
                                                                  or len(places.unplaced))
    not_rated = _not_rated(work, not_rated)
    if "touchpoints" in raws:
        _id_spec(raws["touchpoints"], cols["touchpoints"], work)
    for kind in ("survey", "customers"):
        if kind in raws:
            _id_spec(raws[kind], cols[kind], work)
    unknown = journey.unknown_rule_stages()
    if unknown:
        work.warn("journey", None, f"stages {', '.join(map(repr, unknown))} are named by the stage rules or the "
                  f"goal but are not in the stage order ({', '.join(journey.stages)}); those rules are ignored",
                  len(unknown))

    events = None
    surveys: list[_Survey] = []
    attributes: list[ibis.Table] = []
    customers_t = None
    stage_map: dict[str, str] = {}
    if "touchpoints" in raws:
        raw = raws["touchpoints"]
        tcols = cols["touchpoints"]
        combined = "score" in tcols
        event_cols = {k: v for k, v in tcols.items() if k in FIELDS["touchpoints"][0] + FIELDS["touchpoints"][1]}
        answer_cols = used_columns(tcols) - used_columns(event_cols) if combined else set()
        events_raw = raw if not answer_cols else replace(
            raw, columns=[c for c in raw.columns if c not in answer_cols], notes=[], owned=[])
        try:
            ev = _events(work, events_raw, event_cols, journey, keep_duplicates, order_column)
            events, stage_map = ev.table, ev.stage_map
            unset = unreachable_default_goal(journey, stage_map, "stage" in event_cols)
            if unset:
                work.note(raw.label, None, unset)
                journey = journey.with_goal(None)
            if ev.attributes is not None:
                attributes.append(ev.attributes)
            if combined:
                scols = {k: v for k, v in tcols.items() if k in kind_fields("survey")}
                survey_raw = replace(raw, notes=[], owned=[])
                surveys.append(_survey(work, survey_raw, scols, journey, not_rated, keep_duplicates, combined=ev))
        except InputError as exc:
            errors.append(Issue.of(exc))
    if "survey" in raws:
        try:
            s = _survey(work, raws["survey"], cols["survey"], journey, not_rated, keep_duplicates)
            surveys.append(s)
            if s.attributes is not None:
                attributes.append(s.attributes)
        except InputError as exc:
            errors.append(Issue.of(exc))
    if "customers" in raws:
        try:
            customers_t = _customers(work, raws["customers"], cols["customers"], keep_duplicates)
        except InputError as exc:
            errors.append(Issue.of(exc))
    if errors:
        return None
    scale = _scale_and_checks(work, surveys, events) if surveys else None
    survey_t = None
    if surveys:
        survey_t = surveys[0].table if len(surveys) == 1 else work.view(
            ibis.union(*[s.table.select(*SURVEY_COLUMNS) for s in surveys], distinct=False), "survey_all")
    customers_t = _merge_attributes(work, customers_t, attributes)
    if events is None:
        events = _empty_events(work)
        if surveys:
            names = work.run(survey_t.select("touchpoint").distinct())["touchpoint"].dropna()
            stage_map = journey.touchpoint_stages(sorted(str(n) for n in names))
    return JourneyData(
        events=events,
        survey=survey_t,
        customers=customers_t,
        journey=journey,
        score_scale=scale,
        touchpoint_stage_map=stage_map,
        source_names={k: r.label for k, r in raws.items()},
        warnings=work.findings.warnings,
        owned=tuple(work.owned),
    )


def validate(touchpoints: Any = None, survey: Any = None, customers: Any = None, **options: Any) -> ValidationReport:
    """Check the inputs as :func:`load_journey` would and report every error and warning."""
    checked = check(touchpoints, survey, customers, **options)
    checked.release()
    return checked.report


def load_journey(touchpoints: Any = None, survey: Any = None, customers: Any = None, **options: Any) -> JourneyData:
    """Read, map and check the inputs (see :func:`check`); raise :class:`InputError` on the
    first error. Everything dropped or changed is in ``data.warnings``."""
    checked = check(touchpoints, survey, customers, **options)
    if checked.report.errors:
        first = checked.report.errors[0]
        raise InputError(first.file, first.message, column=first.column, rows=first.rows)
    assert checked.data is not None
    return checked.data


def load_tables(engine: Engine | None, touchpoints: str | None = None, survey: str | None = None,
                customers: str | None = None, **options: Any) -> JourneyData:
    """Tables or views on the engine's backend as a JourneyData, checked by the same rules
    as files (their warnings give counts; a table has no file rows). ``order_column``
    orders events with equal timestamps (see the module notes of read)."""
    eng = engine or default_engine()
    sources = {k: source_table(eng, v) if v is not None and str(v).strip() else None
               for k, v in (("touchpoints", touchpoints), ("survey", survey), ("customers", customers))}
    if sources["touchpoints"] is None and sources["survey"] is None:
        raise InputError("(input)", "no input: give a touchpoints or survey table")
    return load_journey(**sources, engine=eng, **options)


def release(data: JourneyData, engine: Engine | None = None) -> None:
    """Drop the engine tables and views the loader made for ``data``, once it is saved
    elsewhere (the data cannot be used after that)."""
    Checked(None, ValidationReport(), engine or default_engine(), list(data.owned)).release()
