"""Speed of ``personas --k auto`` (issue 15: each within 10 s on the project machine).

Two datasets:

- ``airline``: the airline passenger survey of ../shared/realdata (25,976 passengers, 14
  ratings 0-5 with 0 = not rated, attributes), loaded as
  tests/journeylib/test_realdata_loading.py does (a wide survey: ``--map score=COLUMN`` per
  rating, ``--not-rated 0``). Skipped when the folder is absent.
- ``sample100k``: 100,000 customers of the benchmark generator
  (``python -m journeylib sample --out DIR --customers 100000``, seed 11 as bench/run.py),
  events with the survey and the customers file; written once into the work folder.

Each is measured as the whole command-line process (``python -m journeylib personas ...``,
start-up and imports included; wall seconds, the child's CPU seconds and peak memory from
``os.wait4``) and in process (load, features, fit and assignment of
:func:`journeylib.personas.find_personas`, wall and CPU). The machine is shared, so the
load average is printed with every run and each measurement is repeated (``--repeat``);
the table shows the median and the fastest run.

When the command line does not take a survey on its own (``--touchpoints`` required), the
airline run says so and times the same work as a whole process of this script
(``--child``), which loads and fits exactly as the command would.

Run: python bench/personas_speed.py [--repeat 3] [--workdir bench/out] [--only airline|sample100k]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REALDATA = REPO.parent / "shared" / "realdata"
AIRLINE = REALDATA / "airline_passenger_satisfaction_survey.csv.gz"
AIRLINE_RATINGS = [
    "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking", "Gate location",
    "Food and drink", "Online boarding", "Seat comfort", "Inflight entertainment", "On-board service",
    "Leg room service", "Baggage handling", "Checkin service", "Inflight service", "Cleanliness",
]
TARGET_SECONDS = 10.0


def _sample_dir(workdir: Path) -> Path:
    folder = workdir / "c100000"
    if not (folder / "touchpoints.csv").exists():
        from journeylib.sample import write_sample

        print(f"writing 100,000 customers of sample data to {folder} (once) ...", flush=True)
        write_sample(folder, n_customers=100_000, seed=11)
    return folder


def _cli_args(name: str, workdir: Path) -> list[str]:
    if name == "airline":
        args = ["--survey", str(AIRLINE), "--map", "customer_id=id", "--not-rated", "0"]
        for column in AIRLINE_RATINGS:
            args += ["--map", f"score={column}"]
        return args
    folder = _sample_dir(workdir)
    return ["--touchpoints", str(folder / "touchpoints.csv"), "--survey", str(folder / "survey.csv"),
            "--customers", str(folder / "customers.csv")]


def _load(name: str, workdir: Path):
    from journeylib.ingest import load_journey

    if name == "airline":
        return load_journey(survey=AIRLINE, mapping={"customer_id": "id", "score": AIRLINE_RATINGS}, not_rated=(0,))
    folder = _sample_dir(workdir)
    return load_journey(touchpoints=folder / "touchpoints.csv", survey=folder / "survey.csv",
                        customers=folder / "customers.csv")


def _timed_child(cmd: list[str]) -> dict:
    """Wall and CPU seconds, peak RSS (that child's own, from ``os.wait4``) and the outcome
    of one child process; its output goes to temporary files (no pipe to fill)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"code": proc.returncode, "wall": elapsed, "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024, "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")}


def _in_process(name: str, workdir: Path) -> dict:
    """Load, then find_personas, timed in this process (wall and CPU)."""
    def now():
        return time.perf_counter(), time.process_time()

    t0 = now()
    from journeylib.personas import find_personas

    t1 = now()
    data = _load(name, workdir)
    t2 = now()
    result = find_personas(data, n_personas="auto", random_state=0)
    t3 = now()
    m = result.model
    return {"import": t1[0] - t0[0], "load": t2[0] - t1[0], "personas": t3[0] - t2[0],
            "personas_cpu": t3[1] - t2[1], "customers": int(result.total), "k": int(m.n_personas_),
            "stability": float(m.stability_), "names": list(m.names_),
            "shares": [round(float(s), 4) for s in m.shares_], "criterion": m.criterion_}


def _child_main(name: str, workdir: Path, out: str) -> None:
    """What ``python -m journeylib personas`` does, for inputs it cannot take yet."""
    from journeylib.personas import find_personas

    data = _load(name, workdir)
    result = find_personas(data, n_personas="auto", random_state=0)
    result.assignments[["customer_id", "persona"]].to_csv(out, index=False)


def _load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def measure(name: str, workdir: Path, repeat: int) -> dict:
    out = workdir / f"personas-{name}.csv"
    cli = [sys.executable, "-m", "journeylib", "personas", *_cli_args(name, workdir), "--k", "auto",
           "--out", str(out)]
    report: dict = {"dataset": name, "cli_command": " ".join(cli[1:]), "cli": [], "in_process": []}
    probe = _timed_child(cli)
    if probe["code"] != 0:
        report["cli_refused"] = probe["stderr"].strip().splitlines()[-1] if probe["stderr"].strip() else "?"
        cli = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--workdir", str(workdir),
               "--child-out", str(out)]
        report["cli_command"] = " ".join(cli[1:])
        probe = None
    runs = [probe] if probe else []
    while len(runs) < repeat:
        runs.append(_timed_child(cli))
    for run in runs:
        if run["code"] != 0:
            raise SystemExit(f"{report['cli_command']} failed: {run['stderr'].strip()}")
        report["cli"].append({"wall": run["wall"], "cpu": run["cpu"], "peak_mb": run["peak_mb"],
                              "loadavg": _load_average()})
    for _ in range(repeat):
        got = _in_process(name, workdir)
        got["loadavg"] = _load_average()
        report["in_process"].append(got)
    return report


def _row(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (fastest {min(values):.2f})" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    parser.add_argument("--only", choices=["airline", "sample100k"])
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers here")
    parser.add_argument("--child", choices=["airline", "sample100k"], help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        _child_main(args.child, workdir, args.child_out)
        return

    names = [args.only] if args.only else ["airline", "sample100k"]
    if "airline" in names and not AIRLINE.exists():
        print(f"airline: skipped, {AIRLINE} is absent")
        names.remove("airline")
    reports = []
    for name in names:
        print(f"measuring {name} (load average {_load_average()}) ...", flush=True)
        reports.append(measure(name, workdir, args.repeat))

    print(f"\n{os.cpu_count()} CPUs; target {TARGET_SECONDS:.0f} s per dataset for the whole command\n")
    print("| dataset | customers | whole process, wall s | whole process, CPU s | peak MB | in process: "
          "load s | in process: personas s (CPU) | k | stability | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in reports:
        ip = r["in_process"]
        cli_wall = [c["wall"] for c in r["cli"]]
        print(f"| {r['dataset']} | {ip[0]['customers']:,} | {_row(cli_wall)} | "
              f"{_row([c['cpu'] for c in r['cli']])} | {max(c['peak_mb'] for c in r['cli']):.0f} | "
              f"{_row([x['load'] for x in ip])} | {_row([x['personas'] for x in ip])} "
              f"({statistics.median([x['personas_cpu'] for x in ip]):.2f}) | {ip[0]['k']} | "
              f"{ip[0]['stability']:.2f} | {'; '.join(c['loadavg'] for c in r['cli'])} |")
    for r in reports:
        print(f"\n{r['dataset']}: {r['cli_command']}")
        if r.get("cli_refused"):
            print(f"  the command line refused these inputs ({r['cli_refused']}); timed the same work as a "
                  "whole process of this script instead")
        ip = r["in_process"][0]
        print(f"  {ip['criterion']}")
        for name, share in zip(ip["names"], ip["shares"]):
            print(f"  {share:6.1%}  {name}")
        same = all(x["names"] == ip["names"] and x["shares"] == ip["shares"] for x in r["in_process"])
        print(f"  same personas in every run: {'yes' if same else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
