"""Survey scores along the journey: means with 95% intervals per stage, NPS, quotes.

Counts, means and standard deviations are aggregated in Ibis where the survey lives; the
t-intervals are computed on the small per-group result with scipy. Scores stay on the
scale they were given on. Personas, when given, are a pandas frame (customer_id,
persona) joined to the survey in Ibis; survey answers of customers not in it are kept
under the persona ``(unassigned)`` rather than dropped.
"""

from __future__ import annotations

from typing import Sequence

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from journeylib.engine import execute
from journeylib.schema import ALL_PERSONAS, UNASSIGNED

NO_STAGE = "(no stage)"
LEVELS = ("stage", "touchpoint")
CONFIDENCE = 0.95
COMMENT_COLUMNS = ("customer_id", "persona", "stage", "touchpoint", "score", "comment", "timestamp")


def _with_persona(survey: ibis.Table, personas: pd.DataFrame | ibis.Table | None) -> ibis.Table:
    """The survey with a ``persona`` column (``all`` when no personas are given).

    ``personas`` (customer_id, persona) is a pandas frame, checked here, or a table already
    on the survey's backend with one row per customer (as ``persona_sampling.labels_table`` makes
    it), which is joined where it lies instead of being uploaded on every call.
    """
    base = survey.drop("persona") if "persona" in survey.columns else survey
    if personas is None:
        return base.mutate(persona=ibis.literal(ALL_PERSONAS))
    if not isinstance(personas, (pd.DataFrame, ibis.Table)):
        raise ValueError("personas must be a pandas DataFrame or an Ibis table with columns customer_id, persona")
    missing = [c for c in ("customer_id", "persona") if c not in personas.columns]
    if missing:
        raise ValueError(f"personas frame lacks column(s): {', '.join(missing)}")
    if isinstance(personas, ibis.Table):
        lookup = personas.select(_persona_customer=personas.customer_id.cast("string"),
                                 _persona=personas.persona.cast("string"))
    else:
        p = pd.DataFrame(
            {
                "_persona_customer": personas["customer_id"].astype("str"),
                "_persona": personas["persona"].astype("str"),
            }
        ).drop_duplicates()
        dupes = p["_persona_customer"][p["_persona_customer"].duplicated()]
        if not dupes.empty:
            examples = ", ".join(dupes.unique()[:3])
            raise ValueError(f"personas frame gives more than one persona to customer(s): {examples}")
        lookup = ibis.memtable(p)
    j = base.left_join(lookup, base.customer_id.cast("string") == lookup._persona_customer)
    return j.select(*base.columns, persona=j._persona.fill_null(UNASSIGNED))


def survey_with_persona(survey: ibis.Table, personas: pd.DataFrame | ibis.Table | None) -> ibis.Table:
    """The survey (or any table with ``customer_id``) with a ``persona`` column: ``all``
    without personas, ``(unassigned)`` for customers the personas do not name."""
    return _with_persona(survey, personas)


def _valid_scores(t: ibis.Table, column: str = "score") -> ibis.Table:
    # NaN and NULL both mean "no answer", whichever the backend kept.
    return t.filter(t[column].notnull() & ~t[column].isnan())


def _order(values: Sequence[str], first: Sequence[str]) -> list[str]:
    """``first`` in its order (those present), then the rest by name."""
    present = set(values)
    head = [v for v in first if v in present]
    return head + sorted(present - set(head))


def _persona_order(values) -> list[str]:
    names = sorted(set(values) - {UNASSIGNED})
    return names + ([UNASSIGNED] if UNASSIGNED in set(values) else [])


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    n_f = n.astype("float64")
    df = (n_f - 1).where(n_f > 1)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df) * sd.astype("float64") / np.sqrt(n_f)
    half = pd.Series(half, index=mean.index).where(n_f > 1)
    return mean - half, mean + half


def curve_level(survey: ibis.Table | None, stages: Sequence[str]) -> str:
    """The level an emotion curve is best read along: "touchpoint" when the scored answers
    name fewer than two stages of the order but at least two touchpoints (a survey of one
    stage, such as reviews rating seven services, is one dot by stage), else "stage"."""
    if survey is None or "touchpoint" not in survey.columns:
        return "stage"
    s = _valid_scores(survey)
    stage_n = (s.stage.nunique(where=s.stage.isin([str(x) for x in stages]))
               if "stage" in survey.columns and stages else ibis.literal(0))
    counts = execute(s.aggregate(stages=stage_n, touchpoints=s.touchpoint.nunique()))
    return "touchpoint" if int(counts["stages"].iloc[0]) < 2 and int(counts["touchpoints"].iloc[0]) >= 2 else "stage"


def emotion_curve(
    survey: ibis.Table,
    stages: Sequence[str],
    level: str = "stage",
    personas: pd.DataFrame | ibis.Table | None = None,
    min_n: int = 30,
) -> pd.DataFrame:
    """Mean score per stage (or touchpoint) and persona with a 95% t-interval.

    DataFrame[stage|touchpoint, persona, mean, ci_low, ci_high, n, low_n]: the interval is
    mean +/- t(0.975, n-1) * sd / sqrt(n) with the sample sd; n == 1 gives NaN bounds.
    ``low_n`` marks groups with fewer than ``min_n`` answers (they are kept, not hidden).
    Stages come in the order of ``stages``, then unknown stages by name; touchpoints in
    the order of the earliest stage they were rated in, then by name. Answers without a
    stage (touchpoint) or score are left out.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise ValueError(f"min_n must be a non-negative integer; got {min_n!r}")
    key = level
    if key not in survey.columns:
        raise ValueError(f"survey has no {key} column; emotion curve by {level} needs one")
    stages = [str(s) for s in stages]
    s = _valid_scores(_with_persona(survey, personas))
    s = s.filter(s[key].notnull())
    metrics = {
        "n": s.count(),
        "mean": s.score.mean(),
        "sd": s.score.std(how="sample"),
    }
    if level == "touchpoint" and "stage" in survey.columns and stages:
        # Position of the earliest stage a touchpoint was rated in, to order touchpoints.
        position = ibis.cases(*[(s.stage == name, i) for i, name in enumerate(stages)], else_=len(stages))
        metrics["stage_pos"] = position.min()
    agg = s.group_by(s[key].cast("string").name(key), "persona").agg(**metrics)
    df = execute(agg)
    columns = [key, "persona", "mean", "ci_low", "ci_high", "n", "low_n"]
    if df.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype={"n": "int64", "low_n": "bool", key: "str", "persona": "str"}.get(c, "float64"))
             for c in columns}
        )
    df["n"] = df["n"].astype("int64")
    df["mean"] = df["mean"].astype("float64")
    df["ci_low"], df["ci_high"] = _t_interval(df["mean"], df["sd"], df["n"])
    df["low_n"] = df["n"] < min_n
    if level == "stage":
        order = _order(df[key].tolist(), stages)
    else:
        first_pos = df.groupby(key)["stage_pos"].min() if "stage_pos" in df else pd.Series(dtype="int64")
        order = sorted(df[key].unique(), key=lambda tp: (first_pos.get(tp, 0), tp))
    key_rank = {v: i for i, v in enumerate(order)}
    persona_rank = {v: i for i, v in enumerate(_persona_order(df["persona"]))}
    df = df.assign(_k=df[key].map(key_rank), _p=df["persona"].map(persona_rank))
    df = df.sort_values(["_k", "_p"]).reset_index(drop=True)
    df[key] = df[key].astype("str")
    df["persona"] = df["persona"].astype("str")
    return df[columns]


PROMOTER, PASSIVE, DETRACTOR = "promoter", "passive", "detractor"


def nps_answers(survey: ibis.Table, personas: pd.DataFrame | ibis.Table | None = None) -> ibis.Table:
    """Each customer's one NPS answer: an Ibis table (customer_id, persona, nps, nps_group).

    A customer with several rows (e.g. a wide survey melted into one row per touchpoint,
    each repeating the NPS) counts once, with their latest answer by timestamp (the lowest
    when undated or tied). ``nps_group`` is ``promoter`` (9-10), ``passive`` (7-8) or
    ``detractor`` (0-6).
    """
    if "nps" not in survey.columns:
        raise ValueError("survey has no nps column (a 0-10 'how likely to recommend' answer)")
    s = _valid_scores(_with_persona(survey, personas), "nps")
    order = [s.nps]
    if "timestamp" in survey.columns:
        order = [ibis.desc(s.timestamp), s.nps]
    w = ibis.window(group_by=s.customer_id, order_by=order)
    s = s.mutate(_answer=ibis.row_number().over(w))
    s = s.filter(s._answer == 0)
    group = ibis.cases((s.nps >= 9, PROMOTER), (s.nps >= 7, PASSIVE), else_=DETRACTOR)
    return s.select("customer_id", "persona", "nps", nps_group=group)


def nps(survey: ibis.Table, personas: pd.DataFrame | ibis.Table | None = None) -> pd.DataFrame:
    """Net Promoter Score per persona from the survey's ``nps`` column (0-10).

    One answer per customer (see :func:`nps_answers`); promoters score 9-10, passives 7-8,
    detractors 0-6; nps = 100 * (promoters - detractors) / n.
    DataFrame[persona, n, promoters, passives, detractors, nps], sorted by persona.
    """
    s = nps_answers(survey, personas)
    agg = s.group_by("persona").agg(
        n=s.count(),
        promoters=(s.nps_group == PROMOTER).sum(),
        passives=(s.nps_group == PASSIVE).sum(),
        detractors=(s.nps_group == DETRACTOR).sum(),
    )
    df = execute(agg)
    counts = ["n", "promoters", "passives", "detractors"]
    if df.empty:
        return pd.DataFrame(
            {"persona": pd.Series([], dtype="str"), **{c: pd.Series([], dtype="int64") for c in counts},
             "nps": pd.Series([], dtype="float64")}
        )
    df[counts] = df[counts].fillna(0).astype("int64")
    df["nps"] = 100.0 * (df["promoters"] - df["detractors"]) / df["n"]
    rank = {v: i for i, v in enumerate(_persona_order(df["persona"]))}
    df = df.assign(_p=df["persona"].map(rank)).sort_values("_p").reset_index(drop=True)
    df["persona"] = df["persona"].astype("str")
    return df[["persona", *counts, "nps"]]


def touchpoint_stage_scores(survey: ibis.Table, stages: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean score and n per (stage, touchpoint), for a heatmap.

    Answers without a stage count under ``(no stage)``; answers without a touchpoint are
    left out (a survey with no touchpoint column gives an empty frame). Sorted by stage
    (in ``stages`` order when given, then by name) and touchpoint.
    """
    columns = ["stage", "touchpoint", "mean", "n"]
    empty = pd.DataFrame(
        {"stage": pd.Series([], dtype="str"), "touchpoint": pd.Series([], dtype="str"),
         "mean": pd.Series([], dtype="float64"), "n": pd.Series([], dtype="int64")}
    )
    if "touchpoint" not in survey.columns:
        return empty
    s = _valid_scores(survey)
    s = s.filter(s.touchpoint.notnull())
    stage = s.stage.cast("string").fill_null(NO_STAGE) if "stage" in survey.columns else ibis.literal(NO_STAGE)
    agg = s.group_by(stage=stage, touchpoint=s.touchpoint.cast("string")).agg(
        mean=s.score.mean(), n=s.count()
    )
    df = execute(agg)
    if df.empty:
        return empty
    rank = {v: i for i, v in enumerate(_order(df["stage"].tolist(), [str(x) for x in stages or ()]))}
    df = df.assign(_s=df["stage"].map(rank)).sort_values(["_s", "touchpoint"]).reset_index(drop=True)
    df["n"] = df["n"].astype("int64")
    df["mean"] = df["mean"].astype("float64")
    return df[columns].astype({"stage": "str", "touchpoint": "str"})


def shared_comments(survey: ibis.Table) -> bool:
    """Whether the survey's comments are each customer's one comment on the whole survey,
    repeated on every rating's row (a wide survey with one free-text column): most
    customer-and-comment pairs then sit on two or more touchpoints. Themes at one touchpoint
    are then what the customers who rated it wrote, not comments about it."""
    if "comment" not in survey.columns or "touchpoint" not in survey.columns:
        return False
    s = survey.filter(survey.comment.notnull() & (survey.comment.cast("string").strip() != ""))
    pairs = s.group_by([s.customer_id, s.comment]).aggregate(places=s.touchpoint.nunique())
    share = execute(pairs.aggregate(share=(pairs.places >= 2).cast("float64").mean()))["share"].iloc[0]
    return bool(pd.notna(share) and share >= 0.5)


def comments(
    survey: ibis.Table,
    personas: pd.DataFrame | ibis.Table | None = None,
    stage: str | None = None,
    persona: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    limit: int | None = 200,
) -> pd.DataFrame:
    """Survey answers with a non-empty comment, lowest scores first.

    DataFrame[customer_id, persona, stage, touchpoint, score, comment, timestamp]
    (columns the survey lacks are empty), filtered by stage, persona and score bounds
    (inclusive), ordered by score then timestamp (undated last), at most ``limit`` rows.
    When the comments are shared (:func:`shared_comments`: one comment per customer on
    every rating's row) a comment is one row per stage with the mean of its ratings as its
    score and no touchpoint, and the score bounds apply to that mean.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None; got {limit!r}")
    if "comment" not in survey.columns:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in COMMENT_COLUMNS})
    s = _with_persona(survey, personas)
    s = s.filter(s.comment.notnull() & (s.comment.cast("string").strip() != ""))
    if stage is not None:
        if "stage" not in survey.columns:
            raise ValueError("survey has no stage column to filter comments by stage")
        s = s.filter(s.stage == str(stage))
    if persona is not None:
        s = s.filter(s.persona == str(persona))
    if shared_comments(survey):
        keys = [c for c in ("customer_id", "persona", "stage", "comment") if c in s.columns]
        score = ibis.ifelse(s.score.isnan(), ibis.null("float64"), s.score.cast("float64"))
        extra = {"timestamp": s.timestamp.max()} if "timestamp" in s.columns else {}
        s = s.group_by(keys).aggregate(score=score.mean(), **extra)
    if min_score is not None:
        s = s.filter(s.score >= float(min_score))
    if max_score is not None:
        s = s.filter(s.score <= float(max_score))
    present = [c for c in COMMENT_COLUMNS if c in s.columns]
    order = [s.score]
    if "timestamp" in s.columns:
        order.append(s.timestamp)
    order.append(s.customer_id)
    s = s.order_by(order).select(*present)
    if limit is not None:
        s = s.limit(int(limit))
    df = execute(s).reset_index(drop=True)
    for c in COMMENT_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[list(COMMENT_COLUMNS)]


# ----------------------------------------------------------------------------- outcomes per group

GROUPS = ("stage", "touchpoint", "persona")
OUTCOME_COLUMNS = ("group", "n", "value", "ci_low", "ci_high")


def _z() -> float:
    return float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


def _check_by(by: str, survey: ibis.Table) -> None:
    if by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}; got {by!r}")
    if by != "persona" and by not in survey.columns:
        raise ValueError(f"survey has no {by} column to group by")


def _group_order(df: pd.DataFrame, by: str, stages: Sequence[str]) -> pd.DataFrame:
    if by == "persona":
        order = _persona_order(df["group"])
    elif by == "stage":
        order = _order(df["group"].tolist(), [str(s) for s in stages])
    else:
        order = sorted(df["group"].unique())
    rank = {v: i for i, v in enumerate(order)}
    return df.assign(_g=df["group"].map(rank)).sort_values("_g").drop(columns="_g").reset_index(drop=True)


def nps_interval(promoters, detractors, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NPS = 100 (p_promoters - p_detractors) and its 95% normal interval.

    The variance of the difference of two shares of one multinomial sample is
    (p_P + p_D - (p_P - p_D)^2) / n; the interval is NPS +/- 100 z(0.975) sqrt(that).
    n == 0 gives NaN; n == 1 an interval of width 0 (read with care, as any tiny group).
    """
    p, d, n = (np.asarray(x, dtype="float64") for x in (promoters, detractors, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        pp, pd_ = np.where(n > 0, p / n, np.nan), np.where(n > 0, d / n, np.nan)
        value = 100.0 * (pp - pd_)
        half = 100.0 * _z() * np.sqrt(np.maximum(pp + pd_ - (pp - pd_) ** 2, 0.0) / n)
    return value, value - half, value + half


def nps_by(survey: ibis.Table, by: str = "persona", personas: pd.DataFrame | ibis.Table | None = None,
           stages: Sequence[str] = ()) -> pd.DataFrame:
    """NPS per stage, touchpoint or persona, with its 95% interval (:func:`nps_interval`).

    A customer counts once per group, with their latest NPS answer there by timestamp (the
    lowest when undated or tied): a wide survey that repeats one NPS on every row gives the
    NPS of the customers who answered at each stage. DataFrame[group, n, promoters,
    passives, detractors, nps, ci_low, ci_high]; stages in ``stages`` order.
    """
    _check_by(by, survey)
    if "nps" not in survey.columns:
        raise ValueError("survey has no nps column (a 0-10 'how likely to recommend' answer)")
    s = _valid_scores(_with_persona(survey, personas), "nps")
    s = s.mutate(_group=s[by].cast("string"))
    s = s.filter(s._group.notnull())
    order = [ibis.desc(s.timestamp), s.nps] if "timestamp" in survey.columns else [s.nps]
    w = ibis.window(group_by=[s.customer_id, s._group], order_by=order)
    s = s.mutate(_answer=ibis.row_number().over(w))
    s = s.filter(s._answer == 0)
    agg = s.group_by(group=s._group).agg(
        n=s.count(), promoters=(s.nps >= 9).sum(), passives=((s.nps >= 7) & (s.nps < 9)).sum(),
        detractors=(s.nps < 7).sum())
    df = execute(agg)
    counts = ["n", "promoters", "passives", "detractors"]
    columns = ["group", *counts, "nps", "ci_low", "ci_high"]
    if df.empty:
        return pd.DataFrame({c: pd.Series([], dtype="str" if c == "group" else "int64" if c in counts
                                          else "float64") for c in columns})
    df[counts] = df[counts].fillna(0).astype("int64")
    df["nps"], df["ci_low"], df["ci_high"] = nps_interval(df["promoters"], df["detractors"], df["n"])
    df["group"] = df["group"].astype("str")
    return _group_order(df[columns], by, stages)


def top_box(scale) -> float:
    """The lowest score of the top-2 box of a score scale: the two highest whole points
    (4-5 on 1-5, 9-10 on 0-10)."""
    return float(scale.high) - 1.0


def wilson_interval(x, n) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of the share x / n (the same as scipy's
    ``binomtest(x, n).proportion_ci(method="wilson")``, vectorised); n == 0 gives NaN."""
    x, n = np.asarray(x, dtype="float64"), np.asarray(n, dtype="float64")
    z = _z()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    lo, hi = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan), np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def csat_by(survey: ibis.Table, scale, by: str = "stage", personas: pd.DataFrame | ibis.Table | None = None,
            stages: Sequence[str] = ()) -> pd.DataFrame:
    """CSAT per stage, touchpoint or persona: the share of answers in the top-2 box of the
    score scale (:func:`top_box`), with a 95% Wilson interval (:func:`wilson_interval`).

    Every valid score counts (a customer rating four touchpoints of a stage gives four
    answers). DataFrame[group, n, satisfied, csat, ci_low, ci_high] with csat in 0-1.
    """
    _check_by(by, survey)
    if scale is None:
        raise ValueError("CSAT needs the score scale (e.g. 1-5) to know its top two points")
    s = _valid_scores(_with_persona(survey, personas))
    s = s.mutate(_group=s[by].cast("string"))
    s = s.filter(s._group.notnull())
    df = execute(s.group_by(group=s._group).agg(n=s.count(), satisfied=(s.score >= top_box(scale)).sum()))
    columns = ["group", "n", "satisfied", "csat", "ci_low", "ci_high"]
    if df.empty:
        return pd.DataFrame({c: pd.Series([], dtype="str" if c == "group" else "int64" if c in ("n", "satisfied")
                                          else "float64") for c in columns})
    df[["n", "satisfied"]] = df[["n", "satisfied"]].fillna(0).astype("int64")
    df["csat"] = df["satisfied"] / df["n"]
    df["ci_low"], df["ci_high"] = wilson_interval(df["satisfied"], df["n"])
    df["group"] = df["group"].astype("str")
    return _group_order(df[columns], by, stages)


def outcome_by(survey: ibis.Table, values: pd.DataFrame, binary: bool, by: str = "persona",
               personas: pd.DataFrame | ibis.Table | None = None, stages: Sequence[str] = ()) -> pd.DataFrame:
    """An outcome (one value ``y`` per customer, as :func:`journeylib.insights.outcome_values`
    gives it) per stage, touchpoint or persona of the survey's respondents.

    A customer counts once per group they answered in (per persona: once). Yes/no outcomes
    (``binary``): the share with 1 and a 95% Wilson interval; numbers: the mean and a 95%
    t-interval. DataFrame[group, n, value, ci_low, ci_high, sd] (``sd``: the sample
    standard deviation of the values, what a test of two groups' means needs).
    """
    _check_by(by, survey)
    s = _with_persona(survey, personas)
    s = s.mutate(_group=s[by].cast("string"), _cid=s.customer_id.cast("string"))
    s = s.filter(s._group.notnull()).select("_cid", "_group").distinct()
    v = values.dropna(subset=["y"])
    lookup = ibis.memtable(pd.DataFrame({"_vid": v["customer_id"].astype(str), "_y": v["y"].astype("float64")}))
    j = s.join(lookup, s._cid == lookup._vid)
    df = execute(j.group_by(group=j._group).agg(n=j.count(), total=j._y.sum(), sd=j._y.std(how="sample")))
    if df.empty:
        return pd.DataFrame({c: pd.Series([], dtype="str" if c == "group" else "int64" if c == "n" else "float64")
                             for c in (*OUTCOME_COLUMNS, "sd")})
    df["n"] = df["n"].astype("int64")
    df["sd"] = df["sd"].astype("float64")
    df["value"] = df["total"].astype("float64") / df["n"]
    if binary:
        df["ci_low"], df["ci_high"] = wilson_interval(df["total"].round(), df["n"])
    else:
        df["ci_low"], df["ci_high"] = _t_interval(df["value"], df["sd"], df["n"])
    df["group"] = df["group"].astype("str")
    return _group_order(df[[*OUTCOME_COLUMNS, "sd"]], by, stages)
