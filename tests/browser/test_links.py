"""A link brings back the whole view (issue 14, item 5).

Page controls (level, steps, nodes, merge repeats, start node, compare and which personas,
the journey map's "whose journey") and the sidebar filters go into the URL; a fresh
browser opening that URL draws the same charts: the same traces with the same numbers and
the same titles, read from Plotly's own figure objects in the page.
"""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import drive
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# What a chart shows: every trace's data and labels, and the title (not Plotly's ids or sizes).
CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(gd => ({
  title: (gd.layout && gd.layout.title && gd.layout.title.text) || '',
  traces: (gd.data || []).map(t => ({type: t.type, name: t.name || '', x: t.x || null, y: t.y || null,
    text: t.text || null, labels: t.node ? t.node.label : null,
    source: t.link ? t.link.source : null, target: t.link ? t.link.target : null,
    value: t.link ? t.link.value : null}))
}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("links")
    with served_app(base, n_customers=300) as (url, proc):
        yield url, base


def charts(page) -> list:
    return json.loads(json.dumps(page.evaluate(CHARTS_JS)))


def params(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def slide_to(page, name: str, value: int) -> None:
    """Move a slider with its keyboard (the way a user without a mouse would)."""
    handle = page.get_by_role("slider", name=name)
    now = int(handle.input_value())
    handle.focus()
    for _ in range(abs(value - now)):
        page.keyboard.press("ArrowRight" if value > now else "ArrowLeft")
    drive.settle(page)
    assert int(handle.input_value()) == value


def flip(page, label: str) -> None:
    """Turn a toggle over by its label (the switch itself is drawn over by the label)."""
    page.get_by_text(label, exact=True).click()
    drive.settle(page)


def same_view_in_a_fresh_browser(browser, page) -> None:
    """Open ``page``'s URL in a new browser context (no session) and compare the charts."""
    expected = charts(page)
    assert expected, "no charts on the page"
    fresh = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    fresh.goto(page.url, wait_until="domcontentloaded")
    drive.settle(fresh)
    drive.no_exception(fresh)
    got = charts(fresh)
    assert [c["title"] for c in got] == [c["title"] for c in expected]
    assert got == expected
    fresh.context.close()


def test_journeys_controls_and_filters_come_back_from_the_link(server):
    url, _ = server
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url, wait_until="domcontentloaded")
        drive.settle(page)
        default = charts(page)
        flip(page, "Merge repeated touchpoints")
        slide_to(page, "Steps Steps", 7)
        slide_to(page, "Nodes per step Nodes per step", 4)
        starts = page.get_by_role("combobox", name="Start at")
        starts.click()
        first_start = page.get_by_role("option").nth(1).inner_text()
        page.get_by_role("option").nth(1).click()
        drive.settle(page)
        page.get_by_role("tab", name="Top paths").click()
        drive.settle(page)
        page.get_by_role("radio", name="Touchpoints").last.click()  # "Paths of"
        drive.settle(page)
        channels = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Channels")
        channels.click()
        page.get_by_role("option").filter(has_not_text="Select all").first.click()
        page.keyboard.press("Escape")
        drive.settle(page)
        got = params(page)
        assert got["j_collapse"] == ["true"] and got["j_steps"] == ["7"] and got["j_top"] == ["4"]
        assert got["j_start"] == [first_start] and "channel" in got and "dataset" in got
        assert got["j_tab"] == ["Top paths"] and "j_path_level" in got
        assert charts(page) != default
        same_view_in_a_fresh_browser(browser, page)
        page.get_by_role("tab", name="Flows").click()
        drive.settle(page)
        same_view_in_a_fresh_browser(browser, page)

        # Stage level, two personas compared side by side: the pair comes back too.
        page.get_by_role("radio", name="Stages").first.click()
        drive.settle(page)
        page.get_by_role("combobox", name="Compare").click()
        page.get_by_role("option", name="Two personas", exact=True).click()
        drive.settle(page)
        second = page.get_by_role("combobox", name="Second persona")
        second.click()
        options = page.get_by_role("option")
        chosen = options.nth(options.count() - 1).inner_text()
        options.nth(options.count() - 1).click()
        drive.settle(page)
        got = params(page)
        assert got["j_level"] == ["Stages"] and got["cmp"] == ["Two personas"] and got["cmp_b_persona"] == [chosen]
        assert any(chosen in c["title"] for c in charts(page))
        same_view_in_a_fresh_browser(browser, page)
        browser.close()


def test_emotions_and_journey_map_controls_come_back_from_the_link(server):
    url, _ = server
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/emotions", wait_until="domcontentloaded")
        drive.settle(page)
        page.get_by_role("radiogroup", name="Along").get_by_role("radio", name="Touchpoint").click()
        drive.settle(page)
        flip(page, "One line per persona")
        assert params(page)["e_level"] == ["Touchpoint"] and params(page)["e_by_persona"] == ["false"]
        same_view_in_a_fresh_browser(browser, page)

        page.get_by_role("link", name="Journey map", exact=True).click()
        drive.settle(page)
        assert "e_level" not in params(page)  # another page's controls leave the link
        box = page.get_by_role("combobox", name="Whose journey")
        box.click()
        persona = page.get_by_role("option").nth(2).inner_text()
        page.get_by_role("option").nth(2).click()
        drive.settle(page)
        assert params(page)["jm_persona"] == [persona]
        assert persona in charts(page)[0]["title"]
        same_view_in_a_fresh_browser(browser, page)
        browser.close()
