"""Plain-pandas step Sankey and transitions: the straightforward groupby/shift version.

This is the yardstick bench/run.py checks journeylib.flows against (same numbers) and times
it against (how much the query engine buys over the obvious code). It follows DESIGN.md's
semantics at touchpoint level without collapsing repeats and without ``(other)`` merging:

- a journey is the customer's events ordered by timestamp, equal timestamps in file order;
- step Sankey: for k = 1 .. max_steps-1, a link from element k to element k+1, or to
  ``(end)`` when the journey has exactly k elements, counted in customers;
- transitions: every consecutive pair over whole journeys, counted as pairs and as
  distinct customers.

Run as a script to time it on a CSV (used by bench/run.py as a child process):
    python bench/pandas_reference.py --touchpoints FILE --out DIR [--max-steps 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pandas as pd

END_NODE = "(end)"


def read_events(path: str | Path) -> pd.DataFrame:
    """customer_id, timestamp, touchpoint of a touchpoints CSV, plus its file position.

    Rows that exactly repeat an earlier row are dropped, as journeylib's loader does (a
    logging glitch, not a second visit), so both see the same events.
    """
    frame = pd.read_csv(path, dtype={"customer_id": "str", "touchpoint": "str"})
    frame = frame.drop_duplicates(ignore_index=True)[["customer_id", "timestamp", "touchpoint"]]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["seq"] = range(len(frame))
    return frame


def journeys(events: pd.DataFrame) -> pd.DataFrame:
    """Events in journey order with k (1-based position) and next_node (NaN after the last)."""
    ordered = events.sort_values(["customer_id", "timestamp", "seq"]).reset_index(drop=True)
    by_customer = ordered.groupby("customer_id", sort=False)
    ordered["k"] = by_customer.cumcount() + 1
    ordered["next_node"] = by_customer["touchpoint"].shift(-1)
    return ordered


def step_sankey(events: pd.DataFrame, max_steps: int = 10) -> pd.DataFrame:
    """DataFrame[step, source, target, customers] (no (other) merging)."""
    j = journeys(events)
    j = j[j["k"] < max_steps]
    links = (
        j.assign(target=j["next_node"].fillna(END_NODE))
        .groupby(["k", "touchpoint", "target"], sort=False)
        .size()
        .reset_index(name="customers")
        .rename(columns={"k": "step", "touchpoint": "source"})
    )
    return links.sort_values(["step", "source", "target"]).reset_index(drop=True)


def transitions(events: pd.DataFrame) -> pd.DataFrame:
    """DataFrame[source, target, transitions, customers]."""
    j = journeys(events)
    pairs = j[j["next_node"].notna()]
    out = (
        pairs.groupby(["touchpoint", "next_node"], sort=False)
        .agg(transitions=("customer_id", "size"), customers=("customer_id", "nunique"))
        .reset_index()
        .rename(columns={"touchpoint": "source", "next_node": "target"})
    )
    return out.sort_values(["source", "target"]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=10)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    steps, cpu = {}, {}

    def timed(name, fn, *a):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = fn(*a)
        steps[name] = time.perf_counter() - start
        cpu[name] = time.process_time() - start_cpu
        return value

    events = timed("read", read_events, args.touchpoints)
    sankey = timed("step_sankey", step_sankey, events, args.max_steps)
    trans = timed("transitions", transitions, events)

    sankey.to_csv(out / "pandas_sankey.csv", index=False)
    trans.to_csv(out / "pandas_transitions.csv", index=False)
    result = {
        "steps": steps,
        "cpu": cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pandas": pd.__version__,
    }
    (out / "pandas.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
