"""Works offline and looks alive (issue 14, item 7).

No request leaves the machine: every page, present mode and an upload are visited with
every request to a host other than the app's recorded and refused (as on a laptop with no
network). The first paint after a server start lists the app's own navigation, never the
raw ``pages/`` folder; a long rerun in present mode shows Streamlit's running state where
the slide does not hide it.
"""

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser import drive
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# Where Streamlit's running widget is, when it is on screen.
RUNNING_JS = """() => { const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (!w || getComputedStyle(w).visibility === 'hidden') return null;
  const r = w.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }"""
APP_NAV = ["Journeys", "Emotions", "Personas", "Journey map", "Data"]

# Every text the sidebar navigation shows, from the first paint on.
NAV_RECORDER = """
window.__navTexts = [];
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  if (!nav) return;
  const items = [...nav.querySelectorAll('a')].map(a => a.innerText.replace(/\\s+/g, ' ').trim());
  const last = window.__navTexts[window.__navTexts.length - 1];
  if (JSON.stringify(items) !== JSON.stringify(last)) window.__navTexts.push(items);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("offline")
    # The bundled sample (5,000 customers), as a new user first sees it: large enough for a
    # persona's new slides to take longer than the half second before the running widget shows.
    with served_app(base, n_customers=None) as (url, proc):
        yield url, base


def offline_page(browser, url: str, size=(1280, 800)):
    """A page whose requests to any other host are recorded and refused."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    app_host = urlsplit(url).netloc
    outside: list[str] = []

    def route(r):
        if urlsplit(r.request.url).netloc in (app_host, "") or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.add_init_script(NAV_RECORDER)
    return page, outside


def nav_item(text: str) -> str:
    # Material icons render as their ligature name before the label ("mood Emotions").
    return re.sub(r"^[a-z_]+ ", "", text)


def test_first_paint_lists_the_apps_navigation_only(server):
    """Runs first in this module: the server has not served a page yet."""
    url, _ = server
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page, outside = offline_page(browser, url)
        page.goto(f"{url}/emotions", wait_until="domcontentloaded")
        drive.settle(page)
        seen = page.evaluate("() => window.__navTexts")
        assert seen, "the navigation was never drawn"
        for items in seen:
            assert [nav_item(t) for t in items] == APP_NAV, f"the sidebar listed {items}"
        assert not outside, outside
        browser.close()


def test_a_long_rerun_in_present_mode_shows_the_running_state(server):
    """(Before the upload below, which would become the newest dataset a fresh session opens.)
    Picking another persona builds five new slides (a journey map, a key-driver model):
    Streamlit shows its running widget after half a second, and present mode keeps it on
    screen (its header is out of the slide's way, not removed)."""
    url, _ = server
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page, _ = offline_page(browser, url)
        page.goto(f"{url}/journey_map?present=1", wait_until="domcontentloaded")
        drive.settle(page)
        picker = page.get_by_role("combobox").last
        picker.click()
        page.get_by_role("option").nth(1).click()
        shown, deadline = [], time.time() + 120
        while time.time() < deadline:
            box = page.evaluate(RUNNING_JS)
            if box:
                shown.append(box)
            elif shown or time.time() > deadline - 110 and not drive.busy(page):
                break
            time.sleep(0.05)
        drive.settle(page)
        assert shown, "no running state was shown during a long rerun"
        width, height = page.viewport_size["width"], page.viewport_size["height"]
        assert all(0 <= b["x"] and b["x"] + b["w"] <= width and 0 <= b["y"] and b["y"] + b["h"] <= height
                   and b["w"] > 0 for b in shown), shown
        browser.close()


def test_no_request_leaves_the_machine(server, tmp_path):
    url, _ = server
    upload = tmp_path / "tiny.csv"
    upload.write_text("customer_id,timestamp,touchpoint,stage,score\n"
                      "a,2024-01-01 10:00,Ad,Awareness,4\na,2024-01-02 10:00,Checkout,Purchase,5\n"
                      "b,2024-01-03 10:00,Ad,Awareness,2\n")
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page, outside = offline_page(browser, url)
        page.goto(url, wait_until="domcontentloaded")
        drive.settle(page)
        for name in APP_NAV:
            page.get_by_role("link", name=name, exact=True).click()
            drive.settle(page)
            drive.no_exception(page)
        page.goto(f"{url}/journey_map?present=1", wait_until="domcontentloaded")
        drive.settle(page)
        page.keyboard.press("PageDown")
        drive.settle(page)
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        drive.settle(page)
        page.locator('input[type="file"]').first.set_input_files(str(upload))
        page.get_by_text("tiny.csv").first.wait_for(timeout=60000)
        drive.settle(page)
        page.get_by_role("button", name="Use this data").click()
        page.get_by_text("is now the active dataset").wait_for(timeout=120000)
        drive.settle(page)
        # The browser tab's icon is the app's own file.
        icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=\"icon\"]')].map(l => l.href)")
        assert icon and all(urlsplit(h).netloc in (urlsplit(url).netloc, "") or h.startswith("data:")
                            for h in icon), icon
        browser.close()
    assert not outside, f"requests to other hosts: {sorted(set(outside))}"
