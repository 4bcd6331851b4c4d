"""Speed floor of the command line (issue: flows/transitions < 5 s, personas --k auto < 30 s
on 1,000,000 events from 100,000 customers, process start included).

Run: python bench/cli_speed.py [--customers 100000] [--workdir bench/out]
Each command is timed end to end as a subprocess. The reference, measured in the same run on the
same file, is pandas reading that CSV (the bare parsing cost any tool pays), so the ratios compare
across machines better than raw seconds.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command run as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    args = parser.parse_args()

    from journeylib.sample import write_sample

    work = Path(args.workdir) / f"c{args.customers}"
    if not (work / "touchpoints.csv").exists():
        write_sample(work, n_customers=args.customers, seed=11)
    events = work / "touchpoints.csv"
    survey = work / "survey.csv"
    customers = work / "customers.csv"

    start = time.perf_counter()
    frame = pd.read_csv(events)
    reference = time.perf_counter() - start
    print(f"data: {len(frame):,} events, {frame['customer_id'].nunique():,} customers")
    print(f"reference (pandas.read_csv of the events file, in process): {reference:.2f} s")

    base = [sys.executable, "-m", "journeylib"]
    inputs = ["--touchpoints", str(events)]
    runs = {
        "flows": base + ["flows", *inputs, "--out", str(work / "flows.csv")],
        "transitions": base + ["transitions", *inputs, "--out", str(work / "transitions.csv")],
        "personas --k auto": base
        + ["personas", *inputs, "--survey", str(survey), "--customers", str(customers), "--out", str(work / "personas.csv")],
    }
    print(f"| command | seconds | x reference | target |")
    print(f"|---|---|---|---|")
    targets = {"flows": 5, "transitions": 5, "personas --k auto": 30}
    for name, cmd in runs.items():
        seconds, _ = timed(cmd)
        print(f"| {name} | {seconds:.2f} | {seconds / reference:.1f} | < {targets[name]} s |")


if __name__ == "__main__":
    main()
