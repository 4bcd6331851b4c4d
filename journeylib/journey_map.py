"""The journey map model: stages as columns, lanes of evidence in each stage.

Lanes, top to bottom: what customers do (top touchpoints), channels, emotion (mean score
with its 95% interval), NPS (promoters minus detractors with its interval), pain points,
comment themes (the most negative and the most positive), opportunities, quotes (the most
negative and the most positive verbatim comment) and, when a comparison is given, what
changed. Every item carries its evidence (n and share) so the map can be read, exported
and checked without going back to the data.

A survey alone (no touchpoint events) is a journey too: a stage's customers are then those
who answered there, and the lanes that need events (what customers do, channels,
drop-off) are left out with one note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import ibis
from ibis import _
import pandas as pd

from journeylib import insights
from journeylib.engine import execute
from journeylib.insights import format_score

from journeylib.reach import customer_reach
from journeylib.schema import ALL_PERSONAS, JourneyData, ScoreScale
from journeylib.voice import comment_rows

LANES: dict[str, str] = {
    "doing": "What customers do",
    "channels": "Channels",
    "emotion": "How they feel",
    "nps": "NPS",
    "pains": "Pain points",
    "themes": "Comment themes",
    "opportunities": "Opportunities",
    "quotes": "What they say",
    "changed": "What changed",
}
# The one line a survey-only map says instead of empty lanes.
NEEDS_EVENTS = ("What customers do, channels and drop-off need touchpoint events: this dataset is a survey alone; "
                "add a touchpoints file (on the Data page or with --touchpoints) to see them.")
EVERYONE = "All customers"


@dataclass
class MapItem:
    """One entry in a lane: its text and the evidence behind it."""

    text: str
    evidence: str = ""
    n: int | None = None
    share: float | None = None
    value: float | None = None  # a score, where the item has one


@dataclass
class JourneyMap:
    """A journey map for one group of customers (a persona or everyone)."""

    group: str
    customers: int
    stages: list[str]
    stage_customers: dict[str, int]
    lanes: dict[str, dict[str, list[MapItem]]]
    emotion: pd.DataFrame  # stage, mean, ci_low, ci_high, n, low_n (one row per stage with answers)
    overall_mean: float | None
    scale: ScoreScale | None
    pains: pd.DataFrame
    opportunities: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    pain_summary: str = ""  # the biggest pain point in words, or what was checked and what could not be
    survey_only: bool = False  # no touchpoint events: a stage's customers are those who answered there
    nps: pd.DataFrame | None = None  # stage_nps(): one row per stage with NPS answers
    themes: object | None = None  # journeylib.voice.Themes by stage, when the survey has comments
    changed: pd.DataFrame | None = None  # journeylib.compare.what_changed(), when a comparison is given
    changed_labels: tuple[str, str] = ("a", "b")

    @property
    def count_word(self) -> str:
        """How a stage's customers are counted: ``reached`` (events) or ``answered`` (a survey alone)."""
        return "answered" if self.survey_only else "reached"

    def items(self, lane: str, stage: str) -> list[MapItem]:
        return self.lanes.get(lane, {}).get(stage, [])

    def to_frame(self) -> pd.DataFrame:
        """Every item as one row: lane, stage, rank, text, evidence, n, share, value."""
        rows = []
        for lane, by_stage in self.lanes.items():
            for stage in self.stages:
                for rank, item in enumerate(by_stage.get(stage, []), start=1):
                    rows.append(
                        {
                            "lane": LANES[lane],
                            "stage": stage,
                            "rank": rank,
                            "text": item.text,
                            "evidence": item.evidence,
                            "n": item.n,
                            "share": item.share,
                            "value": item.value,
                        }
                    )
        return pd.DataFrame(rows, columns=["lane", "stage", "rank", "text", "evidence", "n", "share", "value"])


def persona_names(personas) -> list[str]:
    """Persona names in model order, from a PersonaResult or an assignments frame.

    Model order fixes each persona's colour, so the app and the exports agree; a bare frame
    falls back to the order of first appearance.
    """
    assignments = getattr(personas, "assignments", personas)
    if assignments is None or len(assignments) == 0:
        return []
    present = list(dict.fromkeys(assignments["persona"].astype(str)))
    model_order = [str(n) for n in (getattr(getattr(personas, "model", None), "names_", None) or [])]
    if set(present) <= set(model_order):
        return [n for n in model_order if n in present]
    return present


def for_persona(data: JourneyData, personas, persona: str | None) -> tuple[JourneyData, str]:
    """Restrict ``data`` to one persona's customers; returns (data, group label).

    ``personas`` is a PersonaResult or a DataFrame[customer_id, persona]; ``persona`` None or
    "all" means everyone. The name matches case-insensitively; an unknown name raises
    ValueError listing the known ones.
    """
    if persona is None or persona == ALL_PERSONAS or persona == EVERYONE:
        return data, EVERYONE
    assignments = getattr(personas, "assignments", personas)
    if assignments is None:
        raise ValueError(f"persona {persona!r} asked for, but no personas were found for this dataset")
    names = persona_names(assignments)
    match = [n for n in names if n.casefold() == str(persona).casefold()]
    if not match:
        raise ValueError(f"no persona named {persona!r}; personas are: {', '.join(names)}")
    ids = assignments.loc[assignments["persona"].astype(str) == match[0], "customer_id"]
    return data.filter(customer_ids=ids), match[0]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _top_per_stage(counts: pd.DataFrame, column: str, top: int) -> pd.DataFrame:
    counts = counts.sort_values(["stage", "customers", column], ascending=[True, False, True])
    return counts.groupby("stage", sort=False).head(top)


# A comment longer than this is a paragraph, not a quote for a map cell: among comments
# with the same score the map prefers one within it.
QUOTE_CHARS = 160


def _quotes(survey, stages) -> pd.DataFrame:
    """Per stage the lowest- and highest-scored non-blank comment (ties: one of at most
    :data:`QUOTE_CHARS` characters first, then shorter, then by customer id):
    DataFrame[stage, low, low_score, high, high_score, n]. A customer's comment counts once
    per stage with the mean of the scores it came with, as in the comment themes (a wide
    survey repeats one comment on every question's row)."""
    s = comment_rows(survey.filter(survey.stage.isin(list(stages))), "stage")
    s = s.filter(s.score.notnull()).mutate(comment=_.comment.strip()).filter(_.comment != "")
    length, cid = s.comment.length(), s.customer_id.cast("string")
    long = (length > QUOTE_CHARS).cast("int8")
    low = ibis.struct({"score": s.score, "long": long, "len": length, "id": cid})
    high = ibis.struct({"score": -s.score, "long": long, "len": length, "id": cid})
    # Arg-min over a (score, long, length, id) key in one grouped pass: no per-stage sort.
    return execute(s.group_by("stage").aggregate(
        low=s.comment.argmin(low), low_score=s.score.min(),
        high=s.comment.argmin(high), high_score=s.score.max(),
        n=s.count(),
    ))


NPS_COLUMNS = ["stage", "n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high"]


def stage_nps(data: JourneyData, stages=None) -> pd.DataFrame:
    """NPS per stage: of the customers reaching the stage or a later one (the funnel rule,
    as :func:`journeylib.compare.what_changed` counts it) or, for a survey alone, of those
    who answered at the stage. One NPS answer per customer
    (:func:`journeylib.emotions.nps_answers`); interval by
    :func:`journeylib.emotions.nps_interval`.
    DataFrame[:data:`NPS_COLUMNS`], stages in order, only stages with answers; empty when
    the survey has no NPS column."""
    from journeylib.emotions import DETRACTOR, PASSIVE, PROMOTER, nps_answers, nps_interval
    from journeylib.reach import furthest_stage, stage_index

    stages = [str(x) for x in (stages if stages is not None else data.stages)]
    empty = pd.DataFrame({c: pd.Series([], dtype="str" if c == "stage" else "float64") for c in NPS_COLUMNS})
    if data.survey is None or "nps" not in data.survey.columns or not stages:
        return empty
    a = nps_answers(data.survey)
    a = a.select(customer_id=a.customer_id.cast("string"), group=a.nps_group)
    if data.has_events:
        f = furthest_stage(data.events, stages)
        f = f.select(customer_id=f.customer_id.cast("string"), furthest=f.furthest)
        j = a.join(f, "customer_id")
        got = execute(j.group_by(["furthest", "group"]).agg(n=j.count()))
        rows = []
        for i, stage in enumerate(stages):
            at = got[got["furthest"].notna() & (got["furthest"] >= i)]
            rows.append({"stage": stage, **{g: int(at.loc[at["group"] == g, "n"].sum())
                                            for g in (PROMOTER, PASSIVE, DETRACTOR)}})
        counts = pd.DataFrame(rows)
    else:
        sv = data.survey
        sv = sv.filter(sv.stage.isin(stages) & sv.score.notnull() & ~sv.score.isnan())
        at = sv.select(customer_id=sv.customer_id.cast("string"), stage=sv.stage.cast("string")).distinct()
        j = a.join(at, "customer_id")
        got = execute(j.group_by(["stage", "group"]).agg(n=j.count()))
        counts = got.pivot_table(index="stage", columns="group", values="n", aggfunc="sum", fill_value=0)
        counts = counts.reindex(columns=[PROMOTER, PASSIVE, DETRACTOR], fill_value=0)
        counts = counts.reindex([x for x in stages if x in counts.index]).reset_index()
    if counts.empty:
        return empty
    counts = counts.rename(columns={PROMOTER: "promoters", PASSIVE: "passives", DETRACTOR: "detractors"})
    counts[["promoters", "passives", "detractors"]] = counts[["promoters", "passives", "detractors"]].astype("int64")
    counts["n"] = counts[["promoters", "passives", "detractors"]].sum(axis=1).astype("int64")
    counts = counts[counts["n"] > 0].reset_index(drop=True)
    counts["nps"], counts["ci_low"], counts["ci_high"] = nps_interval(
        counts["promoters"], counts["detractors"], counts["n"])
    counts["stage"] = counts["stage"].astype("str")
    return counts[NPS_COLUMNS]


def build_journey_map(
    data: JourneyData,
    group: str = EVERYONE,
    top_touchpoints: int = 3,
    top_channels: int = 3,
    pains_per_stage: int = 2,
    top_opportunities: int = 5,
    min_answers: int = 10,
    min_n: int = 30,
    themes=True,
    changed: pd.DataFrame | None = None,
    changed_labels: tuple[str, str] = ("a", "b"),
) -> JourneyMap:
    """Fill the journey map lanes from ``data`` (already restricted to the group shown).

    Customers at a stage (``stage_customers``) follow DESIGN.md's funnel rule: those who
    reached it or a later stage; for a survey alone (no events), those who answered there
    (:func:`journeylib.voice.survey_coverage`). A touchpoint's or channel's share is of that number.
    Emotion: mean survey score per stage with a 95% t-interval (see
    :func:`journeylib.emotions.emotion_curve`); ``low_n`` below ``min_n`` answers. NPS per
    stage: :func:`stage_nps`. Pain points and opportunities come from
    :func:`journeylib.insights.pain_points` and :func:`journeylib.insights.opportunities`.
    Themes (``themes=True`` and a comment column): the most negative and the most positive
    theme per stage (:func:`journeylib.voice.theme_highlights`); ``themes`` may also be
    the :class:`journeylib.voice.Themes` by stage of this same data, found already (the
    app's cache), or False to leave the lane out. ``changed``, a frame of
    :func:`journeylib.compare.what_changed` (b minus a, ``changed_labels`` naming a and b),
    fills the "what changed" lane.
    """
    stages_all = list(data.stages)
    notes: list[str] = []
    ev = data.events
    survey_only = data.survey is not None and not data.has_events
    scale = insights.score_scale(data)

    emotion = pd.DataFrame(columns=["stage", "mean", "ci_low", "ci_high", "n", "low_n"])
    overall = scores = None
    if data.survey is not None:
        from journeylib.emotions import emotion_curve

        curve = emotion_curve(data.survey, data.stages, level="stage", personas=None, min_n=min_n)
        emotion = curve[curve["stage"].isin(stages_all)][["stage", "mean", "ci_low", "ci_high", "n", "low_n"]]
        emotion = emotion[emotion["n"] > 0].reset_index(drop=True)
        scores = insights.survey_scores(data.survey)
        overall = scores.overall

    if survey_only:
        from journeylib.voice import survey_coverage

        reach = None
        cov = survey_coverage(data)
        cov = cov[(cov["persona"] == ALL_PERSONAS) & cov["stage"].isin(stages_all)]
        answered = dict(zip(cov["stage"], cov["answered"].astype("int64")))
        sv = data.survey
        customers = int(execute(sv.customer_id.nunique()))
        shown = [s for s in stages_all if answered.get(s, 0) > 0 or s in set(emotion["stage"])]
        stage_customers = {s: int(answered.get(s, 0)) for s in shown}
    else:
        reach = customer_reach(ev, stages_all, journey=data.journey)
        customers = reach.customers
        # Customers at a stage by the funnel rule (reached it or a later one), as the funnel,
        # the report and the deck count them; a stage is shown when someone had an event in it.
        reached = dict(zip(*reach.reached(stages_all).to_dict("list").values()))
        had_events = set(reach.stages["stage"])
        shown = [s for s in stages_all if s in had_events or s in set(emotion["stage"])]
        stage_customers = {s: int(reached[s]) for s in shown}
    lanes: dict[str, dict[str, list[MapItem]]] = {lane: {s: [] for s in shown} for lane in LANES}

    if reach is not None:
        for counts, column, lane, top in ((reach.stage_touchpoints, "touchpoint", "doing", top_touchpoints),
                                          (reach.stage_channels, "channel", "channels", top_channels)):
            counts = counts[counts["stage"].isin(shown)]
            for r in _top_per_stage(counts, column, top).itertuples():
                base = stage_customers.get(r.stage, 0)
                share = r.customers / base
                lanes[lane][r.stage].append(
                    MapItem(str(getattr(r, column)), f"{int(r.customers):,} customers, {_pct(share)}",
                            int(r.customers), share)
                )

    for r in emotion.itertuples():
        ci = "" if pd.isna(r.ci_low) else f", 95% CI {r.ci_low:.1f}-{r.ci_high:.1f}"
        flag = " (few answers)" if bool(r.low_n) else ""
        lanes["emotion"][r.stage].append(
            MapItem(format_score(float(r.mean), scale), f"n={int(r.n):,} answers{ci}{flag}", int(r.n), None, float(r.mean))
        )

    nps_frame = stage_nps(data, shown) if data.survey is not None else None
    if nps_frame is not None:
        for r in nps_frame.itertuples():
            ci = "" if pd.isna(r.ci_low) else f"95% CI {r.ci_low:+.0f} to {r.ci_high:+.0f}, "
            lanes["nps"][r.stage].append(MapItem(
                f"NPS {r.nps:+.0f}",
                f"{ci}n={int(r.n):,}: {r.promoters / r.n:.0%} promoters, {r.detractors / r.n:.0%} detractors",
                int(r.n), None, float(r.nps)))

    pains = insights.pain_points(data, level="both", min_answers=min_answers, reach=reach, scores=scores)
    pains = pains[pains["stage"].isin(shown)].reset_index(drop=True)
    goal = data.goal
    if survey_only:
        # Nobody is seen leaving without events: only ratings are evidence.
        pains = pains[pains["score_gap"] > 0].assign(left=0, drop_off_rate=0.0).reset_index(drop=True)
        notes.append(NEEDS_EVENTS)
    elif goal is None:
        # Leaving is leaving without the goal: with none named, only ratings are evidence.
        pains = pains[pains["score_gap"] > 0].assign(left=0, drop_off_rate=0.0).reset_index(drop=True)
        notes.append(f"Drop-off needs a goal: {SET_GOAL} to see where customers leave without reaching it.")
    for stage, part in pains.groupby("stage", sort=False):
        for r in part.head(pains_per_stage).itertuples():
            evidence = pain_evidence(r, goal.label if goal is not None else None, overall)
            if evidence:
                lanes["pains"][stage].append(MapItem(
                    f"'{r.touchpoint}'" if r.level == "touchpoint" else "Stage overall",
                    evidence, int(r.score_n if survey_only else r.customers), None if survey_only else r.drop_off_rate,
                    r.mean_score))

    opp = insights.opportunities(pains, group=_group_phrase(group), scale=scale, top=top_opportunities,
                                 goal_label=data.goal.label if data.goal is not None else None)
    for r in opp.itertuples():
        # At most two per stage on the map; the full ranked list is in ``opportunities``.
        if r.stage in lanes["opportunities"] and len(lanes["opportunities"][r.stage]) < 2:
            text = r.sentence.split(": ", 1)[1] if ": " in r.sentence else r.sentence
            if not text.startswith("no evidence"):
                lanes["opportunities"][r.stage].append(MapItem(text, f"impact {r.impact:,.0f}",
                                                               None if survey_only else int(r.customers)))

    found_themes = None
    if data.survey is not None and "comment" in data.survey.columns:
        for q in _quotes(data.survey, shown).itertuples():
            picks = [(q.low, q.low_score)] if q.low_score == q.high_score else [(q.low, q.low_score), (q.high, q.high_score)]
            for comment, score in picks:
                lanes["quotes"][q.stage].append(
                    MapItem(
                        str(comment),
                        f"rated {format_score(float(score), scale)} · 1 of {int(q.n):,} comments",
                        int(q.n),
                        None,
                        float(score),
                    )
                )
        if themes is not False and themes is not None and any(lanes["quotes"].values()):
            found_themes = _theme_lane(data, shown, scale, lanes["themes"],
                                       None if themes is True else themes)

    if data.survey is None:
        notes.append("No survey answers: how customers feel, rated pain points and quotes need a survey file.")
    if not survey_only and "channel" not in ev.columns:
        notes.append("No channels: map a channel column on the Data page to see them.")
    elif not survey_only and shown and not any(lanes["channels"].values()):
        notes.append("No event at these stages names a channel.")
    return with_changes(JourneyMap(
        group=group,
        customers=customers,
        stages=shown,
        stage_customers=stage_customers,
        lanes=lanes,
        emotion=emotion,
        overall_mean=overall,
        scale=scale,
        pains=pains,
        opportunities=opp,
        notes=notes,
        pain_summary=pain_summary(pains, data, overall),
        survey_only=survey_only,
        nps=nps_frame,
        themes=found_themes,
    ), changed, changed_labels)


def with_changes(jm: JourneyMap, changed: pd.DataFrame | None, labels: tuple[str, str] = ("a", "b")) -> JourneyMap:
    """A copy of ``jm`` whose "what changed" lane holds ``changed`` (a frame of
    :func:`journeylib.compare.what_changed`, b minus a, ``labels`` naming a and b; None or
    empty: the lane is left empty). The map itself is not built again, so an app can keep
    one map per view and lay each comparison over it."""
    lanes = {lane: dict(by_stage) for lane, by_stage in jm.lanes.items()}
    lanes["changed"] = {stage: [] for stage in jm.stages}
    if changed is not None and len(changed):
        _changed_lane(changed, labels, lanes["changed"])
    return replace(jm, lanes=lanes, changed=changed, changed_labels=tuple(labels))


def _theme_lane(data: JourneyData, stages, scale, lane: dict[str, list[MapItem]], found=None):
    """The themes lane: per stage its most negative and most positive comment theme."""
    from journeylib.voice import comment_themes, theme_highlights

    if found is None or getattr(found, "by", None) != "stage":
        found = comment_themes(data.survey, by="stage", order=stages, scale=scale)
    table = found.table.set_index(["stage", "theme_id"])
    for h in theme_highlights(found).itertuples():
        if h.group not in lane:
            continue
        for side, label, tid in (("Negative", h.negative, h.negative_id), ("Positive", h.positive, h.positive_id)):
            if not tid:
                continue
            row = table.loc[(h.group, tid)]
            score = "" if pd.isna(row["mean_score"]) else f", mean score {format_score(float(row['mean_score']), scale)}"
            lane[h.group].append(MapItem(f"{side}: {label}", f"{int(row['comments']):,} comments "
                                         f"({_pct(float(row['share']))}){score}", int(row["comments"]),
                                         float(row["share"]), None if pd.isna(row["mean_score"]) else float(row["mean_score"])))
    return found


CHANGED_WORDS = {"reached": "Reach", "converted": "Conversion", "score": "Mean score", "nps": "NPS",
                 "csat": "CSAT", "pain": "Top pain point"}


def changed_text(r) -> tuple[str, str]:
    """One "what changed" row (of :func:`journeylib.compare.what_changed`) as (text,
    evidence): the difference b minus a, marked ▲/▼ when significant (p < 0.05, the
    comparison's own rule), with both values and the interval."""
    from journeylib.compare import is_share, outcome_column

    share = is_share(r.measure)
    unit = (lambda v: f"{100 * v:+.0f} pts") if share else (lambda v: f"{v:+.0f}") if r.measure == "nps" else \
        (lambda v: f"{v:+.2f}")
    value = (lambda v: f"{v:.0%}") if share else (lambda v: f"{v:+.0f}") if r.measure == "nps" else \
        (lambda v: f"{v:.2f}")
    mark = ("▲ " if r.difference > 0 else "▼ ") if bool(r.significant) else ""
    word = CHANGED_WORDS.get(r.measure) or outcome_column(r.measure) or r.measure
    if r.measure == "pain":
        same = r.top_a == r.top_b
        word = f"'{r.top_b or r.top_a}' leaving" if same or not r.top_a or not r.top_b else \
            f"Top pain '{r.top_a}' → '{r.top_b}'; leaving after '{r.top_b}'"
    diff = "–" if pd.isna(r.difference) else unit(r.difference)
    test = "significant" if bool(r.significant) else "no test" if pd.isna(r.p_value) else "not significant"
    a = "–" if pd.isna(r.a) else value(r.a)
    b = "–" if pd.isna(r.b) else value(r.b)
    ci = "" if pd.isna(r.ci_low) else f", 95% CI {unit(r.ci_low)} to {unit(r.ci_high)}"
    return f"{mark}{word} {diff}", f"{a} → {b}{ci} ({test})"


def _changed_lane(changed: pd.DataFrame, labels, lane: dict[str, list[MapItem]]) -> None:
    for r in changed.itertuples():
        if r.stage in lane:
            text, evidence = changed_text(r)
            lane[r.stage].append(MapItem(text, evidence, int(r.n_b) if pd.notna(r.n_b) else None, None,
                                         None if pd.isna(r.difference) else float(r.difference)))


SET_GOAL = "name one on the Data page or with --goal"


def pain_summary(pains: pd.DataFrame, data: JourneyData, overall: float | None) -> str:
    """The biggest pain point in words, or, when there is none, what was checked and what
    could not be (never "no pain points" where the data could not tell): the insights'
    own sentence, so the map, the page, the report and the deck say the same."""
    return insights.pain_point_summary(pains, data)


def pain_evidence(r, goal: str | None, overall: float | None) -> str:
    """The numbers behind one pain point, each named by its own rule. Drop-off is claimed
    only towards a goal; a rating when the pain points count it as below average, with the
    decimals that tell it from the overall mean."""
    bits = []
    if r.left > 0 and goal is not None:
        base = "who had it" if r.level == "touchpoint" else "with events here"
        bits.append(f"{int(r.left):,} of the {int(r.customers):,} {base} leave without {goal} ({_pct(r.drop_off_rate)})")
    if r.score_gap > 0 and overall is not None and pd.notna(r.mean_score):
        digits = 1 if round(float(r.mean_score), 1) != round(float(overall), 1) else 2
        bits.append(f"rated {r.mean_score:.{digits}f} vs {overall:.{digits}f} overall (n={int(r.score_n):,})")
    return "; ".join(bits)


def _group_phrase(group: str) -> str:
    return "customers" if group == EVERYONE else group
