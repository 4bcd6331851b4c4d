"""Journey flows: step Sankey links, transitions, funnel and top paths.

Every function takes the canonical events table (an Ibis expression), or for the funnel and
top paths, which need the journey model's goal, the whole :class:`JourneyData`, and builds
the aggregation as Ibis queries: window functions over each customer's events ordered by
``(timestamp, seq)`` number the journey elements and find the next one, then a group-by
counts. Only the small result comes back as pandas, so the work runs where the data lives.

A journey *element* is one event at level ``touchpoint`` (consecutive repeats kept unless
``collapse_repeats``) and one run of consecutive events in the same stage at level
``stage``; events without a stage form a ``(no stage)`` element like any other value.
"""

from __future__ import annotations

import numbers
from dataclasses import replace
from typing import Sequence

import ibis
import pandas as pd

from journeylib.engine import execute
from journeylib.journey import Goal, GoalError, goal_outcomes
from journeylib.reach import furthest_stage, reached_by_stage
from journeylib.schema import END_NODE, OTHER_NODE, JourneyData

LEVELS = ("touchpoint", "stage")
NO_STAGE = "(no stage)"
NO_TOUCHPOINT = "(no touchpoint)"
PATH_SEP = " > "
# Appended to a path cut at max_len so it is not mistaken for a journey that ended there.
PATH_MORE = "..."

SANKEY_COLUMNS = ("step", "source", "target", "customers")
NODE_COLUMNS = ("step", "node", "customers", "end_customers", "end_share")
TRANSITION_COLUMNS = ("source", "target", "transitions", "customers")
FUNNEL_COLUMNS = ("stage", "customers", "share", "conversion")
PATH_COLUMNS = ("path", "customers", "share", "conversion")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _elements(
    events: ibis.Table,
    level: str,
    collapse_repeats: bool,
    with_first: bool = False,
    stored: ibis.Table | None = None,
) -> ibis.Table:
    """customer_id, k (1-based), node, next_node (null after the last) [, first_node].

    ``stored`` is :func:`stored_elements` of these same events at ``level``: it is used as
    it is, unless touchpoint repeats are to be merged (it keeps them).
    """
    _check_level(level)
    if stored is not None and (level == "stage" or not collapse_repeats):
        return stored.select("customer_id", "k", "node", "next_node", *(["first_node"] if with_first else []))
    if level == "stage":
        node = events.stage.cast("string").fill_null(NO_STAGE)
        merge = True  # a stage element is a run of same-stage events, always
    else:
        node = events.touchpoint.cast("string").fill_null(NO_TOUCHPOINT)
        merge = bool(collapse_repeats)
    t = events.select(
        customer_id=events.customer_id.cast("string"),
        timestamp=events.timestamp,
        seq=events.seq,
        node=node,
    )
    if merge:
        w = ibis.window(group_by=t.customer_id, order_by=[t.timestamp, t.seq])
        # Nodes are never null here, so a null lag only marks the first event. The lag gets
        # its own column first: a window inside a filter compiles to SQL Spark rejects.
        t = t.mutate(_prev=t.node.lag().over(w))
        t = t.filter(t._prev.isnull() | (t._prev != t.node)).drop("_prev")
    # One window spec for every column so the backend sorts each customer's events once.
    w = ibis.window(group_by=t.customer_id, order_by=[t.timestamp, t.seq])
    cols = {
        "customer_id": t.customer_id,
        "k": (ibis.row_number().over(w) + 1).cast("int64"),
        "node": t.node,
        "next_node": t.node.lead().over(w),
    }
    if with_first:
        cols["first_node"] = t.node.first().over(w)
    return t.select(**cols)


def journey_elements(
    events: ibis.Table, level: str = "touchpoint", collapse_repeats: bool = False
) -> ibis.Table:
    """The k-th element of each customer's journey: an Ibis table (customer_id, k, node)."""
    return _elements(events, level, collapse_repeats).select("customer_id", "k", "node")


def stored_elements(events: ibis.Table, level: str) -> ibis.Table:
    """Every journey element at ``level`` (touchpoint repeats kept) with its neighbours:
    (customer_id, k, node, next_node, first_node).

    The workspace stores this beside a saved dataset's events: the flows of the whole
    dataset, or of some of its customers, then read it instead of ordering each customer's
    events again (the costly part at millions of events). It no longer applies once events
    are filtered by date or channel, since that changes the elements themselves.
    """
    return _elements(events, level, collapse_repeats=False, with_first=True)


def _empty(columns: Sequence[str], dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, "str")) for c in columns})


def step_sankey(
    events: ibis.Table,
    level: str = "touchpoint",
    max_steps: int = 5,
    top: int = 10,
    collapse_repeats: bool = False,
    start: str | None = None,
    elements: ibis.Table | None = None,
) -> pd.DataFrame:
    """Links of the step Sankey: DataFrame[step, source, target, customers].

    For k = 1 .. max_steps-1 each journey with a k-th element gives one link from it to
    its (k+1)-th element, or to ``(end)`` when the journey has exactly k elements; links
    are counted in distinct customers. With ``top`` > 0, nodes outside the ``top`` most
    frequent at their step (customers at that step, ties broken by name) become
    ``(other)``; ``(end)`` is never merged. ``start`` keeps only journeys whose first
    element is that node. ``max_steps=1`` has no links and gives an empty frame.
    Sorted by step, customers (descending), source, target. ``elements``: see
    :func:`stored_elements` (the same result, without ordering the events again).
    """
    dtypes = {"step": "int64", "customers": "int64"}
    expr = _sankey_expr(events, level, max_steps, top, collapse_repeats, start, elements)
    out = None if expr is None else execute(expr)
    if out is None or out.empty:
        return _empty(SANKEY_COLUMNS, dtypes)
    return _typed(out[list(SANKEY_COLUMNS)], dtypes)


def _sankey_expr(
    events: ibis.Table,
    level: str,
    max_steps: int,
    top: int,
    collapse_repeats: bool,
    start: str | None,
    elements: ibis.Table | None = None,
) -> ibis.Table | None:
    """The step Sankey as one Ibis query (None when max_steps=1 leaves no links)."""
    max_steps = _check_int("max_steps", max_steps, 1)
    top = _check_int("top", top, 0)
    _check_level(level)
    if max_steps == 1:
        return None
    e = _elements(events, level, collapse_repeats, with_first=start is not None, stored=elements)
    if start is not None:
        e = e.filter(e.first_node == str(start))
    e = e.filter(e.k < max_steps)
    # A customer has exactly one element per step, so counting rows counts distinct customers.
    links = e.group_by(
        step=e.k, source=e.node, target=e.next_node.fill_null(END_NODE)
    ).agg(customers=ibis._.count())
    if top:
        links = _merge_rare(links, top)
    return links.order_by(
        [links.step, ibis.desc(links.customers), links.source, links.target]
    )


def _merge_rare(links: ibis.Table, top: int) -> ibis.Table:
    """Merge nodes outside the per-step top into (other), working on the aggregated links."""
    # Customers at node n at step j: outgoing links at step 1, incoming links from step j-1
    # for j >= 2 (every customer at step j came through exactly one link from step j-1).
    first = links.filter(links.step == 1)
    at_first = first.group_by(step=first.step, node=first.source).agg(c=first.customers.sum())
    later = links.filter(links.target != END_NODE)
    at_later = later.group_by(step=later.step + 1, node=later.target).agg(
        c=later.customers.sum()
    )
    at_step = at_first.union(at_later)
    rank = ibis.row_number().over(
        group_by=at_step.step, order_by=[ibis.desc(at_step.c), at_step.node]
    )
    kept = at_step.mutate(rank=rank).filter(ibis._.rank < top)
    kept_source = kept.select(src_step=kept.step, src_node=kept.node)
    kept_target = kept.select(tgt_step=kept.step - 1, tgt_node=kept.node)
    j = links.left_join(
        kept_source, (links.step == kept_source.src_step) & (links.source == kept_source.src_node)
    ).left_join(
        kept_target, (links.step == kept_target.tgt_step) & (links.target == kept_target.tgt_node)
    )
    source = ibis.ifelse(j.src_node.notnull(), j.source, OTHER_NODE)
    target = ibis.ifelse(
        (j.target == END_NODE) | j.tgt_node.notnull(), j.target, OTHER_NODE
    )
    merged = j.select(step=j.step, source=source, target=target, customers=j.customers)
    return merged.group_by("step", "source", "target").agg(
        customers=merged.customers.sum().cast("int64")
    )


def _typed(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for col in frame.columns:
        frame[col] = frame[col].astype(dtypes.get(col, "str"))
    return frame


def step_nodes(sankey: pd.DataFrame) -> pd.DataFrame:
    """Nodes of a step Sankey: DataFrame[step, node, customers, end_customers, end_share].

    ``customers`` at (step, node) is the customers who reach that node at that step: the
    sum of links leaving it at that step, or, for nodes reached only at the step after the
    last link step, the sum of links arriving there. ``end_customers`` is the part whose
    journey ends at that node (links to ``(end)``); ``end_share`` = end_customers /
    customers. ``(end)`` itself is not a node row. Sorted by step, customers desc, node.
    """
    missing = [c for c in SANKEY_COLUMNS if c not in sankey.columns]
    if missing:
        raise ValueError(f"sankey frame lacks column(s) {', '.join(missing)}")
    dtypes = {"step": "int64", "customers": "int64", "end_customers": "int64", "end_share": "float64"}
    if sankey.empty:
        return _empty(NODE_COLUMNS, dtypes)
    s = sankey.astype({"customers": "int64"})
    out = s.groupby(["step", "source"], as_index=False)["customers"].sum()
    out = out.rename(columns={"source": "node"})
    ends = s[s["target"] == END_NODE].groupby(["step", "source"], as_index=False)["customers"].sum()
    ends = ends.rename(columns={"source": "node", "customers": "end_customers"})
    inc = s[s["target"] != END_NODE].groupby(["step", "target"], as_index=False)["customers"].sum()
    inc = inc.rename(columns={"target": "node", "customers": "incoming"})
    inc["step"] = inc["step"] + 1
    nodes = out.merge(inc, on=["step", "node"], how="outer")
    # Outgoing and incoming agree wherever both exist; incoming only fills the last step.
    nodes["customers"] = nodes["customers"].fillna(nodes["incoming"])
    nodes = nodes.merge(ends, on=["step", "node"], how="left")
    nodes["end_customers"] = nodes["end_customers"].fillna(0)
    nodes["end_share"] = nodes["end_customers"] / nodes["customers"]
    nodes = nodes.sort_values(["step", "customers", "node"], ascending=[True, False, True])
    return _typed(nodes[list(NODE_COLUMNS)], dtypes)


def transitions(
    events: ibis.Table,
    level: str = "touchpoint",
    collapse_repeats: bool = False,
    elements: ibis.Table | None = None,
) -> pd.DataFrame:
    """Every consecutive pair of elements over whole journeys.

    DataFrame[source, target, transitions, customers]: ``transitions`` counts the pairs,
    ``customers`` the distinct customers with the pair. Stage level merges runs of the
    same stage first, so it has no self-loops; touchpoint level keeps them unless
    ``collapse_repeats``. Sorted by transitions desc, source, target. ``elements``: see
    :func:`stored_elements`.
    """
    e = _elements(events, level, collapse_repeats, stored=elements)
    pairs = e.filter(e.next_node.notnull())
    agg = pairs.group_by(source=pairs.node, target=pairs.next_node).agg(
        transitions=pairs.count(), customers=pairs.customer_id.nunique()
    )
    agg = agg.order_by([ibis.desc(agg.transitions), agg.source, agg.target])
    dtypes = {"transitions": "int64", "customers": "int64"}
    out = execute(agg)
    if out.empty:
        return _empty(TRANSITION_COLUMNS, dtypes)
    return _typed(out[list(TRANSITION_COLUMNS)], dtypes)


def funnel(data: JourneyData, goal: Goal | None = None) -> pd.DataFrame:
    """Customers at each stage towards the goal: DataFrame[stage, customers, share, conversion].

    DESIGN.md's funnel rule. One row per stage of ``data.journey`` in order, up to and
    including a goal stage (every stage for other goals or none); a customer counts at a
    stage once they reach it or any later stage of the whole order, so the counts never
    grow down the funnel even when customers enter part-way. With a touchpoint or column
    goal a last row, named after the goal (``goal.label``), counts the customers with
    events who converted (:func:`journeylib.journey.goal_outcomes`). ``share`` is of the
    first row's customers, ``conversion`` of the previous row's (the first row's is 1.0);
    a zero denominator gives NaN. The customers lost at a row are the previous row's
    customers minus its own.

    ``goal`` overrides the journey's goal. This frame is what ``python -m journeylib funnel``
    prints. Raises GoalError for a goal the data cannot judge and ValueError for data
    without events (a funnel follows journeys; a survey alone has none).
    """
    model = data.journey if goal is None else data.journey.with_goal(goal)
    goal = model.goal
    if not data.has_events:
        raise ValueError("the funnel needs touchpoint events; this dataset has survey answers only")
    if goal is not None and goal.kind == "stage" and goal.target not in model.stages:
        raise GoalError(f"goal stage {goal.target!r} is not in the stage order ({', '.join(model.stages)})")
    rows = list(model.funnel_stages())
    events = data.events
    far = furthest_stage(events, model.stages)
    counts = execute(far.group_by("furthest").aggregate(n=far.count()))
    customers = list(reached_by_stage(counts, model.stages)["customers"].iloc[: len(rows)])
    if goal is not None and goal.kind != "stage":
        won = goal_outcomes(replace(data, journey=model), goal)
        won = won.filter(won.converted).select(customer_id=won.customer_id.cast("string"))
        with_events = events.select(customer_id=events.customer_id.cast("string")).distinct()
        rows.append(goal.label)
        customers.append(int(execute(won.semi_join(with_events, "customer_id").count())))
    n = pd.Series(customers, dtype="int64")
    first, prev = n.iloc[0], n.shift(1)
    conversion = (n / prev.where(prev > 0)).astype("float64")
    conversion.iloc[0] = 1.0 if first else float("nan")
    return pd.DataFrame({
        "stage": pd.Series(rows, dtype="str"),
        "customers": n,
        "share": (n / first if first else n * float("nan")).astype("float64"),
        "conversion": conversion,
    })


def top_paths(
    data: JourneyData,
    level: str = "stage",
    n: int = 10,
    max_len: int = 6,
    collapse_repeats: bool = False,
    elements: ibis.Table | None = None,
    goal: Goal | None = None,
) -> pd.DataFrame:
    """The most common journeys as paths of elements joined by " > ".

    A journey longer than ``max_len`` elements is cut there and ends in " > ...".
    DataFrame[path, customers, share (of all customers with events), conversion (share of
    the path's customers who converted to the goal, :func:`journeylib.journey.goal_outcomes`,
    among those the goal can judge; NaN when there is no goal)], the ``n`` most common
    paths sorted by customers desc then path. ``goal`` overrides the journey's goal;
    ``elements``: see :func:`stored_elements`.
    """
    n = _check_int("n", n, 1)
    max_len = _check_int("max_len", max_len, 1)
    model = data.journey if goal is None else data.journey.with_goal(goal)
    goal = model.goal
    events = data.events
    e = _elements(events, level, collapse_repeats, stored=elements)
    # One element per position k, so the max per position is that element; this avoids an
    # ordered group_concat, which some backends (Spark) cannot compile.
    # A stage goal at stage level, or a touchpoint goal at touchpoint level, is read from
    # the elements themselves: no second pass over the events.
    from_elements = goal is not None and (goal.kind, level) in (("stage", "stage"), ("touchpoint", "touchpoint"))
    extra = {}
    if from_elements:
        targets = list(model.stages[model.stages.index(goal.target):]) if goal.kind == "stage" else [goal.target]
        extra = {"_won": e.node.isin(targets).any()}
    per_customer = e.group_by("customer_id").agg(
        length=e.k.max(), **{f"_n{i}": e.node.max(where=e.k == i) for i in range(1, max_len + 1)}, **extra
    )
    prefix = per_customer._n1
    for i in range(2, max_len + 1):
        node = per_customer[f"_n{i}"]
        prefix = prefix.concat(ibis.ifelse(node.isnull(), ibis.literal(""), ibis.literal(PATH_SEP).concat(node)))
    path = ibis.ifelse(per_customer.length > max_len, prefix.concat(PATH_SEP + PATH_MORE), prefix)
    if from_elements:
        paths = per_customer.select(path=path, won=per_customer._won.cast("float64"))
    elif goal is not None:
        per_customer = per_customer.select("customer_id", path=path)
        won = goal_outcomes(replace(data, journey=model), goal)
        won = won.select(customer_id=won.customer_id.cast("string"), converted=won.converted)
        j = per_customer.left_join(won, "customer_id")
        paths = j.select(path=j.path, won=j.converted.cast("float64"))
    else:
        paths = per_customer.select(path=path, won=ibis.null("float64"))
    agg = paths.group_by("path").agg(customers=paths.count(), conversion=paths.won.mean())
    agg = agg.mutate(share=agg.customers / agg.customers.sum().over())
    agg = agg.order_by([ibis.desc(agg.customers), agg.path]).limit(n)
    dtypes = {"customers": "int64", "share": "float64", "conversion": "float64"}
    out = execute(agg)
    if out.empty:
        return _empty(PATH_COLUMNS, dtypes)
    return _typed(out[list(PATH_COLUMNS)], dtypes)
