"""Journey flows: step Sankey links, transitions, funnel and top paths; a Sankey read
backwards from an end, the customers behind any flow element, paths between two
touchpoints and time along the journey.

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
from dataclasses import dataclass, replace
from typing import Sequence

import ibis
import pandas as pd

from journeylib.engine import execute
from journeylib.journey import Goal, GoalError, JourneyModel, goal_outcomes
from journeylib.reach import furthest_stage, reached_by_stage, stage_index
from journeylib.schema import ALL_PERSONAS, END_NODE, OTHER_NODE, PURCHASE_STAGE, UNASSIGNED, JourneyData

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
    with_stage: bool = False,
) -> ibis.Table:
    """customer_id, k (1-based), node, next_node (null after the last) [, first_node]
    [, stage: the element's event's stage, for touchpoint elements with repeats kept].

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
        **({"stage": events.stage.cast("string")} if with_stage and not merge else {}),
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
    if "stage" in t.columns:
        cols["stage"] = t.stage
    return t.select(**cols)


def journey_elements(
    events: ibis.Table, level: str = "touchpoint", collapse_repeats: bool = False
) -> ibis.Table:
    """The k-th element of each customer's journey: an Ibis table (customer_id, k, node)."""
    return _elements(events, level, collapse_repeats).select("customer_id", "k", "node")


def stored_elements(events: ibis.Table, level: str) -> ibis.Table:
    """Every journey element at ``level`` (touchpoint repeats kept) with its neighbours:
    (customer_id, k, node, next_node, first_node), and at the touchpoint level each
    element's ``stage`` (so the customers of a stage are found without ordering again).

    The workspace stores this beside a saved dataset's events: the flows of the whole
    dataset, or of some of its customers, then read it instead of ordering each customer's
    events again (the costly part at millions of events). It no longer applies once events
    are filtered by date or channel, since that changes the elements themselves.
    """
    return _elements(events, level, collapse_repeats=False, with_first=True, with_stage=level == "touchpoint")


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
    # A Sankey has tens of links: plain dictionaries count them in well under a millisecond,
    # where pandas' group-bys and merges took some 40 ms of every new view's page run.
    out: dict[tuple[int, str], int] = {}
    ends: dict[tuple[int, str], int] = {}
    incoming: dict[tuple[int, str], int] = {}
    for step, source, target, customers in zip(sankey["step"], sankey["source"], sankey["target"],
                                               sankey["customers"]):
        here, n = (int(step), str(source)), int(customers)
        out[here] = out.get(here, 0) + n
        if target == END_NODE:
            ends[here] = ends.get(here, 0) + n
        else:
            after = (int(step) + 1, str(target))
            incoming[after] = incoming.get(after, 0) + n
    # Outgoing and incoming agree wherever both exist; incoming only fills the last step.
    sizes = {**incoming, **out}
    rows = sorted(((k[0], k[1], n, ends.get(k, 0)) for k, n in sizes.items()), key=lambda r: (r[0], -r[2], r[1]))
    nodes = pd.DataFrame(rows, columns=["step", "node", "customers", "end_customers"])
    nodes["end_share"] = nodes["end_customers"] / nodes["customers"]
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


def count_notes(
    events: ibis.Table,
    stages: Sequence[str],
    level: str = "touchpoint",
    max_steps: int = 5,
    start: str | None = None,
    collapse_repeats: bool = False,
    filters: Sequence[str] = (),
) -> list[str]:
    """Why the step Sankey and the funnel of one view give different numbers, in sentences
    computed from the events.

    The Sankey counts a customer once per step (``max_steps`` steps at ``level``, only
    journeys starting at ``start`` when given); the funnel over ``stages`` counts a customer
    once per stage, at every stage up to the furthest one they reached. The sentences say
    how many journeys are longer than the steps shown, how many customers come back to a
    stage they had left (counted at each of those steps in a stage Sankey), how many the
    funnel counts at a stage they skipped, how many have no event at any funnel stage, and
    which ``filters`` (descriptions such as "channels: Email") both views share. Facts that
    do not hold for this data are left out.
    """
    max_steps = _check_int("max_steps", max_steps, 1)
    stages = [str(s) for s in stages]
    e = _elements(events, level, collapse_repeats, with_first=True)
    per = e.group_by("customer_id").agg(length=e.k.max(), first=e.first_node.max())
    row = execute(per.aggregate(
        customers=per.count(),
        longer=(per.length > max_steps).sum(),
        starting=(per["first"] == str(start)).sum() if start is not None else ibis.literal(0),
    )).iloc[0]
    n = int(row["customers"])
    if n == 0:
        return []
    unit = "touchpoints" if level == "touchpoint" else "stages"
    notes = ["The Sankey counts each customer once at every step of their journey; the funnel counts each "
             "customer once per stage, at a stage once they reached it or any later stage."]
    longer = int(row["longer"] or 0)
    if longer:
        notes.append(f"{longer:,} of {n:,} journeys ({longer / n:.0%}) {'has' if longer == 1 else 'have'} more "
                     f"than {max_steps} {unit}: the Sankey shows the first {max_steps}, the funnel every stage "
                     "reached.")
    if start is not None:
        starting = int(row["starting"] or 0)
        notes.append(f"The Sankey shows only the {starting:,} journeys that start at {start}; the funnel counts "
                     f"all {n:,} customers.")
    s = _elements(events, "stage", False)
    s = s.filter(s.node != NO_STAGE)
    again = s.group_by("customer_id", "node").agg(times=s.count())
    again = again.filter(again.times > 1)
    back = int(execute(again.customer_id.nunique()))
    if back:
        who = "customer comes" if back == 1 else "customers come"
        notes.append(f"{back:,} {who} back to a stage they had left: a stage Sankey counts them at each step "
                     "they are there, the funnel once.")
    if stages:
        per = furthest_stage(events, stages)
        ends = execute(per.group_by("furthest").aggregate(n=per.count()))
        counted = reached_by_stage(ends, stages).set_index("stage")["customers"]
        at = events.filter(events.stage.isin(stages))
        present = execute(at.group_by(stage=at.stage.cast("string")).agg(customers=at.customer_id.nunique()))
        present = present.set_index("stage")["customers"].reindex(stages).fillna(0).astype("int64")
        skipped = (counted - present).clip(lower=0)
        worst = skipped.idxmax() if len(skipped) else None
        if worst is not None and skipped[worst] > 0:
            k = int(skipped[worst])
            notes.append(f"The funnel counts {k:,} {'customer' if k == 1 else 'customers'} at {worst} with no "
                         f"{worst} event, because they reached a later stage.")
        outside = n - int(counted.iloc[0])
        if outside > 0:
            verb = "has" if outside == 1 else "have"
            notes.append(f"{outside:,} of {n:,} customers {verb} no event at any funnel stage "
                         f"({', '.join(stages)}): they are in the Sankey, not in the funnel.")
    if filters:
        notes.append("Both count only this view: " + "; ".join(str(f) for f in filters) + ".")
    return notes


# --------------------------------------------------------------------------------------
# Drill-down and paths: read a journey backwards from an end, find the customers behind a
# flow element, follow paths between two touchpoints, time along the journey.

START_NODE = "(start)"
BETWEEN_COLUMNS = ("path", "customers", "share", "q1_seconds", "median_seconds", "q3_seconds")
TIME_COLUMNS = ("persona", "stage", "customers", "q1_seconds", "median_seconds", "q3_seconds")
NEIGHBOUR_COLUMNS = ("direction", "node", "customers", "share")


@dataclass(frozen=True)
class Anchor:
    """The end a backward Sankey is read from: events at one of ``names`` (touchpoints or
    stages, as ``kind`` says); ``label`` is what titles call it."""

    kind: str
    names: tuple[str, ...]
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("touchpoint", "stage"):
            raise ValueError(f"an anchor is a touchpoint or a stage, not {self.kind!r}")
        if not self.names:
            raise ValueError("an anchor needs at least one name")
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        if not self.label:
            object.__setattr__(self, "label", " or ".join(self.names))

    @classmethod
    def touchpoint(cls, name: str) -> "Anchor":
        return cls("touchpoint", (str(name),))

    @classmethod
    def stage(cls, name: str) -> "Anchor":
        return cls("stage", (str(name),))

    @classmethod
    def goal(cls, journey: JourneyModel) -> "Anchor":
        """The journey's goal as an end: its goal stage or a later one (a customer converts
        there, see :func:`journeylib.journey.goal_outcomes`), or its goal touchpoint."""
        goal = journey.goal
        if goal is None:
            raise GoalError("no goal is set: name one to read journeys back from it")
        if goal.kind == "stage":
            if goal.target not in journey.stages:
                raise GoalError(f"goal stage {goal.target!r} is not in the stage order ({', '.join(journey.stages)})")
            return cls("stage", journey.stages[journey.stages.index(goal.target):], goal.label)
        if goal.kind == "touchpoint":
            return cls("touchpoint", (goal.target,), goal.label)
        raise GoalError(f"the goal {goal.label!r} is a value of the column {goal.target!r}, which no event marks; "
                        "read journeys back from a touchpoint or a stage instead")

    def hits(self, t: ibis.Table) -> ibis.Value:
        """Whether an event (a row with touchpoint and stage) is at the anchor."""
        return t[self.kind].isin(list(self.names)).fill_null(False)


def _numbered(events: ibis.Table, level: str, collapse_repeats: bool) -> ibis.Table:
    """Every event with the journey element it belongs to: customer_id, timestamp, seq,
    touchpoint, stage, node, new (the element's first event), prev_node (on an element's
    first event, the previous element's node), k (the element's position, numbered as
    :func:`journey_elements` numbers them)."""
    _check_level(level)
    if level == "stage":
        node = events.stage.cast("string").fill_null(NO_STAGE)
    else:
        node = events.touchpoint.cast("string").fill_null(NO_TOUCHPOINT)
    merge = level == "stage" or bool(collapse_repeats)
    t = events.select(
        customer_id=events.customer_id.cast("string"),
        timestamp=events.timestamp,
        seq=events.seq,
        touchpoint=events.touchpoint.cast("string"),
        stage=events.stage.cast("string"),
        node=node,
    )
    w = ibis.window(group_by=t.customer_id, order_by=[t.timestamp, t.seq])
    if not merge:
        return t.mutate(prev_node=t.node.lag().over(w), new=ibis.literal(True),
                        k=(ibis.row_number().over(w) + 1).cast("int64"))
    t = t.mutate(prev_node=t.node.lag().over(w))
    t = t.mutate(new=t.prev_node.isnull() | (t.prev_node != t.node))
    running = ibis.cumulative_window(group_by=t.customer_id, order_by=[t.timestamp, t.seq])
    return t.mutate(k=t.new.cast("int64").sum().over(running).cast("int64"))


def _journeys_of(events: ibis.Table, hit: ibis.Value | ibis.Table) -> ibis.Table:
    """The whole journeys (every event) of the customers with an event where ``hit`` holds,
    or of the customers of a table with ``customer_id``: numbering only them gives the same
    positions as numbering everyone, at the cost of their events alone."""
    if isinstance(hit, ibis.Table):
        ids = hit.select(_cid=hit.customer_id.cast("string"))
    else:
        found = events.filter(hit)
        ids = found.select(_cid=found.customer_id.cast("string")).distinct()
    return events.semi_join(ids, events.customer_id.cast("string") == ids._cid)


def _anchor_positions(numbered: ibis.Table, anchor: Anchor) -> ibis.Table:
    # The first time a customer gets there: what came before it is what led there, while a
    # later visit would count steps that came after the first.
    hit = numbered.filter(anchor.hits(numbered))
    return hit.group_by("customer_id").agg(anchor_k=hit.k.min())


def _backward_links(events: ibis.Table, anchor: Anchor, level: str, collapse_repeats: bool) -> ibis.Table:
    """customer_id, back (elements before the anchor; 0 = the anchor), k, node, prev_node."""
    num = _numbered(_journeys_of(events, anchor.hits(events)), level, collapse_repeats)
    at = _anchor_positions(num, anchor)
    el = num.filter(num.new)
    j = el.join(at, "customer_id")
    return j.select("customer_id", "k", "node", "prev_node", "anchor_k", back=(j.anchor_k - j.k).cast("int64"))


def backward_sankey(
    events: ibis.Table,
    anchor: Anchor,
    level: str = "touchpoint",
    max_steps: int = 5,
    top: int = 10,
    collapse_repeats: bool = False,
) -> pd.DataFrame:
    """The step Sankey read backwards from ``anchor``: "what happened in the steps before".

    Each customer who reaches the anchor is read from the first element of their journey
    at the anchor (their first occurrence of it: what came before the first visit led
    there; a later visit would count steps taken after the goal was first reached).
    Columns count back from it: the anchor is column 0, the element before it column -1,
    and so on to ``-(max_steps - 1)``; a journey with fewer elements before the anchor
    starts at a ``(start)`` node. Same frame as :func:`step_sankey`,
    DataFrame[step, source, target, customers], where a link of step s goes from column s
    to column s + 1 (so steps run from -(max_steps - 1) to -1), counted in distinct
    customers. With ``top`` > 0, nodes outside the ``top`` most frequent of their column
    become ``(other)``; ``(start)`` is never merged. Sorted by step, customers
    (descending), source, target.
    """
    max_steps = _check_int("max_steps", max_steps, 1)
    top = _check_int("top", top, 0)
    _check_level(level)
    dtypes = {"step": "int64", "customers": "int64"}
    if max_steps == 1:
        return _empty(SANKEY_COLUMNS, dtypes)
    b = _backward_links(events, anchor, level, collapse_repeats)
    b = b.filter((b.back >= 0) & (b.back <= max_steps - 2))
    links = b.group_by(
        step=-(b.back + 1), source=b.prev_node.fill_null(START_NODE), target=b.node
    ).agg(customers=ibis._.count())
    out = execute(links)
    if out.empty:
        return _empty(SANKEY_COLUMNS, dtypes)
    out = out.astype({"step": "int64", "customers": "int64"})
    if top:
        out = _merge_rare_backward(out, top)
    out = out.sort_values(["step", "customers", "source", "target"], ascending=[True, False, True, True])
    return _typed(out[list(SANKEY_COLUMNS)], dtypes)


def _merge_rare_backward(links: pd.DataFrame, top: int) -> pd.DataFrame:
    """(other) for nodes outside the per-column top of a backward Sankey (aggregated links)."""
    # Every customer at a column before the anchor has one link onwards; at the anchor's
    # column, one link in.
    before = links.groupby(["step", "source"], as_index=False)["customers"].sum()
    before.columns = ["column", "node", "customers"]
    last = links[links["step"] == -1].groupby("target", as_index=False)["customers"].sum()
    last.columns = ["node", "customers"]
    last.insert(0, "column", 0)
    at = pd.concat([before, last], ignore_index=True)
    at = at[at["node"] != START_NODE]
    at = at.sort_values(["column", "customers", "node"], ascending=[True, False, True])
    at["rank"] = at.groupby("column").cumcount()
    kept = set(zip(at.loc[at["rank"] < top, "column"], at.loc[at["rank"] < top, "node"]))
    source = [s if s == START_NODE or (c, s) in kept else OTHER_NODE for c, s in zip(links["step"], links["source"])]
    target = [t if (c + 1, t) in kept else OTHER_NODE for c, t in zip(links["step"], links["target"])]
    merged = links.assign(source=source, target=target)
    return merged.groupby(["step", "source", "target"], as_index=False)["customers"].sum()


# ----------------------------------------------------------------------------- who is behind


@dataclass(frozen=True)
class SankeyPick:
    """A node (``target`` None) or a link of a step Sankey, named as its frame names it.

    A node is (column, name): in a forward Sankey the column is the step k of the k-th
    element (``(end)`` at k: journeys of exactly k - 1 elements); in a backward one
    (``anchor`` given) it is 0 for the anchor and -j for j elements before it (``(start)``:
    journeys with fewer elements before the anchor). A link is (step, source, target), from
    column step to column step + 1, as in the frame. ``level``, ``collapse_repeats``,
    ``start`` and ``anchor`` are those the Sankey was drawn with.
    """

    step: int
    node: str
    target: str | None = None
    level: str = "touchpoint"
    collapse_repeats: bool = False
    start: str | None = None
    anchor: Anchor | None = None


@dataclass(frozen=True)
class FunnelPick:
    """A funnel step: the customers who reached ``stage`` (or a later stage), or with
    ``dropped`` those who reached it and no later stage (their furthest stage in the stage
    order is ``stage``). ``stage`` may also be the goal's name (the last row of a funnel
    towards a touchpoint or column goal): the customers who converted. ``level`` is where
    next and previous are read."""

    stage: str
    dropped: bool = False
    level: str = "touchpoint"


@dataclass(frozen=True)
class PainPick:
    """A row of :func:`journeylib.insights.pain_points`: its ``kind`` (the row's level,
    stage or touchpoint) and ``name``; the customers it counts, who had an event there."""

    kind: str
    name: str
    level: str = "touchpoint"


def _kept_at(sankey: pd.DataFrame | None, column: int, pick: SankeyPick) -> list[str] | None:
    """Names drawn as themselves at a column of the Sankey the pick came from."""
    if sankey is None:
        raise ValueError("(other) is every name a Sankey did not keep: pass the Sankey frame it was picked from")
    names = set(sankey.loc[sankey["step"] == column, "source"]) | set(sankey.loc[sankey["step"] == column - 1, "target"])
    return sorted(str(n) for n in names - {OTHER_NODE, END_NODE, START_NODE})


def _is_node(value: ibis.Value, name: str, kept: list[str] | None) -> ibis.Value:
    if name == OTHER_NODE:
        return value.notnull() & ~value.isin(kept) if kept else value.notnull()
    return value == name


def _sankey_customers(data: JourneyData, pick: SankeyPick, sankey, elements) -> ibis.Table:
    def kept(column: int, name: str | None) -> list[str] | None:
        return _kept_at(sankey, column, pick) if name == OTHER_NODE else None

    level, step = pick.level, int(pick.step)
    if pick.anchor is None:
        if step < 1:
            raise ValueError(f"a forward Sankey's steps start at 1, not {step}")
        e = _elements(data.events, level, pick.collapse_repeats, with_first=pick.start is not None, stored=elements)
        if pick.start is not None:
            e = e.filter(e.first_node == str(pick.start))
        if pick.target is None and pick.node == END_NODE:
            hit = e.filter((e.k == step - 1) & e.next_node.isnull())
            return hit.select("customer_id", first_k=ibis.literal(step, "int64"), last_k=ibis.literal(step, "int64"))
        cond = (e.k == step) & _is_node(e.node, pick.node, kept(step, pick.node))
        if pick.target is None:
            return e.filter(cond).select("customer_id", first_k=e.k, last_k=e.k)
        if pick.target == END_NODE:
            cond &= e.next_node.isnull()
        else:
            cond &= _is_node(e.next_node, pick.target, kept(step + 1, pick.target))
        hit = e.filter(cond)
        return hit.select("customer_id", first_k=hit.k, last_k=(hit.k + 1).cast("int64"))
    if pick.target is None:
        if step > 0:
            raise ValueError(f"a backward Sankey's columns count back from 0 (the anchor), not {step}")
        if pick.node == START_NODE:
            events = _journeys_of(data.events, pick.anchor.hits(data.events))
            at = _anchor_positions(_numbered(events, level, pick.collapse_repeats), pick.anchor)
            hit = at.filter(at.anchor_k == -step)
            return hit.select("customer_id", first_k=ibis.literal(0, "int64"), last_k=ibis.literal(0, "int64"))
        b = _backward_links(data.events, pick.anchor, level, pick.collapse_repeats)
        hit = b.filter((b.back == -step) & _is_node(b.node, pick.node, kept(step, pick.node)))
        return hit.select("customer_id", first_k=hit.k, last_k=hit.k)
    if step > -1:
        raise ValueError(f"a backward Sankey's links have steps -1 and below, not {step}")
    b = _backward_links(data.events, pick.anchor, level, pick.collapse_repeats)
    cond = (b.back == -(step + 1)) & _is_node(b.node, pick.target, kept(step + 1, pick.target))
    if pick.node == START_NODE:
        cond &= b.prev_node.isnull()
    else:
        cond &= _is_node(b.prev_node, pick.node, kept(step, pick.node))
    hit = b.filter(cond)
    return hit.select("customer_id", first_k=(hit.k - 1).cast("int64"), last_k=hit.k)


def _funnel_customers(data: JourneyData, pick: FunnelPick) -> ibis.Table:
    stages = tuple(data.stages)
    goal = data.goal
    if pick.stage not in stages:
        if goal is None or pick.stage != goal.label:
            names = list(stages) + ([goal.label] if goal is not None else [])
            raise ValueError(f"{pick.stage!r} is not a step of the funnel ({', '.join(names)})")
        if pick.dropped:
            raise ValueError(f"{goal.label!r} is the funnel's last step: no one drops after it")
        outcomes = goal_outcomes(data)
        won = outcomes.filter(outcomes.converted).select(customer_id=outcomes.customer_id.cast("string"))
        if goal.kind == "touchpoint":
            num = _numbered(_journeys_of(data.events, won), pick.level, False)
            hit = num.filter(num.touchpoint == goal.target)
            at = hit.group_by("customer_id").agg(first_k=hit.k.min())
            j = won.left_join(at, won.customer_id == at.customer_id)
            return j.select(customer_id=won.customer_id, first_k=j.first_k, last_k=j.first_k)
        return won.select("customer_id", first_k=ibis.null("int64"), last_k=ibis.null("int64"))
    i = stages.index(pick.stage)
    ev = data.events
    furthest = ev.group_by(customer_id=ev.customer_id.cast("string")).agg(furthest=stage_index(ev.stage, stages).max())
    group = furthest.filter(furthest.furthest == i if pick.dropped else furthest.furthest >= i)
    num = _numbered(_journeys_of(ev, group), pick.level, False)
    idx = stage_index(num.stage, stages)
    if pick.dropped:
        per = num.group_by("customer_id").agg(first_k=num.k.min(where=idx == i), last_k=num.k.max(where=idx == i))
        return per.select("customer_id", "first_k", "last_k")
    per = num.group_by("customer_id").agg(first_k=num.k.min(where=idx >= i))
    return per.select("customer_id", "first_k", last_k=per.first_k)


def _pain_customers(data: JourneyData, pick: PainPick, elements: ibis.Table | None = None) -> ibis.Table:
    if pick.kind not in ("stage", "touchpoint"):
        raise ValueError(f"a pain point is a stage or a touchpoint row, not {pick.kind!r}")
    column = "node" if pick.kind == "touchpoint" else "stage"
    if elements is not None and pick.level == "touchpoint" and column in elements.columns:
        # Stored touchpoint elements are the events in order: their positions, unsorted.
        hit = elements.filter(elements[column] == str(pick.name))
        return hit.group_by("customer_id").agg(first_k=hit.k.min(), last_k=hit.k.max())
    at = (data.events[pick.kind].cast("string") == str(pick.name)).fill_null(False)
    num = _numbered(_journeys_of(data.events, at), pick.level, False)
    hit = num.filter((num[pick.kind] == str(pick.name)).fill_null(False))
    return hit.group_by("customer_id").agg(first_k=hit.k.min(), last_k=hit.k.max())


def flow_customers(
    data: JourneyData,
    pick: SankeyPick | FunnelPick | PainPick,
    sankey: pd.DataFrame | None = None,
    elements: ibis.Table | None = None,
) -> ibis.Table:
    """The customers behind a flow element: an Ibis table (customer_id, first_k, last_k).

    ``pick`` is a Sankey node or link (:class:`SankeyPick`, forward or backward), a
    funnel step (:class:`FunnelPick`) or a pain point (:class:`PainPick`). One row per
    customer; ``first_k`` and ``last_k`` are where the element sits in their journey at
    the pick's level (first and last element it covers; null when no event marks it, as
    for a column goal), which :func:`neighbours` reads. A pick of ``(other)`` needs the
    Sankey frame it came from (``sankey``) to know which names were kept. ``elements``:
    see :func:`stored_elements` (read by forward Sankey picks and pain points).
    """
    if isinstance(pick, SankeyPick):
        return _sankey_customers(data, pick, sankey, elements)
    if isinstance(pick, FunnelPick):
        return _funnel_customers(data, pick)
    if isinstance(pick, PainPick):
        return _pain_customers(data, pick, elements)
    raise ValueError(f"not a flow element: {pick!r}")


def neighbours(
    events: ibis.Table,
    customers: ibis.Table,
    level: str = "touchpoint",
    collapse_repeats: bool = False,
    elements: ibis.Table | None = None,
) -> pd.DataFrame:
    """Where customers went right after a flow element and where they came from.

    ``customers`` is :func:`flow_customers`' table (positions at ``level``). DataFrame[
    direction, node, customers, share]: direction ``next`` (the element after ``last_k``,
    ``(end)`` when the journey stops there) and ``previous`` (the element before
    ``first_k``, ``(start)`` when there is none); share of the customers with a position.
    Sorted by direction (next first), customers desc, node.
    """
    c = customers.filter(customers.first_k.notnull() & customers.last_k.notnull())
    if elements is not None and (level == "stage" or not collapse_repeats):
        ids = c.select(_cid=c.customer_id.cast("string"))
        e = elements.semi_join(ids, elements.customer_id == ids._cid).select("customer_id", "k", "node")
    else:
        e = _elements(_journeys_of(events, c), level, collapse_repeats).select("customer_id", "k", "node")
    sides = []
    for direction, position, none in (("next", c.last_k + 1, END_NODE), ("previous", c.first_k - 1, START_NODE)):
        side = c.select(customer_id=c.customer_id.cast("string"), _at=position.cast("int64"),
                        direction=ibis.literal(direction), _none=ibis.literal(none))
        j = side.left_join(e, (side.customer_id == e.customer_id) & (side._at == e.k))
        sides.append(j.select("direction", node=j.node.fill_null(j._none)))
    both = sides[0].union(sides[1])
    out = execute(both.group_by(["direction", "node"]).agg(customers=ibis._.count()))
    dtypes = {"customers": "int64", "share": "float64"}
    if out.empty:
        return _empty(NEIGHBOUR_COLUMNS, dtypes)
    out["customers"] = out["customers"].astype("int64")
    out["share"] = out["customers"] / out.groupby("direction")["customers"].transform("sum")
    out["_d"] = (out["direction"] != "next").astype(int)
    out = out.sort_values(["_d", "customers", "node"], ascending=[True, False, True])
    return _typed(out[list(NEIGHBOUR_COLUMNS)], dtypes)


# ----------------------------------------------------------------------------- paths and time


def paths_between(
    events: ibis.Table,
    source: str,
    target: str,
    level: str = "touchpoint",
    n: int = 10,
    max_len: int = 8,
    collapse_repeats: bool = False,
) -> pd.DataFrame:
    """The most common paths from a customer's first ``source`` to the next ``target``.

    For each customer with an element ``source`` followed later by an element ``target``:
    the elements from their first ``source`` to the first ``target`` after it, joined by
    " > "; a path longer than ``max_len`` elements keeps its first ``max_len - 1`` and
    then " > ... > " and the target. Time is from the first event of the source element
    to the first event of the target element, in whole seconds. DataFrame[path,
    customers, share (of the customers who went from source to target), q1_seconds,
    median_seconds, q3_seconds], the ``n`` most common paths by customers desc, path.
    """
    n = _check_int("n", n, 1)
    max_len = _check_int("max_len", max_len, 2)
    num = _numbered(events, level, collapse_repeats)
    el = num.filter(num.new).select("customer_id", "k", "node", "timestamp")
    firsts = el.filter(el.node == str(source)).group_by("customer_id").agg(a_k=ibis._.k.min())
    j = el.join(firsts, "customer_id")
    later = j.filter((j.node == str(target)) & (j.k > j.a_k))
    ends = later.group_by("customer_id").agg(b_k=later.k.min())
    span = el.join(firsts, "customer_id").join(ends, "customer_id")
    span = span.filter((span.k >= span.a_k) & (span.k <= span.b_k))
    rel = span.k - span.a_k
    inner = span.k < span.b_k
    per = span.group_by("customer_id").agg(
        length=(span.b_k - span.a_k + 1).max(),
        t_a=span.timestamp.min(where=span.k == span.a_k),
        t_b=span.timestamp.min(where=span.k == span.b_k),
        **{f"_n{i}": span.node.max(where=(rel == i) & inner) for i in range(max_len - 1)},
    )
    path = per._n0
    for i in range(1, max_len - 1):
        node = per[f"_n{i}"]
        path = path.concat(ibis.ifelse(node.isnull(), ibis.literal(""), ibis.literal(PATH_SEP).concat(node)))
    more = ibis.ifelse(per.length > max_len, ibis.literal(PATH_SEP + PATH_MORE), ibis.literal(""))
    path = path.concat(more).concat(ibis.literal(PATH_SEP)).concat(ibis.literal(str(target)))
    seconds = (per.t_b.epoch_seconds() - per.t_a.epoch_seconds()).cast("float64")
    p = per.select(path=path, seconds=seconds)
    agg = p.group_by("path").agg(
        customers=p.count(),
        q1_seconds=p.seconds.quantile(0.25),
        median_seconds=p.seconds.quantile(0.5),
        q3_seconds=p.seconds.quantile(0.75),
    )
    agg = agg.mutate(share=agg.customers / agg.customers.sum().over())
    agg = agg.order_by([ibis.desc(agg.customers), agg.path]).limit(n)
    dtypes = {"customers": "int64", "share": "float64", "q1_seconds": "float64", "median_seconds": "float64",
              "q3_seconds": "float64"}
    out = execute(agg)
    if out.empty:
        return _empty(BETWEEN_COLUMNS, dtypes)
    return _typed(out[list(BETWEEN_COLUMNS)], dtypes)


def time_to_stage(data: JourneyData, personas: pd.DataFrame | ibis.Table | None = None) -> pd.DataFrame:
    """Time from a customer's first event to their first arrival at each stage, and to the goal.

    Arriving at a stage is the first event at that stage or a later one (when the funnel
    starts counting the customer there). The goal row (named after the goal) is the first
    event at a goal touchpoint, or at a goal stage or a later one; a column goal has no
    event to time and no row. DataFrame[persona, stage, customers (who arrived), q1_seconds,
    median_seconds, q3_seconds] in whole seconds, persona ``all`` for everyone, then one
    block per persona when ``personas`` (customer_id, persona) is given (customers without
    one under ``(unassigned)``). Stages in stage order, the goal last.
    """
    stages = tuple(data.stages)
    ev = data.events
    idx = stage_index(ev.stage, stages)
    ts = ev.timestamp
    arrivals = {f"_t{i}": ts.min(where=idx >= i) for i in range(len(stages))}
    names = {f"_t{i}": s for i, s in enumerate(stages)}
    goal = data.goal
    if goal is not None and goal.kind == "touchpoint":
        arrivals["_tg"] = ts.min(where=ev.touchpoint == goal.target)
        names["_tg"] = goal.label
    elif goal is not None and goal.kind == "stage" and goal.label != goal.target and goal.target in stages:
        arrivals["_tg"] = arrivals[f"_t{stages.index(goal.target)}"]
        names["_tg"] = goal.label
    per = ev.group_by(customer_id=ev.customer_id.cast("string")).agg(_first=ts.min(), **arrivals)
    groups = [("all", per.mutate(persona=ibis.literal(ALL_PERSONAS)))]
    if personas is not None:
        if isinstance(personas, ibis.Table):
            lookup = personas.select(_pid=personas.customer_id.cast("string"), _persona=personas.persona.cast("string"))
        else:
            lookup = ibis.memtable(pd.DataFrame({"_pid": personas["customer_id"].astype(str),
                                                 "_persona": personas["persona"].astype(str)}).drop_duplicates("_pid"))
        j = per.left_join(lookup, per.customer_id == lookup._pid)
        groups.append(("persona", j.select(*per.columns, persona=j._persona.fill_null(UNASSIGNED))))
    frames = []
    for _, table in groups:
        metrics = {}
        for col in names:
            secs = (table[col].epoch_seconds() - table._first.epoch_seconds()).cast("float64")
            metrics[f"{col}_n"] = table[col].count()
            metrics[f"{col}_q1"] = secs.quantile(0.25)
            metrics[f"{col}_q2"] = secs.quantile(0.5)
            metrics[f"{col}_q3"] = secs.quantile(0.75)
        wide = execute(table.group_by("persona").agg(**metrics))
        for r in wide.to_dict("records"):
            for col, label in names.items():
                frames.append({"persona": str(r["persona"]), "stage": label, "customers": int(r[f"{col}_n"] or 0),
                               "q1_seconds": r[f"{col}_q1"], "median_seconds": r[f"{col}_q2"],
                               "q3_seconds": r[f"{col}_q3"]})
    dtypes = {"customers": "int64", "q1_seconds": "float64", "median_seconds": "float64", "q3_seconds": "float64"}
    if not frames:
        return _empty(TIME_COLUMNS, dtypes)
    out = pd.DataFrame(frames)
    out = out[out["customers"] > 0]
    order = {label: i for i, label in enumerate(names.values())}
    persona_rank = {p: i for i, p in enumerate([ALL_PERSONAS] + sorted(set(out["persona"]) - {ALL_PERSONAS, UNASSIGNED})
                                               + [UNASSIGNED])}
    out = out.assign(_p=out["persona"].map(persona_rank), _s=out["stage"].map(order))
    out = out.sort_values(["_p", "_s"], kind="stable")
    return _typed(out[list(TIME_COLUMNS)], dtypes)
