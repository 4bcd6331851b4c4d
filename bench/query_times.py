"""Time every engine call of one command-line run, with the journeylib line that made it.

    PYTHONPATH=. python bench/query_times.py flows --touchpoints FILE --max-steps 8 --top 0 --out OUT.csv

Wraps the Ibis DuckDB backend's table, view and query calls, runs ``python -m journeylib``
with the arguments given, and prints to standard error each call over 0.05 s: wall and CPU
seconds (CPU of the whole process, so DuckDB's threads count), the call and where in
journeylib it came from; then the calls' total against the run's wall seconds (the rest is
imports and Python).
"""

from __future__ import annotations

import atexit
import runpy
import sys
import time
import traceback

import ibis.backends.duckdb as duckdb_backend

CALLS = ("create_table", "create_view", "to_pyarrow", "execute", "raw_sql", "read_csv")
_log: list[tuple[float, float, str, str]] = []


def _timed(name: str):
    original = getattr(duckdb_backend.Backend, name)

    def call(self, *args, **kwargs):
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            ours = [f for f in traceback.extract_stack()[:-1] if "journeylib" in f.filename]
            where = f"{ours[-1].filename.split('journeylib/')[-1]}:{ours[-1].lineno} {ours[-1].name}" if ours else "?"
            _log.append((time.perf_counter() - start, time.process_time() - start_cpu, name, where))

    return call


def _report(start: float) -> None:
    for wall, cpu, name, where in _log:
        if wall > 0.05:
            print(f"{wall:7.2f} {cpu:7.2f}  {name:12s} {where}", file=sys.stderr)
    print(f"engine calls {sum(w for w, *_ in _log):.2f} s of {time.perf_counter() - start:.2f} s wall "
          f"({sum(c for _, c, *_ in _log):.2f} CPU s)", file=sys.stderr)


def main() -> None:
    for name in CALLS:
        setattr(duckdb_backend.Backend, name, _timed(name))
    atexit.register(_report, time.perf_counter())
    sys.argv = ["journeylib", *sys.argv[1:]]
    runpy.run_module("journeylib", run_name="__main__")


if __name__ == "__main__":
    main()
