"""Flows on tiny hand-computed journeys: Sankey links, nodes, transitions, funnel, paths."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from journeylib import flows
from journeylib.engine import Engine, execute
from journeylib.journey import Goal, GoalError, JourneyModel, goal_outcomes
from journeylib.schema import JourneyData
from journeylib.schema import END_NODE as END
from journeylib.schema import OTHER_NODE as OTHER

T0 = pd.Timestamp("2024-03-01 09:00")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def events(engine: Engine, rows, seqs=None) -> ibis.Table:
    """rows: (customer, minute, touchpoint[, stage]); seq = row position unless given."""
    rows = [tuple(r) + (None,) * (4 - len(r)) for r in rows]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "timestamp": pd.Series([T0 + pd.Timedelta(minutes=r[1]) for r in rows], dtype="datetime64[us]"),
            "seq": pd.Series(seqs if seqs is not None else range(len(rows)), dtype="int64"),
            "touchpoint": pd.Series([r[2] for r in rows], dtype="str"),
            "stage": pd.Series([r[3] for r in rows], dtype="str"),
            "channel": pd.Series(["web"] * len(rows), dtype="str"),
        }
    )
    return engine.table(frame)


def chains(spec: dict[str, list[str]]) -> list[tuple]:
    """Journeys given as customer -> touchpoints in order, one minute apart."""
    return [(c, i, tp) for c, tps in spec.items() for i, tp in enumerate(tps)]


def elements_of(table: ibis.Table, **kw) -> dict[str, list[str]]:
    df = flows.journey_elements(table, **kw).execute().sort_values(["customer_id", "k"])
    out: dict[str, list[str]] = {}
    for cid, grp in df.groupby("customer_id"):
        assert list(grp["k"]) == list(range(1, len(grp) + 1))
        out[cid] = list(grp["node"])
    return out


def links(frame: pd.DataFrame) -> list[tuple]:
    assert list(frame.columns) == ["step", "source", "target", "customers"]
    return [tuple(r) for r in frame.itertuples(index=False)]


# --- ordering --------------------------------------------------------------------------


def test_equal_timestamps_keep_seq_order_not_row_order(engine):
    # Same minute for all three; the rows are stored out of order, seq says the file order.
    t = events(engine, [("x", 0, "third"), ("x", 0, "first"), ("x", 0, "second"), ("x", -5, "zero")],
               seqs=[2, 0, 1, 9])
    assert elements_of(t) == {"x": ["zero", "first", "second", "third"]}
    assert links(flows.step_sankey(t, top=0)) == [
        (1, "zero", "first", 1), (2, "first", "second", 1), (3, "second", "third", 1), (4, "third", END, 1)
    ]


def test_timestamp_wins_over_seq(engine):
    t = events(engine, [("x", 10, "late"), ("x", 0, "early")])
    assert elements_of(t) == {"x": ["early", "late"]}


# --- step Sankey -----------------------------------------------------------------------


def test_single_event_journeys_link_to_end_at_step_one(engine):
    t = events(engine, chains({"a": ["home"], "b": ["home"], "c": ["ad"]}))
    assert links(flows.step_sankey(t, top=0)) == [(1, "home", END, 2), (1, "ad", END, 1)]
    # Same with max_steps=2, the smallest Sankey with links.
    assert links(flows.step_sankey(t, top=0, max_steps=2)) == [(1, "home", END, 2), (1, "ad", END, 1)]


def test_end_links_at_the_journey_length(engine):
    t = events(engine, chains({"a": ["ad", "web"], "b": ["ad", "web", "shop"], "c": ["ad"]}))
    assert links(flows.step_sankey(t, top=0)) == [
        (1, "ad", "web", 2), (1, "ad", END, 1),
        (2, "web", END, 1), (2, "web", "shop", 1),
        (3, "shop", END, 1),
    ]


def test_truncation_at_max_steps(engine):
    t = events(engine, chains({"long": ["a", "b", "c", "d", "e"], "three": ["a", "b", "c"], "two": ["a", "b"]}))
    got = links(flows.step_sankey(t, max_steps=3, top=0))
    # Links only for k = 1, 2; a journey of exactly max_steps elements gets no (end) link,
    # and longer journeys simply stop being drawn.
    assert got == [(1, "a", "b", 3), (2, "b", "c", 2), (2, "b", END, 1)]
    assert max(s for s, *_ in got) == 2


def test_max_steps_one_is_an_empty_frame_with_the_columns(engine):
    t = events(engine, chains({"a": ["x", "y"]}))
    out = flows.step_sankey(t, max_steps=1)
    assert out.empty
    assert list(out.columns) == ["step", "source", "target", "customers"]
    assert str(out["step"].dtype) == "int64" and str(out["customers"].dtype) == "int64"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 2.5}, "max_steps"),
        ({"top": -1}, "top"),
        ({"level": "page"}, "level"),
    ],
)
def test_bad_arguments_raise_clear_errors(engine, kwargs, fragment):
    t = events(engine, chains({"a": ["x"]}))
    with pytest.raises(ValueError, match=fragment):
        flows.step_sankey(t, **kwargs)


def _other_data(engine):
    # Step 1: A 3, B 2, C 1.  Step 2: X 3, Y 1, Z 1 (Y, Z tie: name decides).
    return events(engine, chains({
        "c1": ["A", "X"], "c2": ["A", "Y"], "c3": ["A", "X"], "c4": ["B", "X"], "c5": ["B"], "c6": ["C", "Z"],
    }))


def test_no_merging_with_top_zero(engine):
    assert links(flows.step_sankey(_other_data(engine), top=0)) == [
        (1, "A", "X", 2), (1, "A", "Y", 1), (1, "B", END, 1), (1, "B", "X", 1), (1, "C", "Z", 1),
        (2, "X", END, 3), (2, "Y", END, 1), (2, "Z", END, 1),
    ]


def test_other_with_top_one(engine):
    assert links(flows.step_sankey(_other_data(engine), top=1)) == [
        (1, "A", "X", 2),
        (1, OTHER, END, 1), (1, OTHER, OTHER, 1), (1, OTHER, "X", 1), (1, "A", OTHER, 1),
        (2, "X", END, 3), (2, OTHER, END, 2),
    ]


def test_other_with_top_two_breaks_ties_by_name(engine):
    assert links(flows.step_sankey(_other_data(engine), top=2)) == [
        (1, "A", "X", 2),
        (1, OTHER, OTHER, 1), (1, "A", "Y", 1), (1, "B", END, 1), (1, "B", "X", 1),
        (2, "X", END, 3), (2, OTHER, END, 1), (2, "Y", END, 1),
    ]


def test_other_ranks_sources_and_targets_by_their_own_step(engine):
    # Step 1: Y 2, X 1 -> keep Y.  Step 2: X 2, Y 1 -> keep X.
    t = events(engine, chains({"p1": ["X", "Y"], "p2": ["Y", "X"], "p3": ["Y", "X"]}))
    assert links(flows.step_sankey(t, top=1)) == [
        (1, "Y", "X", 2), (1, OTHER, OTHER, 1), (2, "X", END, 2), (2, OTHER, END, 1),
    ]


def test_stage_level_merges_consecutive_stages_and_names_missing_stage(engine):
    rows = [
        ("s", 0, "ad", "Awareness"), ("s", 1, "blog", "Awareness"), ("s", 2, "web", "Consideration"),
        ("s", 3, "app", None), ("s", 4, "app", None), ("s", 5, "web", "Consideration"),
        ("s", 6, "shop", "Purchase"),
        ("u", 0, "ad", None),
    ]
    t = events(engine, rows)
    assert elements_of(t, level="stage") == {
        "s": ["Awareness", "Consideration", "(no stage)", "Consideration", "Purchase"],
        "u": ["(no stage)"],
    }
    assert links(flows.step_sankey(t, level="stage", max_steps=3, top=0)) == [
        (1, "(no stage)", END, 1), (1, "Awareness", "Consideration", 1),
        (2, "Consideration", "(no stage)", 1),
    ]
    # collapse_repeats has no say at stage level: runs are always merged.
    assert elements_of(t, level="stage", collapse_repeats=False) == elements_of(
        t, level="stage", collapse_repeats=True
    )


def test_collapse_repeats_off_and_on(engine):
    t = events(engine, chains({"r": ["web", "web", "email", "web", "web"], "q": ["web", "web"]}))
    assert elements_of(t) == {"q": ["web", "web"], "r": ["web", "web", "email", "web", "web"]}
    assert elements_of(t, collapse_repeats=True) == {"q": ["web"], "r": ["web", "email", "web"]}
    assert links(flows.step_sankey(t, top=0)) == [
        (1, "web", "web", 2), (2, "web", END, 1), (2, "web", "email", 1),
        (3, "email", "web", 1), (4, "web", "web", 1),
    ]
    assert links(flows.step_sankey(t, top=0, collapse_repeats=True)) == [
        (1, "web", END, 1), (1, "web", "email", 1), (2, "email", "web", 1), (3, "web", END, 1),
    ]


def test_start_filter_keeps_journeys_starting_at_the_node(engine):
    t = events(engine, chains({"s1": ["A", "B"], "s2": ["B", "A"], "s3": ["A"], "s4": ["A", "A", "C"]}))
    assert links(flows.step_sankey(t, top=0, start="A")) == [
        (1, "A", END, 1), (1, "A", "A", 1), (1, "A", "B", 1),
        (2, "A", "C", 1), (2, "B", END, 1), (3, "C", END, 1),
    ]
    # The start node is an element at the chosen level, after collapsing repeats.
    assert links(flows.step_sankey(t, top=0, start="A", collapse_repeats=True)) == [
        (1, "A", END, 1), (1, "A", "B", 1), (1, "A", "C", 1), (2, "B", END, 1), (2, "C", END, 1),
    ]
    assert flows.step_sankey(t, start="nowhere").empty


def test_step_nodes(engine):
    nodes = flows.step_nodes(flows.step_sankey(_other_data(engine), top=0))
    assert list(nodes.columns) == ["step", "node", "customers", "end_customers", "end_share"]
    got = [tuple(r) for r in nodes.itertuples(index=False)]
    assert got == [
        (1, "A", 3, 0, 0.0), (1, "B", 2, 1, 0.5), (1, "C", 1, 0, 0.0),
        (2, "X", 3, 3, 1.0), (2, "Y", 1, 1, 1.0), (2, "Z", 1, 1, 1.0),
    ]


def test_step_nodes_last_step_counts_incoming(engine):
    t = events(engine, chains({"l": ["a", "b", "c", "d"], "m": ["a", "b", "d"], "n": ["a"]}))
    nodes = flows.step_nodes(flows.step_sankey(t, max_steps=3, top=0))
    got = [tuple(r) for r in nodes.itertuples(index=False)]
    # Step 3 has no outgoing links (max_steps=3): its customers are the incoming ones.
    assert got == [
        (1, "a", 3, 1, pytest.approx(1 / 3)), (2, "b", 2, 0, 0.0), (3, "c", 1, 0, 0.0), (3, "d", 1, 0, 0.0),
    ]


def test_step_nodes_of_empty_sankey_and_bad_frame():
    empty = flows.step_nodes(pd.DataFrame(columns=["step", "source", "target", "customers"]))
    assert empty.empty and list(empty.columns) == ["step", "node", "customers", "end_customers", "end_share"]
    with pytest.raises(ValueError, match="customers"):
        flows.step_nodes(pd.DataFrame({"step": [1], "source": ["a"], "target": ["b"]}))


def test_sankey_is_one_query_with_window_functions(engine):
    sql = ibis.to_sql(flows._sankey_expr(_other_data(engine), "touchpoint", 5, 2, False, None))
    assert "LEAD(" in sql and "ROW_NUMBER()" in sql
    assert sql.count("PARTITION BY") <= 3  # elements once, ranking once (no per-step queries)


# --- transitions -------------------------------------------------------------------------


def test_transitions_count_pairs_and_customers(engine):
    t = events(engine, chains({"c1": ["a", "b", "a", "b"], "c2": ["a", "b"], "c3": ["b"]}))
    out = flows.transitions(t)
    assert list(out.columns) == ["source", "target", "transitions", "customers"]
    assert [tuple(r) for r in out.itertuples(index=False)] == [("a", "b", 3, 2), ("b", "a", 1, 1)]


def test_transitions_self_loops_at_touchpoint_level_only(engine):
    rows = [
        ("c", 0, "web", "Consideration"), ("c", 1, "web", "Consideration"),
        ("c", 2, "faq", "Consideration"), ("c", 3, "shop", "Purchase"),
    ]
    t = events(engine, rows)
    assert [tuple(r) for r in flows.transitions(t).itertuples(index=False)] == [
        ("faq", "shop", 1, 1), ("web", "faq", 1, 1), ("web", "web", 1, 1),
    ]
    assert [tuple(r) for r in flows.transitions(t, collapse_repeats=True).itertuples(index=False)] == [
        ("faq", "shop", 1, 1), ("web", "faq", 1, 1),
    ]
    assert [tuple(r) for r in flows.transitions(t, level="stage").itertuples(index=False)] == [
        ("Consideration", "Purchase", 1, 1),
    ]


def test_transitions_of_single_event_journeys_is_empty(engine):
    out = flows.transitions(events(engine, chains({"a": ["x"], "b": ["y"]})))
    assert out.empty and list(out.columns) == ["source", "target", "transitions", "customers"]


# --- funnel ------------------------------------------------------------------------------
# A team's own stages, visited out of order and entered part-way. Each row: customer,
# minute, touchpoint, stage. Furthest stage (in the order Browse < Ask < Sign < Stay):
# a Sign, b Ask, c Ask (Ask then Browse: out of order), d Sign (entered there), e Stay
# (skipped Ask and Sign), f none (no stage), g Browse.
OWN_STAGES = ("Browse", "Ask", "Sign", "Stay")
OWN_ROWS = [
    ("a", 0, "Site", "Browse"), ("a", 1, "Call", "Ask"), ("a", 2, "Contract", "Sign"),
    ("b", 0, "Site", "Browse"), ("b", 1, "Call", "Ask"),
    ("c", 0, "Call", "Ask"), ("c", 1, "Site", "Browse"),
    ("d", 0, "Contract", "Sign"),
    ("e", 0, "Site", "Browse"), ("e", 1, "Renewal", "Stay"),
    ("f", 0, "Chat", None),
    ("g", 0, "Site", "Browse"),
]


def own_data(engine, goal, customers=None):
    return JourneyData(events=events(engine, OWN_ROWS), journey=JourneyModel(stages=OWN_STAGES, goal=goal),
                       customers=None if customers is None else engine.table(customers))


def funnel_rows(frame):
    assert list(frame.columns) == ["stage", "customers", "share", "conversion"]
    return [(r.stage, r.customers, pytest.approx(r.share, nan_ok=True), pytest.approx(r.conversion, nan_ok=True))
            for r in frame.itertuples(index=False)]


def test_funnel_towards_a_stage_goal_stops_at_it(engine):
    # At Browse: a b c d e g (6; f has no stage); at Ask or later: a b c d e (5); at Sign or
    # later: a d e (3). Stay, after the goal, is not a row.
    out = flows.funnel(own_data(engine, Goal("stage", "Sign", name="Signed")))
    assert [(r.stage, r.customers, r.share, r.conversion) for r in out.itertuples(index=False)] == [
        ("Browse", 6, 1.0, 1.0), ("Ask", 5, pytest.approx(5 / 6), pytest.approx(5 / 6)),
        ("Sign", 3, pytest.approx(3 / 6), pytest.approx(3 / 5))]
    # The last row is the customers the goal counts as converted.
    won = execute(goal_outcomes(own_data(engine, Goal("stage", "Sign"))))
    assert int(won["converted"].sum()) == out["customers"].iloc[-1]


def test_funnel_towards_a_touchpoint_goal_ends_in_a_row_named_after_it(engine):
    # Every stage, then the goal: customers with a 'Call' event (a, b, c).
    out = flows.funnel(own_data(engine, Goal("touchpoint", "Call", name="Called us")))
    assert list(out["stage"]) == ["Browse", "Ask", "Sign", "Stay", "Called us"]
    assert list(out["customers"]) == [6, 5, 3, 1, 3]
    assert list(out["share"]) == pytest.approx([1, 5 / 6, 3 / 6, 1 / 6, 3 / 6])
    # Conversion is of the previous row, as DESIGN.md says, even where the goal row is
    # larger than the last stage's.
    assert list(out["conversion"]) == pytest.approx([1, 5 / 6, 3 / 5, 1 / 3, 3.0])


def test_funnel_towards_a_column_goal_counts_converted_customers_with_events(engine):
    # a and d are satisfied; b is not; z has no events (not in the funnel); the others have
    # no value. Without a display name the row is named by the rule.
    customers = pd.DataFrame({"customer_id": ["a", "b", "d", "z"],
                              "satisfaction": ["Satisfied", "neutral", " satisfied ", "satisfied"]})
    out = flows.funnel(own_data(engine, Goal("column", "satisfaction", "satisfied"), customers))
    assert list(out["stage"]) == ["Browse", "Ask", "Sign", "Stay", "satisfaction = satisfied"]
    assert list(out["customers"]) == [6, 5, 3, 1, 2]
    assert out["conversion"].iloc[-1] == pytest.approx(2.0)


def test_funnel_without_a_goal_has_every_stage(engine):
    out = flows.funnel(own_data(engine, None))
    assert list(out["stage"]) == list(OWN_STAGES) and list(out["customers"]) == [6, 5, 3, 1]
    # The goal argument overrides the journey's.
    assert list(flows.funnel(own_data(engine, None), goal=Goal("stage", "Ask"))["stage"]) == ["Browse", "Ask"]


def test_funnel_of_the_default_journey(engine):
    rows = [
        ("f1", 0, "ad", "Awareness"), ("f1", 1, "web", "Consideration"), ("f1", 2, "shop", "Purchase"),
        ("f1", 3, "ad", "Awareness"),
        ("f2", 0, "ad", "Awareness"), ("f2", 1, "web", "Consideration"),
        ("f3", 0, "ad", "Awareness"),
        ("f4", 0, "shop", "Purchase"),
        ("f5", 0, "app", None),
    ]
    # The default goal is the Purchase stage: the funnel stops there; Intent is empty but
    # f1 and f4 reached Purchase beyond it.
    out = flows.funnel(JourneyData(events=events(engine, rows)))
    assert list(out["stage"]) == ["Awareness", "Consideration", "Intent", "Purchase"]
    assert list(out["customers"]) == [4, 3, 2, 2]
    assert list(out["conversion"]) == pytest.approx([1, 3 / 4, 2 / 3, 1])


def test_funnel_with_nobody_at_any_stage_has_no_shares(engine):
    data = JourneyData(events=events(engine, [("x", 0, "Chat", None), ("y", 0, "Mail", None)]),
                       journey=JourneyModel(stages=OWN_STAGES, goal=Goal("touchpoint", "Chat")))
    out = flows.funnel(data)
    assert list(out["customers"]) == [0, 0, 0, 0, 1]
    assert out["share"].isna().all() and out["conversion"].isna().all()


def test_funnel_errors_say_what_is_missing(engine):
    with pytest.raises(GoalError, match="not in the stage order"):
        flows.funnel(own_data(engine, Goal("stage", "Paid")))
    with pytest.raises(GoalError, match="in none of the files"):
        flows.funnel(own_data(engine, Goal("column", "recommended", "yes")))
    empty = events(engine, [("x", 0, "Chat", None)]).limit(0)
    with pytest.raises(ValueError, match="needs touchpoint events"):
        flows.funnel(JourneyData(events=empty, journey=JourneyModel(stages=OWN_STAGES)))


def test_funnel_drop_off_is_derivable_and_matches_the_furthest_stage(engine):
    """Customers lost at a stage row = previous row - this row = customers whose furthest
    stage is the previous one (b, c stop at Ask: 2 lost at Sign)."""
    out = flows.funnel(own_data(engine, Goal("stage", "Stay")))
    lost = (out["customers"].shift(1) - out["customers"]).iloc[1:].astype(int).tolist()
    assert lost == [1, 2, 2]  # g stops at Browse; b, c at Ask; a, d at Sign


# --- top paths ---------------------------------------------------------------------------


def _paths_data(engine, goal=Goal("stage", "Purchase"), customers=None):
    def journey(cid, stages):
        return [(cid, i, f"tp{i}", s) for i, s in enumerate(stages)]

    ev = events(engine, [
        *journey("t1", ["Awareness", "Consideration", "Purchase"]),
        *journey("t2", ["Awareness", "Consideration", "Purchase"]),
        *journey("t3", ["Awareness", "Consideration"]),
        *journey("t4", ["Awareness", "Awareness", "Consideration"]),
        *journey("t5", ["Awareness", "Consideration", "Intent", "Purchase", "Retention"]),
    ])
    return JourneyData(events=ev, journey=JourneyModel(goal=goal),
                       customers=None if customers is None else engine.table(customers))


def test_top_paths_with_a_stage_goal(engine):
    out = flows.top_paths(_paths_data(engine), max_len=3)
    assert list(out.columns) == ["path", "customers", "share", "conversion"]
    got = [tuple(r) for r in out.itertuples(index=False)]
    assert got == [
        ("Awareness > Consideration", 2, pytest.approx(0.4), 0.0),
        ("Awareness > Consideration > Purchase", 2, pytest.approx(0.4), 1.0),
        ("Awareness > Consideration > Intent > ...", 1, pytest.approx(0.2), 1.0),
    ]
    # A later stage than the goal converts too: with the goal at Intent, t1 and t2 (Purchase,
    # after Intent) and t5 convert.
    later = flows.top_paths(_paths_data(engine, Goal("stage", "Intent")), max_len=3)
    assert dict(zip(later["path"], later["conversion"]))["Awareness > Consideration > Purchase"] == 1.0


def test_top_paths_limit_keeps_share_of_all_customers(engine):
    out = flows.top_paths(_paths_data(engine), n=1, max_len=3)
    assert list(out["path"]) == ["Awareness > Consideration"]
    assert out["share"].iloc[0] == pytest.approx(0.4)


def test_top_paths_at_touchpoint_level_with_a_stage_goal(engine):
    out = flows.top_paths(_paths_data(engine), level="touchpoint", max_len=2, n=5)
    # t3 has exactly two elements; t1, t2, t4, t5 are cut after two (t1, t2, t5 purchased).
    got = {r.path: (r.customers, r.conversion) for r in out.itertuples(index=False)}
    assert got == {
        "tp0 > tp1": (1, 0.0),
        "tp0 > tp1 > ...": (4, pytest.approx(0.75)),
    }


@pytest.mark.parametrize("level", ["stage", "touchpoint"])
def test_top_paths_with_a_touchpoint_goal(engine, level):
    # 'tp3' is the fourth event: t5 only has it.
    out = flows.top_paths(_paths_data(engine, Goal("touchpoint", "tp3", name="Fourth step")), level=level, max_len=6)
    got = dict(zip(out["path"], out["conversion"]))
    assert got.pop("Awareness > Consideration > Intent > Purchase > Retention"
                   if level == "stage" else "tp0 > tp1 > tp2 > tp3 > tp4") == 1.0
    assert set(got.values()) == {0.0}


def test_top_paths_with_a_column_goal_judge_only_customers_with_a_value(engine):
    # t1 yes, t2 no (same path: 1 of 2 judged), t3 no value (its path has no conversion).
    customers = pd.DataFrame({"customer_id": ["t1", "t2", "t5"], "recommended": ["yes", "no", "Yes"]})
    out = flows.top_paths(_paths_data(engine, Goal("column", "recommended", "yes"), customers), max_len=3)
    got = dict(zip(out["path"], out["conversion"]))
    assert got["Awareness > Consideration > Purchase"] == pytest.approx(0.5)
    assert got["Awareness > Consideration > Intent > ..."] == 1.0
    assert pd.isna(got["Awareness > Consideration"])


def test_top_paths_without_a_goal_have_no_conversion(engine):
    out = flows.top_paths(_paths_data(engine, goal=None), max_len=3)
    assert list(out["customers"]) == [2, 2, 1] and out["conversion"].isna().all()


def test_top_paths_of_own_stages(engine):
    out = flows.top_paths(own_data(engine, Goal("stage", "Sign")), max_len=4)
    got = {r.path: (r.customers, r.conversion) for r in out.itertuples(index=False)}
    assert got == {
        "Browse": (1, 0.0), "Browse > Ask": (1, 0.0), "Browse > Ask > Sign": (1, 1.0),
        "Ask > Browse": (1, 0.0), "Sign": (1, 1.0), "Browse > Stay": (1, 1.0), "(no stage)": (1, 0.0),
    }


# --- real data ---------------------------------------------------------------------------

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"


@pytest.mark.realdata
def test_helpdesk_log_conserves_customers_and_pairs():
    path = REALDATA / "helpdesk_ticket_events.csv.gz"
    if not path.exists():
        pytest.skip("../shared/realdata is not here")
    from journeylib.ingest import load_journey

    data = load_journey(touchpoints=str(path))
    counts = data.events.aggregate(events=data.events.count(), customers=data.events.customer_id.nunique()).execute()
    n_events, n_customers = int(counts["events"].iloc[0]), int(counts["customers"].iloc[0])
    sankey = flows.step_sankey(data.events, top=5)
    assert int(sankey.loc[sankey["step"] == 1, "customers"].sum()) == n_customers
    assert sankey.groupby("step")["source"].nunique().max() <= 6  # five named nodes + (other)
    pairs = flows.transitions(data.events)
    assert int(pairs["transitions"].sum()) == n_events - n_customers


def test_stored_elements_are_read_and_hold_each_journeys_neighbours(engine):
    """a: Ad, Ad, Site; b: Site. The stored table numbers elements with next and first
    nodes; the flows read it (a renamed node shows up) except when touchpoint repeats are
    to be merged, which the stored table keeps."""
    ev = events(engine, [("a", 0, "Ad", "Awareness"), ("b", 1, "Site", "Consideration"),
                         ("a", 2, "Ad", "Awareness"), ("a", 3, "Site", "Consideration")])
    stored = engine.execute(flows.stored_elements(ev, "touchpoint")).sort_values(["customer_id", "k"])
    assert stored.astype(object).where(stored.notna(), None).to_dict("list") == {
        "customer_id": ["a", "a", "a", "b"], "k": [1, 2, 3, 1], "node": ["Ad", "Ad", "Site", "Site"],
        "next_node": ["Ad", "Site", None, None], "first_node": ["Ad", "Ad", "Ad", "Site"],
        "stage": ["Awareness", "Awareness", "Consideration", "Consideration"],
    }
    stages = engine.execute(flows.stored_elements(ev, "stage")).sort_values(["customer_id", "k"])
    assert stages["node"].tolist() == ["Awareness", "Consideration", "Consideration"]
    renamed = engine.table(stored.assign(node=stored["node"].replace("Ad", "Banner"),
                                         next_node=stored["next_node"].replace("Ad", "Banner"),
                                         first_node=stored["first_node"].replace("Ad", "Banner")))
    read = flows.step_sankey(ev, max_steps=3, top=0, elements=renamed)
    assert ("Banner", "Banner") in set(zip(read["source"], read["target"]))
    merged = flows.step_sankey(ev, max_steps=3, top=0, collapse_repeats=True, elements=renamed)
    assert set(zip(merged["source"], merged["target"])) == {("Ad", "Site"), ("Site", END)}
