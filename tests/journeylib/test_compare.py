"""Two views compared: view text, applying views, and every difference against scipy/numpy
computed independently on hand-made data."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from journeylib import compare as C
from journeylib.engine import Engine
from journeylib.journey import Goal, JourneyModel
from journeylib.schema import JourneyData

T0 = pd.Timestamp("2024-03-01 09:00")
STAGES = ("Look", "Try", "Buy", "Stay")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def make_data(engine, journeys, survey=None, customers=None, goal=Goal("stage", "Buy"), day_of=None):
    """journeys: customer -> list of stages (one event per stage, touchpoint 'tp <stage>');
    day_of: customer -> day offset of their events (default 0)."""
    rows = []
    for cid, path in journeys.items():
        day = (day_of or {}).get(cid, 0)
        for i, stage in enumerate(path):
            rows.append((cid, T0 + pd.Timedelta(days=day, minutes=i), f"tp {stage}", stage,
                         "web" if cid.startswith("w") else "app"))
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "stage", "channel"])
    ev.insert(2, "seq", range(len(ev)))
    ev = ev.astype({"customer_id": "str", "touchpoint": "str", "stage": "str", "channel": "str",
                    "timestamp": "datetime64[us]", "seq": "int64"})
    sv = None
    if survey is not None:
        sv = pd.DataFrame(survey)
        types = {"customer_id": "str", "stage": "str", "touchpoint": "str", "score": "float64", "nps": "float64"}
        sv = engine.table(sv.astype({c: t for c, t in types.items() if c in sv.columns}))
    cu = None
    if customers is not None:
        cu = engine.table(pd.DataFrame(customers).astype({"customer_id": "str"}))
    return JourneyData(events=engine.table(ev), survey=sv, customers=cu,
                       journey=JourneyModel(stages=STAGES, goal=goal))


# ----------------------------------------------------------------------------- view text


def test_parse_view_forms_and_round_trip():
    v = C.parse_view("persona=Bargain hunters, channel=Web,from=2024-01-01,to=2024-03-31")
    assert v.personas == ("Bargain hunters",) and v.channels == ("Web",)
    assert (v.start, v.end) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert C.parse_view(v.text) == v
    assert C.parse_view("attribute:Plan=pro").attributes == (("Plan", ("pro",)),)
    assert C.parse_view("attribute:plan=pro,attribute:plan=team").attributes == (("plan", ("pro", "team")),)
    assert C.parse_view("dataset=last_quarter.csv").dataset == "last_quarter.csv"
    # A value holding a comma: the piece without '=' belongs to the value before it.
    assert C.parse_view("persona=Loyal, high value").personas == ("Loyal, high value",)
    assert C.parse_view("all") == C.View() == C.parse_view("")
    assert C.View().text == "all" and C.View().label == "All customers"


@pytest.mark.parametrize("text, needle", [
    ("frm=2024-01-01", "unknown condition 'frm'"),
    ("from=2024-1-1", "from: expected a date YYYY-MM-DD"),
    ("to=2024-02-30", "to: '2024-02-30' is not a calendar date"),
    ("from=2024-03-01,to=2024-02-01", "from 2024-03-01 is after to 2024-02-01"),
    ("persona=", "persona needs a value"),
    ("attribute:=pro", "attribute:COLUMN=VALUE"),
    ("from=2024-01-01,from=2024-02-01", "from is given twice"),
    ("Bargain hunters", "is not a condition"),
])
def test_bad_views_say_which_part_is_wrong(text, needle):
    with pytest.raises(C.ViewError) as err:
        C.parse_view(text)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- applying views


def people(engine):
    journeys = {"w1": ["Look", "Try", "Buy"], "w2": ["Look"], "a1": ["Look", "Try"], "a2": ["Look", "Try", "Buy"]}
    survey = {"customer_id": ["w1", "a1", "a2"], "stage": ["Look", "Try", "Buy"], "touchpoint": [None] * 3,
              "score": [4.0, 2.0, 5.0], "tier": ["gold", "silver", "gold"]}
    customers = {"customer_id": ["w1", "w2", "a1", "a2"], "plan": ["Pro", "basic", "pro ", "basic"]}
    return make_data(engine, journeys, survey, customers, day_of={"w1": 0, "w2": 10, "a1": 20, "a2": 30})


def ids(data):
    return sorted(data.events.customer_id.execute().unique())


def test_apply_view_each_condition(engine):
    data = people(engine)
    personas = pd.DataFrame({"customer_id": ["w1", "w2", "a1", "a2"], "persona": ["Fast", "Slow", "Fast", "Slow"]})
    assert ids(C.apply_view(data, "persona=fast", personas)) == ["a1", "w1"]
    assert ids(C.apply_view(data, "channel=WEB")) == ["w1", "w2"]
    assert ids(C.apply_view(data, "from=2024-03-05,to=2024-03-25")) == ["a1", "w2"]
    assert ids(C.apply_view(data, "attribute:plan=pro")) == ["a1", "w1"]  # trimmed, case ignored
    assert ids(C.apply_view(data, "attribute:tier=gold")) == ["a2", "w1"]  # from the survey
    assert ids(C.apply_view(data, "attribute:plan=pro,channel=app")) == ["a1"]
    assert ids(C.apply_view(data, "persona=Slow,persona=Fast", personas)) == ["a1", "a2", "w1", "w2"]
    other = people(engine)
    assert C.apply_view(data, "dataset=old.csv", load=lambda name: other).events is other.events


@pytest.mark.parametrize("text, needle", [
    ("persona=Nobody", "no persona named 'Nobody'; personas are: Fast, Slow"),
    ("channel=email", "no channel named 'email'; channels are: app, web"),
    ("attribute:colour=red", "attribute column 'colour' is in none of the files"),
    ("attribute:plan=team", "no customer has plan = 'team'; values include: basic, Pro, pro"),
    ("dataset=old.csv", "no way to open another dataset"),
])
def test_views_that_cannot_be_applied(engine, text, needle):
    data = people(engine)
    personas = pd.DataFrame({"customer_id": ["w1", "w2"], "persona": ["Fast", "Slow"]})
    with pytest.raises(C.ViewError) as err:
        C.apply_view(data, text, personas)
    assert needle in str(err.value)


def test_a_view_that_leaves_no_one(engine):
    data = make_data(engine, {"w1": ["Look"], "a1": ["Look", "Try"]})
    with pytest.raises(C.ViewError, match="'from=2030-01-01' matches no customer"):
        C.apply_view(data, "from=2030-01-01")


def test_persona_view_without_personas(engine):
    with pytest.raises(C.ViewError, match="needs the persona of each customer"):
        C.apply_view(people(engine), "persona=Fast")


# ----------------------------------------------------------------------------- the tests of difference


def pooled_z(x1, n1, x2, n2):
    """Written out by hand: p-value of the pooled z-test and the Wald interval of p2 - p1."""
    p1, p2 = x1 / n1, x2 / n2
    p = (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    half = 1.959963984540054 * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return p2 - p1, p2 - p1 - half, p2 - p1 + half, 2 * (1 - stats.norm.cdf(abs(z)))


def hand_views(engine):
    """a: 10 customers, b: 12, with furthest stages counted below."""
    a = {f"a{i}": STAGES[: f] for i, f in enumerate([1, 1, 2, 2, 2, 3, 3, 3, 4, 4], start=1)}
    b = {f"b{i}": STAGES[: f] for i, f in enumerate([1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4], start=1)}
    scores_a = {"Look": [5, 4, 4, 3, 5], "Try": [2, 3, 3, 1]}
    scores_b = {"Look": [4, 4, 3, 3, 2, 3], "Try": [4, 5, 4, 3, 5, 4, 4]}
    nps_a = [10, 9, 8, 3, 6, 10, 7]  # 3 promoters, 2 passives, 2 detractors
    nps_b = [10, 10, 9, 9, 8, 2, 10, 9]  # 6 promoters, 1 passive, 1 detractor

    def survey(prefix, scores, nps):
        rows = []
        for stage, values in scores.items():
            rows += [(f"{prefix}{i}", stage, float(v), None) for i, v in enumerate(values, start=1)]
        rows += [(f"{prefix}{i}", None, None, float(v)) for i, v in enumerate(nps, start=1)]
        return pd.DataFrame(rows, columns=["customer_id", "stage", "score", "nps"]).assign(touchpoint=None)

    both = {**a, **b}
    data = make_data(engine, both, survey=pd.concat([survey("a", scores_a, nps_a), survey("b", scores_b, nps_b)]))
    va = data.filter(customer_ids=list(a))
    vb = data.filter(customer_ids=list(b))
    return va, vb, (a, b, scores_a, scores_b, nps_a, nps_b)


def test_reached_and_converted_equal_the_pooled_z_test(engine):
    va, vb, (a, b, *_) = hand_views(engine)
    table = C.compare(va, vb).table.set_index(["measure", "stage"])
    assert list(table.loc["reached"].index) == ["Look", "Try", "Buy"]  # the funnel, up to the goal stage
    for stage, at_least in (("Look", 1), ("Try", 2), ("Buy", 3)):
        xa = sum(len(p) >= at_least for p in a.values())
        xb = sum(len(p) >= at_least for p in b.values())
        row = table.loc[("reached", stage)]
        assert (row["n_a"], row["n_b"]) == (10, 12)
        assert row["a"] == pytest.approx(xa / 10) and row["b"] == pytest.approx(xb / 12)
        if stage == "Look":  # everyone: nothing to test
            assert np.isnan(row["p_value"]) and not row["significant"]
            continue
        diff, lo, hi, p = pooled_z(xa, 10, xb, 12)
        assert (row["difference"], row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx((diff, lo, hi, p))
    # Converted = reached Buy or a later stage, one row named after the goal.
    conv = table.loc[("converted", "Buy")]
    xa = sum(len(p) >= 3 for p in a.values())
    xb = sum(len(p) >= 3 for p in b.values())
    assert (xa, xb) == (5, 9)
    assert conv["p_value"] == pytest.approx(pooled_z(xa, 10, xb, 12)[3])


def test_scores_equal_scipy_welch(engine):
    va, vb, (_, _, scores_a, scores_b, _, _) = hand_views(engine)
    table = C.compare(va, vb).table
    score = table[table["measure"] == "score"].set_index("stage")
    assert list(score.index) == ["Look", "Try"]
    for stage in ("Look", "Try"):
        sa, sb = np.array(scores_a[stage], float), np.array(scores_b[stage], float)
        ref = stats.ttest_ind(sb, sa, equal_var=False)
        ci = ref.confidence_interval(0.95)
        row = score.loc[stage]
        assert row["a"] == pytest.approx(sa.mean()) and row["b"] == pytest.approx(sb.mean())
        assert row["difference"] == pytest.approx(sb.mean() - sa.mean())
        assert row["p_value"] == pytest.approx(ref.pvalue)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
        assert (row["n_a"], row["n_b"]) == (len(sa), len(sb))


def test_nps_bootstrap_agrees_with_resampling_customers(engine):
    va, vb, (*_, nps_a, nps_b) = hand_views(engine)
    row = C.compare(va, vb, seed=3, n_boot=4000).table.set_index("measure").loc["nps"]
    assert row["stage"] == C.ALL_STAGES and (row["n_a"], row["n_b"]) == (7, 8)
    assert row["a"] == pytest.approx(100 * (3 - 2) / 7) and row["b"] == pytest.approx(100 * (6 - 1) / 8)

    # The same bootstrap done the slow way: scipy resampling each customer's answer.
    def kind(v):
        v = np.asarray(v, float)
        return np.where(v >= 9, 1.0, np.where(v >= 7, 0.0, -1.0))

    ref = stats.bootstrap((kind(nps_b), kind(nps_a)), lambda x, y, axis: 100 * (x.mean(axis) - y.mean(axis)),
                          n_resamples=20000, method="percentile", rng=np.random.default_rng(0))
    # Monte Carlo error of a percentile at 4000 draws on these few customers: a few points.
    assert row["ci_low"] == pytest.approx(ref.confidence_interval.low, abs=6)
    assert row["ci_high"] == pytest.approx(ref.confidence_interval.high, abs=6)
    d = ref.bootstrap_distribution
    p_ref = min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0)))
    assert row["p_value"] == pytest.approx(p_ref, abs=0.05)
    # Seeded: the same seed gives the same interval; p < 0.05 exactly when 0 is outside it.
    again = C.compare(va, vb, seed=3, n_boot=4000).table.set_index("measure").loc["nps"]
    assert (again["ci_low"], again["ci_high"], again["p_value"]) == (row["ci_low"], row["ci_high"], row["p_value"])
    assert row["significant"] == (not (row["ci_low"] <= 0 <= row["ci_high"]))


def test_nps_bootstrap_is_the_multinomial_draw_it_documents():
    got = C.nps_bootstrap([3, 2, 2], [6, 1, 1], n_boot=500, seed=9)
    rng = np.random.default_rng(9)
    da = rng.multinomial(7, np.array([3, 2, 2]) / 7, size=500)
    db = rng.multinomial(8, np.array([6, 1, 1]) / 8, size=500)
    diffs = 100 * (db[:, 0] - db[:, 2]) / 8 - 100 * (da[:, 0] - da[:, 2]) / 7
    assert (got.ci_low[0], got.ci_high[0]) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])))


def test_welch_edge_cases_give_nan_not_a_claim():
    d = C.welch([1, 3], [4.0, 3.0], [np.nan, 0.0], [5, 3], [3.0, 3.0], [1.0, 0.0])
    assert np.isnan(d.p_value).all() and np.isnan(d.ci_low).all()
    assert d.difference.tolist() == [-1.0, 0.0]
    d = C.two_proportions([0], [0], [3], [4])
    assert np.isnan(d.p_value[0]) and np.isnan(d.a[0]) and d.b[0] == 0.75


def test_a_planted_change_is_flagged_and_an_unchanged_stage_is_not(engine):
    rng = np.random.default_rng(2024)
    journeys, rows = {}, []
    for view, p_try, p_buy, shift in (("a", 0.8, 0.4, 0.0), ("b", 0.8, 0.55, 0.6)):
        for i in range(1500):
            cid = f"{view}{i}"
            path = ["Look"]
            if rng.random() < p_try:
                path.append("Try")
                if rng.random() < p_buy / p_try:
                    path.append("Buy")
            journeys[cid] = path
            rows.append((cid, "Look", float(np.clip(np.round(rng.normal(3.5, 1)), 1, 5)), None))
            rows.append((cid, "Try", float(np.clip(np.round(rng.normal(3.0 + shift, 1)), 1, 5)), None))
    survey = pd.DataFrame(rows, columns=["customer_id", "stage", "score", "touchpoint"])
    data = make_data(engine, journeys, survey=survey)
    va = data.filter(customer_ids=[c for c in journeys if c.startswith("a")])
    vb = data.filter(customer_ids=[c for c in journeys if c.startswith("b")])
    t = C.compare(va, vb).table.set_index(["measure", "stage"])
    assert t.loc[("reached", "Buy"), "significant"] and t.loc[("reached", "Buy"), "difference"] > 0.1
    assert not t.loc[("reached", "Try"), "significant"]
    assert t.loc[("score", "Try"), "significant"] and t.loc[("score", "Try"), "ci_low"] > 0.3
    assert not t.loc[("score", "Look"), "significant"]


def test_no_goal_leaves_out_converted_with_a_note(engine):
    va, vb, _ = hand_views(engine)
    import dataclasses

    va = dataclasses.replace(va, journey=JourneyModel(stages=STAGES, goal=None))
    vb = dataclasses.replace(vb, journey=JourneyModel(stages=STAGES, goal=None))
    result = C.compare(va, vb, level="touchpoint")
    assert "converted" not in set(result.table["measure"])
    assert any(n.startswith("converted: no goal is set") for n in result.notes)
    # Reached runs over every stage without a goal stage; no touchpoint was rated.
    assert list(result.table.loc[result.table["measure"] == "reached", "stage"]) == list(STAGES)
    assert any("no survey answer names a touchpoint" in n for n in result.notes)


def test_a_touchpoint_goal_row_is_named_after_the_goal(engine):
    va, vb, (a, b, *_) = hand_views(engine)
    import dataclasses

    model = JourneyModel(stages=STAGES, goal=Goal("touchpoint", "tp Stay", name="Renewed"))
    va, vb = (dataclasses.replace(v, journey=model) for v in (va, vb))
    row = C.compare(va, vb).table.set_index("measure").loc["converted"]
    assert row["stage"] == "Renewed"
    assert (row["a"], row["b"]) == pytest.approx((2 / 10, 4 / 12))


def test_what_changed_lane(engine):
    va, vb, (a, b, scores_a, scores_b, *_) = hand_views(engine)
    lane = C.what_changed(va, vb, seed=1)
    assert tuple(lane.columns) == C.WHAT_CHANGED_COLUMNS
    reach = lane[lane["measure"] == "reached"].set_index("stage")
    assert reach.loc["Stay", "a"] == pytest.approx(2 / 10) and reach.loc["Stay", "b"] == pytest.approx(4 / 12)
    # Conversion among those reaching Try: a 5 of 8, b 9 of 11; none from the goal stage on.
    conv = lane[lane["measure"] == "converted"].set_index("stage")
    assert list(conv.index) == ["Look", "Try"]
    assert (conv.loc["Try", "n_a"], conv.loc["Try", "n_b"]) == (8, 11)
    assert conv.loc["Try", "p_value"] == pytest.approx(pooled_z(5, 8, 9, 11)[3])
    score = lane[lane["measure"] == "score"].set_index("stage")
    assert score.loc["Try", "p_value"] == pytest.approx(
        stats.ttest_ind(scores_b["Try"], scores_a["Try"], equal_var=False).pvalue)
    assert set(lane["measure"]) >= {"reached", "converted", "score", "nps"}


def test_counts_and_pains_kept_per_view_give_the_same_tables(engine):
    """The app counts each side once (view_counts) and ranks its pain points once (level
    "both"): compare and what_changed from those equal what they count themselves."""
    from journeylib.insights import pain_points

    va, vb, _ = hand_views(engine)
    counts = (C.view_counts(va), C.view_counts(vb))
    for level in ("stage", "touchpoint"):
        pd.testing.assert_frame_equal(C.compare(va, vb, level=level, counts=counts).table,
                                      C.compare(va, vb, level=level).table)
    lane = C.what_changed(va, vb, seed=1)
    given = C.what_changed(va, vb, seed=1, counts=counts, pains=(pain_points(va), pain_points(vb)))
    pd.testing.assert_frame_equal(given, lane)
    assert (lane["measure"] == "pain").any()  # the pains given are read, not skipped


def test_a_survey_only_comparison_says_what_it_cannot_compute(engine):
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype="str"), "timestamp": pd.Series([], dtype="datetime64[us]"),
                          "seq": pd.Series([], dtype="int64"), "touchpoint": pd.Series([], dtype="str"),
                          "stage": pd.Series([], dtype="str"), "channel": pd.Series([], dtype="str")})
    survey = engine.table(pd.DataFrame({"customer_id": ["s1", "s2", "s3", "s4"], "stage": ["Look"] * 4,
                                        "touchpoint": ["x"] * 4, "score": [1.0, 2.0, 4.0, 5.0]}))
    data = JourneyData(events=engine.table(empty), survey=survey, journey=JourneyModel(stages=STAGES,
                                                                                      goal=Goal("stage", "Buy")))
    a, b = data.filter(customer_ids=["s1", "s2"]), data.filter(customer_ids=["s3", "s4"])
    result = C.compare(a, b)
    assert list(result.table["measure"]) == ["score"]
    assert any(n.startswith("reached: no touchpoint events") for n in result.notes)
    assert any(n.startswith("converted: the goal 'Buy' is a stage reached, which needs touchpoint events")
               for n in result.notes)
    row = result.table.iloc[0]
    ref = stats.ttest_ind([4.0, 5.0], [1.0, 2.0], equal_var=False)
    assert row["p_value"] == pytest.approx(ref.pvalue)


def test_persona_shares_by_the_pooled_z_test(engine):
    va, vb, (a, b, *_) = hand_views(engine)
    personas = pd.DataFrame({"customer_id": list(a)[:6] + list(b)[:3], "persona": ["P"] * 4 + ["Q"] * 2 + ["P"] * 3})
    got = C.persona_shares(va, vb, personas).set_index("persona")
    assert set(got.index) == {"P", "Q", "(unassigned)"}
    assert (got.loc["P", "a"], got.loc["P", "b"]) == pytest.approx((4 / 10, 3 / 12))
    assert got.loc["(unassigned)", "b"] == pytest.approx(9 / 12)
    assert got.loc["P", "p_value"] == pytest.approx(pooled_z(4, 10, 3, 12)[3])


# ----------------------------------------------------------------------------- CSAT and outcome columns


def outcome_views(engine):
    """hand_views on a 1-5 scale, with two outcome columns on the customers: satisfaction
    (yes/no) and an overall rating (a number), each read once per customer."""
    from journeylib.schema import ScoreScale

    va, vb, parts = hand_views(engine)
    a, b = parts[0], parts[1]
    rng = np.random.default_rng(4)
    ids = list(a) + list(b)
    sat = ["satisfied" if x else "not satisfied" for x in rng.random(len(ids)) < np.where(
        [i.startswith("a") for i in ids], 0.3, 0.8)]
    overall = np.round(rng.normal(np.where([i.startswith("a") for i in ids], 6.0, 7.5), 1.2), 1)
    customers = pd.DataFrame({"customer_id": ids, "satisfaction": sat, "overall": overall})
    table = engine.table(customers.astype({"customer_id": "str"}))
    scale = ScoreScale(1.0, 5.0)
    out = []
    for v, keep in ((va, list(a)), (vb, list(b))):
        kept = table.filter(table.customer_id.isin(keep))
        out.append(dataclasses.replace(v, customers=kept, score_scale=scale))
    return out[0], out[1], parts, customers


def test_csat_per_stage_is_the_two_proportion_test_of_top_box_answers(engine):
    va, vb, (_, _, scores_a, scores_b, _, _), _ = outcome_views(engine)
    table = C.compare(va, vb).table
    csat = table[table["measure"] == C.CSAT].set_index("stage")
    assert list(csat.index) == ["Look", "Try"]
    for stage in ("Look", "Try"):
        xa, na = sum(s >= 4 for s in scores_a[stage]), len(scores_a[stage])
        xb, nb = sum(s >= 4 for s in scores_b[stage]), len(scores_b[stage])
        row = csat.loc[stage]
        assert (row["n_a"], row["n_b"]) == (na, nb)
        assert (row["a"], row["b"]) == pytest.approx((xa / na, xb / nb))
        # The pooled z-test's p-value is the uncorrected chi-square test's of the 2x2 table.
        chi = stats.chi2_contingency([[xa, na - xa], [xb, nb - xb]], correction=False)
        assert row["p_value"] == pytest.approx(chi.pvalue)
        diff, lo, hi, _ = pooled_z(xa, na, xb, nb)
        assert (row["difference"], row["ci_low"], row["ci_high"]) == pytest.approx((diff, lo, hi))
    # Try: a 0 of 4 in the top box, b 6 of 7: a planted change, flagged.
    assert bool(csat.loc["Try", "significant"]) and not bool(csat.loc["Look", "significant"])
    assert C.is_share(C.CSAT)
    # Without a scale there is no CSAT, and a note says why.
    plain_a, plain_b, _ = hand_views(engine)
    result = C.compare(plain_a, plain_b)
    assert not (result.table["measure"] == C.CSAT).any()
    assert any(n.startswith("csat: the scores fit no known scale") for n in result.notes)


def test_outcome_columns_per_stage_against_scipy(engine):
    va, vb, (a, b, scores_a, scores_b, _, _), customers = outcome_views(engine)
    table = C.compare(va, vb).table
    assert {C.SHARE_PREFIX + "satisfaction", C.MEAN_PREFIX + "overall"} <= set(table["measure"])
    by_id = customers.set_index("customer_id")
    for stage in ("Look", "Try"):
        # The customers who answered at the stage, each once (a1..aN answered the stage's scores).
        who_a = [f"a{i}" for i in range(1, len(scores_a[stage]) + 1)]
        who_b = [f"b{i}" for i in range(1, len(scores_b[stage]) + 1)]
        sat = table[(table["measure"] == "share:satisfaction") & (table["stage"] == stage)].iloc[0]
        xa = int((by_id.loc[who_a, "satisfaction"] == "satisfied").sum())
        xb = int((by_id.loc[who_b, "satisfaction"] == "satisfied").sum())
        assert (sat["n_a"], sat["n_b"]) == (len(who_a), len(who_b))
        assert (sat["a"], sat["b"]) == pytest.approx((xa / len(who_a), xb / len(who_b)))
        chi = stats.chi2_contingency([[xa, len(who_a) - xa], [xb, len(who_b) - xb]], correction=False)
        assert sat["p_value"] == pytest.approx(chi.pvalue)
        mean = table[(table["measure"] == "mean:overall") & (table["stage"] == stage)].iloc[0]
        ya, yb = by_id.loc[who_a, "overall"], by_id.loc[who_b, "overall"]
        ref = stats.ttest_ind(yb, ya, equal_var=False)
        assert (mean["a"], mean["b"]) == pytest.approx((ya.mean(), yb.mean()))
        assert mean["p_value"] == pytest.approx(ref.pvalue)
        ci = ref.confidence_interval(0.95)
        assert (mean["ci_low"], mean["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert C.is_share("share:satisfaction") and not C.is_share("mean:overall")
    assert C.outcome_column("mean:overall") == "overall" and C.outcome_column("score") is None


def test_what_changed_carries_csat_and_outcomes_per_stage(engine):
    from journeylib.journey_map import changed_text

    va, vb, _, _ = outcome_views(engine)
    full = C.compare(va, vb).table.set_index(["measure", "stage"])
    lane = C.what_changed(va, vb, seed=1)
    for measure in (C.CSAT, "share:satisfaction", "mean:overall"):
        rows = lane[lane["measure"] == measure].set_index("stage")
        assert list(rows.index) == ["Look", "Try"]
        for stage in rows.index:
            assert rows.loc[stage, "p_value"] == pytest.approx(full.loc[(measure, stage), "p_value"])
    # The lane's order within a stage: score, CSAT, NPS, outcomes, then the top pain point.
    look = lane[lane["stage"] == "Look"]["measure"].tolist()
    assert look.index("score") < look.index(C.CSAT) < look.index("nps") < look.index("share:satisfaction")
    assert look[-1] == "pain"
    row = lane[(lane["measure"] == C.CSAT) & (lane["stage"] == "Try")].iloc[0]
    text, evidence = changed_text(row)
    assert text.startswith("▲ CSAT +") and text.endswith(" pts") and "0% → 86%" in evidence
    text, _ = changed_text(lane[(lane["measure"] == "mean:overall") & (lane["stage"] == "Try")].iloc[0])
    assert text.lstrip("▲▼ ").startswith("overall ")


def test_two_periods_of_a_survey_count_the_goal_of_the_customers_answering_in_each(engine):
    """A wide survey keeps 'Recommended' in its customers table: a period must count it only
    for those who answered in that period (it counted all 40 in both)."""
    from journeylib.ingest import load_journey

    rng = np.random.default_rng(5)
    days = pd.date_range("2020-01-01", periods=40, freq="30D")
    frame = pd.DataFrame({"review": [f"r{i}" for i in range(40)], "date": days.strftime("%Y-%m-%d"),
                          "Seat": rng.integers(1, 6, 40), "Food": rng.integers(1, 6, 40),
                          "Recommended": np.where(np.arange(40) % 3 == 0, "yes", "no")})
    data = load_journey(survey=("reviews.csv", frame.to_csv(index=False).encode()))
    data = dataclasses.replace(data, journey=data.journey.with_goal(Goal("column", "Recommended", "yes", "Recommends")))
    a = C.apply_view(data, "from=2020-01-01,to=2021-06-30")
    b = C.apply_view(data, "from=2022-01-01,to=2023-03-31")
    row = C.compare(a, b).table.set_index("measure").loc["converted"]
    dates = pd.to_datetime(frame["date"])
    for side, (lo, hi) in (("a", ("2020-01-01", "2021-06-30")), ("b", ("2022-01-01", "2023-03-31"))):
        part = frame[(dates >= lo) & (dates <= hi)]
        assert row[f"n_{side}"] == len(part) < 40
        assert row[side] == pytest.approx((part["Recommended"] == "yes").mean())
