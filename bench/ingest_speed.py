"""The ingest alone (issue 13): ``load_journey`` on a large events CSV against the DuckDB
floor, and on wide files, each in its own child process (peak memory is that child's).

    python bench/ingest_speed.py [--customers 100000] [--workdir bench/out] [--wide-rows 20000]
                                 [--json FILE]

- events: the sample's ``touchpoints.csv`` (``journeylib.sample.write_sample``, seed 11, about
  1,000,000 events at 100,000 customers; shared with bench/run.py) read with
  ``journeylib.ingest.load_journey`` and its events counted;
- floor: the same CSV in plain DuckDB SQL: read as text, exact duplicates dropped (DISTINCT),
  timestamps cast and the rows sorted by customer and time into a table;
- wide: ``tests/data/bad/wide_500_columns.csv`` (22 rows, 500 columns) and a generated
  300-column survey export shape (``--wide-rows`` rows: id, time, touchpoint, 297 answers).

Seconds are wall time of the load call in the child (imports and engine start excluded, and
reported apart as the whole child's time); the ratio is ours divided by the floor's. Timings
move with the machine's load, printed with them. retentioneering is compared by bench/run.py
when its venv exists (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from run import SEED, ensure_data, run_child  # noqa: E402  (standard library only)


def child_ours(csv: str, out: str) -> None:
    sys.path.insert(0, str(REPO))
    from journeylib.engine import default_engine, execute
    from journeylib.ingest import load_journey

    default_engine()
    start = time.perf_counter()
    data = load_journey(touchpoints=csv)
    n = int(execute(data.events.count()))
    seconds = time.perf_counter() - start
    Path(out).write_text(json.dumps({"seconds": seconds, "events": n, "columns": len(data.events.columns)}))


def child_floor(csv: str, out: str) -> None:
    import duckdb

    con = duckdb.connect()
    start = time.perf_counter()
    con.execute("CREATE TABLE raw AS SELECT * FROM read_csv(?, all_varchar = true)", [csv])
    con.execute("CREATE TABLE ev AS SELECT DISTINCT * REPLACE (CAST(timestamp AS TIMESTAMP) AS timestamp) FROM raw "
                "ORDER BY customer_id, timestamp")
    n = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    Path(out).write_text(json.dumps({"seconds": time.perf_counter() - start, "events": n}))


def write_wide(path: Path, rows: int, columns: int = 300) -> None:
    """A survey export's shape: an id, a time, a touchpoint and many answer columns (ratings,
    codes with leading zeros, words), written once."""
    if path.exists():
        return
    import random

    rnd = random.Random(SEED)
    answers = columns - 3
    with open(path, "w") as fh:
        fh.write("customer_id,timestamp,touchpoint," + ",".join(f"Q{i}" for i in range(answers)) + "\n")
        for r in range(rows):
            cells = [str(rnd.randint(0, 10)) if i % 3 == 0 else f"{rnd.randint(0, 99):03d}" if i % 3 == 1
                     else rnd.choice(["yes", "no", ""]) for i in range(answers)]
            fh.write(f"r{r},2024-01-{1 + r % 28:02d} 10:{r % 60:02d}:00,Survey," + ",".join(cells) + "\n")


def measure(kind: str, csv: Path, work: Path) -> dict:
    out = work / f"ingest-{kind}-{csv.stem}.json"
    fn = "child_ours" if kind == "ours" else "child_floor"
    cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import ingest_speed as b; "
           f"b.{fn}({str(csv)!r}, {str(out)!r})"]
    result = run_child(cmd, work / f"ingest-{kind}-{csv.stem}.log", env={**os.environ, "PYTHONPATH": str(REPO)})
    if result["rc"] == 0:
        result.update({"load_" + k: v for k, v in json.loads(out.read_text()).items()})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--wide-rows", type=int, default=20_000)
    ap.add_argument("--workdir", default=str(HERE / "out"))
    ap.add_argument("--json")
    args = ap.parse_args()
    data = Path(args.workdir) / f"c{args.customers}"
    data.mkdir(parents=True, exist_ok=True)
    # Written by a child: a child's peak memory starts at what its parent held when it forked.
    wide = Path(args.workdir) / f"wide300x{args.wide_rows}.csv"
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import ingest_speed as b; "
                    f"from pathlib import Path; b.ensure_data(Path({str(data)!r}), {args.customers}); "
                    f"b.write_wide(Path({str(wide)!r}), {args.wide_rows})"], check=True, cwd=REPO)
    rows = {}
    for name, csv, kinds in (("events", data / "touchpoints.csv", ("floor", "ours")),
                             ("wide 22x500", REPO / "tests/data/bad/wide_500_columns.csv", ("ours",)),
                             (f"wide {args.wide_rows}x300", wide, ("floor", "ours"))):
        rows[name] = {k: measure(k, csv, Path(args.workdir)) for k in kinds}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, got in rows.items():
        ours, floor = got["ours"], got.get("floor")
        line = (f"{name}: load_journey {ours.get('load_seconds', float('nan')):.2f} s "
                f"(child {ours['seconds']:.2f} s, peak {ours['peak_mb']:.0f} MB, {ours.get('load_events')} events)")
        if floor and "load_seconds" in floor and "load_seconds" in ours:
            line += (f"; DuckDB floor {floor['load_seconds']:.2f} s (peak {floor['peak_mb']:.0f} MB), "
                     f"ratio {ours['load_seconds'] / floor['load_seconds']:.2f}x")
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"loadavg": os.getloadavg()[0], "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
