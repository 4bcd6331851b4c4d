"""Comparison and drill-down speed at about 1,000,000 events (issue targets: a comparison of
two periods recomputes within 2 s once loaded; a drill-down answers within 1 s).

Run: python bench/compare_speed.py [--customers 100000] [--workdir bench/out] [--app]

The data comes from the sample generator (seed 11, about 10 events per customer, as in
bench/run.py), is saved to a temporary workspace and reopened from its Parquet files, as
the app holds it; personas are fitted once. "Loaded" ends there. Then, uncached each time:

- a comparison of two periods: both views applied, journeylib.compare.compare (reach,
  conversion, scores, NPS with its bootstrap), both step Sankeys, both funnels and the
  Sankey node differences: what the Journeys page computes when a period changes;
- drill-downs: flow_customers + cohort.profile (count, persona mix, attributes, scores,
  comments, next and previous) for a Sankey link, a backward Sankey node, a funnel step
  and the top stage and touchpoint pain points, with the dataset's stored journey
  elements where the app passes them (a view without date or channel filters).

With --app the Journeys, Journey map and Emotions pages are also driven with Streamlit's
AppTest: reruns after the second period changes (the pages' own caching as a user meets it).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    """Median of ``repeat`` runs (each uncached: new expressions every time) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    parser.add_argument("--app", action="store_true", help="also time page reruns through AppTest")
    args = parser.parse_args()
    workspace_dir = tempfile.mkdtemp(prefix="bench_cmp_ws_")
    os.environ["JOURNEY_WORKSPACE"] = workspace_dir
    atexit.register(shutil.rmtree, workspace_dir, ignore_errors=True)

    from journeylib import cohort, compare, flows, workspace
    from journeylib.engine import default_engine, execute
    from journeylib.ingest import load_journey
    from journeylib.insights import pain_points
    from journeylib.personas import find_personas
    from journeylib.sample import write_sample

    folder = Path(args.workdir) / f"c{args.customers}"
    if not (folder / "touchpoints.csv").exists():
        write_sample(folder, n_customers=args.customers, seed=11)
    t0 = time.perf_counter()
    raw = load_journey(folder / "touchpoints.csv", folder / "survey.csv", folder / "customers.csv")
    info = workspace.save_dataset(raw, "bench compare", engine=default_engine())
    data = workspace.open_dataset(info.id, engine=default_engine())
    personas = find_personas(data).assignments
    # As the app passes them to a drill-down: the labels as a table on the engine.
    from journeylib.persona_sampling import labels_table

    persona_table = labels_table(default_engine(), personas[["customer_id", "persona"]].astype({"customer_id": "str"}))
    ev = data.events
    row = execute(ev.aggregate(n=ev.count(), c=ev.customer_id.nunique(), lo=ev.timestamp.min(),
                               hi=ev.timestamp.max())).iloc[0]
    print(f"loaded: {row['n']:,} events, {row['c']:,} customers, {row['lo']:%Y-%m-%d} to {row['hi']:%Y-%m-%d} "
          f"(load, save, reopen, personas: {time.perf_counter() - t0:.1f} s)")
    print(f"machine: {os.cpu_count()} cores (shared)")
    first, last = row["lo"].date(), row["hi"].date()
    span = (last - first).days

    def period(a0: int, a1: int, b0: int, b1: int) -> tuple[str, str]:
        day = lambda k: (first + dt.timedelta(days=k)).isoformat()  # noqa: E731
        return f"from={day(a0)},to={day(a1)}", f"from={day(b0)},to={day(b1)}"

    pairs = [period(0, span // 2, span // 2 + 1, span), period(0, 29, 30, 59), period(30, 89, 90, span)]

    print("\n| comparison of two periods | apply views | compare() | 2 Sankeys + 2 funnels + node marks | total |")
    print("|---|---|---|---|---|")
    for text_a, text_b in pairs:
        t_apply, (a, b) = timed(lambda: (compare.apply_view(data, text_a), compare.apply_view(data, text_b)))
        t_cmp, _ = timed(lambda: compare.compare(a, b))

        def flows_of_both():
            frames = [flows.step_sankey(v.events, max_steps=5, top=6) for v in (a, b)]
            for v in (a, b):
                flows.funnel(v)
            return compare.sankey_differences(*frames)

        t_flows, _ = timed(flows_of_both)
        print(f"| {text_a} vs {text_b} | {t_apply:.2f} s | {t_cmp:.2f} s | {t_flows:.2f} s | "
              f"{t_apply + t_cmp + t_flows:.2f} s |", flush=True)

    elements = workspace.open_elements(info.id, "touchpoint", engine=default_engine())
    sankey = flows.step_sankey(data.events, max_steps=5, top=6, elements=elements)
    link = sankey.sort_values("customers", ascending=False).iloc[0]
    anchor = flows.Anchor.touchpoint("Cart error")
    back = flows.backward_sankey(data.events, anchor, max_steps=5, top=6)
    back_node = back[back["step"] == -1].sort_values("customers", ascending=False).iloc[0]
    pains = pain_points(data)
    picks = [
        (f"Sankey link {link.source} -> {link.target} (step {link.step})",
         flows.SankeyPick(int(link.step), link.source, link.target), elements),
        (f"backward node {back_node.source} before Cart error", flows.SankeyPick(-1, back_node.source, anchor=anchor),
         None),
        ("funnel: reached Intent, went no further", flows.FunnelPick("Intent", dropped=True), elements),
    ]
    # The app's pain point list: the top pain points, stages and touchpoints.
    for level in ("stage", "touchpoint"):
        top = pains[pains["level"] == level].iloc[0]
        name = top.touchpoint if level == "touchpoint" else top.stage
        picks.append((f"pain point ({level}) {name}", flows.PainPick(level, name), elements))
    print("\n| drill-down | customers | flow_customers + profile |")
    print("|---|---|---|")
    for name, pick, els in picks:
        frame = back if pick.__class__ is flows.SankeyPick and pick.anchor is not None else sankey

        def drill():
            found = flows.flow_customers(data, pick, sankey=frame, elements=els)
            return cohort.profile(data, found, personas=persona_table, flow=pick, elements=els)

        t, p = timed(drill)
        print(f"| {name} | {p.customers:,} | {t:.2f} s |", flush=True)

    if args.app:
        app_rerun(info.id, first, last)


def app_rerun(dataset_id: str, first: dt.date, last: dt.date) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    real_init = PagesManager.__init__

    def init(self, *a, **k):  # as tests/app/conftest.py: every run goes through app.py
        real_init(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    middle = first + (last - first) // 2
    for page in ("journeys", "journey_map", "emotions"):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=1800)
        at.query_params["dataset"] = dataset_id
        at.query_params["cmp"] = "Two periods"
        if page != "journeys":
            at.switch_page(f"pages/{page}.py")
        t0 = time.perf_counter()
        at.run()
        assert not at.exception, at.exception
        print(f"\nAppTest {page}: first load with a period comparison: {time.perf_counter() - t0:.1f} s")
        rows = []
        for k, end in enumerate((middle + dt.timedelta(days=20), middle + dt.timedelta(days=40), last)):
            at.date_input(key="cmp_b_dates").set_value((middle + dt.timedelta(days=1 + k), end))
            t0 = time.perf_counter()
            at.run()
            assert not at.exception, at.exception
            rows.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        at.run()
        cached = time.perf_counter() - t0
        print(f"AppTest {page}: rerun after the second period changes: "
              + ", ".join(f"{x:.2f} s" for x in rows) + f" (cached rerun, no change: {cached:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
