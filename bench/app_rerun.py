"""Page rerun time after a filter change in the app (issue targets: under 1 s at 1,000,000
events / 100,000 customers; 1.5 s at 10,000,000 / 1,000,000).

Run: python bench/app_rerun.py [--customers 100000]
The dataset comes from the sample generator, is saved to a temporary workspace (Parquet), and
the app is driven with Streamlit's AppTest. The reference is the same rerun with no filter
change (a cached view), measured in the same process, so the ratio says what a filter change
costs on top of Streamlit's own rerun.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    args = parser.parse_args()
    workspace_dir = tempfile.mkdtemp(prefix="bench_ws_")
    os.environ["JOURNEY_WORKSPACE"] = workspace_dir
    # The saved dataset is about 200 MB at 10M events: removed when the run ends.
    atexit.register(shutil.rmtree, workspace_dir, ignore_errors=True)

    from journeylib import ingest, workspace
    from journeylib.sample import write_sample

    folder = Path(args.workdir) / f"c{args.customers}"
    if not (folder / "touchpoints.csv").exists():
        write_sample(folder, n_customers=args.customers, seed=11)
    start = time.perf_counter()
    data = ingest.load_journey(folder / "touchpoints.csv", folder / "survey.csv", folder / "customers.csv")
    info = workspace.save_dataset(data, f"bench {args.customers:,} customers")
    print(f"load + save: {time.perf_counter() - start:.1f} s, rows {info.row_counts}")

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    # As in tests/app/conftest.py: every run goes through app.py (the router).
    real_init = PagesManager.__init__

    def init(self, *a, **k):
        real_init(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=1800)
    at.query_params["dataset"] = info.id
    start = time.perf_counter()
    at.run()
    print(f"first load (open, fit personas, draw Journeys): {time.perf_counter() - start:.1f} s")
    assert not at.exception, at.exception

    def rerun() -> float:
        t0 = time.perf_counter()
        at.run()
        assert not at.exception, at.exception
        return time.perf_counter() - t0

    print("| page | cached rerun (reference) | one channel | two channels | one persona | worst x reference |")
    print("|---|---|---|---|---|---|")
    for page in ("pages/journeys.py", "pages/emotions.py", "pages/personas.py", "pages/journey_map.py"):
        at.switch_page(page)
        rerun()
        reference = min(rerun() for _ in range(3))
        channels = at.multiselect(key="flt_channels")
        options = list(channels.options)
        channels.set_value(options[:1])
        one = rerun()
        at.multiselect(key="flt_channels").set_value(options[:2])
        two = rerun()
        at.multiselect(key="flt_channels").set_value([])
        rerun()
        personas = at.multiselect(key="flt_personas")
        personas.set_value(list(personas.options)[:1])
        persona = rerun()
        at.multiselect(key="flt_personas").set_value([])
        rerun()
        worst = max(one, two, persona)
        print(f"| {page} | {reference:.2f} s | {one:.2f} s | {two:.2f} s | {persona:.2f} s | {worst / reference:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
