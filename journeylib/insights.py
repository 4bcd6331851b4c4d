"""Pain points, opportunities and key drivers, each computed only from evidence in the data.

Pain points are the stages and touchpoints where customers leave without reaching the goal
(when the data has events and a goal the journey reaches) and those rated significantly
below the overall mean (when it has ratings); either alone is enough, so a survey-only
dataset gets pain points from its ratings. Opportunities say what fixing a pain point is
worth. Key drivers say which ratings and touchpoints go with an outcome (the goal by
default), as each input's share of the explained variance (a Shapley decomposition of
R-squared, which splits what correlated ratings explain together fairly between them) with
seeded bootstrap intervals, and which to fix first (importance against performance).

Every sentence names the team's goal (``data.goal.label``); when a number cannot be
computed the text says what is missing and how to get it. Aggregation runs as Ibis
expressions; only per-stage, per-touchpoint and per-customer tables come back to pandas.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from journeylib.engine import execute
from journeylib.journey import GoalError, goal_columns, goal_event, goal_outcomes, is_outcome_column
from journeylib.reach import Reach, customer_reach, stage_index
from journeylib.schema import SURVEY_COLUMNS, JourneyData, ScoreScale

CONFIDENCE = 0.95

PAIN_COLUMNS = [
    "level",
    "stage",
    "touchpoint",
    "customers",
    "share",
    "left",
    "drop_off_rate",
    "average_drop_off_rate",
    "mean_score",
    "score_n",
    "ci_low",
    "ci_high",
    "overall_mean",
    "below_average",
    "low_share",
    "other_low_share",
    "score_gap",
    "severity",
    "impact",
]


class InsightError(ValueError):
    """The data cannot support the analysis asked for (says why in plain words)."""


def score_scale(data: JourneyData) -> ScoreScale | None:
    """The dataset's detected scale, or the observed score range when none was detected."""
    if data.score_scale is not None:
        return data.score_scale
    if data.survey is None:
        return None
    row = execute(data.survey.aggregate(lo=data.survey.score.min(), hi=data.survey.score.max()))
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi) or lo == hi:
        return None
    return ScoreScale(float(lo), float(hi))


def _pct(x: float) -> str:
    """A share as a percentage that never reads 0% or 100% when it is not: 0.2%, 31%, 99.8%."""
    if 0 < x < 0.01 or 0.99 < x < 1:
        return f"{100 * x:.1f}%"
    return f"{100 * x:.0f}%"


def _goal_label(data: JourneyData) -> str | None:
    return data.goal.label if data.goal is not None else None


# --------------------------------------------------------------------------------------
# Survey scores


@dataclass(frozen=True)
class SurveyScores:
    """The survey's scores summed once: the overall mean and count, and DataFrame[stage |
    touchpoint, mean_score, score_n, score_sd, ci_low, ci_high] over answers that name a
    stage / a touchpoint (touchpoints also carry ``survey_stage``, the stage most of their
    answers name). The interval is the 95% t-interval of the mean, as on the Emotions page.
    With a scale, each frame also has ``low_n``: answers in the bottom quarter of the scale
    (1-2 of 1-5, 0-2 of 0-10)."""

    overall: float | None
    stages: pd.DataFrame
    touchpoints: pd.DataFrame
    overall_n: int = 0
    low_at: float | None = None  # scores at or below it count as low (``low_n``), when a scale was given
    overall_low: int = 0


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    # mean +/- t(0.975, n-1) * sd / sqrt(n); NaN for a single answer.
    n_f = n.astype("float64")
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, (n_f - 1).where(n_f > 1)) * sd / np.sqrt(n_f)
    return mean - half, mean + half


def low_score(scale: ScoreScale) -> float:
    """The highest score that counts as low: the bottom quarter of the scale."""
    return scale.low + (scale.high - scale.low) / 4


def survey_scores(survey: ibis.Table, scale: ScoreScale | None = None) -> SurveyScores:
    """Mean, count and 95% t-interval of scores overall, per stage and per touchpoint
    (and with ``scale`` the count of low scores), from one query of sums and sums of
    squares per stage and touchpoint."""
    s = survey.filter(survey.score.notnull() & ~survey.score.isnan())
    low_at = low_score(scale) if scale is not None else None
    metrics = dict(total=s.score.sum(), squares=(s.score * s.score).sum(), score_n=s.count())
    if low_at is not None:
        metrics["low_n"] = (s.score <= low_at).cast("int64").sum()
    sums = execute(s.group_by(["stage", "touchpoint"]).aggregate(**metrics))
    counts = ["total", "squares", "score_n"] + (["low_n"] if low_at is not None else [])
    sums = sums.astype({c: "float64" for c in counts}).astype({"score_n": "int64"})

    def per(column: str) -> pd.DataFrame:
        g = sums[sums[column].notna()].groupby(column, as_index=False)[counts].sum()
        n = g["score_n"].astype("float64")
        mean = g["total"] / n
        var = ((g["squares"] - n * mean**2) / (n - 1).where(n > 1)).clip(lower=0)
        out = pd.DataFrame({column: g[column].astype("str"), "mean_score": mean,
                            "score_n": g["score_n"].astype("int64"), "score_sd": np.sqrt(var)})
        out["ci_low"], out["ci_high"] = _t_interval(out["mean_score"], out["score_sd"], out["score_n"])
        if low_at is not None:
            out["low_n"] = g["low_n"].astype("int64")
        return out

    touchpoints = per("touchpoint")
    staged = sums[sums["touchpoint"].notna() & sums["stage"].notna()]
    if len(staged):
        modal = (staged.sort_values(["touchpoint", "score_n", "stage"], ascending=[True, False, True])
                 .drop_duplicates("touchpoint")[["touchpoint", "stage"]]
                 .rename(columns={"stage": "survey_stage"}).astype("str"))
        touchpoints = touchpoints.merge(modal, on="touchpoint", how="left")
    else:
        touchpoints["survey_stage"] = None
    n = int(sums["score_n"].sum())
    low = int(sums["low_n"].sum()) if low_at is not None else 0
    return SurveyScores(float(sums["total"].sum()) / n if n else None, per("stage"), touchpoints, n, low_at, low)


# --------------------------------------------------------------------------------------
# Pain points


def _drop_off_goal(data: JourneyData) -> str | None:
    """Why drop-off cannot be counted here, or None when it can (events and a goal that a
    journey reaches: a stage or a touchpoint)."""
    goal = data.goal
    if not data.has_events:
        return "drop-off needs touchpoint events; this dataset has survey answers only"
    if goal is None:
        return ("drop-off needs a goal: set a goal on the Data page or with --goal to see where customers "
                "leave without reaching it")
    if goal.kind == "column":
        return (f"drop-off needs a goal the journey reaches (a stage or a touchpoint); the goal '{goal.label}' is "
                "an outcome column, so pain points come from ratings")
    if goal.kind == "stage" and goal.target not in data.stages:
        return (f"drop-off needs the goal stage '{goal.target}' in the stage order ({', '.join(data.stages)}); "
                "set the stages or the goal on the Data page or with --stages / --goal")
    return None


def _journey_ends(data: JourneyData, stages: tuple[str, ...]) -> pd.DataFrame:
    """Customers by furthest stage index, last touchpoint and whether they reached the goal:
    DataFrame[furthest, last_tp, converted, n] (conversion by journey.goal_outcomes)."""
    ev = data.events.filter(data.events.customer_id.notnull())
    per = ev.group_by("customer_id").aggregate(
        furthest=stage_index(ev.stage, stages).max(),
        last_tp=ev.touchpoint.argmax(ibis.struct({"t": ev.timestamp, "s": ev.seq})),
    )
    outcome = goal_outcomes(data)
    j = per.inner_join(outcome, "customer_id")
    out = execute(j.group_by(["furthest", "last_tp", "converted"]).aggregate(n=j.count()))
    out["converted"] = out["converted"].fillna(False).astype(bool)
    return out


def pain_points(data: JourneyData, level: str = "both", min_answers: int = 10,
                reach: Reach | None = None, scores: SurveyScores | None = None) -> pd.DataFrame:
    """Stages and touchpoints where customers leave without the goal or rate it below
    average, ranked by impact, with the numbers behind each.

    Per stage (level "stage") and touchpoint (level "touchpoint"):

    - ``customers``: distinct customers who reached it in the events (0 in a survey-only
      dataset); ``share`` of all customers with events.
    - ``left``: customers who leave after it without reaching the goal (by
      :func:`journeylib.journey.goal_outcomes`): for a stage, those whose furthest stage is
      this one; for a touchpoint, those whose journey's last event is at it. Counted only
      with events and a stage or touchpoint goal (see :func:`pain_point_notes`); 0
      otherwise. ``drop_off_rate`` = left / customers (NaN when not counted);
      ``average_drop_off_rate`` = all leavers / all reached at that level, over the stages
      and touchpoints a customer can still leave from (before a stage goal; not the goal
      touchpoint).
    - ``mean_score``, ``score_n``, ``ci_low``, ``ci_high``: mean of its survey scores, the
      number of answers and the 95% t-interval of that mean; ``overall_mean``: the mean of
      every score. ``below_average`` when it has at least ``min_answers`` answers and the
      interval lies wholly below the overall mean (the overall mean taken as fixed).
    - ``score_gap`` = (overall_mean - mean_score) / (scale high - low) when below average,
      else 0: how far below, as a share of the scale.
    - ``impact`` = left + score_n * score_gap: customers lost plus answers times how far
      below. ``severity`` = drop_off_rate (0 when not counted) + score_gap.

    Rows with zero impact are left out; sorted by impact, largest first.
    """
    if level not in ("stage", "touchpoint", "both"):
        raise InsightError(f"level must be 'stage', 'touchpoint' or 'both', got {level!r}")
    stages = tuple(data.stages)
    has_events = data.has_events
    counted = _drop_off_goal(data) is None
    if reach is None and has_events:
        # Who converted is read in the same pass as where each journey ended.
        reach = customer_reach(data.events, stages, journey=data.journey if counted else None)
    scale = score_scale(data)
    if data.survey is not None and (scores is None or (scale is not None and scores.low_at is None)):
        scores = survey_scores(data.survey, scale)
    total = reach.customers if reach is not None else 0
    overall = scores.overall if scores is not None else None
    ends = None
    if counted:
        ends = reach.ends if "converted" in reach.ends.columns else _journey_ends(data, stages)
    goal = data.goal
    goal_idx = data.journey.goal_stage_index()

    frames = []
    if level in ("stage", "both"):
        frames.append(_stage_rows(reach, ends, scores))
    if level in ("touchpoint", "both"):
        frames.append(_touchpoint_rows(data, reach, ends, scores))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=PAIN_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for col in ("customers", "left", "score_n"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("mean_score", "ci_low", "ci_high"):
        out[col] = out[col].astype("float64")
    out["share"] = out["customers"] / total if total else np.nan
    out["drop_off_rate"] = (out["left"] / out["customers"].where(out["customers"] > 0)) if counted else np.nan
    # Where a customer can still leave without the goal: before a stage goal, not at the goal touchpoint.
    pos = out["stage"].map({s: i for i, s in enumerate(stages)})
    can_leave = pd.Series(True, index=out.index)
    if goal is not None and goal.kind == "stage" and goal_idx is not None:
        can_leave &= ~(pos >= goal_idx)
    if goal is not None and goal.kind == "touchpoint":
        can_leave &= ~((out["level"] == "touchpoint") & (out["touchpoint"] == goal.target))
    out["average_drop_off_rate"] = np.nan
    if counted:
        for lvl in ("stage", "touchpoint"):
            rows = (out["level"] == lvl) & can_leave
            reached = out.loc[rows, "customers"].sum()
            if reached:
                out.loc[out["level"] == lvl, "average_drop_off_rate"] = out.loc[rows, "left"].sum() / reached

    out["overall_mean"] = overall if overall is not None else np.nan
    # Low scores (the bottom quarter of the scale) here and in every other answer.
    out["low_share"] = out["other_low_share"] = np.nan
    if scores is not None and scores.low_at is not None and "low_n" in out.columns:
        low_n = out["low_n"].astype("float64")
        out["low_share"] = low_n / out["score_n"].where(out["score_n"] > 0)
        rest = (scores.overall_n - out["score_n"]).where(lambda r: r > 0)
        out["other_low_share"] = (scores.overall_low - low_n) / rest
    span = (scale.high - scale.low) if scale is not None else None
    below = (out["score_n"] >= max(min_answers, 2)) & (out["ci_high"] < out["overall_mean"])
    out["below_average"] = below.fillna(False).astype(bool)
    if span:
        out["score_gap"] = ((out["overall_mean"] - out["mean_score"]) / span).where(out["below_average"], 0.0)
    else:
        out["score_gap"] = 0.0
    out["score_gap"] = out["score_gap"].fillna(0.0).astype("float64")
    out["severity"] = out["drop_off_rate"].fillna(0.0) + out["score_gap"]
    out["impact"] = out["left"] + out["score_n"] * out["score_gap"]
    out = out[out["impact"] > 0]
    out = out.assign(_pos=pos.reindex(out.index), _lvl=(out["level"] == "touchpoint").astype(int))
    out = out.sort_values(["impact", "customers", "_pos", "_lvl", "touchpoint"],
                          ascending=[False, False, True, True, True], na_position="last")
    return out[PAIN_COLUMNS].reset_index(drop=True)


_SCORE_COLUMNS = ("mean_score", "score_n", "score_sd", "ci_low", "ci_high", "low_n")


def _stage_rows(reach: Reach | None, ends: pd.DataFrame | None, scores: SurveyScores | None) -> pd.DataFrame:
    counts = reach.stages[["stage", "stage_idx", "customers"]] if reach is not None else \
        pd.DataFrame(columns=["stage", "stage_idx", "customers"])
    rated = scores.stages if scores is not None else pd.DataFrame(columns=["stage", *_SCORE_COLUMNS])
    out = counts.merge(rated, on="stage", how="outer")
    if out.empty:
        return out
    out["left"] = 0
    if ends is not None:
        lost = ends[~ends["converted"] & ends["furthest"].notna()].groupby("furthest")["n"].sum()
        out["left"] = out["stage_idx"].map(lambda i: lost.get(i, 0) if pd.notna(i) else 0)
    out["level"] = "stage"
    out["touchpoint"] = None
    return out.drop(columns=["stage_idx"])


def _touchpoint_rows(data: JourneyData, reach: Reach | None, ends: pd.DataFrame | None,
                     scores: SurveyScores | None) -> pd.DataFrame:
    stages = tuple(data.stages)
    counts = reach.touchpoints[["touchpoint", "customers"]] if reach is not None else \
        pd.DataFrame(columns=["touchpoint", "customers"])
    rated = scores.touchpoints if scores is not None else \
        pd.DataFrame(columns=["touchpoint", "survey_stage", *_SCORE_COLUMNS])
    out = counts.merge(rated, on="touchpoint", how="outer")
    if out.empty:
        return out
    # A touchpoint's stage: the stage most of its events carry (ties: earliest stage), else
    # the stage most of its answers name, else the journey's stage rules.
    out["stage"] = None
    if reach is not None and len(reach.touchpoint_stages):
        by_stage = reach.touchpoint_stages.copy()
        by_stage["stage_idx"] = by_stage["stage"].map({s: i for i, s in enumerate(stages)}).fillna(len(stages))
        by_stage = by_stage.sort_values(["touchpoint", "events", "stage_idx"], ascending=[True, False, True])
        modal = by_stage.drop_duplicates("touchpoint").set_index("touchpoint")["stage"]
        out["stage"] = out["touchpoint"].map(modal)
    if "survey_stage" in out.columns:
        out["stage"] = out["stage"].where(out["stage"].notna(), out["survey_stage"])
    missing = out["stage"].isna()
    out.loc[missing, "stage"] = out.loc[missing, "touchpoint"].map(data.journey.stage_of)
    out["stage"] = out["stage"].astype("object").where(out["stage"].notna(), None)
    out["left"] = 0
    if ends is not None:
        lost = ends[~ends["converted"] & ends["last_tp"].notna()].groupby("last_tp")["n"].sum()
        out["left"] = out["touchpoint"].map(lost).fillna(0)
    out["level"] = "touchpoint"
    return out.drop(columns=[c for c in ("survey_stage",) if c in out.columns])


def pain_point_notes(data: JourneyData) -> list[str]:
    """What the pain points could not use, and how to get it (one sentence each)."""
    notes = []
    why = _drop_off_goal(data)
    if why is not None:
        notes.append(why[0].upper() + why[1:] + ".")
    if data.survey is None:
        notes.append("No survey ratings: add a survey file to see which stages and touchpoints customers rate "
                     "below average.")
    return notes


def _where(row) -> str:
    if row["level"] == "touchpoint":
        stage = row.get("stage")
        return f"'{row['touchpoint']}'" + (f" ({stage})" if isinstance(stage, str) and stage else "")
    return f"the {row['stage']} stage"


def _not_converted(data: JourneyData) -> tuple[int, int]:
    """Customers the goal judges as not converted, and all it judges."""
    won = goal_outcomes(data)
    row = execute(won.aggregate(n=won.count(), yes=won.converted.cast("int64").sum())).iloc[0]
    n = int(row["n"])
    return n - int(row["yes"] or 0), n


def pain_point_summary(pains: pd.DataFrame, data: JourneyData) -> str:
    """One true sentence about the pain points: the biggest one, or why there are none
    (saying what was checked and what could not be)."""
    goal = _goal_label(data)
    if len(pains):
        p = pains.iloc[0]
        bits = []
        if p["left"] > 0:
            who = "1 customer leaves" if p["left"] == 1 else f"{int(p['left']):,} customers leave"
            bits.append(f"{who} there without {goal} "
                        f"({_pct(p['drop_off_rate'])} of {int(p['customers']):,})")
        if p["below_average"]:
            bits.append(f"rated {p['mean_score']:.2f} (95% CI {p['ci_low']:.2f}-{p['ci_high']:.2f}, "
                        f"n={int(p['score_n']):,}) against {p['overall_mean']:.2f} overall")
        return f"Biggest pain point: {_where(p)}: " + "; ".join(bits) + "."
    checked, missing = [], pain_point_notes(data)
    if data.survey is not None:
        checked.append("no stage or touchpoint is rated significantly below the average")
    if _drop_off_goal(data) is None:
        lost, judged = _not_converted(data)
        checked.append(f"everyone reached {goal}" if lost == 0 else
                       f"{lost:,} of the {judged:,} customers did not reach {goal}, but no stage or touchpoint "
                       "stands out as where they leave")
    if not checked:
        return "Pain points cannot be found: " + " ".join(missing)
    text = "No pain point stands out: " + " and ".join(checked) + "."
    return " ".join([text] + missing)


# --------------------------------------------------------------------------------------
# Opportunities


def format_score(value: float, scale: ScoreScale | None, digits: int = 1) -> str:
    """A score as people read it: "1.8/5" on 0/1-based scales, "-0.4 (-2 to 2)" otherwise."""
    if scale is None:
        return f"{value:.{digits}f}"
    if scale.low in (0, 1):
        return f"{value:.{digits}f}/{scale.high:g}"
    return f"{value:+.{digits}f} ({scale.low:g} to {scale.high:g})"


def score_digits(*values: float) -> int:
    """Decimals that tell the values apart: 1, or 2 when they round to the same tenth
    (a mean of 3.67 against 3.72 never reads "3.7 against 3.7")."""
    tenths = {round(float(v), 1) for v in values}
    return 1 if len(tenths) == len(values) else 2


def format_shares(*shares: float) -> list[str]:
    """Shares as percentages, all with the decimals that tell them apart and that keep a
    share that is not exactly 0 or 1 from reading "0%" or "100%" (99.7% against 90.2%,
    not "100% against 90%"); past two decimals, "over 99.99%" or "under 0.01%"."""
    def fits(v: float, d: int) -> bool:
        return v in (0, 1) or f"{v:.{d}%}" not in (f"{0:.{d}%}", f"{1:.{d}%}")

    apart = len(set(shares))
    digits = next((d for d in (0, 1, 2) if len({f"{v:.{d}%}" for v in shares}) == apart
                   and all(fits(v, d) for v in shares)), 2)
    return [f"{v:.{digits}%}" if fits(v, digits) else ("over 99.99%" if v > 0.5 else "under 0.01%")
            for v in shares]


def opportunity_sentence(row: pd.Series, group: str = "customers", scale: ScoreScale | None = None,
                         goal_label: str | None = None, drivers: "KeyDrivers | None" = None) -> str:
    """One sentence for one pain point: the evidence, then what fixing it is worth.

    e.g. "Intent: 31% of customers leave after 'Cart error' without Purchase (128 of 412);
    at the average drop-off (12%), about 78 more would stay on the way to Purchase."
    For a rating below average, the worth is the low ratings it has beyond the other
    answers' share of low ratings (when the row has ``low_share``), and, from ``drivers``
    when they hold that rating, how much the outcome moves if it rose to the overall mean.
    """
    stage = row.get("stage")
    where = stage if isinstance(stage, str) and stage else ""
    is_tp = row.get("level") == "touchpoint"
    name = f"'{row['touchpoint']}'" if is_tp else "this stage"
    goal = goal_label or "the goal"
    parts = []
    if row["left"] > 0:
        verb = f"leave after {name} without {goal}" if is_tp else f"reach this stage and leave without {goal}"
        text = f"{_pct(row['drop_off_rate'])} of {group} {verb} ({int(row['left']):,} of {int(row['customers']):,})"
        avg = row.get("average_drop_off_rate")
        if pd.notna(avg) and row["drop_off_rate"] > avg:
            kept = row["customers"] * (row["drop_off_rate"] - avg)
            if kept >= 1:
                text += f"; at the average drop-off ({_pct(avg)}), about {kept:,.0f} more would stay on the way to {goal}"
        parts.append(text)
    if row.get("below_average"):
        k = score_digits(row["mean_score"], row["overall_mean"])
        overall = f"{row['overall_mean']:.{k}f}" if scale is None or scale.low in (0, 1) else \
            f"{row['overall_mean']:+.{k}f}"
        rating = (f"{format_score(row['mean_score'], scale, k)} against {overall} overall "
                  f"(95% CI {row['ci_low']:.2f}-{row['ci_high']:.2f}, n={int(row['score_n']):,} answers)")
        text = f"they rate it {rating}" if parts else f"{group} rate {name} {rating}"
        for worth in (_low_ratings_worth(row, scale), _rating_worth(row, drivers)):
            if worth:
                text += f"; {worth}"
        parts.append(text)
    lead = f"{where}: " if where else ""
    if not parts:
        return f"{lead}no evidence of a problem."
    text = "; ".join(parts)
    return lead + text[0].upper() + text[1:] + "." if not where else lead + text + "."


def _low_ratings_worth(row: pd.Series, scale: ScoreScale | None) -> str | None:
    """How many low ratings it has beyond the share the other answers have."""
    low, other = row.get("low_share"), row.get("other_low_share")
    if scale is None or low is None or other is None or pd.isna(low) or pd.isna(other) or low <= other:
        return None
    extra = row["score_n"] * (low - other)
    if extra < 1:
        return None
    cut = low_score(scale)
    cut_text = f"{math.floor(cut):g}" if float(scale.low).is_integer() and float(scale.high).is_integer() else f"{cut:g}"
    return (f"{_pct(low)} give it {cut_text} or lower ({_pct(other)} elsewhere): about {extra:,.0f} fewer low "
            "ratings if it matched the rest")


def _rating_worth(row: pd.Series, drivers: "KeyDrivers | None") -> str | None:
    """What raising a rating to the overall mean goes with, from the key-driver model."""
    if drivers is None or drivers.table.empty:
        return None
    key = f"rating: {row['touchpoint']}" if row.get("level") == "touchpoint" else f"stage rating: {row['stage']}"
    match = drivers.table[drivers.table["feature"] == key]
    if match.empty:
        return None
    d = match.iloc[0]
    if not (d["effect_low"] > 0):  # only an effect clearly above zero is a prize
        return None
    lift = (row["overall_mean"] - row["mean_score"]) * d["effect"]
    if drivers.binary:
        return (f"rated at the average, about {100 * lift:.1f} percentage points more customers would "
                f"{drivers.phrase} (about {lift * drivers.n:,.0f} of {drivers.n:,})")
    return f"rated at the average, it would go with a {abs(lift):.2f}-point {'higher' if lift >= 0 else 'lower'} {drivers.label}"


def opportunities(pains: pd.DataFrame, group: str = "customers", scale: ScoreScale | None = None, top: int = 5,
                  goal_label: str | None = None, drivers: "KeyDrivers | None" = None) -> pd.DataFrame:
    """One sentence per top pain point, with what fixing it is worth:
    DataFrame[level, stage, touchpoint, customers, impact, sentence]. Pass the dataset's
    ``goal_label`` (``data.goal.label``) and, when estimated, its ``drivers``."""
    rows = pains.head(top)
    out = rows[["level", "stage", "touchpoint", "customers", "impact"]].copy()
    out["sentence"] = [opportunity_sentence(r, group, scale, goal_label, drivers) for _, r in rows.iterrows()]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Key drivers

GOAL_OUTCOME = "goal"
MAX_DRIVERS = 15  # an exact Shapley decomposition fits 2^15 sub-models on the correlation matrix
BOOTSTRAP = 200
# A touchpoint "all but decides" a yes/no outcome when the customers on one side of it (who
# used it, or who did not) almost never have one of the two results (reach the goal, or
# not) although that result is common enough elsewhere: at most STEP_PURITY of that side,
# at most a tenth of the rate over everyone, where at least STEP_EVIDENCE would be expected.
# Near-purity alone is not enough: when 99.5% of tickets close, every touchpoint has a side
# where almost all close.
STEP_PURITY = 0.03
STEP_EVIDENCE = 10
MAX_VIF = 50.0  # beyond this an input is a near-copy of the others; their split is arbitrary
QUADRANTS = ("Fix first", "Keep up", "Low priority", "Don't overinvest")
OTHER_WAY = "Goes the other way"


@dataclass
class KeyDrivers:
    """Result of :func:`key_drivers`.

    ``table``: one row per input, most important first: feature, kind ("rating", "stage
    rating" or "touchpoint used"), label, importance (its share of what the inputs explain
    together, 0-1), importance_low / importance_high (95% bootstrap interval),
    performance (mean rating, NaN for touchpoints used), answered, direction (+1 when more
    goes with more of the outcome), effect / effect_low / effect_high (per rating point:
    the change in the outcome, a share for a yes/no outcome; for a touchpoint used: how
    many times as likely, or the difference in means), quadrant (for ratings: "Fix
    first", "Keep up", "Low priority", "Don't overinvest"), reading (one plain sentence).

    ``details``: the model behind it, for an expander: feature, label, coef (per raw
    unit), coef_low, coef_high (bootstrap), std_coef (per standard deviation),
    r2_share (the Shapley part of R-squared). ``method``, ``fit`` (R-squared) and
    ``details_text`` (sentences on the method) belong there too.
    """

    outcome: str
    label: str
    binary: bool
    n: int
    table: pd.DataFrame
    baseline: float  # share reaching the outcome (yes/no) or its mean
    fit: float  # R-squared of the linear model over every input
    summary: str
    details: pd.DataFrame
    method: str
    details_text: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phrase: str = ""  # for a yes/no outcome, what a customer does to have it: "reach Purchase"


def _goal_usable(data: JourneyData) -> bool:
    try:
        t = goal_outcomes(data)
        row = execute(t.aggregate(n=t.count(), yes=t.converted.cast("int64").sum()))
    except GoalError:
        return False
    n, yes = int(row["n"].iloc[0]), row["yes"].iloc[0]
    yes = 0 if pd.isna(yes) else int(yes)
    return 0 < yes < n


def driver_outcomes(data: JourneyData) -> list[str]:
    """Outcomes :func:`key_drivers` can explain in this dataset: ``"goal"`` first when the
    goal can be judged (someone reached it and someone did not), then ``"nps"``, numeric
    survey columns and the customers' outcome columns (satisfaction, recommended ...)."""
    out = [GOAL_OUTCOME] if _goal_usable(data) else []
    if data.survey is not None and data.has_nps:
        out.append("nps")
    return out + [name for name in _column_outcomes(data) if name not in out]


def _column_outcomes(data: JourneyData) -> list[str]:
    """Numeric survey columns, then the customers' outcome columns (no query: schemas only)."""
    out: list[str] = []
    skip = set(goal_columns(data.goal))
    if data.survey is not None:
        schema = data.survey.schema()
        for name in data.survey.columns:
            if name not in SURVEY_COLUMNS and name not in skip and schema[name].is_numeric():
                out.append(name)
    if data.customers is not None:
        for name in data.customers.columns:
            if name != "customer_id" and name not in skip and name not in out and is_outcome_column(name):
                out.append(name)
    return out


def outcome_columns(data: JourneyData) -> list[str]:
    """The outcome columns of :func:`driver_outcomes` (satisfaction, recommended ...): the
    survey's or customers' columns an outcome is read from, without the goal reached and
    NPS, which have measures of their own. Read from the schemas alone (no query)."""
    return [name for name in _column_outcomes(data)
            if name not in (GOAL_OUTCOME, "nps") and is_outcome_column(name, data.goal)]


def outcome_label(data: JourneyData, outcome: str | None) -> str:
    """What a key-driver outcome is called on screen: the goal's name, "NPS", or the column."""
    if outcome in (None, GOAL_OUTCOME):
        return _goal_label(data) or "the goal"
    return "likelihood to recommend (0-10)" if outcome == "nps" else str(outcome)


def _positive_level(levels: list[str]) -> str:
    negative = re.compile(r"\b(not?|dis|un|neutral|false|0)\b|^dis|^un", re.I)
    plain = [lv for lv in levels if not negative.search(lv)]
    return plain[0] if len(plain) == 1 else levels[-1]


def _outcome_frame(data: JourneyData, outcome: str) -> tuple[pd.DataFrame, bool, str, str]:
    """customer_id, y; whether y is yes/no; the outcome's display label; for a yes/no
    outcome what a customer does to have it ("reach Loan approved", "have satisfaction
    'satisfied'")."""
    if outcome == GOAL_OUTCOME:
        try:
            frame = execute(goal_outcomes(data))
        except GoalError as exc:
            raise InsightError(str(exc)) from exc
        frame["y"] = frame["converted"].fillna(False).astype("int64")
        label = outcome_label(data, outcome)
        return frame[["customer_id", "y"]], True, label, f"reach {label}"
    if data.survey is not None and outcome in data.survey.columns and outcome not in SURVEY_COLUMNS[:4]:
        s = data.survey.filter(data.survey[outcome].notnull())
        frame = execute(s.group_by("customer_id").aggregate(y=s[outcome].mean()))
        frame["y"] = frame["y"].astype("float64")
        label = outcome_label(data, outcome)
        return frame, _is_binary(frame["y"]), label, f"have {label} = 1"
    if data.customers is not None and outcome in data.customers.columns and outcome != "customer_id":
        c = data.customers.filter(data.customers[outcome].notnull())
        frame = execute(c.select("customer_id", y=c[outcome]))
        values = frame["y"]
        if not pd.api.types.is_numeric_dtype(values):
            text = values.astype(str).str.strip()
            frame = frame[text != ""]
            levels = sorted(text[text != ""].unique())
            if len(levels) != 2:
                raise InsightError(f"the outcome {outcome!r} has {len(levels)} different values; key drivers need a "
                                   "number or two values (e.g. yes/no), or set a goal such as "
                                   f"--goal column:{outcome}=VALUE")
            positive = _positive_level(levels)
            frame = frame.assign(y=(text[text != ""] == positive).astype("int64"))
            return frame, True, f"{outcome} = {positive}", f"have {outcome} '{positive}'"
        frame["y"] = values.astype("float64")
        return frame, _is_binary(frame["y"]), outcome, f"have {outcome} = 1"
    raise InsightError(f"unknown outcome {outcome!r}; outcomes this data can explain: "
                       f"{', '.join(driver_outcomes(data)) or 'none'}")


def _is_binary(y: pd.Series) -> bool:
    return set(pd.unique(y.dropna())) <= {0, 1}


def _excluded(data: JourneyData, outcome: str):
    """A test for (touchpoint, stage) pairs that are part of the goal, and why: touchpoints
    and ratings at or after a stage goal's stage (in the data or by the stage rules), or
    the goal touchpoint. Only when the goal is the outcome."""
    goal, stages = data.goal, tuple(data.stages)
    if outcome != GOAL_OUTCOME or goal is None or goal.kind == "column":
        return (lambda tp, st: False), None
    pos = {s: i for i, s in enumerate(stages)}

    def places(tp, st) -> list[int]:
        # Where the data puts it, and where the journey's stage rules put its name.
        return [pos.get(st, -1)] + ([pos.get(data.journey.stage_of(tp), -1)] if tp is not None else [])

    if goal.kind == "stage":
        cut = pos.get(goal.target, len(stages))
        why = (f"Touchpoints and ratings from the {goal.target} stage on (in the data or by the stage rules) are "
               f"left out: they are part of reaching {goal.label}, so they would 'explain' it trivially.")
        return (lambda tp, st: max(places(tp, st)) >= cut), why
    why = f"'{goal.target}' is left out: it is the goal itself."
    return (lambda tp, st: tp == goal.target), why


def _rating_inputs(data: JourneyData, skip, min_answers: int):
    """Per-customer ratings, wide: touchpoint ratings when most respondents rated most
    touchpoints (a survey with one rating column per touchpoint), else stage ratings."""
    if data.survey is None:
        return {}, {}
    s = data.survey.filter(data.survey.score.notnull() & ~data.survey.score.isnan())
    long = execute(s.group_by(["customer_id", "stage", "touchpoint"]).aggregate(total=s.score.sum(), n=s.count()))
    if long.empty:
        return {}, {}
    respondents = long["customer_id"].nunique()
    # A touchpoint's stage: the stage most of its answers name, else the stage rules.
    tp_long = long[long["touchpoint"].notna()]
    tp_stage = {}
    if len(tp_long):
        named = tp_long[tp_long["stage"].notna()].groupby(["touchpoint", "stage"])["n"].sum().reset_index()
        named = named.sort_values(["touchpoint", "n", "stage"], ascending=[True, False, True]).drop_duplicates("touchpoint")
        tp_stage = dict(zip(named["touchpoint"], named["stage"]))
        for tp in tp_long["touchpoint"].unique():
            tp_stage.setdefault(tp, data.journey.stage_of(tp))
    coverage = tp_long.groupby("touchpoint")["customer_id"].nunique() / respondents if len(tp_long) else pd.Series()
    coverage = coverage[coverage * respondents >= min_answers]
    by_touchpoint = len(coverage) >= 2 and coverage.mean() >= 0.5
    column, kind = ("touchpoint", "rating") if by_touchpoint else ("stage", "stage rating")
    part = long[long[column].notna()]
    grouped = part.groupby(["customer_id", column])[["total", "n"]].sum()
    wide = (grouped["total"] / grouped["n"]).unstack(column)
    features, meta = {}, {}
    for name in wide.columns:
        stage = tp_stage.get(name) if by_touchpoint else name
        if skip(name if by_touchpoint else None, stage) or wide[name].notna().sum() < min_answers:
            continue
        key = f"{kind}: {name}"
        features[key] = wide[name]
        meta[key] = (kind, str(name), stage)
    return features, meta


def _before_goal(data: JourneyData, outcome: str) -> ibis.Table:
    """The events, and when the goal is the outcome and a journey reaches it, only each
    customer's events before their first goal event (by timestamp, then file order): what
    comes after reaching the goal cannot explain reaching it."""
    events = data.events
    goal = data.goal
    if outcome != GOAL_OUTCOME or goal is None or goal.kind == "column":
        return events
    marked = events.mutate(_goal_hit=goal_event(events, data.journey))
    hits = marked.filter(marked._goal_hit)
    first = hits.group_by(_goal_customer=hits.customer_id).aggregate(
        _goal_t=hits.timestamp.min(), _goal_s=hits.seq.argmin(ibis.struct({"t": hits.timestamp, "s": hits.seq})))
    j = marked.left_join(first, marked.customer_id == first._goal_customer)
    before = j._goal_t.isnull() | (j.timestamp < j._goal_t) | ((j.timestamp == j._goal_t) & (j.seq < j._goal_s))
    return j.filter(before).select(*events.columns)


def _usage_inputs(data: JourneyData, outcome: str, skip, max_touchpoints: int):
    """0/1 per customer for the most common touchpoints reached by 2-98% of customers
    (before reaching the goal, when the goal is the outcome)."""
    if not data.has_events:
        return {}, {}
    stages = tuple(data.stages)
    ev = data.events.filter(data.events.touchpoint.notnull())
    total = int(execute(ev.customer_id.nunique()) or 0)
    counts = execute(ev.group_by(["touchpoint", "stage"]).aggregate(customers=ev.customer_id.nunique(),
                                                                   events=ev.count()))
    if not total or counts.empty:
        return {}, {}
    pos = {s: i for i, s in enumerate(stages)}
    counts["stage_idx"] = counts["stage"].map(pos).fillna(len(stages))
    modal = counts.sort_values(["touchpoint", "events", "stage_idx"], ascending=[True, False, True]) \
        .drop_duplicates("touchpoint").set_index("touchpoint")["stage"]
    keep_ev = _before_goal(data, outcome).filter(lambda t: t.touchpoint.notnull())
    reach = execute(keep_ev.group_by("touchpoint").aggregate(customers=keep_ev.customer_id.nunique()))
    reach = reach[[not skip(tp, modal.get(tp)) for tp in reach["touchpoint"]]]
    share = reach["customers"] / total
    reach = reach[(share >= 0.02) & (share <= 0.98)]
    reach = reach.sort_values(["customers", "touchpoint"], ascending=[False, True]).head(max_touchpoints)
    if reach.empty:
        return {}, {}
    pairs = execute(keep_ev.filter(keep_ev.touchpoint.isin(list(reach["touchpoint"])))
                    .select("customer_id", "touchpoint").distinct())
    features, meta = {}, {}
    for name in reach["touchpoint"]:
        ids = pairs.loc[pairs["touchpoint"] == name, "customer_id"].unique()
        key = f"touchpoint used: {name}"
        features[key] = pd.Series(1.0, index=pd.Index(ids, name="customer_id"))
        stage = modal.get(name)
        meta[key] = ("touchpoint used", str(name), None if pd.isna(stage) else stage)
    return features, meta


@functools.lru_cache(maxsize=8)
def _subset_plan(p: int):
    """Every non-empty subset of p inputs as a tree: a subset of size k is its parent (of
    size k-1, members all below j) plus input j. Per size: the subsets' bitmasks, their
    parents' positions among the previous size's subsets that have children, j, the
    parents' members, and how many of them (the first) have children (j below p-1). Also the Shapley
    weights as a (2^p, p) matrix: R-squared of subset S counts +w(|S|-1) for each member
    and -w(|S|) for each non-member, w(s) = s! (p-s-1)! / p!."""
    levels = []
    masks, top, members = np.array([0]), np.array([-1]), np.zeros((1, 0), dtype=np.intp)
    for _ in range(p):
        parent = np.concatenate([np.nonzero(top < j)[0] for j in range(p)])
        new = np.concatenate([np.full(int((top < j).sum()), j) for j in range(p)])
        # Subsets with children first, so that the ones carried on are a slice, not a copy.
        order = np.argsort(new == p - 1, kind="stable")
        parent, new = parent[order], new[order]
        grown = masks[parent] | (1 << new)
        keep = int((new < p - 1).sum())
        levels.append((grown, parent, new, members[parent], keep))
        masks, top, members = grown[:keep], new[:keep], np.column_stack([members[parent], new])[:keep]
    every = np.arange(1 << p)
    bits = ((every[:, None] >> np.arange(p)) & 1).astype(bool)
    size = bits.sum(axis=1)
    w = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)] + [0.0])
    weights = np.where(bits, w[np.maximum(size - 1, 0)][:, None], -w[size][:, None])
    return levels, weights


def shapley_r2(corr: np.ndarray) -> tuple[np.ndarray, float]:
    """Shapley (LMG) decomposition of R-squared from a correlation matrix whose last row
    and column are the outcome: each input's average gain in R-squared over all orders of
    entering the model. Returns (parts, R-squared of all inputs); the parts sum to it.

    The R-squared of each of the 2^p subsets comes from its parent's by the block-inverse
    update (adding input j to S: R2 grows by e^2 / d, e = r_jy - r_Sj' R_SS^-1 r_Sy and
    d = 1 - r_Sj' R_SS^-1 r_Sj), all subsets of one size at once; the inverse is carried
    only for subsets that have children."""
    p = corr.shape[0] - 1
    levels, weights = _subset_plan(p)
    inv, v, prev = np.zeros((1, 0, 0)), np.zeros((1, 0)), np.zeros(1)
    r2 = np.zeros(1 << p)
    for masks, parent, new, members, keep in levels:
        k = members.shape[1]
        a, vp = inv[parent], v[parent]
        r_sj = corr[members, new[:, None]]
        u = np.einsum("mab,mb->ma", a, r_sj)
        d = 1.0 - np.einsum("ma,ma->m", r_sj, u)
        e = corr[new, p] - np.einsum("ma,ma->m", r_sj, vp)
        g = e / d
        grown = prev[parent] + e * g
        r2[masks] = grown
        if not keep:
            break
        a, u, d, g, vp = a[:keep], u[:keep], d[:keep], g[:keep], vp[:keep]
        ud = u / d[:, None]
        prev = grown[:keep]
        v = np.empty((len(d), k + 1))
        np.subtract(vp, u * g[:, None], out=v[:, :k])
        v[:, k] = g
        inv = np.empty((len(d), k + 1, k + 1))
        block = inv[:, :k, :k]
        np.multiply(u[:, :, None], ud[:, None, :], out=block)
        block += a
        inv[:, :k, k] = inv[:, k, :k] = -ud
        inv[:, k, k] = 1.0 / d
    return r2 @ weights, float(r2[-1])


def _weighted_moments(m: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = w.sum()
    mu = w @ m / total
    return mu, (m * w[:, None]).T @ m / total - np.outer(mu, mu)


def _fit_from_cov(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(raw slopes, Shapley parts of R-squared, R-squared) of y (last) on the rest."""
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    parts, r2 = shapley_r2(corr)
    p = cov.shape[0] - 1
    slopes = np.linalg.solve(cov[:p, :p], cov[:p, p])
    return slopes, parts, r2


def decides(outcome: pd.Series, used: pd.Series) -> bool:
    """Whether a touchpoint all but decides a yes/no ``outcome`` (0/1 per customer), given
    who ``used`` it (see STEP_PURITY): a step of the goal, or a way out of it."""
    for side in (used, ~used):
        n = int(side.sum())
        if not n:
            continue
        for result in (outcome, 1 - outcome):
            rate, base = float(result[side].mean()), float(result.mean())
            if rate <= STEP_PURITY and rate <= base / 10 and n * base >= STEP_EVIDENCE:
                return True
    return False


def _drop_near_copies(x: pd.DataFrame, meta: dict, notes: list[str]) -> pd.DataFrame:
    while x.shape[1] > 1:
        # A tiny ridge, not a pseudo-inverse: the pseudo-inverse gives an exact copy (a
        # touchpoint every customer of another also uses) a small VIF and keeps it.
        corr = np.corrcoef(x.to_numpy(), rowvar=False)
        vif = np.diag(np.linalg.inv(corr + 1e-9 * np.eye(len(corr))))
        worst = int(np.argmax(vif))
        if vif[worst] <= MAX_VIF:
            break
        key = x.columns[worst]
        notes.append(f"'{meta[key][1]}' is left out: it moves almost exactly with the other inputs, so its own "
                     "part cannot be told apart from theirs.")
        x = x.drop(columns=key)
    return x


def key_drivers(
    data: JourneyData,
    outcome: str | None = None,
    min_answers: int = 30,
    max_touchpoints: int = 8,
    max_rows: int = 100_000,
    bootstrap: int = BOOTSTRAP,
    random_state: int = 0,
) -> KeyDrivers:
    """Which ratings and touchpoints go with ``outcome``, and how much each matters.

    ``outcome`` is ``"goal"`` (the default, judged by
    :func:`journeylib.journey.goal_outcomes`) or one of :func:`driver_outcomes`; when the
    goal cannot be judged here the first other outcome is used, with a note. Inputs per
    customer: ratings (one per touchpoint when the survey has a rating per touchpoint for
    most respondents, else one per stage; at least ``min_answers`` answers; a customer who
    did not rate one gets its mean) and 0/1 flags for the ``max_touchpoints`` most common
    touchpoints reached by 2-98% of customers. Never inputs: the goal's own column, the
    goal touchpoint, touchpoints and ratings at or after a stage goal's stage, and
    touchpoints that all but decide a yes/no outcome on their own.

    Importance: the Shapley (LMG) decomposition of R-squared of the linear model of the
    outcome (a yes/no outcome as 0/1) on all inputs, as each input's share of R-squared,
    with 95% percentile intervals from ``bootstrap`` seeded resamples of customers (which
    also give the slopes' intervals). At most :data:`MAX_DRIVERS` inputs. Readings: per
    rating point, the model's slope (other ratings equal); per touchpoint used, how many
    times as likely customers who used it were to reach a yes/no outcome (scipy's relative
    risk with its interval) or the difference in means (Welch). Associations, not causes.
    """
    notes: list[str] = []
    if outcome is None:
        outcome = GOAL_OUTCOME
    if outcome == GOAL_OUTCOME and not _goal_usable(data):
        why = _goal_problem(data)
        others = [o for o in driver_outcomes(data) if o != GOAL_OUTCOME]
        if not others:
            raise InsightError(why + "; and no outcome column (satisfaction, NPS, recommend ...) was found")
        outcome = others[0]
        notes.append(f"{why[0].upper() + why[1:]}; these are the key drivers of {outcome_label(data, outcome)} instead.")
    target, binary, label, phrase = _outcome_frame(data, outcome)
    # In customer order: the engine returns groups in any order, and the seeded resamples
    # must draw the same customers on every run and backend.
    target = target.dropna(subset=["y"]).drop_duplicates("customer_id").set_index("customer_id").sort_index()
    if target.empty:
        raise InsightError(f"no customer has a value for {label}")
    skip, why = _excluded(data, outcome)
    if why:
        notes.append(why)
    features, meta = _rating_inputs(data, skip, min_answers)
    flags, flag_meta = _usage_inputs(data, outcome, skip, max_touchpoints)
    features.update(flags)
    meta.update(flag_meta)
    if not features:
        raise InsightError(
            f"nothing to explain {label} with: key drivers need ratings with at least {min_answers} answers "
            "or touchpoints reached by 2-98% of customers (before the goal)")
    x = pd.DataFrame(index=target.index)
    for key, series in features.items():
        x[key] = series.reindex(target.index)
    y = target["y"].astype("float64")
    observed = x.notna().sum()
    steps = []
    for key in list(x.columns):
        kind, name, _ = meta[key]
        if kind == "touchpoint used":
            x[key] = x[key].fillna(0.0)
            if binary:
                had = x[key] > 0
                rates = y[had].mean(), y[~had].mean()
                if decides(y, had):
                    used, other = format_shares(*rates)
                    notes.append(f"'{name}' is left out as a step of {label} rather than a driver: "
                                 f"{used} of customers who used it and {other} of those who did not "
                                 f"reached {label}.")
                    x = x.drop(columns=key)
                    steps.append(f"'{name}'")
        elif observed[key] < min_answers:
            x = x.drop(columns=key)
        else:
            x[key] = x[key].fillna(x[key].mean())
    rated = [k for k in x.columns if meta[k][0] != "touchpoint used"]
    if rated and observed[rated].sum() < len(x) * len(rated):
        missing = 1 - observed[rated].sum() / (len(x) * len(rated))
        notes.append(f"{missing:.0%} of the ratings were not given; each missing rating counts as that rating's "
                     "average, which can only weaken its part.")
    x = x.loc[:, x.std(ddof=0) > 0]
    if x.shape[1] == 0 and steps:
        raise InsightError(f"every input all but decides {label} on its own ({', '.join(steps[:6])}"
                           f"{' ...' if len(steps) > 6 else ''}): those are steps of it, not drivers; ratings from a "
                           "survey or touchpoints that only some customers use before it are needed")
    if x.shape[1] == 0:
        raise InsightError(f"every input is the same for all customers with {label}; nothing can explain it")
    if binary and y.nunique() < 2:
        raise InsightError(f"every customer has the same {label}; there is nothing to explain")
    if y.std(ddof=0) == 0:
        raise InsightError(f"{label} is the same for every customer; there is nothing to explain")
    if x.shape[1] > MAX_DRIVERS:
        order = sorted(x.columns, key=lambda k: (meta[k][0] == "touchpoint used", -observed[k]))
        dropped = order[MAX_DRIVERS:]
        notes.append(f"{len(dropped)} inputs with the fewest answers are left out (at most {MAX_DRIVERS}): "
                     + ", ".join(f"'{meta[k][1]}'" for k in dropped) + ".")
        x = x[order[:MAX_DRIVERS]]
    x = _drop_near_copies(x, meta, notes)
    if len(x) > max_rows:
        x = x.sample(n=max_rows, random_state=random_state)
        y = y.loc[x.index]
    n, p = x.shape
    if n <= p + 2:
        raise InsightError(f"{n} customers are too few for {p} inputs")

    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(x.to_numpy(), y.to_numpy())
    m = np.column_stack([x.to_numpy(), y.to_numpy()])
    _, cov = _weighted_moments(m, np.ones(n))
    _, parts, r2 = _fit_from_cov(cov)
    slopes = model.coef_
    rng = np.random.default_rng(random_state)
    boot_parts, boot_slopes = [], []
    for _ in range(bootstrap):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype("float64")
        _, bcov = _weighted_moments(m, w)
        if np.any(np.diag(bcov) <= 0):
            continue  # a resample in which an input or the outcome does not vary
        try:
            b_slopes, b_parts, b_r2 = _fit_from_cov(bcov)
        except np.linalg.LinAlgError:
            continue  # a resample in which two inputs move exactly together
        if not np.isfinite(b_parts).all():
            continue
        boot_parts.append(b_parts / b_r2 if b_r2 > 0 else np.full(p, np.nan))
        boot_slopes.append(b_slopes)
    alpha = 100 * (1 - CONFIDENCE) / 2
    if boot_parts:
        imp_lo, imp_hi = np.nanpercentile(np.array(boot_parts), [alpha, 100 - alpha], axis=0)
        sl_lo, sl_hi = np.nanpercentile(np.array(boot_slopes), [alpha, 100 - alpha], axis=0)
    else:
        imp_lo = imp_hi = sl_lo = sl_hi = np.full(p, np.nan)
    sd_x, sd_y = x.std(ddof=0).to_numpy(), float(y.std(ddof=0))

    rows, detail_rows = [], []
    for j, key in enumerate(x.columns):
        kind, name, stage = meta[key]
        rows.append({"feature": key, "kind": kind, "label": _driver_label(kind, name),
                     "importance": parts[j] / r2 if r2 > 0 else np.nan,
                     "importance_low": imp_lo[j], "importance_high": imp_hi[j],
                     "performance": float(features[key].mean()) if kind != "touchpoint used" else np.nan,
                     "answered": int(observed[key]), "direction": 1 if slopes[j] >= 0 else -1,
                     "stage": stage})
        effect = _usage_effect(x[key] > 0, y, binary) if kind == "touchpoint used" else (slopes[j], sl_lo[j], sl_hi[j])
        rows[-1].update(effect=effect[0], effect_low=effect[1], effect_high=effect[2])
        if kind == "touchpoint used" and pd.notna(effect[0]):
            # Its reading compares users with non-users, so its direction does too.
            rows[-1]["direction"] = 1 if effect[0] >= (1.0 if binary else 0.0) else -1
        if kind == "touchpoint used":
            rows[-1].update(used_rate=float(y[x[key] > 0].mean()), other_rate=float(y[x[key] == 0].mean()))
        detail_rows.append({"feature": key, "label": rows[-1]["label"], "coef": slopes[j], "coef_low": sl_lo[j],
                            "coef_high": sl_hi[j], "std_coef": slopes[j] * sd_x[j] / sd_y, "r2_share": parts[j]})
    table = pd.DataFrame(rows)
    table["quadrant"] = _quadrants(table)
    table["reading"] = [_reading(r, binary, label, phrase) for _, r in table.iterrows()]
    table = table.sort_values(["importance", "feature"], ascending=[False, True]).reset_index(drop=True)
    details = pd.DataFrame(detail_rows).set_index("feature").loc[table["feature"]].reset_index()
    baseline = float(y.mean())
    method = "Shapley decomposition of R-squared (linear model" + (", yes/no outcome as 0/1)" if binary else ")")
    details_text = [
        f"Model: a linear regression of {label}" + (" (1 = yes, 0 = no)" if binary else "")
        + f" on {p} inputs over {n:,} customers; R-squared {r2:.2f} (the inputs together account for "
          f"{r2:.0%} of the differences in {label}).",
        "Importance: each input's Shapley share of R-squared, the average gain in R-squared from adding it "
        "over every order of adding the inputs, so correlated ratings share what they explain together.",
        f"Intervals: 2.5th to 97.5th percentiles over {len(boot_parts)} bootstrap resamples of customers "
        f"(seed {random_state}).",
    ]
    if any(k == "touchpoint used" for k in table["kind"]):
        details_text.append("'Times as likely' compares customers who used a touchpoint with those who did not, "
                            "without holding the other inputs equal.")
    notes.append("These are associations in the data, not proof of cause.")
    summary = _driver_summary(table, label, phrase, binary, n, baseline)
    return KeyDrivers(outcome, label, binary, n, table, baseline, float(r2), summary, details, method,
                      details_text, notes, phrase)


def _goal_problem(data: JourneyData) -> str:
    try:
        t = goal_outcomes(data)
    except GoalError as exc:
        return str(exc)
    row = execute(t.aggregate(n=t.count(), yes=t.converted.cast("int64").sum()))
    n, yes = int(row["n"].iloc[0]), int(row["yes"].fillna(0).iloc[0])
    label = _goal_label(data)
    if n == 0:
        return f"no customer can be judged for the goal {label!r}"
    return (f"every customer reached {label}" if yes == n else f"no customer reached {label}") + \
        ", so the goal cannot be explained"


def _driver_label(kind: str, name: str) -> str:
    if kind == "stage rating":
        return f"{name} stage rating"
    return name if kind == "rating" else f"used '{name}'"


def _usage_effect(used: pd.Series, y: pd.Series, binary: bool) -> tuple[float, float, float]:
    """Customers who used a touchpoint against those who did not: the relative risk of a
    yes/no outcome (scipy, with its 95% interval) or the Welch difference in means."""
    if binary:
        from scipy.stats.contingency import relative_risk

        a, n1 = int(y[used].sum()), int(used.sum())
        b, n0 = int(y[~used].sum()), int((~used).sum())
        if a == 0 or b == 0:
            return (np.nan, np.nan, np.nan)
        rr = relative_risk(a, n1, b, n0)
        ci = rr.confidence_interval(CONFIDENCE)
        return float(rr.relative_risk), float(ci.low), float(ci.high)
    res = stats.ttest_ind(y[used], y[~used], equal_var=False)
    ci = res.confidence_interval(CONFIDENCE)
    return float(y[used].mean() - y[~used].mean()), float(ci.low), float(ci.high)


def _quadrants(table: pd.DataFrame) -> list[str | None]:
    """Importance against performance for ratings, split at the means of the ratings shown."""
    rated = table["kind"] != "touchpoint used"
    if rated.sum() == 0:
        return [None] * len(table)
    imp_mid = table.loc[rated, "importance"].mean()
    perf_mid = table.loc[rated, "performance"].mean()
    out = []
    for r in table.itertuples():
        if r.kind == "touchpoint used":
            out.append(None)
        elif r.direction < 0:
            out.append(OTHER_WAY)
        else:
            high, good = r.importance >= imp_mid, r.performance >= perf_mid
            out.append(QUADRANTS[0] if high and not good else QUADRANTS[1] if high else
                       QUADRANTS[2] if not good else QUADRANTS[3])
    return out


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _reading(row: pd.Series, binary: bool, label: str, phrase: str) -> str:
    """One plain sentence per input, as a marketer would say it."""
    share = f"{row['importance']:.0%} of what these inputs explain (95% CI {row['importance_low']:.0%}-" \
            f"{row['importance_high']:.0%})"
    e, lo, hi = row["effect"], row["effect_low"], row["effect_high"]
    if row["kind"] == "touchpoint used":
        name = row["label"].removeprefix("used ")
        if pd.isna(e):
            text = f"Customers who used {name}: too few on one side {phrase} to compare"
        elif binary:
            times = f"{_num(e)} times as likely" if e >= 1 else f"less likely ({_num(e)} times as likely)"
            used, other = format_shares(row["used_rate"], row["other_rate"])
            text = (f"Customers who used {name} were {times} to {phrase} ({used} against {other}; "
                    f"95% CI {_num(lo)}-{_num(hi)} times)")
            unclear = lo <= 1 <= hi
        else:
            text = (f"Customers who used {name} average {row['used_rate']:.2f} {label} against "
                    f"{row['other_rate']:.2f} for those who did not (difference {e:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f})")
            unclear = lo <= 0 <= hi
    else:
        what = _mention(row)
        if binary:
            more = "more" if e >= 0 else "less"
            text = (f"A one-point better rating of {what} goes with customers {abs(100 * e):.1f} percentage points "
                    f"{more} likely to {phrase} (95% CI {100 * lo:+.1f} to {100 * hi:+.1f}), other ratings equal")
        else:
            text = (f"A one-point better rating of {what} goes with a {abs(e):.2f}-point {'higher' if e >= 0 else 'lower'} "
                    f"{label} (95% CI {lo:+.2f} to {hi:+.2f}), other ratings equal")
        unclear = lo <= 0 <= hi
    if not pd.isna(e) and unclear:
        text += "; not clearly different from no effect"
    return f"{text}. Importance: {share}."


def _mention(row) -> str:
    """How a sentence names an input: 'Wifi', the Intent stage, using 'Checkout'."""
    name = row["feature"].split(": ", 1)[1]
    if row["kind"] == "rating":
        return f"'{name}'"
    return f"the {name} stage" if row["kind"] == "stage rating" else f"using '{name}'"


def _driver_summary(table: pd.DataFrame, label: str, phrase: str, binary: bool, n: int, base: float) -> str:
    what = f"{format_shares(base)[0]} {phrase}" if binary else f"average {label} {base:.2f}"
    sure = table[table["importance_low"] > 0.02] if table["importance_low"].notna().any() else table
    if sure.empty:
        return f"Among {n:,} customers ({what}), no input stands out in explaining {label}."
    top = sure.iloc[0]
    names = ", ".join(f"{_mention(r)} ({r['importance']:.0%})" for _, r in sure.iloc[1:3].iterrows())
    text = (f"Among {n:,} customers ({what}), {_mention(top)} matters most for {label} "
            f"({top['importance']:.0%} of what the inputs explain)" + (f", then {names}" if names else "") + ".")
    fix = table[table["quadrant"] == QUADRANTS[0]]
    if len(fix):
        text += " Fix first: " + ", ".join(f"{_mention(r)} (rated {r['performance']:.1f})"
                                           for _, r in fix.head(3).iterrows()) + ": important and rated below the others."
    return text


def _purchase_frame(data: JourneyData) -> pd.DataFrame:
    """customer_id, purchased (0/1): the goal reached, for export's persona overview until it
    calls journey.goal_outcomes itself; 0 for everyone when the goal cannot be judged."""
    try:
        frame = execute(goal_outcomes(data))
        return frame.assign(purchased=frame["converted"].fillna(False).astype("int64"))[["customer_id", "purchased"]]
    except GoalError:
        ev = data.events
        return execute(ev.select("customer_id").distinct()).assign(purchased=0)


def outcome_values(data: JourneyData, outcome: str) -> tuple[pd.DataFrame, bool, str]:
    """One value per customer of an outcome of :func:`driver_outcomes`: DataFrame[customer_id,
    y], whether y is yes/no (1 = the positive value), and the outcome's label ("satisfaction
    = satisfied"). The same reading key drivers use. Raises InsightError when it cannot be read."""
    frame, binary, label, _ = _outcome_frame(data, outcome)
    return frame, binary, label
