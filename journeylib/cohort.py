"""Who a group of customers is: size, persona mix, attributes against everyone, scores and
comments, and where they went next and before.

A group is an Ibis table with a ``customer_id`` column, such as the customers behind a
flow element (:func:`journeylib.flows.flow_customers`). Everything is counted in Ibis
where the data lives; only counts per persona, per attribute value and per next or
previous element come back, plus a few comments.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from journeylib import flows
from journeylib.emotions import UNASSIGNED, comments
from journeylib.engine import execute
from journeylib.schema import JourneyData

__all__ = ["Profile", "profile", "MAX_VALUES"]

# An attribute with more distinct values than this is compared by its mean (when numeric)
# or left out: a share per value would be a list of near-empty rows.
MAX_VALUES = 20
PERSONA_COLUMNS = ("persona", "customers", "share", "share_overall")
ATTRIBUTE_COLUMNS = ("attribute", "value", "customers", "share", "share_overall", "difference")
NUMBER_COLUMNS = ("attribute", "mean", "mean_overall", "n")


@dataclass(frozen=True)
class Profile:
    """Who a group of customers is, against everyone in the data they were picked from.

    ``customers`` in the group out of ``total`` (customers with events, or survey answers
    when there are no events). ``personas``: DataFrame[persona, customers, share,
    share_overall]. ``attributes``: DataFrame[attribute, value, customers, share,
    share_overall, difference] for customer attributes with at most :data:`MAX_VALUES`
    values (share of the group with the value against the share of everyone), largest
    difference first. ``numbers``: DataFrame[attribute, mean, mean_overall, n] for numeric
    attributes with more values. ``mean_score`` / ``score_n`` of the group's survey scores
    and ``overall_score`` of everyone's. ``comments``: their comments, lowest scores first.
    ``neighbours``: where they went next and came from (:func:`journeylib.flows.neighbours`),
    empty when the group has no position in the journeys. ``ids``: DataFrame[customer_id]
    of the group (for a campaign list).
    """

    customers: int
    total: int
    personas: pd.DataFrame
    attributes: pd.DataFrame
    numbers: pd.DataFrame
    mean_score: float | None
    score_n: int
    overall_score: float | None
    comments: pd.DataFrame
    neighbours: pd.DataFrame
    ids: pd.DataFrame

    @property
    def share(self) -> float | None:
        return self.customers / self.total if self.total else None


def _ids(table: ibis.Table) -> ibis.Table:
    return table.select(customer_id=table.customer_id.cast("string")).distinct()


def _flag(table: ibis.Table, group: ibis.Table) -> ibis.Table:
    """``table`` (with a string customer_id) and ``_gid``: the id when in the group, else null."""
    g = group.select(_gid=group.customer_id)
    j = table.left_join(g, table.customer_id == g._gid)
    return j.select(*table.columns, _gid=j._gid)


def _everyone(data: JourneyData) -> ibis.Table:
    if data.has_events or data.survey is None:
        return _ids(data.events)
    return _ids(data.survey)


def _persona_mix(everyone: ibis.Table, group: ibis.Table, personas) -> tuple[pd.DataFrame, int]:
    """The persona mix of the group and of everyone, and how many everyone is."""
    empty = pd.DataFrame({c: pd.Series([], dtype="str" if c == "persona" else "float64") for c in PERSONA_COLUMNS})
    if personas is None:
        return empty, int(execute(everyone.count()))
    if isinstance(personas, ibis.Table):
        lookup = personas.select(_pid=personas.customer_id.cast("string"), _persona=personas.persona.cast("string"))
    else:
        lookup = ibis.memtable(pd.DataFrame({"_pid": personas["customer_id"].astype(str),
                                             "_persona": personas["persona"].astype(str)}).drop_duplicates("_pid"))
    flagged = _flag(everyone, group)
    flagged = flagged.select("customer_id", in_group=flagged._gid.notnull())
    j = flagged.left_join(lookup, flagged.customer_id == lookup._pid)
    counts = execute(j.group_by(persona=j._persona.fill_null(UNASSIGNED)).agg(
        overall=ibis._.count(), customers=j.in_group.cast("int64").sum()))
    if counts.empty:
        return empty, 0
    total = int(counts["overall"].sum())
    counts["customers"] = counts["customers"].fillna(0).astype("int64")
    in_group = counts["customers"].sum()
    counts["share"] = counts["customers"] / in_group if in_group else float("nan")
    counts["share_overall"] = counts["overall"] / counts["overall"].sum()
    counts = counts[(counts["customers"] > 0) | (counts["persona"] != UNASSIGNED)]
    counts = counts.sort_values(["customers", "persona"], ascending=[False, True])
    return counts[list(PERSONA_COLUMNS)].reset_index(drop=True).astype({"persona": "str"}), total


def _attributes(data: JourneyData, group: ibis.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty_attr = pd.DataFrame({c: pd.Series([], dtype="str" if c in ("attribute", "value") else "float64")
                               for c in ATTRIBUTE_COLUMNS})
    empty_num = pd.DataFrame({c: pd.Series([], dtype="str" if c == "attribute" else "float64")
                              for c in NUMBER_COLUMNS})
    c = data.customers
    if c is None:
        return empty_attr, empty_num
    columns = [name for name in c.columns if name != "customer_id"]
    if not columns:
        return empty_attr, empty_num
    schema = c.schema()
    base = c.mutate(customer_id=c.customer_id.cast("string"))
    flagged = _flag(base, group)
    flagged = flagged.select(*base.columns, _in=flagged._gid.notnull().cast("int64"))
    numeric = [name for name in columns if schema[name].is_numeric()]
    # One pass: how many values each column has, and the means of numeric ones.
    metrics = {f"_d{i}": flagged[name].nunique() for i, name in enumerate(columns)}
    for name in numeric:
        i = columns.index(name)
        value = flagged[name].cast("float64")
        metrics[f"_m{i}"] = value.mean(where=flagged._in == 1)
        metrics[f"_o{i}"] = value.mean()
        metrics[f"_n{i}"] = value.count(where=flagged._in == 1)
    row = execute(flagged.aggregate(**metrics)).iloc[0]
    few = [name for i, name in enumerate(columns) if int(row[f"_d{i}"]) <= MAX_VALUES]
    many_numeric = [name for name in numeric if name not in few]
    attributes, numbers = empty_attr, empty_num
    if few:
        text = flagged.select("_in", **{f"_a{i}": flagged[name].cast("string") for i, name in enumerate(few)})
        long = text.pivot_longer([f"_a{i}" for i in range(len(few))], names_to="attribute", values_to="value")
        long = long.filter(long.value.notnull())
        got = execute(long.group_by(["attribute", "value"]).agg(overall=ibis._.count(), customers=long._in.sum()))
        if not got.empty:
            got["attribute"] = got["attribute"].map({f"_a{i}": name for i, name in enumerate(few)})
            got["customers"] = got["customers"].fillna(0).astype("int64")
            per_attr = got.groupby("attribute")[["overall", "customers"]].transform("sum")
            got["share"] = (got["customers"] / per_attr["customers"]).where(per_attr["customers"] > 0)
            got["share_overall"] = got["overall"] / per_attr["overall"]
            got["difference"] = got["share"] - got["share_overall"]
            got = got.sort_values(["difference", "attribute", "value"], ascending=[False, True, True])
            attributes = got[list(ATTRIBUTE_COLUMNS)].reset_index(drop=True).astype({"attribute": "str", "value": "str"})
    if many_numeric:
        at = [columns.index(name) for name in many_numeric]
        numbers = pd.DataFrame({
            "attribute": many_numeric,
            "mean": [row[f"_m{i}"] for i in at],
            "mean_overall": [row[f"_o{i}"] for i in at],
            "n": [int(row[f"_n{i}"] or 0) for i in at],
        }).astype({"attribute": "str", "mean": "float64", "mean_overall": "float64", "n": "int64"})
    return attributes, numbers


def profile(
    data: JourneyData,
    customers: ibis.Table,
    personas: pd.DataFrame | ibis.Table | None = None,
    flow=None,
    elements: ibis.Table | None = None,
    comment_limit: int = 20,
) -> Profile:
    """Who the customers of ``customers`` (a table with ``customer_id``) are within ``data``.

    ``personas`` (customer_id, persona; a frame or a table on the data's backend) gives the
    persona mix. ``flow`` is the pick the group came from (:class:`journeylib.flows.SankeyPick`,
    ``FunnelPick`` or ``PainPick``) when ``customers`` is :func:`journeylib.flows.flow_customers`'
    table: next and previous elements are then read at its level. ``elements``: see
    :func:`journeylib.flows.stored_elements`, for the neighbours of a whole saved dataset.
    """
    # The group is found once (a flow element orders every journey) and then joined as a
    # small table to each count below.
    wanted = [c for c in ("customer_id", "first_k", "last_k") if c in customers.columns]
    found_ids = execute(customers.select(*wanted)).drop_duplicates("customer_id").reset_index(drop=True)
    found_ids["customer_id"] = found_ids["customer_id"].astype("str")
    for c in ("first_k", "last_k"):
        if c in found_ids:
            found_ids[c] = found_ids[c].astype("Int64")
    positions = ibis.memtable(found_ids)
    group = positions.select("customer_id")
    everyone = _everyone(data)
    n = len(found_ids)
    mix, total = _persona_mix(everyone, group, personas)
    attributes, numbers = _attributes(data, group)
    mean_score = overall = None
    score_n = 0
    found = pd.DataFrame(columns=["customer_id", "persona", "stage", "touchpoint", "score", "comment", "timestamp"])
    if data.survey is not None:
        s = data.survey.filter(data.survey.score.notnull() & ~data.survey.score.isnan())
        s = s.mutate(customer_id=s.customer_id.cast("string"))
        flagged = _flag(s, group)
        row = execute(flagged.aggregate(
            mean=flagged.score.mean(where=flagged._gid.notnull()),
            n=flagged.score.count(where=flagged._gid.notnull()),
            overall=flagged.score.mean(),
        )).iloc[0]
        score_n = int(row["n"] or 0)
        mean_score = None if score_n == 0 else float(row["mean"])
        overall = None if pd.isna(row["overall"]) else float(row["overall"])
        theirs = data.survey.semi_join(group, data.survey.customer_id.cast("string") == group.customer_id)
        found = comments(theirs, personas=personas, limit=comment_limit)
    near = pd.DataFrame({c: pd.Series([], dtype="str" if c in ("direction", "node") else "float64")
                         for c in flows.NEIGHBOUR_COLUMNS})
    if flow is not None and {"first_k", "last_k"} <= set(found_ids.columns) and data.has_events and n:
        near = flows.neighbours(data.events, positions, level=flow.level,
                                collapse_repeats=getattr(flow, "collapse_repeats", False),
                                elements=elements)
    return Profile(n, total, mix, attributes, numbers, mean_score, score_n, overall, found, near,
                   found_ids[["customer_id"]])
