"""Personas on the backend: persona labels as an engine table, and seeded samples of
customers picked where the events live.

:func:`labels_table` sends persona assignments to the backend, so filtering by persona is a
semi join there (:func:`filter_personas`); :func:`sample_customers` picks a seeded sample of
customers before per-customer features are pulled into Python for clustering, and
:func:`customer_chunks` splits all customers into hash buckets for assigning everybody.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import ibis
import pandas as pd

from journeylib.engine import Engine, default_engine, execute
from journeylib.schema import JourneyData

__all__ = [
    "labels_table",
    "filter_personas",
    "sample_customers",
    "customer_chunks",
    "first_by_key",
    "CustomerSample",
    "sample_label",
    "max_cluster_customers",
    "MAX_CLUSTER_ENV",
    "DEFAULT_MAX_CLUSTER_CUSTOMERS",
]

MAX_CLUSTER_ENV = "JOURNEY_MAX_CLUSTER_CUSTOMERS"
DEFAULT_MAX_CLUSTER_CUSTOMERS = 200_000


def labels_table(engine: Engine | None, assignments: pd.DataFrame, name: str | None = None) -> ibis.Table:
    """Persona assignments (customer_id, persona) as a table on the engine's backend, so
    filtering by persona is a join where the events live."""
    missing = [c for c in ("customer_id", "persona") if c not in assignments.columns]
    if missing:
        raise ValueError(f"assignments lack column(s): {', '.join(missing)}")
    frame = pd.DataFrame({
        "customer_id": assignments["customer_id"].astype("str"),
        "persona": assignments["persona"].astype("str"),
    }).drop_duplicates()
    repeated = frame["customer_id"][frame["customer_id"].duplicated()]
    if not repeated.empty:
        raise ValueError(f"assignments give more than one persona to customer(s): "
                         f"{', '.join(repeated.unique()[:3])}")
    return (engine or default_engine()).table(frame.reset_index(drop=True), name=name)


def _restrict(data: JourneyData, ids: ibis.Table) -> JourneyData:
    """Semi-join every table of ``data`` on a one-column (customer_id) table."""
    keep = ids.select(customer_id=ids.customer_id.cast("string"))
    survey = data.survey.semi_join(keep, "customer_id") if data.survey is not None else None
    customers = data.customers.semi_join(keep, "customer_id") if data.customers is not None else None
    return replace(data, events=data.events.semi_join(keep, "customer_id"), survey=survey,
                   customers=customers)


def filter_personas(data: JourneyData, labels: ibis.Table, personas: str | Sequence[str]) -> JourneyData:
    """Only the customers of the given persona(s), joined on the backend (no id list in Python)."""
    names = [personas] if isinstance(personas, str) else [str(p) for p in personas]
    return _restrict(data, labels.filter(labels.persona.isin(names)).select("customer_id"))


def max_cluster_customers() -> int:
    """Customers whose features are pulled for clustering at most (env JOURNEY_MAX_CLUSTER_CUSTOMERS)."""
    raw = os.environ.get(MAX_CLUSTER_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CLUSTER_CUSTOMERS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ValueError(f"{MAX_CLUSTER_ENV} must be a whole number of customers, not {raw!r}") from None
    if value < 3:
        raise ValueError(f"{MAX_CLUSTER_ENV} must be at least 3, not {value}")
    return value


@dataclass
class CustomerSample:
    """The data restricted to a sample of customers (or all of them) and its sizes."""

    data: JourneyData
    sampled: int  # customers in the sample
    total: int  # customers with events
    ids: ibis.Table | None = None  # the sampled customer_id values (None: everybody)

    @property
    def is_sample(self) -> bool:
        return self.sampled < self.total

    @property
    def label(self) -> str:
        """E.g. "a sample of 200,000 of 1,250,000 customers"."""
        return sample_label(self.sampled, self.total)


def sample_label(sampled: int, total: int) -> str:
    """"all 1,000 customers" or "a sample of 200,000 of 1,250,000 customers"."""
    if sampled >= total:
        return f"all {total:,} customers"
    return f"a sample of {sampled:,} of {total:,} customers"


def _bucket_key(customer_id: ibis.Value, seed: int) -> ibis.Value:
    # Salting with the seed gives a different, still reproducible, order per seed.
    return customer_id.cast("string").concat(ibis.literal(f"|{int(seed)}")).hash()


def sample_customers(data: JourneyData, max_customers: int | None = None, seed: int = 0) -> CustomerSample:
    """At most ``max_customers`` customers (default :func:`max_cluster_customers`), chosen
    on the backend by a seeded hash of their id: the same seed gives the same sample, and
    the sample has exactly ``max_customers`` customers when there are more."""
    limit = max_cluster_customers() if max_customers is None else int(max_customers)
    if limit < 1:
        raise ValueError(f"max_customers must be at least 1, not {max_customers!r}")
    ev = data.events
    ids = ev.select(customer_id=ev.customer_id.cast("string")).distinct()
    total = int(execute(ids.aggregate(n=ids.count())).iloc[0]["n"])
    if total <= limit:
        return CustomerSample(data=data, sampled=total, total=total)
    picked = first_by_key(ids, limit, seed)
    return CustomerSample(data=_restrict(data, picked), sampled=limit, total=total, ids=picked)


def first_by_key(ids: ibis.Table, limit: int, seed: int = 0) -> ibis.Table:
    """The ``limit`` customers of a one-column (string customer_id) table that come first in
    the seeded hash order :func:`sample_customers` picks by."""
    keyed = ids.mutate(_key=_bucket_key(ids.customer_id, seed))
    return keyed.order_by([keyed._key, keyed.customer_id]).limit(limit).select("customer_id")


def customer_chunks(data: JourneyData, n_chunks: int, seed: int = 0) -> Iterator[JourneyData]:
    """``data`` split into ``n_chunks`` disjoint groups of customers (hash buckets on the
    backend) that together hold every customer: for pulling features of all customers a
    chunk at a time."""
    if isinstance(n_chunks, bool) or int(n_chunks) < 1:
        raise ValueError(f"n_chunks must be a positive integer, not {n_chunks!r}")
    n = int(n_chunks)
    if n == 1:
        yield data
        return
    ev = data.events
    ids = ev.select(customer_id=ev.customer_id.cast("string")).distinct()
    # ((h % n) + n) % n: a non-negative bucket whether the backend's hash is signed or not.
    keyed = ids.mutate(_bucket=((_bucket_key(ids.customer_id, seed) % n) + n) % n)
    for i in range(n):
        yield _restrict(data, keyed.filter(keyed._bucket == i).select("customer_id"))
