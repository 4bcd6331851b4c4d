"""Flows on tiny hand-computed journeys: Sankey links, nodes, transitions, funnel, paths."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from journeylib import flows
from journeylib.engine import Engine
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


def _funnel_data(engine):
    rows = [
        ("f1", 0, "ad", "Awareness"), ("f1", 1, "web", "Consideration"), ("f1", 2, "shop", "Purchase"),
        ("f1", 3, "ad", "Awareness"),
        ("f2", 0, "ad", "Awareness"), ("f2", 1, "web", "Consideration"),
        ("f3", 0, "ad", "Awareness"),
        ("f4", 0, "shop", "Purchase"),
        ("f5", 0, "app", None),
    ]
    return events(engine, rows)


def test_funnel(engine):
    # furthest stage: f1 Purchase, f2 Consideration, f3 Awareness, f4 Purchase (entered there),
    # f5 none. Reached = furthest at or beyond the stage.
    out = flows.funnel(_funnel_data(engine), ["Awareness", "Consideration", "Purchase"])
    assert list(out.columns) == ["stage", "customers", "conversion", "step_conversion", "drop_off"]
    assert list(out["stage"]) == ["Awareness", "Consideration", "Purchase"]
    assert list(out["customers"]) == [4, 3, 2]
    assert list(out["conversion"]) == pytest.approx([1.0, 3 / 4, 2 / 4])
    assert list(out["step_conversion"]) == pytest.approx([1.0, 3 / 4, 2 / 3])
    assert list(out["drop_off"]) == [0, 1, 1]


def test_funnel_with_an_empty_stage_in_the_middle(engine):
    # Nobody has an Intent event, but f1 and f4 reached Purchase beyond it.
    out = flows.funnel(_funnel_data(engine), ["Awareness", "Intent", "Purchase"])
    assert list(out["customers"]) == [4, 2, 2]
    assert list(out["step_conversion"]) == pytest.approx([1.0, 0.5, 1.0])
    assert list(out["drop_off"]) == [0, 2, 0]


def test_funnel_never_grows_down_the_stages(engine):
    out = flows.funnel(_funnel_data(engine), ["Purchase", "Awareness"])
    # Purchase first: f1 (max index 1), f3 (1), f2 (1), f4 (0) all reached it.
    assert list(out["customers"]) == [4, 3]
    assert out["customers"].is_monotonic_decreasing


def test_funnel_with_no_customers_in_any_stage_has_no_conversions(engine):
    out = flows.funnel(_funnel_data(engine), ["Retention", "Advocacy"])
    assert list(out["customers"]) == [0, 0]
    assert out["conversion"].isna().all() and out["step_conversion"].isna().all()
    assert list(out["drop_off"]) == [0, 0]


def test_funnel_rejects_empty_and_duplicate_stages(engine):
    t = _funnel_data(engine)
    with pytest.raises(ValueError, match="at least one stage"):
        flows.funnel(t, [])
    with pytest.raises(ValueError, match="Awareness"):
        flows.funnel(t, ["Awareness", "Purchase", "Awareness"])


# --- top paths ---------------------------------------------------------------------------


def _paths_data(engine):
    def journey(cid, stages):
        return [(cid, i, f"tp{i}", s) for i, s in enumerate(stages)]

    return events(engine, [
        *journey("t1", ["Awareness", "Consideration", "Purchase"]),
        *journey("t2", ["Awareness", "Consideration", "Purchase"]),
        *journey("t3", ["Awareness", "Consideration"]),
        *journey("t4", ["Awareness", "Awareness", "Consideration"]),
        *journey("t5", ["Awareness", "Consideration", "Intent", "Purchase", "Retention"]),
    ])


def test_top_paths(engine):
    out = flows.top_paths(_paths_data(engine), max_len=3)
    assert list(out.columns) == ["path", "customers", "share", "purchase_rate"]
    got = [tuple(r) for r in out.itertuples(index=False)]
    assert got == [
        ("Awareness > Consideration", 2, pytest.approx(0.4), 0.0),
        ("Awareness > Consideration > Purchase", 2, pytest.approx(0.4), 1.0),
        ("Awareness > Consideration > Intent > ...", 1, pytest.approx(0.2), 1.0),
    ]


def test_top_paths_limit_keeps_share_of_all_customers(engine):
    out = flows.top_paths(_paths_data(engine), n=1, max_len=3)
    assert list(out["path"]) == ["Awareness > Consideration"]
    assert out["share"].iloc[0] == pytest.approx(0.4)


def test_top_paths_at_touchpoint_level(engine):
    out = flows.top_paths(_paths_data(engine), level="touchpoint", max_len=2, n=5)
    # t3 has exactly two elements; t1, t2, t4, t5 are cut after two (t1, t2, t5 purchased).
    got = {r.path: (r.customers, r.purchase_rate) for r in out.itertuples(index=False)}
    assert got == {
        "tp0 > tp1": (1, 0.0),
        "tp0 > tp1 > ...": (4, pytest.approx(0.75)),
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
