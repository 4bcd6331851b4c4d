"""Every page of the served app on the bundled sample at 1280x800 and 1920x1080: no
exception, nothing wider than the window, every button label whole; full-page screenshots
go to $SCREENSHOT_DIR (and a temporary folder) for a person to look at."""

from pathlib import Path

import pytest

from tests.browser import drive
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

PAGES = {"journeys": "", "emotions": "emotions", "personas": "personas", "journey_map": "journey_map",
         "data": "data"}
DATA_TABS = ["Saved datasets", "Connect to a database"]

LAYOUT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const cut = [...document.querySelectorAll('button')].filter(b => b.offsetParent !== null)
    .filter(b => [...b.querySelectorAll('p')].some(t => t.scrollWidth > t.clientWidth + 1)).map(b => b.innerText);
  return {wide: main.scrollWidth > main.clientWidth + 1, cut};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("screens")
    with served_app(base, n_customers=None) as (url, proc):
        yield url, base


@pytest.mark.parametrize("size", list(drive.SIZES))
def test_every_page_at_both_sizes(server, tmp_path, size):
    url, _ = server
    width, height = drive.SIZES[size]
    shots = tmp_path / "shots"
    problems = []
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": width, "height": height})

        def look(name: str) -> None:
            drive.no_exception(page)
            facts = page.evaluate(LAYOUT_JS)
            if facts["wide"]:
                problems.append(f"{name}: wider than the window")
            if facts["cut"]:
                problems.append(f"{name}: cut button labels {facts['cut']}")
            drive.shoot(page, f"page_{name}_{size}", shots, full_page=True)

        for name, path in PAGES.items():
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            drive.settle(page)
            look(name)
        for tab in DATA_TABS:
            page.get_by_role("tab", name=tab).click()
            drive.settle(page)
            look("data_" + tab.lower().replace(" ", "_"))
        browser.close()
    assert not problems, problems
