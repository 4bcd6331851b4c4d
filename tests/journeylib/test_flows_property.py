"""Properties of flows on random journeys, checked against a plain-Python model."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylib import flows
from journeylib.engine import Engine
from journeylib.journey import Goal, JourneyModel
from journeylib.schema import JourneyData

ENGINE = Engine()
T0 = pd.Timestamp("2024-01-01")

TOUCHPOINTS = ["ad", "web", "mail", "shop"]
STAGES = ["Awareness", "Consideration", "Purchase", None]

# One event: (minute, touchpoint, stage). Few distinct minutes so timestamp ties are common.
event = st.tuples(st.integers(0, 3), st.sampled_from(TOUCHPOINTS), st.sampled_from(STAGES))
journeys = st.dictionaries(
    keys=st.text(alphabet="abcdefgh", min_size=1, max_size=2),
    values=st.lists(event, min_size=1, max_size=7),
    min_size=1,
    max_size=8,
)


def build(journeys: dict) -> tuple[pd.DataFrame, dict[str, list]]:
    """Frame with events interleaved across customers, plus each customer's ordered events."""
    rows = []
    for cid, evs in journeys.items():
        rows += [(cid, *ev) for ev in evs]
    # Interleave customers so file order is not grouped by customer.
    rows = rows[::2] + rows[1::2]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "timestamp": pd.Series([T0 + pd.Timedelta(minutes=r[1]) for r in rows], dtype="datetime64[us]"),
            "seq": pd.Series(range(len(rows)), dtype="int64"),
            "touchpoint": pd.Series([r[2] for r in rows], dtype="str"),
            "stage": pd.Series([r[3] for r in rows], dtype="str"),
            "channel": pd.Series(["web"] * len(rows), dtype="str"),
        }
    )
    ordered: dict[str, list] = {}
    for seq, r in enumerate(rows):
        ordered.setdefault(r[0], []).append((r[1], seq, r[2], r[3]))
    return frame, {cid: sorted(evs) for cid, evs in ordered.items()}


def model_elements(ordered: dict[str, list], level: str, collapse: bool) -> dict[str, list[str]]:
    out = {}
    for cid, evs in ordered.items():
        nodes = [tp if level == "touchpoint" else (st_ if st_ is not None else "(no stage)") for _, _, tp, st_ in evs]
        if level == "stage" or collapse:
            nodes = [n for i, n in enumerate(nodes) if i == 0 or n != nodes[i - 1]]
        out[cid] = nodes
    return out


@settings(max_examples=50, deadline=None)
@given(
    journeys=journeys,
    level=st.sampled_from(["touchpoint", "stage"]),
    collapse=st.booleans(),
    top=st.integers(0, 3),
    max_steps=st.integers(2, 6),
)
def test_sankey_and_transitions_conserve_customers(journeys, level, collapse, top, max_steps):
    frame, ordered = build(journeys)
    table = ENGINE.table(frame)
    expected = model_elements(ordered, level, collapse)

    got = flows.journey_elements(table, level=level, collapse_repeats=collapse).execute()
    got = got.sort_values(["customer_id", "k"])
    assert {cid: list(g["node"]) for cid, g in got.groupby("customer_id")} == expected

    sankey = flows.step_sankey(table, level=level, max_steps=max_steps, top=top, collapse_repeats=collapse)
    lengths = [len(nodes) for nodes in expected.values()]
    for k in range(1, max_steps):
        leaving = int(sankey.loc[sankey["step"] == k, "customers"].sum())
        assert leaving == sum(1 for n in lengths if n >= k), (k, sankey)
        ending = int(sankey.loc[(sankey["step"] == k) & (sankey["target"] == "(end)"), "customers"].sum())
        assert ending == sum(1 for n in lengths if n == k)
    assert not (sankey["source"] == "(end)").any()
    if top:
        # At most `top` named nodes per step, plus (other).
        for _, grp in sankey.groupby("step"):
            assert len(set(grp["source"]) - {"(other)"}) <= top

    nodes = flows.step_nodes(sankey)
    for k in range(1, max_steps + 1):
        assert int(nodes.loc[nodes["step"] == k, "customers"].sum()) == sum(1 for n in lengths if n >= k)

    pairs = flows.transitions(table, level=level, collapse_repeats=collapse)
    assert int(pairs["transitions"].sum()) == sum(n - 1 for n in lengths)
    assert (pairs["customers"] <= pairs["transitions"]).all()
    if level == "stage" or collapse:
        assert not (pairs["source"] == pairs["target"]).any()


@settings(max_examples=10, deadline=None)
@given(journeys, st.sampled_from(["touchpoint", "stage"]), st.booleans(), st.booleans())
def test_stored_elements_give_the_same_flows(journeys, level, collapse, with_start):
    """Flows read from the stored elements (what a saved dataset keeps) equal flows that
    number the events again: Sankey (with and without a start node), transitions, paths;
    for a subset of customers too, as a persona filter makes it."""
    frame, ordered = build(journeys)
    events = ENGINE.table(frame)
    stored = ENGINE.table(ENGINE.execute(flows.stored_elements(events, level)))
    start = model_elements(ordered, level, False)[frame["customer_id"].iloc[0]][0] if with_start else None
    some = sorted(ordered)[: max(1, len(ordered) // 2)]
    for ev, el in ((events, stored), (events.filter(events.customer_id.isin(some)), stored.filter(stored.customer_id.isin(some)))):
        pd.testing.assert_frame_equal(
            flows.step_sankey(ev, level=level, max_steps=4, top=2, collapse_repeats=collapse, start=start),
            flows.step_sankey(ev, level=level, max_steps=4, top=2, collapse_repeats=collapse, start=start, elements=el))
        pd.testing.assert_frame_equal(flows.transitions(ev, level=level, collapse_repeats=collapse),
                                      flows.transitions(ev, level=level, collapse_repeats=collapse, elements=el))
        data = JourneyData(events=ev)
        pd.testing.assert_frame_equal(flows.top_paths(data, level=level, max_len=3, collapse_repeats=collapse),
                                      flows.top_paths(data, level=level, max_len=3, collapse_repeats=collapse, elements=el))


@settings(max_examples=20, deadline=None)
@given(journeys, st.sampled_from([Goal("stage", "Consideration"), Goal("stage", "Purchase"),
                                  Goal("touchpoint", "shop", name="Shop visit")]), st.sampled_from(["stage", "touchpoint"]))
def test_funnel_and_path_conversion_follow_the_goal(journeys, goal, level):
    """The funnel counts a customer at every stage up to their furthest one; its last row
    and each path's conversion count the customers the goal converts, computed here from
    each customer's ordered events."""
    frame, ordered = build(journeys)
    order = ["Awareness", "Consideration", "Purchase"]
    data = JourneyData(events=ENGINE.table(frame), journey=JourneyModel(stages=tuple(order), goal=goal))
    far = {c: max((order.index(s) for *_, s in evs if s is not None), default=None) for c, evs in ordered.items()}
    if goal.kind == "stage":
        won = {c: f is not None and f >= order.index(goal.target) for c, f in far.items()}
        rows = order[: order.index(goal.target) + 1]
    else:
        won = {c: any(tp == goal.target for _, _, tp, _ in evs) for c, evs in ordered.items()}
        rows = order + [goal.label]
    expected = [sum(1 for f in far.values() if f is not None and f >= i) for i in range(len(order))]
    expected = expected[: len(rows)] if goal.kind == "stage" else expected + [sum(won.values())]
    out = flows.funnel(data)
    assert list(out["stage"]) == rows and list(out["customers"]) == expected
    assert list(out["customers"].iloc[: len(order)].cummin()) == list(out["customers"].iloc[: len(order)])

    paths = flows.top_paths(data, level=level, n=100, max_len=3)
    nodes = model_elements(ordered, level, False)
    by_path: dict[str, list[bool]] = {}
    for c, seq in nodes.items():
        path = " > ".join(seq[:3]) + (" > ..." if len(seq) > 3 else "")
        by_path.setdefault(path, []).append(won[c])
    assert dict(zip(paths["path"], paths["conversion"])) == pytest.approx(
        {p: sum(v) / len(v) for p, v in by_path.items()})
