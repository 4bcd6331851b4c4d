"""Which column holds which field: detection from common spellings and export profiles,
and the user's overrides (``--map FIELD=COLUMN``, the Data page's column pickers).

A mapping is, per input kind, field -> column; a list of columns for ``score`` means a wide
survey (one score column per touchpoint or stage, melted into rows), a list for
``customer_id`` means the first present value left to right per row (Segment's ``userId``
then ``anonymousId``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from journeylib.ingest.errors import InputError
from journeylib.schema import FIELDS, INPUT_KINDS

__all__ = [
    "recognise_export",
    "rating_columns",
    "Ratings",
    "form_id_column",
    "comment_column",
    "SYNONYMS",
    "detect_mapping",
    "resolve_mapping",
    "require",
    "missing_field",
    "has_customer_column",
    "used_columns",
    "key",
    "kind_fields",
    "id_fallback",
    "ID_FALLBACKS",
]


def key(name: Any) -> str:
    """A column name compared case-, space- and punctuation-insensitively."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


# Spellings per field, best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id", "cust_id", "user_id", "client_id", "case:concept:name", "case_id",
        "visitor_id", "user_pseudo_id", "distinct_id", "anonymous_id", "person_id",
        "contact_id", "account_id", "respondent_id", "response_id", "review_id", "customer", "client",
        "user", "visitor", "respondent", "email_address",
    ),
    "timestamp": (
        "timestamp", "time:timestamp", "event_timestamp", "event_time", "datetime",
        "date_time", "created_at", "occurred_at", "time", "date", "ts", "received_at",
        "recorded_date", "submit_date_utc", "submit_date", "submitted_at", "end_date",
    ),
    "touchpoint": (
        "touchpoint", "touch_point", "event", "event_name", "event_type", "activity",
        "concept:name", "page", "page_name", "action", "interaction",
    ),
    "stage": ("stage", "journey_stage", "phase", "lifecycle_stage", "funnel_stage"),
    "channel": ("channel", "case:channel", "source", "medium", "utm_source", "utm_medium"),
    "score": ("score", "rating", "satisfaction_score", "csat", "feeling", "emotion", "sentiment_score"),
    "comment": (
        "comment", "comments", "text", "feedback", "review", "verbatim", "review_body",
        "review_text", "open_text",
    ),
    "nps": ("nps", "nps_score", "likelihood_to_recommend", "recommend_score", "ltr"),
}
# "id" names a row of the file itself: a customer only in customer and survey files.
_ID_ONLY_KINDS = ("survey", "customers")
# An export's own id column -> the columns that hold an id when it is empty (per row):
# Segment's anonymousId for visitors not signed in, GA4's user_pseudo_id (or client_id) for
# a user_id that only signed-in users have, Amplitude's device_id.
ID_FALLBACKS: dict[str, tuple[str, ...]] = {
    "userid": ("anonymousid", "userpseudoid", "clientid", "deviceid"),
}


def kind_fields(kind: str) -> tuple[str, ...]:
    """Every field a file of ``kind`` can map (a touchpoints file may carry survey answers)."""
    required, optional = FIELDS[kind]
    fields = required + optional
    if kind == "touchpoints":
        # A combined file may carry survey answers next to the events.
        fields = fields + ("score", "comment", "nps")
    return fields


def _columns(frame_or_columns: Any) -> list[str]:
    cols = getattr(frame_or_columns, "columns", frame_or_columns)
    return [str(c) for c in cols]


def detect_mapping(frame_or_columns: Any, kind: str) -> dict[str, str]:
    """Guess which column holds each canonical field of ``kind`` from common spellings.

    Takes a frame or a list of column names. Each column is used for at most one field.
    For a touchpoints file the survey fields (score, comment, nps) are detected too, so a
    combined file also yields the survey.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"kind must be one of {INPUT_KINDS}, not {kind!r}")
    by_key: dict[str, str] = {}
    for col in _columns(frame_or_columns):
        by_key.setdefault(key(col), col)
    used: set[str] = set()
    found: dict[str, str] = {}
    for fld in kind_fields(kind):
        spellings = list(SYNONYMS.get(fld, (fld,)))
        if fld == "customer_id" and kind in _ID_ONLY_KINDS:
            spellings.append("id")
        for spelling in spellings:
            col = by_key.get(key(spelling))
            if col is not None and col not in used:
                found[fld] = col
                used.add(col)
                break
    return found


def has_customer_column(columns: Sequence[str]) -> bool:
    """Whether any kind of file would find a customer id among these columns."""
    return any("customer_id" in detect_mapping(columns, kind) for kind in INPUT_KINDS)


def id_fallback(column: str, columns: Iterable[str]) -> str | None:
    """The export's fallback id column for ``column`` among ``columns`` (see ID_FALLBACKS)."""
    wanted = ID_FALLBACKS.get(key(column))
    by_key = {key(c): c for c in columns}
    for w in wanted or ():
        if w in by_key and by_key[w] != column:
            return by_key[w]
    return None


def _relevant_kinds(fld: str) -> tuple[str, ...]:
    return tuple(k for k in INPUT_KINDS if fld in kind_fields(k))


def resolve_mapping(columns: Mapping[str, tuple[str, Sequence[str]]],
                    mapping: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, Any]], list[InputError]]:
    """Per kind: field -> column (or list of columns). Overrides beat detection.

    ``columns`` is kind -> (file label, its columns). An override ``field=column`` applies
    to every file that has that column; one naming a column no relevant file has is an
    error. ``kind.field`` (e.g. ``survey.timestamp``) applies to that file only and must
    exist there.
    """
    resolved = {kind: detect_mapping(cols, kind) for kind, (_, cols) in columns.items()}
    errors: list[InputError] = []
    for raw_key, value in (mapping or {}).items():
        kind_only, fld = None, str(raw_key)
        prefix, _, rest = fld.partition(".")
        if rest and prefix in INPUT_KINDS:
            kind_only, fld = prefix, rest
        if value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0):
            continue
        if not _relevant_kinds(fld):
            errors.append(InputError("mapping", f"unknown field {fld!r}; fields are {', '.join(SYNONYMS)}"))
            continue
        cols = list(value) if isinstance(value, (list, tuple)) else [value]
        targets = [kind_only] if kind_only else [k for k in _relevant_kinds(fld) if k in columns]
        targets = [k for k in targets if k in columns]
        if not targets:
            continue
        applied = False
        for kind in targets:
            have = columns[kind][1]
            if not all(c in have for c in cols):
                continue
            # The column now belongs to this field; detection must not also use it elsewhere.
            for other, col in list(resolved[kind].items()):
                if other != fld and isinstance(col, str) and col in cols:
                    del resolved[kind][other]
            resolved[kind][fld] = list(value) if isinstance(value, (list, tuple)) else value
            applied = True
        if not applied:
            kind = max(targets, key=lambda k: sum(c in columns[k][1] for c in cols))
            label, have = columns[kind]
            missing = [c for c in cols if c not in have]
            errors.append(InputError(label, f"mapped column {', '.join(map(repr, missing))} for field {fld!r} "
                                     f"not found; columns: {', '.join(map(str, have))}", column=str(missing[0])))
    return resolved, errors


_MISSING_FIELD = re.compile(r"^no column for required field '([a-z_]+)'")


def missing_field(issue: Any) -> str | None:
    """The required field an error of :func:`require` found no column for, or None."""
    found = _MISSING_FIELD.match(str(getattr(issue, "message", "")))
    return found.group(1) if found else None


def require(kind: str, label: str, columns: Sequence[str], cols: Mapping[str, Any],
            fields: Sequence[str] | None = None) -> None:
    """Raise InputError for the first required field of ``kind`` with no column."""
    for fld in fields if fields is not None else FIELDS[kind][0]:
        if fld not in cols:
            raise InputError(
                label,
                f"no column for required field {fld!r} (tried {', '.join(SYNONYMS.get(fld, (fld,))[:6])}...); "
                f"columns: {', '.join(map(str, columns))}; set it with a mapping such as {fld}=COLUMN",
                column=fld,
            )


def used_columns(cols: Mapping[str, Any]) -> set[str]:
    """Every column a mapping names."""
    out: set[str] = set()
    for spec in cols.values():
        out.update(spec if isinstance(spec, (list, tuple)) else [spec])
    return out


# --------------------------------------------------------------------------- export profiles


def recognise_export(columns: Sequence[str], kind: str, header_export: str | None = None) -> str | None:
    """The tool a file was exported from, told by its column names (or by its extra header
    rows, ``header_export``): GA4, Segment, Mixpanel, Amplitude, an XES event log, Google
    Forms, Typeform, Qualtrics or SurveyMonkey; None for anything else."""
    if header_export:
        return header_export
    keys = {key(c) for c in columns}
    if kind == "touchpoints" or kind == "survey":
        if {"eventname", "userpseudoid"} <= keys or {"eventtimestamp", "userpseudoid"} <= keys:
            return "GA4"
        if {"userid", "anonymousid"} <= keys or {"anonymousid", "event"} <= keys:
            return "Segment"
        if "distinctid" in keys and ("event" in keys or "time" in keys):
            return "Mixpanel"
        if {"eventtype", "eventtime"} <= keys or "amplitudeid" in keys:
            return "Amplitude"
        if {"case:concept:name", "concept:name"} <= {str(c) for c in columns}:
            return "an XES event log"
    if list(columns)[:1] == ["Timestamp"] and kind == "survey":
        return "Google Forms"
    if "#" in columns and ("submitdateutc" in keys or "networkid" in keys):
        return "Typeform"
    if "responseid" in keys and "recordeddate" in keys:
        return "Qualtrics"
    if "respondentid" in keys and "collectorid" in keys:
        return "SurveyMonkey"
    return None


def form_id_column(columns: Sequence[str], export: str | None) -> str | None:
    """The respondent column of a form export whose id has no common name (Typeform's "#")."""
    if export == "Typeform" and "#" in columns:
        return "#"
    return None


@dataclass
class Ratings:
    """A wide survey's rating columns (one question each) and the codes found in them that
    look like "not applicable" rather than a rating: ``codes`` (e.g. -99) per column, and
    ``zeros``, the share of answers that are 0 in each column where 0 sits beside a 1-4 to
    1-7 scale and is rare (:func:`rating_columns` says when)."""

    columns: list[str]
    codes: dict[str, list[float]]
    zeros: dict[str, float] = field(default_factory=dict)
    top: float = 0.0  # the highest rating given (the scale's top)

    @property
    def proposed(self) -> tuple[float, ...]:
        """The values to propose as not rated: every code found, and 0 when it reads as one."""
        found = {v for vs in self.codes.values() for v in vs} | ({0.0} if self.zeros else set())
        return tuple(sorted(found))

    def zero_note(self) -> str | None:
        """Why 0 is proposed as not rated, in words (None when it is not)."""
        if not self.zeros:
            return None
        def pct(x: float) -> str:
            return "under 0.1%" if 0 < x < 0.0005 else f"{x:.1%}"

        lo, hi = min(self.zeros.values()), max(self.zeros.values())
        share = pct(lo) if pct(lo) == pct(hi) else f"{pct(lo)} to {pct(hi)}"
        return (f"0 reads as 'not applicable' in {len(self.zeros)} of {len(self.columns)} rating columns: the other "
                f"answers are 1 to {self.top:g} and 0 is given by {share} of answers, far fewer than any rating")


_WHOLE = r"^-?\d{1,6}(\.0+)?$"
# 0 beside a 1-k scale reads as "not applicable" when k is 4 to 7 (a 0-10 scale is a real
# 11-point scale) and 0 is rarer than half the least-given rating, and at most 10% of answers.
ZERO_CODE_SCALES = (4, 7)
ZERO_CODE_SHARE = 0.10


def rating_columns(t: Any, candidates: Sequence[str], run: Any) -> Ratings:
    """Columns of ``t`` that hold ratings: every value a whole number on a small scale
    (-3 to 10), at least three different values. Values of -9 or below (survey tools'
    codes for "seen but not answered") do not stop a column being a rating: they are
    listed, to be set as not rated. A 0 in columns rated 1 to 4..7 everywhere else, given by
    at most 10% of a column's answers and by fewer than half as many as its least-given
    rating, is listed too (``zeros``), when no rating column goes above 7."""
    import ibis

    from journeylib.journey import is_outcome_column

    names = [c for c in candidates if not is_outcome_column(c)
             and (t[c].type().is_string() or t[c].type().is_numeric()) and not t[c].type().is_boolean()]
    if not names:
        return Ratings([], {})
    long = t.select(**{f"c{i}": t[c].cast("string") for i, c in enumerate(names)}).pivot_longer(
        ibis.selectors.all(), names_to="_jl_col", values_to="_jl_v")
    v = long._jl_v
    x = v.try_cast("float64")
    code = x <= -9
    real = ibis.ifelse(code | (x == 0), ibis.null("float64"), x)
    got = run(long.group_by("_jl_col").aggregate(
        n=v.count(), whole=v.re_search(_WHOLE).cast("int64").sum(),
        lo=ibis.ifelse(code, ibis.null("float64"), x).min(), hi=ibis.ifelse(code, ibis.null("float64"), x).max(),
        distinct=ibis.ifelse(code, ibis.null("float64"), x).nunique(),
        codes=ibis.ifelse(code, x, ibis.null("float64")).collect(),
        zeros=(x == 0).cast("int64").sum(), real_lo=real.min()))
    stats = {r["_jl_col"]: r for _, r in got.iterrows()}
    columns, codes, at = [], {}, {}
    for i, c in enumerate(names):
        r = stats.get(f"c{i}")
        if r is None or not int(r["n"] or 0) or int(r["whole"] or 0) != int(r["n"]):
            continue
        if r["lo"] is None or pd.isna(r["lo"]) or float(r["lo"]) < -3 or float(r["hi"]) > 10:
            continue
        if int(r["distinct"] or 0) < 3:
            continue  # two values are as likely a yes/no code as a rating
        columns.append(c)
        at[c] = (f"c{i}", r)
        found = sorted({float(v) for v in (r["codes"] if r["codes"] is not None else [])})
        if found:
            codes[c] = found
    zeros: dict[str, float] = {}
    top = max((float(r["hi"]) for _, r in at.values()), default=0.0)
    low_ok = all(pd.isna(r["real_lo"]) or float(r["real_lo"]) >= 1 for _, r in at.values())
    if columns and low_ok and ZERO_CODE_SCALES[0] <= top <= ZERO_CODE_SCALES[1]:
        with_zero = {key: c for c, (key, r) in at.items() if int(r["zeros"] or 0)}
        if with_zero:
            part = long.filter(long._jl_col.isin(list(with_zero)) & x.notnull() & (x >= 0))
            counts = run(part.group_by(["_jl_col", part._jl_v.try_cast("float64").name("_jl_x")])
                         .aggregate(_jl_n=part.count()))
            for key, c in with_zero.items():
                mine = counts[counts["_jl_col"] == key]
                n_zero = int(mine.loc[mine["_jl_x"] == 0, "_jl_n"].sum())
                rest = mine.loc[mine["_jl_x"] != 0, "_jl_n"]
                total = int(mine["_jl_n"].sum())
                if len(rest) and n_zero <= ZERO_CODE_SHARE * total and n_zero < 0.5 * int(rest.min()):
                    zeros[c] = n_zero / total
    return Ratings(columns, codes, zeros, top)


def survey_ratings(t: Any, columns: Sequence[str], cols: Mapping[str, Any], run: Any) -> Ratings | None:
    """The rating columns of a wide survey :func:`rating_columns` finds among ``columns``
    not mapped to another field (``cols``); None when every column is mapped."""
    used = used_columns(cols)
    candidates = [c for c in columns if c not in used]
    return rating_columns(t.select(*candidates), candidates, run) if candidates else None


def comment_column(t: Any, candidates: Sequence[str], run: Any) -> str | None:
    """The column of free text among ``candidates``: text (no numbers, no dates), mostly
    different values, 15 characters or more on average; the longest such column."""
    names = [c for c in candidates if t[c].type().is_string()]
    if not names:
        return None
    aggs = {}
    for i, c in enumerate(names):
        v = t[c]
        aggs[f"n{i}"], aggs[f"d{i}"] = v.count(), v.nunique()
        aggs[f"l{i}"] = v.length().mean()
        aggs[f"x{i}"] = v.try_cast("float64").count() + v.try_cast("timestamp").count()
    got = run(t.aggregate(**aggs)).iloc[0]
    best, best_len = None, 15.0
    for i, c in enumerate(names):
        n = int(got[f"n{i}"] or 0)
        if not n or int(got[f"x{i}"] or 0) or int(got[f"d{i}"] or 0) < 0.5 * n:
            continue
        length = float(got[f"l{i}"] or 0)
        if length >= best_len:
            best, best_len = c, length
    return best
