"""Every chart's text readable at 1280x800 and 1920x1080, measured in a real Chromium.

For every Plotly figure on every page, the rendered SVG text elements give their boxes:
no text may reach outside its figure (cut), no two may overlap, and on the journey map
each cell's text stays inside its cell (the rectangle its anchor sits in) at 12 px or more.
The Journeys page is measured again with two personas side by side. Screenshots go to a
temporary folder, and to $SCREENSHOT_DIR if set.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.browser.measure import MEASURE, problems
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZES = [(1280, 800), (1920, 1080)]
PAGES = ["Journeys", "Emotions", "Personas", "Journey map"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

def settle(page, timeout_s: float = 240) -> None:
    page.wait_for_selector("h1", timeout=timeout_s * 1000)
    quiet, deadline = 0, time.time() + timeout_s
    while time.time() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-testid="stSpinner"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 8:
            break
        time.sleep(0.25)
    time.sleep(1.0)  # Plotly's last relayout after the script ends


def shoot(page, name: str, folder: Path) -> None:
    """The whole page, in viewport-sized pieces (the main area scrolls inside the app)."""
    extra = os.environ.get("SCREENSHOT_DIR")
    main = '[data-testid="stMain"]'
    total = page.evaluate(f"() => document.querySelector('{main}').scrollHeight")
    height = page.viewport_size["height"]
    for k, y in enumerate(range(0, max(total, 1), height - 100)):
        page.evaluate(f"() => document.querySelector('{main}').scrollTo(0, {y})")
        time.sleep(0.3)
        path = folder / f"{name}_{k}.png"
        page.screenshot(path=str(path))
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        if k > 12:
            break
    page.evaluate(f"() => document.querySelector('{main}').scrollTo(0, 0)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("served")
    with served_app(base, n_customers=1500) as (url, proc):
        yield url


@pytest.mark.parametrize("width,height", SIZES)
def test_chart_text_fits_on_every_page(server, tmp_path, width, height):
    found = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(server, wait_until="domcontentloaded")
        settle(page)
        for name in PAGES:
            page.get_by_role("link", name=name, exact=True).click()
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0, f"exception on {name}"
            figures = page.evaluate(MEASURE)
            assert figures, f"no chart drawn on {name}"
            found += [f"{name} at {width}x{height}: {p}" for p in problems(figures)]
            shoot(page, f"{name.lower().replace(' ', '_')}_{width}", tmp_path)
        # The most common paths, on their own tab of Journeys.
        page.get_by_role("link", name="Journeys", exact=True).click()
        settle(page)
        page.get_by_role("tab", name="Top paths").click()
        settle(page)
        figures = page.evaluate(MEASURE)
        assert len(figures) == 1 and figures[0]["title"].startswith("Most common paths")
        found += [f"Journeys, top paths at {width}x{height}: {p}" for p in problems(figures)]
        shoot(page, f"journeys_top_paths_{width}", tmp_path)
        # Two personas side by side: the narrow Sankeys and funnels.
        page.get_by_role("tab", name="Flows").click()
        settle(page)
        page.get_by_role("combobox", name="Compare").click()
        page.get_by_role("option", name="Two personas", exact=True).click()
        settle(page)
        figures = page.evaluate(MEASURE)
        assert len([f for f in figures if f["title"].startswith("Customer journeys")]) == 2
        found += [f"Journeys compared at {width}x{height}: {p}" for p in problems(figures)]
        shoot(page, f"journeys_compared_{width}", tmp_path)
        browser.close()
    assert not found, "\n".join(found[:40])
