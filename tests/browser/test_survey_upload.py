"""A survey alone in a real Chromium (issue #16): a wide survey (one rating column per
question, a satisfaction column, a comment column, no events) dropped on the Data page as a
new user would, used, and every page visited without an exception; the journey map's lanes
are filled (respondents per stage, not "0 customers")."""

from pathlib import Path

import pytest

from tests.browser import drive
from tests.browser.serve import served_app
from tests.journeylib.test_survey_stages import wide_survey

pytestmark = pytest.mark.browser
PAGES = drive.PAGES

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("served_survey")
    with served_app(base, n_customers=300) as (url, proc):
        yield url, base


def map_text(page) -> str:
    """The drawn journey map's text (Plotly writes it as SVG text)."""
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".main-svg").first.wait_for(timeout=120000)
    return chart.evaluate("c => [...c.querySelectorAll('text')].map(t => t.textContent).join(' ')")


def test_upload_a_survey_alone_and_visit_every_page(server, tmp_path):
    url, base = server
    shots = tmp_path / "screens"
    shots.mkdir()
    n = 48
    upload = tmp_path / "cabin_survey.csv"
    # Three of the five ratings are named by a stage word (Checkout and Order: Purchase,
    # Support: Retention), enough to be the journey's stages; the other two are the survey's own.
    wide_survey(n=n).rename(columns={"Seat comfort": "Order tracking"}).to_csv(upload, index=False)

    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        drive.settle(page)
        # Dropped in the default mode ("One combined file"), as a new user would.
        page.locator('input[type="file"]').first.set_input_files(str(upload))
        page.get_by_text("read as a survey alone").first.wait_for(timeout=60000)
        drive.settle(page)
        drive.no_exception(page)
        drive.shoot(page, "01_survey_dropped", shots)
        page.get_by_role("button", name="Use this data").click()
        page.get_by_text("is now the active dataset").wait_for(timeout=120000)
        drive.settle(page)
        drive.no_exception(page)

        names = [name for name in PAGES if page.get_by_role("link", name=name, exact=True).count()]
        assert set(PAGES) <= set(names)
        for i, name in enumerate(names, start=2):
            page.get_by_role("link", name=name, exact=True).click()
            drive.settle(page)
            drive.no_exception(page)
            assert page.locator("h1").first.inner_text().strip() != ""
            drive.shoot(page, f"{i:02d}_{name.lower().replace(' ', '_')}", shots)

        page.get_by_role("link", name="Journey map", exact=True).click()
        drive.settle(page)
        text = map_text(page)
        # Every respondent rated every question: each stage's lane counts all of them.
        for stage in ("Purchase", "Retention", "Cabin survey"):
            assert stage in text, text[:500]
        assert text.count(f"{n} answered") == 3, text[:800]
        assert "0 customers" not in text and "0 answered" not in text.replace(f"{n} answered", "")
        assert f"{n} customers" in text
        browser.close()
