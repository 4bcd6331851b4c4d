"""Pain points, opportunities and key drivers, each computed only from evidence in the data.

Pain points rank stages and touchpoints by how many customers they touch and how badly;
opportunities restate the top pain points as one sentence each, using only their numbers;
key drivers say which stage scores and touchpoints best explain an outcome (purchase, NPS or
another metric) with a regression on standardised inputs and 95% confidence intervals.

Aggregation over events and survey runs as Ibis expressions; only per-stage, per-touchpoint
and per-customer tables come back to pandas.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from journeylib.engine import execute
from journeylib.reach import Reach, customer_reach, stage_index
from journeylib.schema import PURCHASE_STAGE, SURVEY_COLUMNS, JourneyData, ScoreScale

PAIN_COLUMNS = [
    "level",
    "stage",
    "touchpoint",
    "customers",
    "share",
    "left",
    "drop_off_rate",
    "mean_score",
    "score_n",
    "overall_mean",
    "score_gap",
    "severity",
    "impact",
]


class InsightError(ValueError):
    """The data cannot support the analysis asked for (says why in plain words)."""


def _scalar(expr: ibis.Expr):
    value = execute(expr)
    if isinstance(value, pd.DataFrame):
        value = value.iloc[0, 0]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


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


# --------------------------------------------------------------------------------------
# Pain points


@dataclass(frozen=True)
class SurveyScores:
    """The survey's scores summed once: the overall mean, and DataFrame[stage | touchpoint,
    mean_score, score_n] over answers that name a stage / a touchpoint."""

    overall: float | None
    stages: pd.DataFrame
    touchpoints: pd.DataFrame


def survey_scores(survey: ibis.Table) -> SurveyScores:
    """Mean and count of scores overall, per stage and per touchpoint, from one query."""
    s = survey.filter(survey.score.notnull())
    sums = execute(s.group_by(["stage", "touchpoint"]).aggregate(total=s.score.sum(), score_n=s.count()))
    sums = sums.astype({"total": "float64", "score_n": "int64"})

    def per(column: str) -> pd.DataFrame:
        g = sums[sums[column].notna()].groupby(column, as_index=False)[["total", "score_n"]].sum()
        return pd.DataFrame({column: g[column].astype("str"), "mean_score": g["total"] / g["score_n"],
                             "score_n": g["score_n"].astype("int64")})

    n = int(sums["score_n"].sum())
    return SurveyScores(float(sums["total"].sum()) / n if n else None, per("stage"), per("touchpoint"))


def pain_points(data: JourneyData, level: str = "both", min_answers: int = 10,
                reach: Reach | None = None, scores: SurveyScores | None = None) -> pd.DataFrame:
    """Stages and touchpoints ranked by impact, with the numbers behind each.

    For each stage (level "stage") and each touchpoint (level "touchpoint"):

    - ``customers`` = customers affected = distinct customers who reached it (had at least one
      event in the stage / with the touchpoint); ``share`` = customers / all customers.
    - ``left`` = customers who leave after it without completing. A customer completes by
      reaching the completion stage: Purchase when the stage order has it and anyone
      reaches it, else the last stage in order that anyone reaches; stages from the
      completion stage on therefore have left = 0 (ending after buying is not dropping off).
      For a stage: non-completers whose furthest stage reached (in stage order) is this
      stage. For a touchpoint: non-completers whose journey's last event (ordered by
      timestamp, then file order) is this touchpoint. When no event has a known stage,
      completion is undefined and left = 0.
    - ``drop_off_rate`` = left / customers.
    - ``mean_score``, ``score_n`` = mean and count of survey scores given to it;
      ``overall_mean`` = mean of all survey scores in ``data``.
    - ``score_gap`` = max(0, overall_mean - mean_score) / (scale.high - scale.low), taken as 0
      when fewer than ``min_answers`` scores exist (too few to trust) or there is no survey.
    - ``severity`` = drop_off_rate + score_gap  (both are shares in [0, 1], so severity is
      in [0, 2]).
    - ``impact`` = customers * severity.

    Rows with zero impact are not pain points and are left out. Sorted by impact, largest
    first. ``level`` is "stage", "touchpoint" or "both". ``reach`` (see
    :func:`journeylib.reach.customer_reach`) and ``scores`` (see :func:`survey_scores`) are
    those of ``data``, when the caller has them already.
    """
    if level not in ("stage", "touchpoint", "both"):
        raise InsightError(f"level must be 'stage', 'touchpoint' or 'both', got {level!r}")
    stages = tuple(data.stages)
    if reach is None:
        reach = customer_reach(data.events, stages)
    ends = reach.ends
    total = reach.customers
    if total == 0:
        return pd.DataFrame(columns=PAIN_COLUMNS)
    final_idx = None if ends["furthest"].isna().all() else int(ends["furthest"].max())
    if final_idx is not None and PURCHASE_STAGE in stages:
        final_idx = min(final_idx, stages.index(PURCHASE_STAGE))

    scale = score_scale(data)
    span = (scale.high - scale.low) if scale is not None else None
    if scores is None and data.survey is not None:
        scores = survey_scores(data.survey)
    overall = scores.overall if scores is not None else None

    frames = []
    if level in ("stage", "both"):
        frames.append(_stage_pains(reach, final_idx, scores))
    if level in ("touchpoint", "both"):
        frames.append(_touchpoint_pains(reach, final_idx, stages, scores))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if out is None:
        return pd.DataFrame(columns=PAIN_COLUMNS)

    out["share"] = out["customers"] / total
    out["drop_off_rate"] = out["left"] / out["customers"]
    out["overall_mean"] = overall if overall is not None else np.nan
    trusted = out["score_n"] >= min_answers
    if overall is not None and span:
        gap = ((overall - out["mean_score"]).clip(lower=0) / span).where(trusted, 0.0)
        out["score_gap"] = gap.fillna(0.0)
    else:
        out["score_gap"] = 0.0
    out["severity"] = out["drop_off_rate"] + out["score_gap"]
    out["impact"] = out["customers"] * out["severity"]
    out = out[out["impact"] > 0]
    stage_pos = {s: i for i, s in enumerate(stages)}
    out = out.assign(_pos=out["stage"].map(stage_pos))
    out = out.sort_values(
        ["impact", "customers", "_pos", "touchpoint"], ascending=[False, False, True, True], na_position="first"
    )
    out = out[PAIN_COLUMNS].reset_index(drop=True)
    out["customers"] = out["customers"].astype("int64")
    out["left"] = out["left"].astype("int64")
    out["score_n"] = out["score_n"].astype("int64")
    return out


def _stage_pains(reach: Reach, final_idx, scores: SurveyScores | None) -> pd.DataFrame:
    counts = reach.stages.copy()
    if counts.empty:
        return counts
    # A customer's furthest stage is one they reached: those who stop there leave after it.
    ends = reach.ends
    left = ends.dropna(subset=["furthest"]).groupby("furthest")["n"].sum()
    left = pd.DataFrame({"stage_idx": left.index.astype("int64"), "left": left.to_numpy()})
    out = counts.merge(left, on="stage_idx", how="left")
    out["left"] = out["left"].fillna(0)
    out.loc[out["stage_idx"] >= final_idx, "left"] = 0
    out["level"] = "stage"
    out["touchpoint"] = None
    if scores is not None:
        out = out.merge(scores.stages, on="stage", how="left")
    else:
        out["mean_score"] = np.nan
        out["score_n"] = 0
    out["score_n"] = out["score_n"].fillna(0)
    return out.drop(columns="stage_idx")


def _touchpoint_pains(reach: Reach, final_idx, stages, scores: SurveyScores | None) -> pd.DataFrame:
    out = reach.touchpoints.copy()
    if out.empty:
        return out
    # A touchpoint's stage is the stage most of its events carry (ties: earliest stage).
    by_stage = reach.touchpoint_stages.copy()
    if len(by_stage):
        stage_pos = {s: i for i, s in enumerate(stages)}
        by_stage["stage_idx"] = by_stage["stage"].map(stage_pos).fillna(len(stages))
        by_stage = by_stage.sort_values(["touchpoint", "events", "stage_idx"], ascending=[True, False, True])
        modal = by_stage.drop_duplicates("touchpoint")[["touchpoint", "stage"]]
        out = out.merge(modal, on="touchpoint", how="left")
    else:
        out["stage"] = None

    ends = reach.ends
    if final_idx is not None:
        leaving = ends[ends["last_tp"].notna() & (ends["furthest"].isna() | (ends["furthest"] < final_idx))]
        left = leaving.groupby("last_tp", as_index=False)["n"].sum()
        left = left.rename(columns={"last_tp": "touchpoint", "n": "left"})
        out = out.merge(left, on="touchpoint", how="left")
    else:
        out["left"] = 0
    out["left"] = out["left"].fillna(0)
    out["level"] = "touchpoint"
    if scores is not None:
        out = out.merge(scores.touchpoints, on="touchpoint", how="left")
    else:
        out["mean_score"] = np.nan
        out["score_n"] = 0
    out["score_n"] = out["score_n"].fillna(0)
    return out


# --------------------------------------------------------------------------------------
# Opportunities

MATERIAL_GAP = 0.05


def format_score(value: float, scale: ScoreScale | None) -> str:
    """A score as people read it: "1.8/5" on 0/1-based scales, "-0.4 (-2 to 2)" otherwise."""
    if scale is None:
        return f"{value:.1f}"
    if scale.low in (0, 1):
        return f"{value:.1f}/{scale.high:g}"
    return f"{value:+.1f} ({scale.low:g} to {scale.high:g})"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def opportunity_sentence(row: pd.Series, group: str = "customers", scale: ScoreScale | None = None) -> str:
    """One sentence for one pain point, using only the numbers in its row.

    e.g. "Intent: 31% of Bargain hunters leave after 'Cart error' (128 of 412); they rate
    it 1.8/5 against 3.6 overall (n=97 answers)." The rating is mentioned when its gap is
    at least MATERIAL_GAP (5% of the scale, 0.2 points on 1-5); smaller gaps still count
    in severity but would read as noise.
    """
    stage = row.get("stage")
    where = stage if isinstance(stage, str) and stage else "No stage"
    is_tp = row.get("level") == "touchpoint"
    name = f"'{row['touchpoint']}'" if is_tp else "this stage"
    parts = []
    if row["left"] > 0:
        verb = f"leave after {name}" if is_tp else "reach this stage and go no further"
        parts.append(
            f"{_pct(row['drop_off_rate'])} of {group} {verb} ({int(row['left']):,} of {int(row['customers']):,})"
        )
    if row["score_gap"] >= MATERIAL_GAP:
        overall = f"{row['overall_mean']:.1f}" if scale is None or scale.low in (0, 1) else f"{row['overall_mean']:+.1f}"
        rating = f"{format_score(row['mean_score'], scale)} against {overall} overall (n={int(row['score_n']):,} answers)"
        parts.append(f"they rate it {rating}" if parts else f"{group} rate {name} {rating}")
    if not parts:
        return f"{where}: no evidence of a problem."
    return f"{where}: " + "; ".join(parts) + "."


def opportunities(
    pains: pd.DataFrame, group: str = "customers", scale: ScoreScale | None = None, top: int = 5
) -> pd.DataFrame:
    """One evidence-only sentence per top pain point: DataFrame[stage, touchpoint, impact, sentence]."""
    rows = pains.head(top)
    out = rows[["level", "stage", "touchpoint", "customers", "impact"]].copy()
    out["sentence"] = [opportunity_sentence(r, group, scale) for _, r in rows.iterrows()]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Key drivers

_OUTCOME_HINT = re.compile(r"satisf|csat|recommend|churn|retain|loyal|convert|outcome|overall", re.I)


@dataclass
class KeyDrivers:
    """Result of :func:`key_drivers`.

    ``table`` has one row per input, ranked by |coef|: feature, kind ("stage score" or
    "touchpoint"), label, coef (per standard deviation; log-odds for logistic), ci_low,
    ci_high, p_value, effect (per raw unit: per score point, or having vs not having the
    touchpoint; an odds ratio for logistic), effect_ci_low, effect_ci_high, n_observed,
    reading (one plain sentence).
    """

    outcome: str
    method: str  # "logistic" or "linear"
    n: int
    table: pd.DataFrame
    baseline: float  # outcome rate (logistic) or mean (linear)
    fit: float  # McFadden pseudo-R2 (logistic) or R2 (linear)
    summary: str
    notes: list[str] = field(default_factory=list)


def driver_outcomes(data: JourneyData) -> list[str]:
    """Outcomes :func:`key_drivers` can explain in this dataset."""
    out = []
    purchased = _purchase_frame(data)
    if 0 < purchased["purchased"].sum() < len(purchased):
        out.append("purchase")
    if data.survey is not None:
        if data.has_nps:
            out.append("nps")
        schema = data.survey.schema()
        for name in data.survey.columns:
            if name not in SURVEY_COLUMNS and schema[name].is_numeric():
                out.append(name)
    if data.customers is not None:
        schema = data.customers.schema()
        for name in data.customers.columns:
            if name != "customer_id" and _OUTCOME_HINT.search(name) and name not in out:
                out.append(name)
    return out


def _purchase_frame(data: JourneyData) -> pd.DataFrame:
    ev = data.events
    return execute(
        ev.group_by("customer_id").aggregate(purchased=(ev.stage == PURCHASE_STAGE).any().cast("int64"))
    ).assign(purchased=lambda f: f["purchased"].fillna(0).astype("int64"))


def _outcome_frame(data: JourneyData, outcome: str) -> tuple[pd.DataFrame, str, str]:
    """customer_id, y; method; a readable outcome label."""
    if outcome == "purchase":
        return _purchase_frame(data).rename(columns={"purchased": "y"}), "logistic", "purchase"
    if data.survey is not None and outcome in data.survey.columns:
        s = data.survey.filter(data.survey[outcome].notnull())
        frame = execute(s.group_by("customer_id").aggregate(y=s[outcome].mean()))
        label = "NPS" if outcome == "nps" else outcome
        return frame, _method_for(frame["y"]), label
    if data.customers is not None and outcome in data.customers.columns:
        c = data.customers.filter(data.customers[outcome].notnull())
        frame = execute(c.select("customer_id", y=c[outcome]))
        values = frame["y"]
        if not pd.api.types.is_numeric_dtype(values):
            levels = sorted(values.astype(str).unique())
            if len(levels) != 2:
                raise InsightError(
                    f"outcome {outcome!r} has {len(levels)} distinct values; key drivers need a number or two values"
                )
            positive = _positive_level(levels)
            frame["y"] = (values.astype(str) == positive).astype("int64")
            return frame, "logistic", f"{outcome} = {positive}"
        frame["y"] = values.astype(float)
        return frame, _method_for(frame["y"]), outcome
    raise InsightError(f"unknown outcome {outcome!r}; available: {', '.join(driver_outcomes(data)) or 'none'}")


def _positive_level(levels: list[str]) -> str:
    negative = re.compile(r"\b(not?|dis|un|neutral|false|0)\b|^dis|^un", re.I)
    plain = [lv for lv in levels if not negative.search(lv)]
    return plain[0] if len(plain) == 1 else levels[-1]


def _method_for(y: pd.Series) -> str:
    return "logistic" if set(pd.unique(y.dropna())) <= {0, 1} else "linear"


def _driver_features(data: JourneyData, outcome: str, min_answers: int, max_touchpoints: int):
    """Per-customer stage mean scores and touchpoint flags (wide, indexed by customer_id)."""
    stages = tuple(data.stages)
    cutoff = stages.index(PURCHASE_STAGE) if outcome == "purchase" and PURCHASE_STAGE in stages else len(stages)
    notes = []
    if cutoff < len(stages):
        notes.append(
            f"Scores and touchpoints from {PURCHASE_STAGE} onwards are left out: only buyers reach them, "
            "so they would 'explain' purchase trivially."
        )
    notes.append("Each effect is estimated holding the other inputs fixed; it shows association, not cause.")
    allowed = list(stages[:cutoff])
    features = {}
    kinds = {}
    if data.survey is not None and allowed:
        s = data.survey.filter(data.survey.stage.isin(allowed) & data.survey.score.notnull())
        long = execute(s.group_by(["customer_id", "stage"]).aggregate(score=s.score.mean()))
        if len(long):
            wide = long.pivot(index="customer_id", columns="stage", values="score")
            for st in allowed:
                if st in wide.columns and wide[st].notna().sum() >= min_answers:
                    key = f"score: {st}"
                    features[key] = wide[st]
                    kinds[key] = ("stage score", st)
    ev = data.events
    ev = ev.mutate(stage_idx=stage_index(ev.stage, stages))
    total = int(_scalar(ev.customer_id.nunique()) or 0)
    tp_ok = ev.filter(ev.touchpoint.notnull() & (ev.stage_idx.isnull() | (ev.stage_idx < cutoff)))
    reach = execute(tp_ok.group_by("touchpoint").aggregate(customers=tp_ok.customer_id.nunique()))
    if total and len(reach):
        # Near-universal or very rare touchpoints carry no usable contrast.
        share = reach["customers"] / total
        reach = reach[(share >= 0.02) & (share <= 0.98)]
        reach = reach.sort_values(["customers", "touchpoint"], ascending=[False, True]).head(max_touchpoints)
        if len(reach):
            pairs = execute(
                tp_ok.filter(tp_ok.touchpoint.isin(list(reach["touchpoint"])))
                .select("customer_id", "touchpoint")
                .distinct()
            )
            for name in reach["touchpoint"]:
                key = f"touchpoint: {name}"
                ids = pairs.loc[pairs["touchpoint"] == name, "customer_id"]
                features[key] = pd.Series(1.0, index=pd.Index(ids.unique(), name="customer_id"))
                kinds[key] = ("touchpoint", name)
    return features, kinds, notes


def key_drivers(
    data: JourneyData,
    outcome: str = "purchase",
    min_answers: int = 30,
    max_touchpoints: int = 8,
    max_rows: int = 20000,
    random_state: int = 0,
) -> KeyDrivers:
    """Which stage scores and touchpoints best explain ``outcome``.

    Inputs per customer: the mean survey score they gave each stage (stages with at least
    ``min_answers`` answers; a customer who did not rate a stage gets that stage's mean) and
    a 0/1 flag per touchpoint (the ``max_touchpoints`` most common ones reached by 2-98% of
    customers). For ``outcome="purchase"`` (any event in the Purchase stage) stages from
    Purchase on are excluded, since only buyers reach them. Inputs are standardised, then:

    - a two-valued outcome: logistic regression (scikit-learn, no penalty); standard errors
      from the inverse Fisher information (X'WX, W = p(1-p)); 95% Wald intervals (z).
    - a numeric outcome (e.g. NPS): ordinary least squares; covariance s^2 (X'X)^-1;
      95% t-intervals.

    Rows: customers with the outcome; at most ``max_rows`` (a seeded random sample beyond).
    Coefficients are associations, not causes; the readings say "goes with".
    """
    target, method, label = _outcome_frame(data, outcome)
    target = target.dropna(subset=["y"]).set_index("customer_id")
    if target.empty:
        raise InsightError(f"no customer has a value for outcome {outcome!r}")
    features, kinds, notes = _driver_features(data, outcome, min_answers, max_touchpoints)
    if not features:
        raise InsightError(
            "no inputs to explain the outcome with: need stage scores with at least "
            f"{min_answers} answers or touchpoints reached by 2-98% of customers"
        )
    X = pd.DataFrame(index=target.index)
    for key, series in features.items():
        X[key] = series.reindex(target.index)
    if method == "logistic":
        # A touchpoint that nearly guarantees (or rules out) the outcome is a step of it, not
        # a driver, and separates the classes so its interval is meaningless: leave it out.
        for key, (kind, name) in list(kinds.items()):
            if kind != "touchpoint":
                continue
            had = X[key].notna()
            if had.all() or not had.any():
                continue
            rate_had, rate_not = target.loc[had, "y"].mean(), target.loc[~had, "y"].mean()
            extreme = lambda r: r >= 0.97 or r <= 0.03  # noqa: E731
            if extreme(rate_had) or extreme(rate_not):
                notes.append(
                    f"'{name}' is left out as a step of the outcome rather than a driver: {rate_had:.0%} of "
                    f"customers who had it and {rate_not:.0%} of those who did not have {label}."
                )
                X = X.drop(columns=key)
                del kinds[key]
        if X.shape[1] == 0:
            raise InsightError("every input is part of the outcome itself; nothing is left to explain it with")
    observed = X.notna().sum()
    for key, (kind, _) in kinds.items():
        if kind == "touchpoint":
            X[key] = X[key].fillna(0.0)
        else:
            X[key] = X[key].fillna(X[key].mean())
    if len(X) > max_rows:
        X = X.sample(n=max_rows, random_state=random_state)
    y = target.loc[X.index, "y"].to_numpy(dtype=float)
    sd = X.std(ddof=0)
    keep = [c for c in X.columns if sd[c] > 0 and observed[c] >= 2]
    X = X[keep]
    if not keep:
        raise InsightError("every input is constant among these customers; nothing can explain the outcome")
    if method == "logistic" and len(set(y)) < 2:
        raise InsightError(f"every customer has the same {label}; there is nothing to explain")
    X = _drop_collinear(X, kinds, notes)
    keep = list(X.columns)
    mu, sd = X.mean(), X.std(ddof=0)
    Z = ((X - mu) / sd).to_numpy()
    n, p = Z.shape
    if n <= p + 1:
        raise InsightError(f"{n} customers are too few for {p} inputs")
    X1 = np.column_stack([np.ones(n), Z])
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        while True:
            model = LogisticRegression(C=np.inf, max_iter=5000, tol=1e-10)
            model.fit(Z, y)
            beta = np.concatenate([model.intercept_, model.coef_[0]])
            # A standardised log-odds beyond MAX_LOGIT means the classes are (almost)
            # separated by that input: its estimate runs off to infinity. Leave it out.
            worst = int(np.argmax(np.abs(beta[1:])))
            if abs(beta[1 + worst]) <= MAX_LOGIT or Z.shape[1] == 1:
                break
            key = keep[worst]
            notes.append(f"{kinds[key][1]!r} is left out: it all but decides {label} on its own "
                         "(the model cannot estimate a finite effect for it).")
            keep = keep[:worst] + keep[worst + 1:]
            Z = np.delete(Z, worst, axis=1)
            X1 = np.delete(X1, 1 + worst, axis=1)
            sd = sd.drop(key)
            p -= 1
        prob = np.clip(model.predict_proba(Z)[:, 1], 1e-12, 1 - 1e-12)
        info = X1.T @ (X1 * (prob * (1 - prob))[:, None])
        cov = np.linalg.pinv(info)
        crit = stats.norm.ppf(0.975)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        pvals = 2 * stats.norm.sf(np.abs(beta / se))
        base = y.mean()
        ll = np.sum(y * np.log(prob) + (1 - y) * np.log(1 - prob))
        ll0 = n * (base * np.log(base) + (1 - base) * np.log(1 - base))
        fit = 1 - ll / ll0
    else:
        beta, *_ = np.linalg.lstsq(X1, y, rcond=None)
        resid = y - X1 @ beta
        dof = n - p - 1
        s2 = resid @ resid / dof
        cov = s2 * np.linalg.pinv(X1.T @ X1)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        crit = stats.t.ppf(0.975, dof)
        pvals = 2 * stats.t.sf(np.abs(beta / se), dof)
        base = y.mean()
        tss = np.sum((y - base) ** 2)
        fit = 1 - (resid @ resid) / tss if tss > 0 else float("nan")

    rows = []
    scale = score_scale(data)
    for j, key in enumerate(keep, start=1):
        kind, name = kinds[key]
        coef, lo, hi = beta[j], beta[j] - crit * se[j], beta[j] + crit * se[j]
        raw = np.array([coef, lo, hi]) / sd[key]
        effect = np.exp(raw) if method == "logistic" else raw
        rows.append(
            {
                "feature": key,
                "kind": kind,
                "label": f"{name} score" if kind == "stage score" else f"had '{name}'",
                "coef": coef,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": pvals[j],
                "effect": effect[0],
                "effect_ci_low": effect[1],
                "effect_ci_high": effect[2],
                "n_observed": int(observed[key]),
            }
        )
    table = pd.DataFrame(rows)
    table["reading"] = [_reading(r, method, label, scale) for _, r in table.iterrows()]
    table = table.reindex(table["coef"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    summary = _driver_summary(table, method, label, n, base)
    return KeyDrivers(outcome, method, n, table, float(base), float(fit), summary, notes)


MAX_VIF = 5.0
MAX_LOGIT = 8.0  # per standard deviation: an odds ratio of ~3000 per SD


def _drop_collinear(X: pd.DataFrame, kinds: dict, notes: list[str]) -> pd.DataFrame:
    """Drop inputs one at a time while any variance inflation factor exceeds MAX_VIF: their
    separate effects cannot be told apart (e.g. 'Add to cart' and 'Checkout')."""
    while X.shape[1] > 1:
        corr = np.corrcoef(X.to_numpy(), rowvar=False)
        vif = np.diag(np.linalg.pinv(corr))
        worst = int(np.argmax(vif))
        if vif[worst] <= MAX_VIF:
            break
        key = X.columns[worst]
        notes.append(
            f"{kinds[key][1]!r} is left out: it moves together with the other inputs (VIF {vif[worst]:.0f}), "
            "so its own effect cannot be separated from theirs."
        )
        X = X.drop(columns=key)
    return X


def _ratio(x: float) -> str:
    """An odds ratio with sensible precision: 0.17, 3.56, 12.4, 588."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _reading(row: pd.Series, method: str, label: str, scale: ScoreScale | None) -> str:
    unclear = row["ci_low"] <= 0 <= row["ci_high"]
    if method == "logistic":
        effect = (f"{_ratio(row['effect'])}x the odds of {label} "
                  f"(95% CI {_ratio(row['effect_ci_low'])}-{_ratio(row['effect_ci_high'])})")
    else:
        sign = "+" if row["effect"] >= 0 else "-"
        effect = (
            f"{sign}{abs(row['effect']):.2f} {label} (95% CI {row['effect_ci_low']:+.2f} to {row['effect_ci_high']:+.2f})"
        )
    if row["kind"] == "stage score":
        unit = "point" if scale is None or scale.high - scale.low > 2 else "step"
        text = f"Each extra {unit} on the {row['label']} goes with {effect}"
    else:
        text = f"Customers who {row['label']} show {effect} compared with those who did not"
    if unclear:
        text += "; not distinguishable from no effect"
    return text + "."


def _phrase(row: pd.Series) -> str:
    name = row["feature"].split(": ", 1)[1]
    return f"the {name} score" if row["kind"] == "stage score" else f"having '{name}'"


def _driver_summary(table: pd.DataFrame, method: str, label: str, n: int, base: float) -> str:
    sure = table[(table["ci_low"] > 0) | (table["ci_high"] < 0)]
    what = f"{100 * base:.0f}% {label}" if method == "logistic" else f"mean {label} {base:.1f}"
    if sure.empty:
        return f"Among {n:,} customers ({what}), no input explains {label} with confidence."
    top = sure.iloc[0]
    direction = "more" if top["coef"] > 0 else "less"
    if method == "linear":
        direction = "higher" if top["coef"] > 0 else "lower"
    others = ", ".join(_phrase(r) for _, r in sure.iloc[1:3].iterrows())
    tail = f"; next: {others}" if others else ""
    return f"Among {n:,} customers ({what}), {_phrase(top)} matters most (goes with {direction} {label}){tail}."
