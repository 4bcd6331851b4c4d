"""Speed of a survey alone (issue #16): the airline passenger survey (25,976 respondents x
14 ratings) loaded and its journey map built in process (target: load + map <= 10 s), and
``python -m journeylib report --survey FILE --out r.html`` end to end as a subprocess
(target <= 20 s, process start included). Needs ../shared/realdata.

Run: python bench/survey_speed.py [--repeat 2] [--workdir bench/out] [--app [--shots DIR]]
``--app`` measures instead what a new user waits for in the app (target 10 s): the file
dropped on the Data page in Chromium (default mode, no stage map, the proposed not-rated 0),
"Use this data" pressed, and the Journey map page opened, until its map is drawn. The
times are split into the drop (preview of the upload), the save (read, check and save of
the whole file) and the map. In process, stages are the airline's own (Booking, Airport, Flight, Arrival from a stage map); the goal is
``column:satisfaction=satisfied``. The reference is pandas reading the same file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
AIRLINE = REPO.parent / "shared" / "realdata" / "airline_passenger_satisfaction_survey.csv.gz"
STAGES = {
    "Booking": ["Ease of Online booking", "Departure/Arrival time convenient"],
    "Airport": ["Checkin service", "Gate location", "Online boarding"],
    "Flight": ["Seat comfort", "Leg room service", "Food and drink", "Inflight wifi service", "Inflight entertainment",
               "On-board service", "Inflight service", "Cleanliness"],
    "Arrival": ["Baggage handling"],
}
GOAL = "column:satisfaction=satisfied"


def app_times(repeat: int, shots: Path | None = None) -> pd.DataFrame:
    """The airline file uploaded through the served app in Chromium, ``repeat`` times (a new
    server and workspace each time): seconds from the drop to the preview, from "Use this
    data" to the saved dataset, and from the Journey map link to the drawn map."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser import drive
    from tests.browser.serve import served_app

    drawn = """() => { const c = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
      return !!(c && c._fullLayout && c.querySelector('.main-svg') && c.innerHTML.includes('answered')); }"""
    rows = []
    for i in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, served_app(Path(tmp), n_customers=300) as (url, _), \
                sync_playwright() as p:
            browser = drive.launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{url}/data", wait_until="domcontentloaded")
            drive.settle(page)
            t0 = time.perf_counter()
            page.locator('input[type="file"]').first.set_input_files(str(AIRLINE))
            page.get_by_role("button", name="Use this data").wait_for(timeout=120000)
            page.get_by_text("rating column per question").first.wait_for(timeout=120000)
            drive.settle(page, quiet_polls=2)
            t1 = time.perf_counter()
            if shots is not None and i == 0:
                drive.shoot(page, "airline_data_dropped", shots, full_page=True)
            page.get_by_role("button", name="Use this data").click()
            page.get_by_text("is now the active dataset").wait_for(timeout=300000)
            t2 = time.perf_counter()
            drive.settle(page, quiet_polls=2)
            page.get_by_role("link", name="Journey map", exact=True).click()
            page.wait_for_function(drawn, timeout=300000, polling=100)
            t3 = time.perf_counter()
            if shots is not None and i == 0:
                drive.settle(page)
                drive.shoot(page, "airline_journey_map", shots)
                drive.shoot(page, "airline_journey_map_full", shots, full_page=True)
            drive.no_exception(page)
            browser.close()
        rows.append({"run": i + 1, "drop_s": t1 - t0, "save_s": t2 - t1, "map_s": t3 - t2,
                     "drop_to_map_s": t3 - t0})
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    ap.add_argument("--app", action="store_true", help="the upload through the app in Chromium instead")
    ap.add_argument("--shots", help="with --app: a folder for screenshots of the Data page and the map")
    args = ap.parse_args()
    if not AIRLINE.exists():
        print(f"no {AIRLINE}: nothing to measure")
        return 0
    if args.app:
        out = app_times(args.repeat, Path(args.shots) if args.shots else None)
        print(out.round(2).to_string(index=False))
        best = out.min(numeric_only=True)
        print(f"best: dropped to map drawn {best['drop_to_map_s']:.1f} s (target 10 s): preview {best['drop_s']:.1f} s, "
              f"read, check and save {best['save_s']:.1f} s, map {best['map_s']:.1f} s")
        return 0
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    stage_map = work / "airline_stages.csv"
    pd.DataFrame([(tp, st) for st, tps in STAGES.items() for tp in tps],
                 columns=["touchpoint", "stage"]).to_csv(stage_map, index=False)

    from journeylib.ingest import load_journey
    from journeylib.journey import JourneyModel, parse_goal
    from journeylib.journey_map import build_journey_map

    t = time.perf_counter()
    pd.read_csv(AIRLINE)
    reference = time.perf_counter() - t
    journey = JourneyModel(stages=tuple(STAGES), goal=parse_goal(GOAL),
                           stage_map={tp: st for st, tps in STAGES.items() for tp in tps})
    rows = []
    for i in range(args.repeat):
        t = time.perf_counter()
        data = load_journey(survey=AIRLINE, not_rated=(0,), journey=journey)
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        jm = build_journey_map(data)
        mapped = time.perf_counter() - t
        cmd = [sys.executable, "-m", "journeylib", "report", "--survey", str(AIRLINE), "--not-rated", "0",
               "--stages", ",".join(STAGES), "--stage-map", str(stage_map), "--goal", GOAL,
               "--out", str(work / "airline_report.html")]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        report = time.perf_counter() - t
        if proc.returncode:
            print(proc.stderr[-2000:])
            return 1
        rows.append({"run": i + 1, "load_s": loaded, "map_s": mapped, "load_and_map_s": loaded + mapped,
                     "report_cli_s": report, "pandas_read_s": reference})
        assert jm.survey_only and len(jm.stages) == len(STAGES)
    out = pd.DataFrame(rows)
    print(out.round(2).to_string(index=False))
    best = out.min(numeric_only=True)
    print(f"best: load + map {best['load_and_map_s']:.1f} s (target 10 s), report {best['report_cli_s']:.1f} s "
          f"(target 20 s); load = {best['load_s'] / reference:.1f}x pandas reading the file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
