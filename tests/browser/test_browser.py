"""The served app in a real Chromium: upload a CSV, visit every page, no exceptions.

Starts ``streamlit run app.py`` itself (headless, free port, temporary workspace) and drives
it with Playwright. Screenshots go to a temporary folder, and to $SCREENSHOT_DIR if set.
"""

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.drive import PAGES
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    with served_app(base, n_customers=300) as (url, proc):
        yield url, base


def settle(page, timeout_s: float = 180) -> None:
    """Wait until the script has finished running (no running indicator for a while)."""
    page.wait_for_selector("h1", timeout=timeout_s * 1000)
    quiet, deadline = 0, time.time() + timeout_s
    while time.time() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-testid="stSpinner"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 6:
            return
        time.sleep(0.25)


def shoot(page, name: str, folder: Path) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))
    extra = os.environ.get("SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / f"{name}.png", Path(extra) / f"{name}.png")


def test_upload_and_visit_every_page(server, tmp_path):
    url, base = server
    shots = tmp_path / "screens"
    shots.mkdir()
    upload = tmp_path / "web_shop_events.csv"
    pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b", "c", "c", "d"],
        "event_time": ["2024-05-01 09:00", "2024-05-01 09:05", "2024-05-02 10:00", "2024-05-03 11:00",
                       "2024-05-03 11:30", "2024-05-04 12:00", "2024-05-04 12:01", "2024-05-05 08:00"],
        "event_name": ["Search ad", "Product page", "Checkout", "Instagram", "Checkout", "Search ad",
                       "Product page", "Instagram"],
        "stage": ["Awareness", "Consideration", "Purchase", "Awareness", "Purchase", "Awareness",
                  "Consideration", "Awareness"],
        "channel": ["Web", "Web", "Web", "Social", "App", "Web", "Web", "Social"],
        "score": [4, None, 5, 3, 2, None, 1, None],
    }).to_csv(upload, index=False)

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url, wait_until="domcontentloaded")
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        shoot(page, "01_start_sample", shots)

        page.get_by_role("link", name="Data").click()
        settle(page)
        page.locator('input[type="file"]').first.set_input_files(str(upload))
        page.get_by_text("web_shop_events.csv").first.wait_for(timeout=60000)
        settle(page)
        page.get_by_role("button", name="Use this data").click()
        page.get_by_text("is now the active dataset").wait_for(timeout=120000)
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        shoot(page, "02_uploaded", shots)

        names = [n for n in PAGES if page.get_by_role("link", name=n, exact=True).count()]
        assert {"Journeys", "Emotions", "Personas", "Data"} <= set(names)
        for i, name in enumerate(names, start=3):
            page.get_by_role("link", name=name, exact=True).click()
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0, f"exception on {name}"
            assert page.locator("h1").first.inner_text().strip() != ""
            shoot(page, f"{i:02d}_{name.lower().replace(' ', '_')}", shots)
        # The uploaded dataset is the active one on every page (4 customers).
        page.get_by_role("link", name="Journeys", exact=True).click()
        settle(page)
        assert "4 customers" in page.locator('[data-testid="stSidebar"]').inner_text()
        browser.close()
    assert len(list(shots.glob("*.png"))) >= 6


def test_connect_to_a_duckdb_file(server, tmp_path):
    """The Data page's database form in a real browser: the tables stay in the file."""
    import duckdb

    url, base = server
    db = tmp_path / "warehouse.ddb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE events AS SELECT * FROM (VALUES ('x1', TIMESTAMP '2024-05-01 09:00', 'Search ad', "
                "'Awareness', 'Web'), ('x1', TIMESTAMP '2024-05-02 09:00', 'Checkout', 'Purchase', 'Web'), "
                "('x2', TIMESTAMP '2024-05-03 10:00', 'Instagram', 'Awareness', 'Social')) "
                "AS t(user_id, event_time, event_name, stage, channel)")
    con.close()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        settle(page)
        page.get_by_role("tab", name="Connect to a database").click()
        page.get_by_role("textbox", name="Database URL").last.fill(f"duckdb:///{db}")
        page.get_by_role("textbox", name="Touchpoints table or view *").last.fill("events")
        page.get_by_role("button", name="Connect").click()
        page.get_by_text("it is now the active dataset").wait_for(timeout=120000)
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.get_by_role("link", name="Journeys", exact=True).click()
        settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "2 customers" in page.locator('[data-testid="stSidebar"]').inner_text()
        shoot(page, "connected_journeys", tmp_path)
        browser.close()
