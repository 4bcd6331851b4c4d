"""Two views side by side (periods, datasets, segments) with tests of difference.

A *view* is a part of a dataset, written as the command line writes it::

    persona=NAME | from=YYYY-MM-DD,to=YYYY-MM-DD | channel=NAME | attribute:COLUMN=VALUE

with a comma joining conditions (``persona=Bargain hunters,channel=Web``), or
``dataset=FILE`` for another file of the same shape (a saved dataset's id in the app).
:func:`parse_view` reads the text, :func:`apply_view` restricts a :class:`JourneyData` to it
and :func:`compare` sets two views side by side.

Every difference is b minus a and follows DESIGN.md's rule: shares by the pooled
two-proportion z-test with a Wald interval for the difference, mean scores by Welch's
t-test with the Welch-Satterthwaite interval, NPS by a seeded bootstrap; a difference is
significant only when p < 0.05. Counts, sums and sums of squares are aggregated in Ibis
where the data lives; only a few rows per stage come back.

Besides :func:`compare` (the command line's table): :func:`what_changed` (the journey map's
lane per stage), :func:`sankey_differences` (which Sankey nodes moved),
:func:`persona_shares` (the Personas page) and :func:`time_to_stage_pair`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from journeylib.emotions import DETRACTOR, PASSIVE, PROMOTER, nps_answers, top_box
from journeylib.engine import execute
from journeylib.journey import GoalError, goal_event, goal_outcomes, value_matches
from journeylib.reach import stage_index
from journeylib.schema import JourneyData

__all__ = [
    "ALPHA",
    "ALL_STAGES",
    "COMPARE_COLUMNS",
    "CSAT",
    "MEAN_PREFIX",
    "SHARE_PREFIX",
    "is_share",
    "outcome_column",
    "Comparison",
    "Difference",
    "View",
    "ViewError",
    "apply_view",
    "compare",
    "nps_bootstrap",
    "parse_view",
    "persona_shares",
    "sankey_differences",
    "time_to_stage_pair",
    "two_proportions",
    "view_counts",
    "ViewCounts",
    "welch",
    "what_changed",
    "WHAT_CHANGED_COLUMNS",
]

COMPARE_COLUMNS = ("measure", "stage", "a", "b", "difference", "ci_low", "ci_high", "p_value", "n_a", "n_b")
ALPHA = 0.05  # significant only below this p-value
CONFIDENCE = 0.95
LEVELS = ("stage", "touchpoint")
# The ``stage`` of a row about the whole journey (NPS is one answer per customer).
ALL_STAGES = "(all stages)"
NO_STAGE = "(no stage)"
N_BOOT = 2000
CSAT = "csat"
# Outcome columns' measures: ``share:COLUMN`` for a yes/no outcome, ``mean:COLUMN`` for a number.
SHARE_PREFIX, MEAN_PREFIX = "share:", "mean:"
SHARE_MEASURES = ("reached", "converted", "pain", "node", "persona", CSAT)

VIEW_FORMS = ("persona=NAME, from=YYYY-MM-DD, to=YYYY-MM-DD, channel=NAME or attribute:COLUMN=VALUE "
              "(a comma joins conditions), or dataset=FILE")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_share(measure: str) -> bool:
    """Whether a measure's a and b are shares (0-1; differences in percentage points)."""
    return measure in SHARE_MEASURES or str(measure).startswith(SHARE_PREFIX)


def outcome_column(measure: str) -> str | None:
    """The outcome column a ``share:`` or ``mean:`` measure compares (None for other measures)."""
    for prefix in (SHARE_PREFIX, MEAN_PREFIX):
        if str(measure).startswith(prefix):
            return str(measure)[len(prefix):]
    return None


class ViewError(ValueError):
    """A view that cannot be read or applied; the message names the part that is wrong."""


# ----------------------------------------------------------------------------- views


@dataclass(frozen=True)
class View:
    """A part of a dataset: conditions that all hold (each listing the values any of which
    may match). The empty view is the whole dataset."""

    personas: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    channels: tuple[str, ...] = ()
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, values)
    dataset: str | None = None

    @property
    def is_everyone(self) -> bool:
        return self == View()

    @property
    def text(self) -> str:
        """The view as :func:`parse_view` reads it (``all`` for the whole dataset)."""
        parts = [f"dataset={self.dataset}"] if self.dataset else []
        parts += [f"persona={p}" for p in self.personas]
        if self.start:
            parts.append(f"from={self.start.isoformat()}")
        if self.end:
            parts.append(f"to={self.end.isoformat()}")
        parts += [f"channel={c}" for c in self.channels]
        parts += [f"attribute:{col}={v}" for col, values in self.attributes for v in values]
        return ",".join(parts) or "all"

    @property
    def label(self) -> str:
        """The view in words, for titles and legends."""
        parts = [f"dataset {self.dataset}"] if self.dataset else []
        if self.personas:
            parts.append(" or ".join(self.personas))
        if self.start or self.end:
            lo = self.start.isoformat() if self.start else "…"
            hi = self.end.isoformat() if self.end else "…"
            parts.append(f"{lo} to {hi}")
        if self.channels:
            parts.append("channel " + " or ".join(self.channels))
        parts += [f"{col} = {' or '.join(values)}" for col, values in self.attributes]
        return ", ".join(parts) or "All customers"


def _date(text: str, key: str, whole: str) -> dt.date:
    if not _DATE.match(text):
        raise ViewError(f"view {whole!r}: {key}: expected a date YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ViewError(f"view {whole!r}: {key}: {text!r} is not a calendar date") from None


def parse_view(text: str) -> View:
    """Read a view from its text form (see the module docstring); ``all`` or an empty text
    is the whole dataset. A value may itself hold a comma: a piece without ``=`` belongs to
    the value before it. ViewError names the part that is wrong."""
    whole = str(text if text is not None else "").strip()
    if whole.lower() in ("", "all"):
        return View()
    pieces: list[str] = []
    for piece in whole.split(","):
        if "=" not in piece and pieces:
            pieces[-1] += "," + piece
        else:
            pieces.append(piece)
    personas: list[str] = []
    channels: list[str] = []
    attributes: dict[str, list[str]] = {}
    once: dict[str, str] = {}
    for piece in pieces:
        key, sep, value = piece.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ViewError(f"view {whole!r}: {piece.strip()!r} is not a condition; a view is {VIEW_FORMS}")
        if not value:
            raise ViewError(f"view {whole!r}: {key} needs a value after '='")
        name = key.lower()
        if name.startswith("attribute:"):
            column = key.split(":", 1)[1].strip()
            if not column:
                raise ViewError(f"view {whole!r}: an attribute condition is attribute:COLUMN=VALUE")
            attributes.setdefault(column, []).append(value)
        elif name == "persona":
            personas.append(value)
        elif name == "channel":
            channels.append(value)
        elif name in ("from", "to", "dataset"):
            if name in once:
                raise ViewError(f"view {whole!r}: {name} is given twice")
            once[name] = value
        else:
            raise ViewError(f"view {whole!r}: unknown condition {key!r}; a view is {VIEW_FORMS}")
    start = _date(once["from"], "from", whole) if "from" in once else None
    end = _date(once["to"], "to", whole) if "to" in once else None
    if start and end and start > end:
        raise ViewError(f"view {whole!r}: from {start} is after to {end}")
    return View(
        personas=tuple(dict.fromkeys(personas)),
        start=start,
        end=end,
        channels=tuple(dict.fromkeys(channels)),
        attributes=tuple((c, tuple(dict.fromkeys(v))) for c, v in attributes.items()),
        dataset=once.get("dataset"),
    )


def _persona_ids(view: View, personas: pd.DataFrame | ibis.Table | None) -> ibis.Table | pd.Series:
    if personas is None:
        raise ViewError(f"view {view.text!r}: a persona view needs the persona of each customer; "
                        "none were found for this dataset")
    if isinstance(personas, ibis.Table):
        names = execute(personas.select("persona").distinct())["persona"].astype(str).tolist()
    else:
        names = list(dict.fromkeys(personas["persona"].astype(str)))
    by_fold = {n.casefold(): n for n in names}
    chosen = []
    for wanted in view.personas:
        if wanted.casefold() not in by_fold:
            raise ViewError(f"view {view.text!r}: no persona named {wanted!r}; personas are: "
                            + ", ".join(sorted(names)))
        chosen.append(by_fold[wanted.casefold()])
    if isinstance(personas, ibis.Table):
        return personas.filter(personas.persona.cast("string").isin(chosen)).select("customer_id")
    return personas.loc[personas["persona"].astype(str).isin(chosen), "customer_id"].astype(str)


def _attribute_table(data: JourneyData, column: str, view: View) -> ibis.Table:
    """The table holding an attribute column: customers first, then survey, then events."""
    for table in (data.customers, data.survey, data.events):
        if table is not None and column in table.columns:
            return table
    known = sorted({c for t in (data.customers, data.survey) if t is not None for c in t.columns}
                   - {"customer_id"})
    raise ViewError(f"view {view.text!r}: attribute column {column!r} is in none of the files; "
                    "columns: " + (", ".join(known) or "none"))


def _attribute_ids(data: JourneyData, view: View) -> list[ibis.Table]:
    out = []
    for column, values in view.attributes:
        table = _attribute_table(data, column, view)
        hit = ibis.or_(*[value_matches(table[column], v) for v in values])
        ids = table.filter(hit).select(customer_id=table.customer_id.cast("string")).distinct()
        if int(execute(ids.count())) == 0:
            top = execute(
                table.filter(table[column].notnull()).group_by(v=table[column].cast("string"))
                .agg(n=ibis._.count()).order_by([ibis.desc("n"), "v"]).limit(8)
            )["v"].astype(str).tolist()
            raise ViewError(f"view {view.text!r}: no customer has {column} = "
                            + " or ".join(repr(v) for v in values)
                            + "; values include: " + (", ".join(top) or "none (the column is empty)"))
        out.append(ids)
    return out


def _channels(data: JourneyData, view: View) -> list[str]:
    if "channel" not in data.events.columns:
        raise ViewError(f"view {view.text!r}: the events have no channel column")
    present = execute(data.events.filter(data.events.channel.notnull()).select(
        c=data.events.channel.cast("string")).distinct())["c"].astype(str).tolist()
    by_fold = {c.casefold(): c for c in present}
    out = []
    for wanted in view.channels:
        if wanted.casefold() not in by_fold:
            raise ViewError(f"view {view.text!r}: no channel named {wanted!r}; channels are: "
                            + (", ".join(sorted(present)) or "none"))
        out.append(by_fold[wanted.casefold()])
    return out


def apply_view(
    data: JourneyData,
    view: View | str,
    personas: pd.DataFrame | ibis.Table | None = None,
    load: Callable[[str], JourneyData] | None = None,
) -> JourneyData:
    """``data`` restricted to ``view`` (a View or its text).

    ``personas`` (customer_id, persona; a frame or a table on the data's backend) answers
    persona conditions, matched with case ignored; ``load`` opens the dataset a
    ``dataset=`` view names (the command line loads a file with the same options, the app
    reopens a saved dataset). Attributes are read from the customers table, then the survey,
    then the events, and compared as trimmed text with case ignored. The restriction itself
    is :meth:`JourneyData.filter`. ViewError says what cannot be applied: an unknown
    persona, channel, column or value, or a view that leaves no customer.
    """
    view = parse_view(view) if isinstance(view, str) else view
    if view.dataset:
        if view.personas:
            raise ViewError(f"view {view.text!r}: personas are found per dataset; compare personas "
                            "within one dataset (persona=NAME) rather than with dataset=")
        if load is None:
            raise ViewError(f"view {view.text!r}: no way to open another dataset here")
        data = load(view.dataset)
    keep: list = []
    if view.personas:
        keep.append(_persona_ids(view, personas))
    keep += _attribute_ids(data, view)
    channels = _channels(data, view) if view.channels else None
    out = data
    for ids in keep:
        out = out.filter(customer_ids=ids)
    if view.start or view.end or channels:
        out = out.filter(start=view.start, end=view.end, channels=channels)
    if not view.is_everyone and not _has_rows(out):
        raise ViewError(f"view {view.text!r} matches no customer: no event and no survey answer is left")
    return out


def _has_rows(data: JourneyData) -> bool:
    found = execute(data.events.limit(1).count())
    if not found and data.survey is not None:
        found = execute(data.survey.limit(1).count())
    return bool(found)


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Difference:
    """b minus a with its 95% interval and two-sided p-value (arrays, one entry per row)."""

    a: np.ndarray
    b: np.ndarray
    difference: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def two_proportions(x_a, n_a, x_b, n_b) -> Difference:
    """Shares x/n: the pooled two-proportion z-test, with a Wald interval for p_b - p_a.

    z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)) with the pooled p = (x_a + x_b) /
    (n_a + n_b); interval p_b - p_a +/- z(0.975) sqrt(p_a (1 - p_a) / n_a + p_b (1 - p_b) / n_b).
    An empty side, or shares of exactly 0 or 1 on both sides, gives NaN (nothing to test).
    """
    x_a, n_a, x_b, n_b = _f(x_a), _f(n_a), _f(x_b), _f(n_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a = np.where(n_a > 0, x_a / n_a, np.nan)
        p_b = np.where(n_b > 0, x_b / n_b, np.nan)
        diff = p_b - p_a
        pooled = (x_a + x_b) / (n_a + n_b)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        z = np.where(se0 > 0, diff / se0, np.nan)
        p = 2 * stats.norm.sf(np.abs(z))
        half = stats.norm.ppf(0.5 + CONFIDENCE / 2) * np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return Difference(p_a, p_b, diff, diff - half, diff + half, p)


def welch(n_a, mean_a, var_a, n_b, mean_b, var_b) -> Difference:
    """Means: Welch's t-test, with the Welch-Satterthwaite interval for mean_b - mean_a.

    ``var`` is the sample variance (n - 1). se = sqrt(var_a / n_a + var_b / n_b);
    df = se^4 / ((var_a / n_a)^2 / (n_a - 1) + (var_b / n_b)^2 / (n_b - 1)); interval
    difference +/- t(0.975, df) se. Fewer than two answers on a side, or no spread on
    either, gives NaN for the test and the interval (the means are still given).
    """
    n_a, mean_a, var_a, n_b, mean_b, var_b = map(_f, (n_a, mean_a, var_a, n_b, mean_b, var_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (n_a >= 2) & (n_b >= 2)
        va, vb = var_a / n_a, var_b / n_b
        se = np.sqrt(va + vb)
        ok &= se > 0
        df = se**4 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
        diff = mean_b - mean_a
        t = diff / se
        p = np.where(ok, 2 * stats.t.sf(np.abs(t), df), np.nan)
        half = np.where(ok, stats.t.ppf(0.5 + CONFIDENCE / 2, df) * se, np.nan)
    return Difference(mean_a, mean_b, diff, diff - half, diff + half, p)


def _nps_value(promoters, detractors, n):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, 100.0 * (promoters - detractors) / n, np.nan)


def nps_bootstrap(counts_a, counts_b, n_boot: int = N_BOOT, seed: int = 0) -> Difference:
    """NPS (100 x (promoters - detractors) / n) of two groups and a seeded bootstrap of the
    difference, from the counts (promoters, passives, detractors) of each side.

    Each resample draws every customer of each group again with replacement, which for
    three kinds of answer is a multinomial draw of the three counts: the same bootstrap as
    resampling customers one by one, at the cost of a few numbers. With
    ``rng = numpy.random.default_rng(seed)`` the ``n_boot`` draws of a come first, then
    those of b. The interval is the 2.5 and 97.5 percentiles of the differences; the
    two-sided p-value is 2 x the smaller share of differences on either side of 0 (at most
    1), so p < 0.05 exactly when the interval leaves out 0.
    """
    ca, cb = np.asarray(counts_a, dtype="int64"), np.asarray(counts_b, dtype="int64")
    n_a, n_b = int(ca.sum()), int(cb.sum())
    a = float(_nps_value(ca[0], ca[2], n_a))
    b = float(_nps_value(cb[0], cb[2], n_b))
    nan = np.array([np.nan])
    if n_a == 0 or n_b == 0:
        return Difference(np.array([a]), np.array([b]), np.array([b - a]), nan, nan, nan)
    rng = np.random.default_rng(seed)
    draw_a = rng.multinomial(n_a, ca / n_a, size=n_boot)
    draw_b = rng.multinomial(n_b, cb / n_b, size=n_boot)
    diffs = _nps_value(draw_b[:, 0], draw_b[:, 2], n_b) - _nps_value(draw_a[:, 0], draw_a[:, 2], n_a)
    lo, hi = np.percentile(diffs, [100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2])
    p = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    return Difference(np.array([a]), np.array([b]), np.array([b - a]), np.array([lo]), np.array([hi]),
                      np.array([p]))


# ----------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class ViewCounts:
    """What one view's tests need, from two queries (:func:`view_counts`); small frames, so
    an app can keep them per view and compare a changed view with an unchanged one without
    counting the unchanged one again.

    ``customers``: DataFrame[furthest, converted, nps_group, n], customers counted by the
    furthest stage index their events reach (NaN: no event at a known stage; has_events
    tells apart those with no event at all), whether they converted (None: not judged)
    and their NPS group (None: no answer). ``scores``: DataFrame[stage, touchpoint, n,
    total, squares] over valid survey scores.
    """

    customers: pd.DataFrame
    scores: pd.DataFrame | None
    goal_note: str | None


_CUSTOMER_COLUMNS = {"furthest": "int64", "has_events": "boolean", "converted": "boolean", "nps_group": "string"}


def _customer_rows(data: JourneyData, view: int) -> tuple[ibis.Table, str | None]:
    """One row per customer and source (events, the goal, NPS) of one view, tagged ``_v``."""
    stages = tuple(data.stages)
    ev = data.events
    goal_note = None
    metrics = {"furthest": stage_index(ev.stage, stages).max()}
    try:
        hit = goal_event(ev, data.journey)
    except GoalError as exc:
        hit, goal_note = None, str(exc)
    if hit is not None and not data.has_events:
        try:
            goal_outcomes(data)  # says why a stage or touchpoint goal needs events
        except GoalError as exc:
            hit, goal_note = None, str(exc)
    if hit is not None:
        metrics["converted"] = hit.any()  # a stage or touchpoint goal: in the same pass
    per = ev.group_by(customer_id=ev.customer_id.cast("string")).agg(**metrics)
    parts = [per.mutate(has_events=ibis.literal(True))]
    if hit is None and goal_note is None and data.goal is not None:
        try:
            outcomes = goal_outcomes(data)
            parts.append(outcomes.select(customer_id=outcomes.customer_id.cast("string"),
                                         converted=outcomes.converted.cast("boolean")))
        except GoalError as exc:
            goal_note = str(exc)
    if data.survey is not None and "nps" in data.survey.columns:
        answers = nps_answers(data.survey)
        parts.append(answers.select(customer_id=answers.customer_id.cast("string"), nps_group=answers.nps_group))
    # A union, then a group-by per customer, lines the sources up without outer joins
    # (which name their key columns differently on each backend).
    aligned = [part.select("customer_id", _v=ibis.literal(view, "int64"),
                           **{c: (part[c] if c in part.columns else ibis.null(t)).cast(t)
                              for c, t in _CUSTOMER_COLUMNS.items()}) for part in parts]
    return ibis.union(*aligned) if len(aligned) > 1 else aligned[0], goal_note


def _score_rows(data: JourneyData, view: int) -> ibis.Table | None:
    if data.survey is None or "score" not in data.survey.columns:
        return None
    s = data.survey
    s = s.filter(s.score.notnull() & ~s.score.isnan())
    # CSAT: an answer in the top-2 box of the view's own scale (emotions.top_box); unknown
    # without a scale.
    top = (s.score >= top_box(data.score_scale)).cast("int64") if data.score_scale is not None \
        else ibis.null("int64")
    return s.select(
        _v=ibis.literal(view, "int64"),
        stage=s.stage.cast("string") if "stage" in s.columns else ibis.null("string"),
        touchpoint=s.touchpoint.cast("string") if "touchpoint" in s.columns else ibis.null("string"),
        score=s.score.cast("float64"),
        top=top,
    )


def _same_backend(tables: list[ibis.Table]) -> bool:
    try:
        backends = {id(t._find_backend()) for t in tables}
    except Exception:  # only in-memory tables: they all run on the default engine
        return True
    return len(backends) == 1


def _counts_of(views: Sequence[JourneyData]) -> list[ViewCounts]:
    """The counts of several views; views on one backend are counted together (two queries
    in all), so the query is built and sent once rather than once per view."""
    if len(views) > 1 and not _same_backend([v.events for v in views]):
        return [c for v in views for c in _counts_of([v])]
    rows, notes = zip(*[_customer_rows(v, i) for i, v in enumerate(views)])
    u = ibis.union(*rows) if len(rows) > 1 else rows[0]
    per_customer = u.group_by(["_v", "customer_id"]).agg(
        furthest=u.furthest.max(), has_events=u.has_events.any(),
        converted=u.converted.max(), nps_group=u.nps_group.max())
    counted = execute(per_customer.group_by(["_v", "has_events", "furthest", "converted", "nps_group"]).agg(
        n=ibis._.count()))
    counted["has_events"] = counted["has_events"].fillna(False).astype(bool)
    counted["furthest"] = counted["furthest"].astype("float64")
    counted["n"] = counted["n"].astype("int64")
    for c in ("converted", "nps_group"):
        counted[c] = counted[c].astype("object").where(counted[c].notna(), None)
    scored = [t for t in (_score_rows(v, i) for i, v in enumerate(views)) if t is not None]
    scores = None
    if scored:
        s = ibis.union(*scored) if len(scored) > 1 else scored[0]
        scores = execute(s.group_by(["_v", "stage", "touchpoint"]).agg(
            n=s.count(), total=s.score.sum(), squares=(s.score * s.score).sum(), satisfied=s.top.sum()))
        scores = scores.astype({"n": "int64", "total": "float64", "squares": "float64", "satisfied": "float64"})
        for c in ("stage", "touchpoint"):
            scores[c] = scores[c].astype("object").where(scores[c].notna(), None)
    out = []
    for i, v in enumerate(views):
        mine = counted[counted["_v"] == i].drop(columns="_v").reset_index(drop=True)
        has_scores = v.survey is not None and "score" in v.survey.columns
        theirs = scores[scores["_v"] == i].drop(columns="_v").reset_index(drop=True) if has_scores else None
        out.append(ViewCounts(mine, theirs, notes[i]))
    return out


def view_counts(data: JourneyData) -> ViewCounts:
    """The counts :func:`compare` and :func:`what_changed` test one view with."""
    return _counts_of([data])[0]


def _pair_counts(a: JourneyData, b: JourneyData, counts) -> list[ViewCounts]:
    return list(counts) if counts is not None else _counts_of([a, b])


def _has_known_stage(*counts: ViewCounts) -> bool:
    """Whether any event of the views carries a stage of the stage order."""
    return any(bool(c.customers["furthest"].notna().any()) for c in counts)


def _no_stage_note(measure: str, stages: Sequence[str]) -> str:
    return (f"{measure}: no event carries a stage of the stage order ({', '.join(stages)}), so no stage is "
            "reached; set the stages and the touchpoint -> stage rules (on the command line --stages, "
            "--stage-map or --stage-prefix; in the app on the Data page), or name a touchpoint goal")


def _reached(counts: pd.DataFrame, i: int, among: pd.Series | None = None) -> tuple[int, int]:
    """(customers reaching stage index i or a later one, customers with events)."""
    ev = counts[counts["has_events"]] if among is None else counts[counts["has_events"] & among]
    return int(ev.loc[ev["furthest"] >= i, "n"].sum()), int(ev["n"].sum())


def _nps_counts(frame: pd.DataFrame) -> np.ndarray:
    return np.array([int(frame.loc[frame["nps_group"] == g, "n"].sum()) for g in (PROMOTER, PASSIVE, DETRACTOR)])


def _score_stats(scores: pd.DataFrame | None, key: str) -> pd.DataFrame:
    """n, mean, sample variance per stage or touchpoint, from counts, sums and squares, and
    ``satisfied`` (answers in the top-2 box; NaN without a score scale)."""
    if scores is None or scores.empty:
        return pd.DataFrame(columns=["n", "mean", "var", "satisfied"], dtype="float64")
    part = scores[scores[key].notna()]
    g = part.groupby(key)[["n", "total", "squares", "satisfied"]].sum(min_count=1)
    n = g["n"].astype("float64")
    mean = g["total"] / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = ((g["squares"] - n * mean**2) / (n - 1)).where(n > 1).clip(lower=0)
    return pd.DataFrame({"n": g["n"].astype("int64"), "mean": mean, "var": var, "satisfied": g["satisfied"]})


def _score_order(scores_a, scores_b, key: str, stages: Sequence[str]) -> list[str]:
    frames = [s for s in (scores_a, scores_b) if s is not None and not s.empty]
    if not frames:
        return []
    both = pd.concat(frames)
    both = both[both[key].notna()]
    names = sorted(set(both[key].astype(str)))
    rank = {s: i for i, s in enumerate(stages)}
    if key == "stage":
        return sorted(names, key=lambda n: (rank.get(n, len(stages)), n))
    # Touchpoints in the order of the earliest stage they were rated in, then by name.
    first = both.assign(_r=both["stage"].map(lambda s: rank.get(s, len(stages))))
    first = first.groupby(key)["_r"].min()
    return sorted(names, key=lambda n: (first.get(n, len(stages)), n))


def _rows(measure: str, names: Sequence[str], d: Difference, n_a, n_b) -> pd.DataFrame:
    p = _f(d.p_value)
    return pd.DataFrame({
        "measure": measure, "stage": [str(n) for n in names],
        "a": _f(d.a), "b": _f(d.b), "difference": _f(d.difference),
        "ci_low": _f(d.ci_low), "ci_high": _f(d.ci_high), "p_value": p,
        "n_a": np.asarray(n_a, dtype="int64"), "n_b": np.asarray(n_b, dtype="int64"),
        "significant": np.nan_to_num(p, nan=1.0) < ALPHA,
    })


def _csat_rows(names: list[str], ra: pd.DataFrame, rb: pd.DataFrame) -> pd.DataFrame | None:
    """CSAT per name: answers in the top-2 box out of all valid answers, two-proportion test.
    None when neither view has a score scale."""
    if ra["satisfied"].isna().all() and rb["satisfied"].isna().all():
        return None
    na, nb = ra["n"].fillna(0), rb["n"].fillna(0)
    # A view without a scale has no CSAT: its side is left empty (n = 0), not counted as 0%.
    na = na.where(ra["satisfied"].notna(), 0)
    nb = nb.where(rb["satisfied"].notna(), 0)
    return _rows(CSAT, names, two_proportions(ra["satisfied"].fillna(0), na, rb["satisfied"].fillna(0), nb), na, nb)


def _outcome_rows(a: JourneyData, b: JourneyData, key: str, names: Sequence[str] | None,
                  notes: list[str]) -> list[pd.DataFrame]:
    """Each outcome column both views have (journeylib.insights.outcome_columns), per stage or
    touchpoint: the customers who answered there, each once (emotions.outcome_by). Yes/no
    outcomes by the two-proportion test (``share:COLUMN``), numbers by Welch (``mean:COLUMN``)."""
    from journeylib.emotions import outcome_by
    from journeylib.insights import InsightError, outcome_columns, outcome_values

    if a.survey is None or b.survey is None or key not in a.survey.columns or key not in b.survey.columns:
        return []
    frames = []
    theirs = outcome_columns(b)
    for column in [c for c in outcome_columns(a) if c in theirs]:
        try:
            got = [outcome_values(v, column) for v in (a, b)]
        except InsightError as exc:
            notes.append(f"{column}: {exc}")
            continue
        if got[0][1] != got[1][1]:
            notes.append(f"{column}: a yes/no outcome in one view and a number in the other; not compared")
            continue
        binary = got[0][1]
        per = [outcome_by(v.survey, values, binary, by=key, stages=v.stages).set_index("group")
               for v, (values, _, _) in zip((a, b), got)]
        order = list(names) if names else []
        order += [g for p in per for g in p.index if g not in order]
        order = [g for g in order if g in per[0].index or g in per[1].index]
        if not order:
            continue
        ra, rb = per[0].reindex(order), per[1].reindex(order)
        na, nb = ra["n"].fillna(0), rb["n"].fillna(0)
        if binary:
            d = two_proportions((ra["value"] * ra["n"]).round().fillna(0), na,
                                (rb["value"] * rb["n"]).round().fillna(0), nb)
            frames.append(_rows(SHARE_PREFIX + column, order, d, na, nb))
        else:
            d = welch(ra["n"], ra["value"], ra["sd"] ** 2, rb["n"], rb["value"], rb["sd"] ** 2)
            frames.append(_rows(MEAN_PREFIX + column, order, d, na, nb))
    return frames


@dataclass(frozen=True)
class Comparison:
    """Two views side by side: ``table`` has :data:`COMPARE_COLUMNS` plus ``significant``
    (p < 0.05); ``notes`` say which measures could not be computed and why."""

    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    label_a: str = "a"
    label_b: str = "b"


def compare(a: JourneyData, b: JourneyData, level: str = "stage", seed: int = 0, n_boot: int = N_BOOT,
            label_a: str = "a", label_b: str = "b",
            counts: tuple[ViewCounts, ViewCounts] | None = None) -> Comparison:
    """The differences b minus a, one row per measure and stage (see DESIGN.md).

    - ``reached``: share of customers with events who reach each stage of the funnel (up to
      and including a goal stage) or a later one; two-proportion test.
    - ``converted``: share of the customers the goal can be judged for who reach it, one row
      named after the goal (left out, with a note, when there is no goal).
    - ``score``: mean survey score per stage, or per touchpoint with ``level="touchpoint"``;
      Welch's t-test.
    - ``nps``: NPS of each view's respondents (one answer per customer), stage
      :data:`ALL_STAGES`; seeded bootstrap of ``n_boot`` resamples.
    - ``csat``: per stage (or touchpoint), the share of valid answers in the top-2 box of
      the view's score scale (:func:`journeylib.emotions.top_box`; every answer counts, as
      :func:`journeylib.emotions.csat_by` counts them); two-proportion test. Left out, with
      a note, when no scale is known.
    - ``share:COLUMN`` / ``mean:COLUMN``: each outcome column both views have
      (:func:`journeylib.insights.outcome_columns`, read by
      :func:`journeylib.insights.outcome_values`) per stage (or touchpoint), among the
      customers who answered there, each once (:func:`journeylib.emotions.outcome_by`): the
      share with the positive value by the two-proportion test, or the mean by Welch's t-test.

    a and b are shares (0-1), mean scores on the survey's own scale, or NPS (-100 to 100);
    n_a and n_b are the customers (or answers, for scores) behind each. ``counts``: each
    view's :func:`view_counts`, when already at hand (else counted here, both in one query).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    ca, cb = _pair_counts(a, b, counts)
    notes: list[str] = []
    frames = []
    stages = tuple(a.stages)
    funnel = a.journey.funnel_stages()
    has_a, has_b = bool(ca.customers["has_events"].any()), bool(cb.customers["has_events"].any())
    staged = _has_known_stage(ca, cb)
    if (has_a or has_b) and not staged:
        notes.append(_no_stage_note("reached", stages))
    elif has_a or has_b:
        idx = [stages.index(s) for s in funnel]
        xa, na = zip(*[_reached(ca.customers, i) for i in idx])
        xb, nb = zip(*[_reached(cb.customers, i) for i in idx])
        frames.append(_rows("reached", funnel, two_proportions(xa, na, xb, nb), na, nb))
    else:
        notes.append("reached: no touchpoint events in either view, so no stage is reached; "
                     "add a touchpoints file to compare reach")
    goal = a.goal
    if goal is None:
        notes.append("converted: no goal is set; name one (e.g. --goal stage:NAME, touchpoint:NAME or "
                     "column:NAME=VALUE) to compare conversion")
    elif ca.goal_note or cb.goal_note:
        notes.append(f"converted: {ca.goal_note or cb.goal_note}")
    elif goal.kind == "stage" and (has_a or has_b) and not staged:
        notes.append(_no_stage_note("converted", stages))
    else:
        judged = [c[c["converted"].notna()] for c in (ca.customers, cb.customers)]
        x = [int(j.loc[j["converted"].astype(bool), "n"].sum()) for j in judged]
        n = [int(j["n"].sum()) for j in judged]
        frames.append(_rows("converted", [goal.label], two_proportions([x[0]], [n[0]], [x[1]], [n[1]]),
                            [n[0]], [n[1]]))
    key = level
    sa, sb = _score_stats(ca.scores, key), _score_stats(cb.scores, key)
    names = _score_order(ca.scores, cb.scores, key, stages)
    if names:
        ra, rb = sa.reindex(names), sb.reindex(names)
        frames.append(_rows("score", names,
                            welch(ra["n"], ra["mean"], ra["var"], rb["n"], rb["mean"], rb["var"]),
                            ra["n"].fillna(0), rb["n"].fillna(0)))
        csat = _csat_rows(names, ra, rb)
        if csat is not None:
            frames.append(csat)
        else:
            notes.append("csat: the scores fit no known scale (such as 1-5 or 0-10), so the top two points of "
                         "the scale, which CSAT counts, cannot be named")
    elif a.survey is None and b.survey is None:
        notes.append("score: no survey answers; add a survey file to compare scores")
    else:
        notes.append(f"score: no survey answer names a {key}")
    npa, npb = _nps_counts(ca.customers), _nps_counts(cb.customers)
    if npa.sum() or npb.sum():
        frames.append(_rows("nps", [ALL_STAGES], nps_bootstrap(npa, npb, n_boot=n_boot, seed=seed),
                            [npa.sum()], [npb.sum()]))
    frames += _outcome_rows(a, b, key, names, notes)
    table = pd.concat(frames, ignore_index=True) if frames else _rows("reached", [], Difference(*[[]] * 6), [], [])
    return Comparison(table, tuple(notes), label_a, label_b)


# ----------------------------------------------------------------------------- what changed


WHAT_CHANGED_COLUMNS = ("stage", "measure", "a", "b", "difference", "ci_low", "ci_high", "p_value",
                        "significant", "n_a", "n_b", "top_a", "top_b")


def _top_pains(data: JourneyData, pains: pd.DataFrame | None = None) -> pd.DataFrame:
    if pains is None:
        from journeylib.insights import pain_points

        pains = pain_points(data, level="touchpoint")
    if pains.empty:
        return pains
    # Filtering keeps pain_points' order: its touchpoint rows ranked as at level "touchpoint".
    return pains[(pains["level"] == "touchpoint") & pains["stage"].notna()]


def what_changed(a: JourneyData, b: JourneyData, seed: int = 0, n_boot: int = N_BOOT,
                 counts: tuple[ViewCounts, ViewCounts] | None = None,
                 pains: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The journey map's "what changed" lane: per stage of the stage order, b against a.

    One row per (stage, measure), measure one of:

    - ``reached``: share of customers with events reaching the stage or a later one;
    - ``converted``: of those, the share who reach the goal (no rows without a goal, nor
      from a stage goal on, where everyone who reaches the stage has converted);
    - ``score``: mean survey score given to the stage (Welch);
    - ``nps``: NPS of the customers reaching the stage or a later one (bootstrap);
    - ``csat``: share of the stage's answers in the top-2 box of the score scale (when the
      scale is known; two-proportion test);
    - ``share:COLUMN`` / ``mean:COLUMN``: each outcome column both views have, among the
      customers who answered at the stage (as :func:`compare` counts it);
    - ``pain``: the top pain point of the stage in each view (``top_a``, ``top_b``, by
      :func:`journeylib.insights.pain_points` at touchpoint level, placed at the stage most
      of its events carry); a and b are the share of its customers who leave after it
      (``left / customers``) for b's top pain point (a's when b has none) in each view.

    Columns :data:`WHAT_CHANGED_COLUMNS`; ``significant`` is p < 0.05 by the same tests as
    :func:`compare`. A measure that cannot be computed for a stage has no row. ``counts``
    (each view's :func:`view_counts`) and ``pains`` (each view's
    :func:`journeylib.insights.pain_points`, level "touchpoint" or "both") may be given when
    already at hand.
    """
    ca, cb = _pair_counts(a, b, counts)
    stages = tuple(a.stages)
    frames = []
    # Reach (and conversion and NPS by stage reached) needs events at known stages.
    has_events = bool(ca.customers["has_events"].any() or cb.customers["has_events"].any())
    has_events = has_events and _has_known_stage(ca, cb)
    if has_events:
        idx = list(range(len(stages)))
        xa, na = zip(*[_reached(ca.customers, i) for i in idx])
        xb, nb = zip(*[_reached(cb.customers, i) for i in idx])
        frames.append(_rows("reached", stages, two_proportions(xa, na, xb, nb), na, nb))
        if a.goal is not None and not (ca.goal_note or cb.goal_note):
            # From a stage goal on, everyone who reaches the stage has converted: no rows.
            goal_at = a.journey.goal_stage_index()
            idx = idx if goal_at is None else idx[:goal_at]
            conv = []
            for c in (ca.customers, cb.customers):
                judged = c["converted"].notna()
                yes = judged & c["converted"].fillna(False).astype(bool)
                conv.append(([_reached(c, i, yes)[0] for i in idx], [_reached(c, i, judged)[0] for i in idx]))
            (cxa, cna), (cxb, cnb) = conv
            frames.append(_rows("converted", [stages[i] for i in idx], two_proportions(cxa, cna, cxb, cnb),
                                cna, cnb))
        if _nps_counts(ca.customers).sum() or _nps_counts(cb.customers).sum():
            for i, stage in enumerate(stages):
                got = []
                for c in (ca.customers, cb.customers):
                    got.append(_nps_counts(c[c["has_events"] & (c["furthest"] >= i)]))
                if got[0].sum() or got[1].sum():
                    frames.append(_rows("nps", [stage], nps_bootstrap(got[0], got[1], n_boot=n_boot, seed=seed),
                                        [got[0].sum()], [got[1].sum()]))
    sa, sb = _score_stats(ca.scores, "stage"), _score_stats(cb.scores, "stage")
    rated = [s for s in stages if s in sa.index or s in sb.index]
    if rated:
        ra, rb = sa.reindex(rated), sb.reindex(rated)
        frames.append(_rows("score", rated, welch(ra["n"], ra["mean"], ra["var"], rb["n"], rb["mean"], rb["var"]),
                            ra["n"].fillna(0), rb["n"].fillna(0)))
        csat = _csat_rows(rated, ra, rb)
        if csat is not None:
            frames.append(csat)
    for rows in _outcome_rows(a, b, "stage", stages, []):
        frames.append(rows[rows["stage"].isin(stages)])
    if has_events:
        pa, pb = (_top_pains(v, p) for v, p in zip((a, b), pains or (None, None)))
        for stage in stages:
            top = {}
            for name, pains in (("a", pa), ("b", pb)):
                here = pains[pains["stage"] == stage] if len(pains) else pains
                top[name] = here.iloc[0] if len(here) else None
            chosen = top["b"] if top["b"] is not None else top["a"]
            if chosen is None:
                continue
            tp = chosen["touchpoint"]
            rows = [(p[(p["touchpoint"] == tp)] if len(p) else p) for p in (pa, pb)]
            x = [int(r["left"].iloc[0]) if len(r) else 0 for r in rows]
            n = [int(r["customers"].iloc[0]) if len(r) else 0 for r in rows]
            row = _rows("pain", [stage], two_proportions([x[0]], [n[0]], [x[1]], [n[1]]), [n[0]], [n[1]])
            row["top_a"] = None if top["a"] is None else str(top["a"]["touchpoint"])
            row["top_b"] = None if top["b"] is None else str(top["b"]["touchpoint"])
            frames.append(row)
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in WHAT_CHANGED_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    for c in ("top_a", "top_b"):
        if c not in out:
            out[c] = None
    out["top_a"] = out["top_a"].astype("object").where(out["top_a"].notna(), None)
    out["top_b"] = out["top_b"].astype("object").where(out["top_b"].notna(), None)
    rank = {s: i for i, s in enumerate(stages)}
    measures = {m: i for i, m in enumerate(("reached", "converted", "score", CSAT, "nps"))}
    # Outcome columns after NPS, the top pain point last.
    order = out["measure"].map(measures).fillna(len(measures)).where(out["measure"] != "pain", len(measures) + 1)
    out = out.assign(_s=out["stage"].map(rank), _m=order)
    out = out.sort_values(["_s", "_m"], kind="stable").reset_index(drop=True)
    return out[list(WHAT_CHANGED_COLUMNS)]


# ----------------------------------------------------------------------------- Sankey nodes

SANKEY_DIFFERENCE_COLUMNS = ("step", "node", "a", "b", "difference", "ci_low", "ci_high", "p_value",
                             "significant", "n_a", "n_b")


def _node_shares(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    from journeylib.flows import step_nodes

    nodes = step_nodes(frame)
    if nodes.empty:
        return nodes, 0
    # Every customer of a Sankey is at its first column (forward) or at the anchor's
    # (backward): the fullest column counts them all.
    return nodes, int(nodes.groupby("step")["customers"].sum().max())


def sankey_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Each Sankey node's share of its view's customers, b against a.

    ``a`` and ``b`` are step Sankey frames (forward or backward) drawn with the same
    settings. A node is (step, node) as :func:`journeylib.flows.step_nodes` gives it; its
    share is its customers over all the Sankey's customers; two-proportion test.
    ``(other)`` nodes are left out (they merge different names in each view).
    DataFrame[:data:`SANKEY_DIFFERENCE_COLUMNS`], sorted by step and node.
    """
    from journeylib.schema import OTHER_NODE

    na_frame, n_a = _node_shares(a)
    nb_frame, n_b = _node_shares(b)
    keys = pd.concat([f[["step", "node"]] for f in (na_frame, nb_frame) if len(f)], ignore_index=True) \
        if len(na_frame) or len(nb_frame) else pd.DataFrame(columns=["step", "node"])
    keys = keys[keys["node"] != OTHER_NODE].drop_duplicates().sort_values(["step", "node"]).reset_index(drop=True)
    if keys.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in SANKEY_DIFFERENCE_COLUMNS})

    def count(frame):
        if frame.empty:
            return np.zeros(len(keys))
        got = keys.merge(frame[["step", "node", "customers"]], on=["step", "node"], how="left")
        return got["customers"].fillna(0).to_numpy(dtype="float64")

    d = two_proportions(count(na_frame), np.full(len(keys), n_a), count(nb_frame), np.full(len(keys), n_b))
    rows = _rows("node", keys["node"], d, np.full(len(keys), n_a), np.full(len(keys), n_b))
    rows.insert(0, "step", keys["step"].astype("int64").to_numpy())
    rows = rows.rename(columns={"stage": "node"}).drop(columns="measure")
    return rows[list(SANKEY_DIFFERENCE_COLUMNS)]


def time_to_stage_pair(a: JourneyData, b: JourneyData, label_a: str = "a", label_b: str = "b") -> pd.DataFrame:
    """Time from the first event to each stage in two views, side by side: the frame of
    :func:`journeylib.flows.time_to_stage` for everyone in each view, ``persona`` holding the
    view's label. No test of difference: medians are shown, not claimed to differ."""
    from journeylib.flows import time_to_stage

    parts = []
    for data, label in ((a, label_a), (b, label_b)):
        t = time_to_stage(data)
        parts.append(t[t["persona"] == "all"].assign(persona=label))
    return pd.concat(parts, ignore_index=True)


def persona_shares(a: JourneyData, b: JourneyData, personas: pd.DataFrame | ibis.Table) -> pd.DataFrame:
    """Each persona's share of two views' customers, b against a (the Personas page's comparison).

    A view's customers are those with events (with survey answers, for a survey-only
    view); ``personas`` (customer_id, persona) names each, customers without one counting
    as ``(unassigned)``. Two-proportion test per persona. DataFrame[persona, a, b,
    difference, ci_low, ci_high, p_value, significant, n_a, n_b], largest share in b first.
    """
    from journeylib.schema import UNASSIGNED

    if isinstance(personas, ibis.Table):
        lookup = personas.select(_pid=personas.customer_id.cast("string"), _persona=personas.persona.cast("string"))
    else:
        lookup = ibis.memtable(pd.DataFrame({"_pid": personas["customer_id"].astype(str),
                                             "_persona": personas["persona"].astype(str)}).drop_duplicates("_pid"))
    counts = []
    for data in (a, b):
        source = data.events if data.has_events or data.survey is None else data.survey
        ids = source.select(customer_id=source.customer_id.cast("string")).distinct()
        j = ids.left_join(lookup, ids.customer_id == lookup._pid)
        got = execute(j.group_by(persona=j._persona.fill_null(UNASSIGNED)).agg(n=ibis._.count()))
        counts.append(got.set_index("persona")["n"].astype("int64"))
    names = sorted(set(counts[0].index) | set(counts[1].index))
    xa = counts[0].reindex(names, fill_value=0).to_numpy()
    xb = counts[1].reindex(names, fill_value=0).to_numpy()
    na, nb = np.full(len(names), xa.sum()), np.full(len(names), xb.sum())
    rows = _rows("persona", names, two_proportions(xa, na, xb, nb), na, nb).rename(columns={"stage": "persona"})
    rows = rows.drop(columns="measure").sort_values(["b", "persona"], ascending=[False, True]).reset_index(drop=True)
    return rows[["persona", "a", "b", "difference", "ci_low", "ci_high", "p_value", "significant", "n_a", "n_b"]]
