"""Eight browser sessions on one app process: each uploads its own dataset (two keep theirs
unsaved, one first tries a bad file), then all of them switch pages and change filters for
JOURNEY_SOAK_SECONDS (default 120). No exceptions, every session keeps seeing its own
dataset and never another's unsaved upload, and the server's memory stays bounded (the peak
is printed; JOURNEY_SOAK_MAX_RSS_MB, default 4000, is the bound).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad" / "missing_id_column.csv"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SESSIONS = 8
UNSAVED = (6, 7)  # these sessions upload a file but never press "Use this data"
SOAK_SECONDS = float(os.environ.get("JOURNEY_SOAK_SECONDS", "120"))
MAX_RSS_MB = float(os.environ.get("JOURNEY_SOAK_MAX_RSS_MB", "4000"))
SAMPLE_CUSTOMERS = 300

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children, in MB (from /proc)."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def dataset_csv(i: int, folder: Path) -> Path:
    """Session i's own file: 3 + i customers whose touchpoints are named after the session."""
    rows = []
    for c in range(3 + i):
        for k, (tp, ch) in enumerate([("Ad", "Web"), ("Site", "Web"), ("Checkout", "App")][: 2 + c % 2]):
            rows.append((f"s{i}-c{c}", f"2024-06-{1 + c:02d} {9 + k}:00", f"S{i} {tp}", ch))
    path = folder / (f"unsaved_{i}.csv" if i in UNSAVED else f"session_{i}.csv")
    pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "channel"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("soak")
    with served_app(base, n_customers=SAMPLE_CUSTOMERS) as (url, proc):
        yield url, base, proc


def settle(page, timeout_s: float = 180) -> bool:
    """Wait until the script run has finished (no running indicator for a moment and a
    page title shown); False when that did not happen in time."""
    quiet, deadline = 0, time.time() + timeout_s
    while time.time() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-testid="stSpinner"]').count()
        quiet = quiet + 1 if busy == 0 and page.locator("h1").count() else 0
        if quiet >= 4:
            return True
        time.sleep(0.2)
    return False


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def toggle_channel(page, rnd: random.Random) -> bool:
    """Add a channel to the sidebar filter, or clear it; True when the filter changed."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Channels")
    if box.count() == 0:
        return False
    clear = box.locator('[aria-label="Clear all"], [title="Clear all"]')
    if clear.count() and rnd.random() < 0.5:
        clear.first.click()
        return True
    box.first.click()
    options = page.get_by_role("option")
    try:
        options.first.wait_for(timeout=5000)
    except Exception:  # noqa: BLE001 - every channel already chosen
        page.keyboard.press("Escape")
        return False
    options.nth(rnd.randrange(options.count())).click()
    page.keyboard.press("Escape")
    return True


def test_eight_sessions_upload_and_filter(server, tmp_path):
    url, base, proc = server
    rnd = random.Random(8)
    files = {i: dataset_csv(i, tmp_path) for i in range(SESSIONS)}
    expected_total = {i: (3 + i if i not in UNSAVED else SAMPLE_CUSTOMERS) for i in range(SESSIONS)}
    unsaved_names = {files[i].name for i in UNSAVED}
    problems: list[str] = []
    peak, samples = rss_mb(proc.pid), []
    actions = filter_changes = 0

    def check(i: int, page) -> None:
        nonlocal peak
        peak = max(peak, rss_mb(proc.pid))
        if page.locator('[data-testid="stException"]').count():
            problems.append(f"session {i}: exception: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
        text = page.locator("body").inner_text()
        for name in unsaved_names - {files[i].name}:
            if name.removesuffix(".csv") in text:
                problems.append(f"session {i} sees another session's unsaved upload {name}")
        side = sidebar_text(page)
        if f"{expected_total[i]:,} customers ·" not in side:
            problems.append(f"session {i}: expected its own dataset ({expected_total[i]} customers): {side[:200]!r}")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(SESSIONS)]
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(url, wait_until="domcontentloaded")
        for page in pages:
            settle(page)

        # Session 0 first tries a bad file: the error is shown and the sample stays active.
        pages[0].get_by_role("link", name="Data").click()
        settle(pages[0])
        pages[0].locator('input[type="file"]').first.set_input_files(str(BAD))
        pages[0].get_by_text("missing_id_column.csv").first.wait_for(timeout=60000)
        settle(pages[0])
        pages[0].get_by_role("button", name="Use this data").click()
        pages[0].get_by_text("must be fixed before this data can be used").first.wait_for(timeout=60000)
        settle(pages[0])
        assert pages[0].locator('[data-testid="stException"]').count() == 0
        # (the report table is drawn on a canvas; its text is checked in tests/app/test_bad_uploads.py)
        # (the error is followed by a note on what the mode needs: any alert may say it)
        alerts = pages[0].locator('[data-testid="stAlert"]').all_inner_texts()
        assert any("still “Sample data (bundled)”" in a for a in alerts), alerts
        assert f"{SAMPLE_CUSTOMERS:,} customers ·" in sidebar_text(pages[0])

        # Every session uploads its own file; most of them use it.
        for i, page in enumerate(pages):
            if i:
                page.get_by_role("link", name="Data").click()
                settle(page)
            page.locator('input[type="file"]').first.set_input_files(str(files[i]))
            page.get_by_text(files[i].name).first.wait_for(timeout=60000)
            settle(page)
            if i not in UNSAVED:
                page.get_by_role("button", name="Use this data").click()
                page.get_by_text("is now the active dataset").first.wait_for(timeout=120000)
                settle(page)
            check(i, page)
        after_uploads = rss_mb(proc.pid)

        # Soak: random sessions switch pages and change filters; reruns overlap across sessions.
        deadline = time.time() + SOAK_SECONDS
        links = ["Journeys", "Emotions", "Data", "Journeys"]
        while time.time() < deadline:
            order = list(range(SESSIONS))
            rnd.shuffle(order)
            for i in order:  # fire one action in every session, then wait for all of them
                page = pages[i]
                try:
                    if rnd.random() < 0.5:
                        filter_changes += toggle_channel(page, rnd)
                    else:
                        page.get_by_role("link", name=rnd.choice(links), exact=True).click()
                    actions += 1
                except Exception as exc:  # noqa: BLE001 - a UI hiccup is recorded, not fatal
                    problems.append(f"session {i}: action failed: {type(exc).__name__}: {str(exc)[:200]}")
            for i in order:
                if not settle(pages[i]):
                    pages[i].screenshot(path=str(tmp_path / f"stuck_{i}.png"))
                    problems.append(f"session {i}: still running after 180 s on {pages[i].url} "
                                    f"(screenshot {tmp_path / f'stuck_{i}.png'})")
                    continue
                check(i, pages[i])
            samples.append(rss_mb(proc.pid))
        for c in contexts:
            c.close()
        browser.close()

    log = (base / "streamlit.log").read_text(errors="replace")
    print(f"\nsessions held: {SESSIONS}; actions: {actions} ({filter_changes} filter changes) in {SOAK_SECONDS:.0f} s; "
          f"server RSS after uploads {after_uploads:.0f} MB, peak {peak:.0f} MB, last {samples[-1] if samples else 0:.0f} MB")
    assert not problems, "\n".join(problems[:20]) + "\nserver log tail:\n" + log[-1500:]
    assert "Traceback" not in log, log[-3000:]
    assert actions >= SESSIONS and filter_changes >= 1
    assert peak < MAX_RSS_MB
