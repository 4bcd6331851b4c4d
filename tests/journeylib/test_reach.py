"""Who reached what (journeylib.reach) against hand counts, by both plans."""

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from journeylib import reach as reach_mod
from journeylib.engine import default_engine
from journeylib.reach import customer_reach

STAGES = ("Awareness", "Consideration", "Purchase", "Retention")
T0 = pd.Timestamp("2024-05-01")
# customer, hours after T0, stage, touchpoint, channel; in file order (seq = row number).
ROWS = [
    ("a", 0, "Awareness", "Ad", "Social"),
    ("a", 1, "Consideration", "Product", "Web"),
    ("a", 2, "Purchase", "Checkout", "Web"),
    ("b", 0, "Awareness", "Ad", "Social"),
    ("b", 1, "Consideration", "Product", None),
    ("c", 0, "Awareness", "Search", "Web"),
    ("c", 1, "Mystery", "Reviews", "Web"),  # a stage outside the stage order
    ("c", 1, None, "Product", "App"),  # same time as the row above, later in the file: last
    ("d", 0, None, None, "Web"),
    ("e", 5, "Consideration", "Product", "Web"),  # the file is not in time order
    ("e", 0, "Awareness", "Ad", "Web"),
]


def make_events(with_channel=True):
    frame = pd.DataFrame(ROWS, columns=["customer_id", "hours", "stage", "touchpoint", "channel"])
    frame["timestamp"] = T0 + pd.to_timedelta(frame.pop("hours"), unit="h")
    frame["seq"] = range(len(frame))
    if not with_channel:
        frame = frame.drop(columns="channel")
    frame = frame.astype({c: "string" for c in ("customer_id", "stage", "touchpoint", "channel") if c in frame})
    return default_engine().table(frame)


def as_dict(frame, keys):
    return {tuple(r[:-1]) if len(keys) > 1 else r[0]: r[-1] for r in frame[[*keys, frame.columns[-1]]].itertuples(index=False)}


def assert_same_reach(a, b):
    """Every frame equal; the journey ends in any row order."""
    for name in ("stages", "stage_touchpoints", "stage_channels", "touchpoints", "touchpoint_stages"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    key = ["furthest", "last_tp"]
    pd.testing.assert_frame_equal(
        a.ends.sort_values(key, na_position="first").reset_index(drop=True),
        b.ends.sort_values(key, na_position="first").reset_index(drop=True),
    )


@pytest.fixture(params=["one pass", "one pass, two bits a word", "one query each"])
def plan(request, monkeypatch):
    if request.param == "one pass, two bits a word":
        # Every kind spills over several words: the word and bit arithmetic is exercised.
        monkeypatch.setattr(reach_mod, "BITS_PER_WORD", 2)
        monkeypatch.setattr(reach_mod, "MAX_WORDS", 100)
    if request.param == "one query each":
        monkeypatch.setattr(reach_mod, "MAX_WORDS", 0)
    return request.param


def test_counts_match_hand_counts(plan):
    r = customer_reach(make_events(), STAGES)
    assert r.customers == 5
    # Retention is reached by nobody; Mystery is not in the stage order.
    assert r.stages.to_dict("list") == {
        "stage": ["Awareness", "Consideration", "Purchase"], "stage_idx": [0, 1, 2], "customers": [4, 3, 1]}
    assert as_dict(r.stage_touchpoints, ["stage", "touchpoint"]) == {
        ("Awareness", "Ad"): 3, ("Awareness", "Search"): 1, ("Consideration", "Product"): 3, ("Purchase", "Checkout"): 1}
    # b's Consideration event has no channel: it counts for no channel.
    assert as_dict(r.stage_channels, ["stage", "channel"]) == {
        ("Awareness", "Social"): 2, ("Awareness", "Web"): 2, ("Consideration", "Web"): 2, ("Purchase", "Web"): 1}
    # Product: a, b, e in Consideration and c with no stage.
    assert as_dict(r.touchpoints, ["touchpoint"]) == {"Ad": 3, "Product": 4, "Checkout": 1, "Search": 1, "Reviews": 1}
    assert as_dict(r.touchpoint_stages, ["touchpoint", "stage"]) == {
        ("Ad", "Awareness"): 3, ("Product", "Consideration"): 3, ("Checkout", "Purchase"): 1,
        ("Search", "Awareness"): 1, ("Reviews", "Mystery"): 1}
    ends = {(None if math.isnan(f) else int(f), tp): n for f, tp, n in r.ends.itertuples(index=False)}
    # c: furthest Awareness (Mystery is unknown), last event the later row at the same time;
    # e: last by time, not by file order; d: no known stage, no touchpoint.
    assert ends == {(2, "Checkout"): 1, (1, "Product"): 2, (0, "Product"): 1, (None, None): 1}


def test_without_a_channel_column(plan):
    r = customer_reach(make_events(with_channel=False), STAGES)
    assert r.stage_channels.empty and list(r.stage_channels.columns) == ["stage", "channel", "customers"]
    assert as_dict(r.touchpoints, ["touchpoint"])["Product"] == 4
    assert r.customers == 5


def test_one_pass_asks_the_engine_twice(monkeypatch):
    """The label combinations, then one per-customer pass; the fallback asks six times."""
    calls = []
    real = reach_mod.execute
    monkeypatch.setattr(reach_mod, "execute", lambda expr: calls.append(expr) or real(expr))
    one_pass = customer_reach(make_events(), STAGES)
    assert len(calls) == 2
    calls.clear()
    monkeypatch.setattr(reach_mod, "MAX_WORDS", 0)
    each = customer_reach(make_events(), STAGES)
    assert len(calls) == 6
    assert_same_reach(one_pass, each)


def test_no_events():
    frame = pd.DataFrame({"customer_id": pd.Series([], dtype="string"), "timestamp": pd.Series([], dtype="datetime64[us]"),
                          "seq": pd.Series([], dtype="int64"), "touchpoint": pd.Series([], dtype="string"),
                          "stage": pd.Series([], dtype="string"), "channel": pd.Series([], dtype="string")})
    r = customer_reach(default_engine().table(frame), STAGES)
    assert r.customers == 0 and r.stages.empty and r.touchpoints.empty and r.ends.empty


REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"


@pytest.mark.parametrize("name", ["wabo_receipt_events.csv.gz", "helpdesk_ticket_events.csv.gz",
                                  "bpic2012_loan_application_events.csv.gz"])
def test_both_plans_agree_on_real_event_logs(name, monkeypatch):
    """Real vocabularies (dozens of activities, stages filled from them or blank): the
    one-pass counts equal the one-query-each counts."""
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{name} not in {REALDATA}")
    from journeylib.ingest import load_journey

    data = load_journey(touchpoints=path)
    one_pass = customer_reach(data.events, data.stages)
    monkeypatch.setattr(reach_mod, "MAX_WORDS", 0)
    each = customer_reach(data.events, data.stages)
    assert one_pass.customers == each.customers > 0
    assert len(one_pass.touchpoints) > 3
    assert_same_reach(one_pass, each)


def test_reached_by_stage_is_the_funnel_rule(plan):
    """Customers at a stage = those whose furthest stage is that one or later: a (Purchase)
    counts at all three, b and e (Consideration) at two, c (Awareness) at one, d nowhere.
    Unlike ``stages`` (an event in the stage), the counts never grow along the order."""
    r = customer_reach(make_events(), STAGES)
    assert r.reached(STAGES).to_dict("list") == {
        "stage": list(STAGES), "customers": [4, 3, 1, 0]}
    # Entered part-way: one customer whose only event is at Retention counts everywhere.
    frame = pd.DataFrame({"furthest": [3.0, float("nan"), 0.0], "n": [1, 5, 2]})
    assert reach_mod.reached_by_stage(frame, STAGES)["customers"].tolist() == [3, 1, 1, 1]
    far = reach_mod.furthest_stage(make_events(), STAGES).execute().set_index("customer_id")["furthest"]
    assert far.to_dict() == pytest.approx({"a": 2, "b": 1, "c": 0, "d": float("nan"), "e": 1}, nan_ok=True)


@pytest.mark.parametrize("goal, converted", [
    (("stage", "Purchase"), {"a"}),  # reached Purchase or a later stage
    (("touchpoint", "Product"), {"a", "b", "c", "e"}),
])
def test_ends_say_who_converted_in_the_same_pass(plan, goal, converted):
    from journeylib.journey import Goal, JourneyModel

    model = JourneyModel(stages=STAGES, goal=Goal(*goal))
    with_goal = customer_reach(make_events(), STAGES, journey=model)
    plain = customer_reach(make_events(), STAGES)
    # Hand counts per journey end: (furthest stage index, last touchpoint, converted).
    ends = {"a": (2, "Checkout"), "b": (1, "Product"), "c": (0, "Product"), "d": (None, None), "e": (1, "Product")}
    expected = {}
    for cid, (far, last) in ends.items():
        key = (-1 if far is None else far, last, cid in converted)
        expected[key] = expected.get(key, 0) + 1
    got = {(-1 if math.isnan(r.furthest) else int(r.furthest), r.last_tp, bool(r.converted)): int(r.n)
           for r in with_goal.ends.itertuples(index=False)}
    assert got == expected
    # The rest of the counts are those of a pass without a goal.
    assert_same_reach(plain, dataclasses.replace(with_goal, ends=plain.ends))
    summed = {}
    for (far, last, _), n in got.items():
        summed[(far, last)] = summed.get((far, last), 0) + n
    assert summed == {(-1 if math.isnan(r.furthest) else int(r.furthest), r.last_tp): int(r.n)
                      for r in plain.ends.itertuples(index=False)}
    # A journey without a stage or touchpoint goal: no converted column.
    assert "converted" not in customer_reach(make_events(), STAGES, journey=JourneyModel(stages=STAGES)).ends
