"""Who reached what: distinct customers per stage, touchpoint and channel, and where each
journey ended, from one grouped pass over the events.

The journey map and the pain points need the same events counted many ways: customers per
stage, per (stage, touchpoint), per (stage, channel) and per touchpoint, and each journey's
furthest stage and last touchpoint. Asked one by one, every distinct count is its own pass
over the events with a set of customers per group, about seven passes in all. Here each
customer's events are grouped once: the stages, pairs and touchpoints a customer reached
become bits of a few integers (``bit_or``), and each bit is summed over customers. Backends
that Ibis cannot give ``bit_or`` (PySpark in Ibis 12), and vocabularies too large for
:data:`MAX_WORDS` words, get the counts one query each: the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ibis
import ibis.expr.operations as ops
import numpy as np
import pandas as pd

from journeylib.engine import execute

# Bits per integer: 1 << 63 does not fit a signed 64-bit integer.
BITS_PER_WORD = 63
# Each bit is a summed column of the one-pass query, so its width grows with the
# vocabulary; above this many words (504 stages, pairs and touchpoints) the counts go one
# query each instead. A bound on query size, not a measured break-even.
MAX_WORDS = 8


@dataclass(frozen=True)
class Reach:
    """Distinct-customer counts of one set of events.

    ``stages``: DataFrame[stage, stage_idx, customers] for the stages in the stage order
    that anyone had an event in (customers with an event in that stage; the funnel rule,
    reached that stage or a later one, is :meth:`reached`). ``stage_touchpoints`` / ``stage_channels``: DataFrame[stage,
    touchpoint | channel, customers] for those stages and non-blank values (channels empty
    when the events have no channel column). ``touchpoints``: DataFrame[touchpoint,
    customers] over events in any stage. ``touchpoint_stages``: DataFrame[touchpoint, stage,
    events], event counts of every (touchpoint, stage) label pair, unknown stages included.
    ``ends``: DataFrame[furthest, last_tp, n], customers by furthest stage index reached
    (NaN when none of their events has a known stage) and touchpoint of their last event
    (by timestamp, then file order); with a ``converted`` column too (whether any of their
    events reaches the goal, :func:`journeylib.journey.goal_event`) when counted for a
    journey with a stage or touchpoint goal.
    """

    customers: int
    stages: pd.DataFrame
    stage_touchpoints: pd.DataFrame
    stage_channels: pd.DataFrame
    touchpoints: pd.DataFrame
    touchpoint_stages: pd.DataFrame
    ends: pd.DataFrame

    def reached(self, stages: Sequence[str]) -> pd.DataFrame:
        """Customers at each stage of ``stages`` (the stage order these counts were made
        with) by the funnel rule: see :func:`reached_by_stage`."""
        return reached_by_stage(self.ends, stages)


def stage_index(column: ibis.Value, stages: Sequence[str]) -> ibis.Value:
    """Position of a stage name in the stage order (null for blank or unknown stages)."""
    return column.cases(*[(s, i) for i, s in enumerate(stages)], else_=ibis.null("int64"))


def furthest_stage(events: ibis.Table, stages: Sequence[str]) -> ibis.Table:
    """Each customer's furthest stage: (customer_id, furthest), the largest position in
    the stage order of any of their events (null when none has a stage of the order)."""
    ev = events.filter(events.customer_id.notnull())
    return ev.group_by("customer_id").aggregate(furthest=stage_index(ev.stage, stages).max())


def reached_by_stage(furthest: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    """Customers at each stage by the funnel rule (DESIGN.md): a customer counts at a stage
    once they reach it or any later stage, so the counts never grow along the stages.

    ``furthest``: DataFrame[furthest, n], customers by the position of their furthest
    stage (NaN: none reached, counted nowhere), as in :attr:`Reach.ends` or
    :func:`furthest_stage` counted. Returns DataFrame[stage, customers], one row per stage
    in order. Every count of customers at a stage is this one.
    """
    stages = [str(s) for s in stages]
    known = furthest.dropna(subset=["furthest"])
    at = np.zeros(len(stages), dtype="int64")
    if len(known):
        per = known.groupby(known["furthest"].astype("int64"))["n"].sum()
        at[per.index.to_numpy()] = per.to_numpy()
    # Reached stage i = furthest stage at i or beyond: a cumulative sum from the end.
    return pd.DataFrame({"stage": pd.Series(stages, dtype="str"),
                         "customers": pd.Series(at[::-1].cumsum()[::-1], dtype="int64")})


def _last_touchpoint(ev: ibis.Table) -> ibis.Value:
    # An arg-max over (timestamp, seq) in the group-by: no per-customer sort.
    return ev.touchpoint.argmax(ibis.struct({"t": ev.timestamp, "s": ev.seq}))


def _goal_hit(journey):
    """A function of an events table giving journey.goal_event on it, or None (no stage or
    touchpoint goal, or one these stages cannot judge)."""
    if journey is None:
        return None
    from journeylib.journey import GoalError, goal_event

    try:
        if goal_event(ibis.table({"stage": "string", "touchpoint": "string"}, name="_probe"), journey) is None:
            return None
    except GoalError:
        return None
    return lambda t: goal_event(t, journey)


def customer_reach(events: ibis.Table, stages: Sequence[str], journey=None) -> Reach:
    """Count who reached each stage, pair and touchpoint of ``events`` (see :class:`Reach`).

    With ``journey`` (a JourneyModel with a stage or touchpoint goal) each journey's end
    also says whether it converted, in the same pass (``Reach.ends["converted"]``)."""
    stages = tuple(str(s) for s in stages)
    hit = _goal_hit(journey)
    ev = events.filter(events.customer_id.notnull())
    has_channel = "channel" in ev.columns
    keys = ["stage", "touchpoint"] + (["channel"] if has_channel else [])
    combos = execute(ev.group_by(keys).aggregate(events=ev.count()))
    for k in keys:
        combos[k] = combos[k].astype("object").where(combos[k].notna(), None)
    pairs = combos.dropna(subset=["touchpoint", "stage"])
    touchpoint_stages = pairs.groupby(["touchpoint", "stage"], as_index=False)["events"].sum()
    kinds = _kinds(combos, stages, has_channel)
    words = sum(-(-len(values) // BITS_PER_WORD) for values in kinds.values())
    if words <= MAX_WORDS and _has_bit_or(events):
        counted = _one_pass(ev, combos, keys, kinds, stages, hit)
    else:
        counted = _one_by_one(ev, stages, has_channel, hit)
    customers, per_kind, ends = counted
    return Reach(
        customers=customers,
        stages=_frame(per_kind["stage"], ["stage"], stages),
        stage_touchpoints=_frame(per_kind["stage_touchpoint"], ["stage", "touchpoint"], stages),
        stage_channels=_frame(per_kind.get("stage_channel", {}), ["stage", "channel"], stages),
        touchpoints=_frame(per_kind["touchpoint"], ["touchpoint"], stages),
        touchpoint_stages=touchpoint_stages.astype({"events": "int64"}),
        ends=ends,
    )


def _kinds(combos: pd.DataFrame, stages: tuple[str, ...], has_channel: bool) -> dict[str, list]:
    """The values each count is kept for, in a fixed order (a bit each)."""
    known = combos[combos["stage"].isin(stages)]
    kinds = {
        "stage": [s for s in stages if s in set(known["stage"])],
        "stage_touchpoint": sorted(set(zip(*_non_blank(known, "touchpoint")))),
        "touchpoint": sorted(set(combos["touchpoint"].dropna())),
    }
    if has_channel:
        kinds["stage_channel"] = sorted(set(zip(*_non_blank(known, "channel"))))
    return kinds


def _non_blank(frame: pd.DataFrame, column: str):
    part = frame[frame[column].notna()]
    return part["stage"].tolist(), part[column].tolist()


def _has_bit_or(events: ibis.Table) -> bool:
    try:
        backend = events._find_backend()
    except Exception:  # only memtables: they run on the default (DuckDB) engine
        return True
    return backend.has_operation(ops.BitOr)


def _key_of(kind: str, row) -> object:
    if kind == "stage":
        return row.stage
    if kind == "touchpoint":
        return row.touchpoint
    other = "touchpoint" if kind == "stage_touchpoint" else "channel"
    value = getattr(row, other)
    return None if row.stage is None or value is None else (row.stage, value)


def _one_pass(ev, combos: pd.DataFrame, keys: list[str], kinds: dict[str, list], stages, hit=None):
    """Every count from one group-by per customer; bits say what each customer reached."""
    position = {kind: {v: i for i, v in enumerate(values)} for kind, values in kinds.items()}
    stage_pos = {s: i for i, s in enumerate(stages)}
    # One row per (stage, touchpoint, channel) label combination present: for each kind the
    # word and bit value that combination sets, joined to the events (a small table).
    dim = {f"_k_{k}": combos[k].tolist() for k in keys}
    dim["_stage_idx"] = [stage_pos.get(s) for s in combos["stage"]]
    word_cols: list[tuple[str, str, int]] = []  # (kind, column name, word)
    for kind, values in kinds.items():
        n_words = -(-len(values) // BITS_PER_WORD)
        words, bits = [], []
        for row in combos.itertuples(index=False):
            i = position[kind].get(_key_of(kind, row))
            words.append(None if i is None else i // BITS_PER_WORD)
            bits.append(None if i is None else 1 << (i % BITS_PER_WORD))
        dim[f"_w_{kind}"] = words
        dim[f"_b_{kind}"] = bits
        word_cols += [(kind, f"_m_{kind}_{w}", w) for w in range(n_words)]
    dim_frame = pd.DataFrame(dim).astype(
        {**{f"_k_{k}": "string" for k in keys}, "_stage_idx": "Int64",
         **{f"_w_{k}": "Int64" for k in kinds}, **{f"_b_{k}": "Int64" for k in kinds}}
    )
    table = ibis.memtable(dim_frame)
    j = ev.join(table, [ev[k].identical_to(table[f"_k_{k}"]) for k in keys])
    masks = {
        name: ibis.ifelse(j[f"_w_{kind}"] == w, j[f"_b_{kind}"], ibis.null("int64")).bit_or()
        for kind, name, w in word_cols
    }
    conv = {} if hit is None else {"converted": hit(j).any()}
    per = j.group_by("customer_id").aggregate(
        furthest=j._stage_idx.max(), last_tp=_last_touchpoint(j), **conv, **masks
    )
    bit_sums = {}
    for kind, name, w in word_cols:
        for i in range(w * BITS_PER_WORD, min(len(kinds[kind]), (w + 1) * BITS_PER_WORD)):
            bit = 1 << (i % BITS_PER_WORD)
            bit_sums[f"_c_{kind}_{i}"] = ((per[name] & bit) != 0).fill_null(False).cast("int64").sum()
    out = execute(per.group_by(["furthest", "last_tp", *conv]).aggregate(n=per.count(), **bit_sums))
    per_kind = {
        kind: {v: int(out[f"_c_{kind}_{i}"].sum()) for i, v in enumerate(values)}
        for kind, values in kinds.items()
    }
    ends = _ends_frame(out[["furthest", "last_tp", *conv, "n"]])
    return int(ends["n"].sum()), per_kind, ends


def _one_by_one(ev, stages, has_channel: bool, hit=None):
    """The same counts as :func:`_one_pass`, one distinct count per query."""
    ev = ev.mutate(_stage_idx=stage_index(ev.stage, stages))
    known = ev.filter(ev._stage_idx.notnull())

    def count(table, by):
        got = execute(table.group_by(by).aggregate(customers=table.customer_id.nunique()))
        if len(by) == 1:
            return {v: int(n) for v, n in zip(got[by[0]], got["customers"])}
        return {tuple(r[:-1]): int(r[-1]) for r in got[[*by, "customers"]].itertuples(index=False)}

    per_kind = {
        "stage": count(known, ["stage"]),
        "stage_touchpoint": count(known.filter(known.touchpoint.notnull()), ["stage", "touchpoint"]),
        "touchpoint": count(ev.filter(ev.touchpoint.notnull()), ["touchpoint"]),
    }
    if has_channel:
        per_kind["stage_channel"] = count(known.filter(known.channel.notnull()), ["stage", "channel"])
    conv = {} if hit is None else {"converted": hit(ev).any()}
    per = ev.group_by("customer_id").aggregate(furthest=ev._stage_idx.max(), last_tp=_last_touchpoint(ev), **conv)
    ends = _ends_frame(execute(per.group_by(["furthest", "last_tp", *conv]).aggregate(n=per.count())))
    return int(ends["n"].sum()), per_kind, ends


def _ends_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({"furthest": "float64", "n": "int64"}).reset_index(drop=True)
    out["last_tp"] = out["last_tp"].astype("object").where(out["last_tp"].notna(), None)
    if "converted" in out.columns:
        out["converted"] = out["converted"].fillna(False).astype(bool)
    return out


def _frame(counts: dict, columns: list[str], stage_order: Sequence[str]) -> pd.DataFrame:
    """A {value or (stage, value): customers} dict as a frame, zero counts left out, in
    stage order, then by value."""
    rows = [((k,) if len(columns) == 1 else k) + (n,) for k, n in counts.items() if n > 0]
    frame = pd.DataFrame(rows, columns=[*columns, "customers"])
    frame = frame.astype({c: "str" for c in columns}).astype({"customers": "int64"})
    order = [c for c in columns if c != "stage"]
    if "stage" in columns:
        frame.insert(1, "stage_idx", frame["stage"].map({s: i for i, s in enumerate(stage_order)}).astype("int64"))
        order = ["stage_idx", *order]
    frame = frame.sort_values(order).reset_index(drop=True)
    return frame if columns == ["stage"] else frame.drop(columns="stage_idx", errors="ignore")


__all__ = ["Reach", "customer_reach", "stage_index", "furthest_stage", "reached_by_stage", "BITS_PER_WORD",
           "MAX_WORDS"]
