"""The Data page's "check then use" of a large events file against the command line's
``validate`` of the same file (issue #13: one read, at most 1.5x the command line).

Run: python bench/data_page_speed.py [--customers 100000] [--repeat 2] [--workdir bench/out]

The file is the sample generator's touchpoints at that size (100,000 customers: about
1,050,000 events). The reference is ``python -m journeylib validate FILE`` as a whole process
(start and imports included), timed in the same run. The page is driven with Streamlit's
AppTest on a temporary workspace: the upload is handed to the file uploader, then "Check data"
and "Use this data" are pressed; the time is from the first press until the dataset is saved
and active. Reads of the file are counted by wrapping ``journeylib.ingest.check``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cli_validate(path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "journeylib", "validate", "--touchpoints", str(path)],
                          cwd=REPO, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the file has warnings or errors, still a full check
        sys.exit(f"validate failed ({done.returncode}): {done.stderr[-500:]}")
    return took


def page_check_then_use(path: Path) -> tuple[float, float, int]:
    """(seconds for Check data, seconds for Use this data, number of whole-file checks)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    from journeylib import ingest

    real_init = PagesManager.__init__

    def init(self, *a, **k):  # as in tests/app/conftest.py: every run goes through app.py
        real_init(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    calls = []
    real_check = ingest.check

    def counted(*args, **kwargs):
        calls.append(1)
        return real_check(*args, **kwargs)

    ingest.check = counted
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=1800)
        at.run()
        at.switch_page("pages/data.py").run()
        at.file_uploader(key="up_touchpoints_One").set_value((path.name, path.read_bytes(), "text/csv")).run()
        assert not at.exception, [e.message for e in at.exception]
        start = time.perf_counter()
        at.button(key="d_check").click().run()
        checked = time.perf_counter() - start
        start = time.perf_counter()
        at.button(key="d_use").click().run()
        used = time.perf_counter() - start
        assert not at.exception, [e.message for e in at.exception]
        assert any("is now the active dataset" in s.value for s in at.success), [s.value for s in at.success]
    finally:
        ingest.check = real_check
        PagesManager.__init__ = real_init
    return checked, used, len(calls)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    args = ap.parse_args()
    folder = Path(args.workdir) / f"c{args.customers}"
    path = folder / "touchpoints.csv"
    if not path.exists():
        from journeylib.sample import write_sample

        write_sample(folder, n_customers=args.customers, seed=11)
    rows = []
    for i in range(args.repeat):
        workspace = tempfile.mkdtemp(prefix="bench_data_page_")
        os.environ["JOURNEY_WORKSPACE"] = workspace
        try:
            reference = cli_validate(path)
            checked, used, reads = page_check_then_use(path)
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        rows.append((i + 1, reference, checked, used, reads))
    load = os.getloadavg()
    size = path.stat().st_size / 1e6
    print(f"\n{path} ({size:.0f} MB); load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"on {os.cpu_count()} cores\n")
    print(f"{'run':>4} {'validate_cli_s':>15} {'check_s':>8} {'use_s':>7} {'check+use_s':>12} {'x_cli':>6} "
          f"{'reads':>6}")
    for run, reference, checked, used, reads in rows:
        print(f"{run:>4} {reference:>15.1f} {checked:>8.1f} {used:>7.1f} {checked + used:>12.1f} "
              f"{(checked + used) / reference:>6.2f} {reads:>6}")
    best = min(rows, key=lambda r: (r[2] + r[3]) / r[1])
    print(f"best: check + use {best[2] + best[3]:.1f} s = {(best[2] + best[3]) / best[1]:.2f}x the command "
          f"line's validate ({best[1]:.1f} s; target 1.5x), {best[4]} whole-file check(s) (target 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
