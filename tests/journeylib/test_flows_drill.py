"""Backward Sankey, the customers behind a flow element, neighbours, paths between two
touchpoints and time to stage, on small journeys counted by hand (and against pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeylib import cohort, flows
from journeylib.engine import Engine, execute
from journeylib.insights import pain_points
from journeylib.journey import Goal, GoalError, JourneyModel
from journeylib.schema import END_NODE as END
from journeylib.schema import OTHER_NODE as OTHER
from journeylib.schema import JourneyData

START = flows.START_NODE
T0 = pd.Timestamp("2024-03-01 09:00")
STAGES = ("Look", "Try", "Buy", "Stay")
STAGE_OF = {"H": "Look", "P": "Try", "E": "Try", "C": "Buy", "O": "Buy", "S": "Stay", "X": None}
# c4 never errs; c5's journey starts at the error.
JOURNEYS = {
    "c1": "H P C E S",
    "c2": "H C E C E O",
    "c3": "P E",
    "c4": "H P C O",
    "c5": "E H",
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def make(engine, journeys=JOURNEYS, minutes=None, goal=Goal("stage", "Buy"), customers=None, survey=None):
    rows = []
    for cid, path in journeys.items():
        for i, tp in enumerate(path.split()):
            m = minutes[cid][i] if minutes else i
            rows.append((cid, T0 + pd.Timedelta(minutes=m), tp, STAGE_OF.get(tp)))
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "stage"])
    ev.insert(2, "seq", range(len(ev)))
    ev["channel"] = "web"
    ev = ev.astype({"customer_id": "str", "touchpoint": "str", "stage": "str", "channel": "str",
                    "timestamp": "datetime64[us]", "seq": "int64"})
    return JourneyData(events=engine.table(ev), journey=JourneyModel(stages=STAGES, goal=goal),
                       customers=None if customers is None else engine.table(customers),
                       survey=None if survey is None else engine.table(survey))


def rows(frame):
    return [tuple(r) for r in frame[["step", "source", "target", "customers"]].itertuples(index=False)]


def who(data, pick, **kw):
    return sorted(execute(flows.flow_customers(data, pick, **kw))["customer_id"])


# ----------------------------------------------------------------------------- backward Sankey


def test_backward_sankey_by_hand_with_start_nodes(engine):
    data = make(engine)
    got = flows.backward_sankey(data.events, flows.Anchor.touchpoint("E"), max_steps=4, top=0)
    assert tuple(got.columns) == flows.SANKEY_COLUMNS
    assert rows(got) == [
        (-3, START, "H", 1), (-3, "H", "P", 1),
        (-2, START, "P", 1), (-2, "H", "C", 1), (-2, "P", "C", 1),
        (-1, "C", "E", 2), (-1, START, "E", 1), (-1, "P", "E", 1),
    ]


def test_backward_sankey_merges_rare_nodes_but_never_start(engine):
    data = make(engine)
    got = flows.backward_sankey(data.events, flows.Anchor.touchpoint("E"), max_steps=4, top=1)
    assert rows(got) == [
        (-3, START, "H", 1), (-3, "H", OTHER, 1),
        (-2, OTHER, "C", 1), (-2, START, OTHER, 1), (-2, "H", "C", 1),
        (-1, "C", "E", 2), (-1, OTHER, "E", 1), (-1, START, "E", 1),
    ]


def test_backward_sankey_at_stage_level_and_from_the_goal(engine):
    data = make(engine)
    # Stage elements: c1 Look Try Buy Try Stay, c2 Look Buy Try Buy Try Buy, c3 Try, c4 Look Try Buy,
    # c5 Try Look.
    goal = flows.Anchor.goal(data.journey)
    assert goal.names == ("Buy", "Stay") and goal.label == "Buy"
    got = flows.backward_sankey(data.events, goal, level="stage", max_steps=3, top=0)
    assert rows(got) == [(-2, "Look", "Try", 2), (-2, START, "Look", 1), (-1, "Try", "Buy", 2), (-1, "Look", "Buy", 1)]
    # A touchpoint anchor at stage level reads back from the stage element holding it.
    got = flows.backward_sankey(data.events, flows.Anchor.touchpoint("E"), level="stage", max_steps=2, top=0)
    assert rows(got) == [(-1, START, "Try", 2), (-1, "Buy", "Try", 2)]  # c3, c5; c1 (Try after Buy), c2
    with pytest.raises(GoalError, match="no event marks"):
        flows.Anchor.goal(JourneyModel(stages=STAGES, goal=Goal("column", "nps_band", "high")))


# ----------------------------------------------------------------------------- who is behind


def test_customers_behind_backward_nodes_and_links(engine):
    data = make(engine)
    e = flows.Anchor.touchpoint("E")
    assert who(data, flows.SankeyPick(-1, "C", "E", anchor=e)) == ["c1", "c2"]
    assert who(data, flows.SankeyPick(-2, START, "P", anchor=e)) == ["c3"]
    assert who(data, flows.SankeyPick(-1, "C", anchor=e)) == ["c1", "c2"]
    assert who(data, flows.SankeyPick(-1, START, anchor=e)) == ["c5"]
    assert who(data, flows.SankeyPick(-2, START, anchor=e)) == ["c3"]
    assert who(data, flows.SankeyPick(0, "E", anchor=e)) == ["c1", "c2", "c3", "c5"]
    merged = flows.backward_sankey(data.events, e, max_steps=4, top=1)
    assert who(data, flows.SankeyPick(-2, OTHER, "C", anchor=e), sankey=merged) == ["c1"]
    assert who(data, flows.SankeyPick(-2, START, OTHER, anchor=e), sankey=merged) == ["c3"]


def test_customers_behind_every_link_add_up_to_the_sankey(engine):
    data = make(engine)
    for frame, anchor in ((flows.step_sankey(data.events, max_steps=5, top=2), None),
                          (flows.backward_sankey(data.events, flows.Anchor.touchpoint("C"), max_steps=4, top=2),
                           flows.Anchor.touchpoint("C"))):
        for r in frame.itertuples(index=False):
            pick = flows.SankeyPick(int(r.step), r.source, r.target, anchor=anchor)
            assert len(who(data, pick, sankey=frame)) == r.customers, r


def test_customers_behind_forward_nodes_links_and_ends(engine):
    data = make(engine)
    assert who(data, flows.SankeyPick(1, "H", "P")) == ["c1", "c4"]
    assert who(data, flows.SankeyPick(3, END)) == ["c3", "c5"]  # exactly two elements
    assert who(data, flows.SankeyPick(2, "E", END)) == ["c3"]
    assert who(data, flows.SankeyPick(2, "C", start="H")) == ["c2"]
    frame = flows.step_sankey(data.events, max_steps=3, top=1)
    assert who(data, flows.SankeyPick(1, OTHER), sankey=frame) == ["c3", "c5"]
    with pytest.raises(ValueError, match="pass the Sankey frame"):
        flows.flow_customers(data, flows.SankeyPick(1, OTHER))


def test_customers_behind_funnel_steps(engine):
    data = make(engine)
    # Furthest stages: c1 Stay, c2 Buy, c3 Try, c4 Buy, c5 Try.
    assert who(data, flows.FunnelPick("Try")) == ["c1", "c2", "c3", "c4", "c5"]
    assert who(data, flows.FunnelPick("Buy")) == ["c1", "c2", "c4"]
    assert who(data, flows.FunnelPick("Try", dropped=True)) == ["c3", "c5"]
    funnel = flows.funnel(data).set_index("stage")
    lost = funnel["customers"].shift(1) - funnel["customers"]  # drop-off: the previous row's customers minus this row's
    assert lost.loc["Buy"] == 2 and funnel.loc["Buy", "customers"] == 3
    assert who(data, flows.FunnelPick("Buy", dropped=True)) == ["c2", "c4"]  # furthest stage Buy
    assert who(data, flows.FunnelPick("Stay")) == ["c1"]
    with pytest.raises(ValueError, match="not a step of the funnel"):
        flows.flow_customers(data, flows.FunnelPick("Leave"))
    renew = make(engine, goal=Goal("touchpoint", "O", name="Ordered"))
    assert who(renew, flows.FunnelPick("Ordered")) == ["c2", "c4"]


def test_customers_behind_pain_points_match_their_rows(engine):
    data = make(engine)
    assert who(data, flows.PainPick("touchpoint", "E")) == ["c1", "c2", "c3", "c5"]
    assert who(data, flows.PainPick("stage", "Stay")) == ["c1"]
    pains = pain_points(data, level="both")
    assert len(pains) > 0
    for r in pains.itertuples(index=False):
        name = r.touchpoint if r.level == "touchpoint" else r.stage
        assert len(who(data, flows.PainPick(r.level, name))) == r.customers, r


def test_neighbours_after_and_before(engine):
    data = make(engine)
    pick = flows.SankeyPick(0, "E", anchor=flows.Anchor.touchpoint("E"))
    near = flows.neighbours(data.events, flows.flow_customers(data, pick))
    nxt = dict(near.loc[near["direction"] == "next", ["node", "customers"]].itertuples(index=False))
    prev = dict(near.loc[near["direction"] == "previous", ["node", "customers"]].itertuples(index=False))
    assert nxt == {"S": 1, "C": 1, END: 1, "H": 1}
    assert prev == {"C": 2, "P": 1, START: 1}
    dropped = flows.flow_customers(data, flows.FunnelPick("Try", dropped=True))
    near = flows.neighbours(data.events, dropped)
    # c3: P E (the Try run is its whole journey); c5: E then H.
    assert dict(near.loc[near["direction"] == "next", ["node", "customers"]].itertuples(index=False)) == {END: 1, "H": 1}
    assert near.loc[near["direction"] == "next", "share"].sum() == pytest.approx(1.0)


def test_profile_of_the_customers_behind_a_link(engine):
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5"],
                              "plan": ["pro", "pro", "basic", "basic", "basic"],
                              "spend": [float(x) for x in range(5)] * 1})
    survey = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "stage": ["Try", "Buy", "Try", "Buy"],
                           "touchpoint": ["E", "C", "E", "C"], "score": [1.0, 2.0, 5.0, 4.0],
                           "comment": ["broken cart", "", "fine", "ok"]})
    data = make(engine, customers=customers, survey=survey)
    personas = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5"], "persona": ["A", "A", "B", "B", "B"]})
    pick = flows.SankeyPick(-1, "C", "E", anchor=flows.Anchor.touchpoint("E"))
    p = cohort.profile(data, flows.flow_customers(data, pick), personas=personas, flow=pick)
    assert (p.customers, p.total) == (2, 5) and sorted(p.ids["customer_id"]) == ["c1", "c2"]
    mix = p.personas.set_index("persona")
    assert mix.loc["A", "customers"] == 2 and mix.loc["A", "share"] == 1.0 and mix.loc["A", "share_overall"] == 0.4
    attr = p.attributes.set_index(["attribute", "value"])
    assert attr.loc[("plan", "pro"), "share"] == 1.0 and attr.loc[("plan", "pro"), "share_overall"] == 0.4
    assert p.attributes.iloc[0]["value"] == "pro"  # the largest difference first
    assert (p.mean_score, p.score_n, p.overall_score) == (1.5, 2, 3.0)
    assert p.comments["comment"].tolist() == ["broken cart"]  # theirs, non-empty
    nxt = p.neighbours[p.neighbours["direction"] == "next"]
    assert dict(zip(nxt["node"], nxt["customers"])) == {"S": 1, "C": 1}


# ----------------------------------------------------------------------------- paths and time


def test_paths_between_two_touchpoints(engine):
    journeys = {"d1": "P C E", "d2": "P C E", "d3": "P E P E", "d4": "X P X X X E", "d5": "E P"}
    minutes = {"d1": [0, 1, 5], "d2": [0, 2, 3], "d3": [0, 10, 11, 12], "d4": [0, 1, 2, 3, 4, 5], "d5": [0, 1]}
    data = make(engine, journeys, minutes)
    got = flows.paths_between(data.events, "P", "E", max_len=4)
    assert tuple(got.columns) == flows.BETWEEN_COLUMNS
    assert got["path"].tolist() == ["P > C > E", "P > E", "P > X > X > ... > E"]
    assert got["customers"].tolist() == [2, 1, 1]
    assert got["share"].tolist() == [0.5, 0.25, 0.25]
    ref = pd.Series([300.0, 180.0])  # d1, d2
    first = got.iloc[0]
    assert (first["q1_seconds"], first["median_seconds"], first["q3_seconds"]) == pytest.approx(
        (ref.quantile(0.25), ref.median(), ref.quantile(0.75)))
    assert got.set_index("path").loc["P > E", "median_seconds"] == 600.0  # first P to the next E


def test_time_to_stage_against_pandas(engine):
    rng = np.random.default_rng(5)
    journeys, minutes = {}, {}
    for i in range(40):
        n = int(rng.integers(1, 6))
        journeys[f"k{i}"] = " ".join(rng.choice(list("HPCES"), size=n))
        minutes[f"k{i}"] = np.cumsum(rng.integers(1, 300, size=n)).tolist()
    data = make(engine, journeys, minutes)
    personas = pd.DataFrame({"customer_id": [f"k{i}" for i in range(30)], "persona": ["A", "B"] * 15})
    got = flows.time_to_stage(data, personas=personas)
    ev = execute(data.events)
    ev["idx"] = ev["stage"].map({s: i for i, s in enumerate(STAGES)})
    first = ev.groupby("customer_id")["timestamp"].min()
    who_is = personas.set_index("customer_id")["persona"]
    for persona in ("all", "A", "B", "(unassigned)"):
        for i, stage in enumerate(STAGES):
            part = ev[ev["idx"] >= i]
            arrive = part.groupby("customer_id")["timestamp"].min()
            secs = (arrive - first.loc[arrive.index]).dt.total_seconds()
            if persona != "all":
                ids = secs.index.map(lambda c: who_is.get(c, "(unassigned)"))
                secs = secs[ids == persona]
            row = got[(got["persona"] == persona) & (got["stage"] == stage)]
            if secs.empty:
                assert row.empty
                continue
            r = row.iloc[0]
            assert r["customers"] == len(secs)
            assert (r["q1_seconds"], r["median_seconds"], r["q3_seconds"]) == pytest.approx(
                (secs.quantile(0.25), secs.median(), secs.quantile(0.75)))
    # A touchpoint goal gets its own row, named after it, last.
    named = make(engine, journeys, minutes, goal=Goal("touchpoint", "O", name="Ordered"))
    assert "Ordered" not in set(flows.time_to_stage(named)["stage"])  # nobody had O here
    named = make(engine, {"z": "H P S"}, {"z": [0, 2, 7]}, goal=Goal("touchpoint", "S", name="Stayed"))
    t = flows.time_to_stage(named).set_index("stage")
    assert list(t.index) == [*STAGES, "Stayed"] and t.loc["Stayed", "median_seconds"] == 420.0


def test_stored_elements_give_the_same_customers_and_neighbours(engine):
    data = make(engine)
    stored = flows.stored_elements(data.events, "touchpoint")
    for pick in (flows.SankeyPick(1, "H", "P"), flows.SankeyPick(3, END), flows.SankeyPick(2, "C", start="H"),
                 flows.PainPick("touchpoint", "E"), flows.PainPick("stage", "Try"), flows.PainPick("stage", "Buy")):
        plain = flows.flow_customers(data, pick)
        fast = flows.flow_customers(data, pick, elements=stored)
        assert who(data, pick) == sorted(execute(fast)["customer_id"])
        pd.testing.assert_frame_equal(flows.neighbours(data.events, plain),
                                      flows.neighbours(data.events, fast, elements=stored))
