"""Present mode in a meeting room (issue 14, item 4), in Chromium at 1280x800 and 1920x1080.

Every slide fits the window without scrolling and its buttons show their whole labels; the
keys a presenter's clicker sends (Page Down/Up, arrows, Space) move between slides; the
legend and axis text are larger than on the page; the slide and the persona come back
from a ``?present=1`` link. (Timings are measured by bench/browser_speed.py.)
"""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import drive
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

SLIDES = ["Journey map", "How customers feel", "How customers move", "Pain points", "Key drivers"]

# Layout facts of the slide on screen, measured by the browser.
FIT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const plot = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
    .find(p => getComputedStyle(p).visibility !== 'hidden');
  const shown = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
    .filter(p => getComputedStyle(p).visibility !== 'hidden' && p.getBoundingClientRect().height > 0).length;
  const cut = [...document.querySelectorAll('[data-testid="stMain"] button')]
    .filter(b => b.offsetParent !== null)
    .filter(b => [...b.querySelectorAll('p, span')].some(t => t.scrollWidth > t.clientWidth + 1))
    .map(b => b.innerText);
  return {scroll: main.scrollHeight, height: main.clientHeight, inner: window.innerHeight,
          plotBottom: plot ? plot.getBoundingClientRect().bottom : null,
          plotRight: plot ? plot.getBoundingClientRect().right : null, width: window.innerWidth, cut, shown};
}"""

FONTS_JS = """() => {
  const size = sel => { const el = [...document.querySelectorAll('[data-testid="stMain"] ' + sel)]
                          .find(e => getComputedStyle(e).visibility !== 'hidden');
                        return el ? parseFloat(getComputedStyle(el).fontSize) : null; };
  return {legend: size('.legend .legendtext'), xtick: size('.xtick text'), ytick: size('.ytick text')};
}"""


VISIBLE_TITLE_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot .gtitle')]
  .filter(t => getComputedStyle(t).visibility !== 'hidden').map(t => t.textContent).join(' | ')"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("present")
    with served_app(base, n_customers=300) as (url, proc):
        yield url, base


def slide_title(page) -> str:
    text = page.get_by_text(re.compile(r"^Slide \d of \d: ")).first.inner_text()
    return text.split(": ", 1)[1]


def press(page, key: str, expected: str) -> None:
    page.keyboard.press(key)
    page.wait_for_function(f"() => document.body.innerText.includes({expected!r})", timeout=60000)
    drive.settle(page, quiet_polls=3)


@pytest.mark.parametrize("size", list(drive.SIZES))
def test_every_slide_fits_and_the_clicker_keys_move(server, tmp_path, size):
    url, _ = server
    width, height = drive.SIZES[size]
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{url}/journey_map?present=1", wait_until="domcontentloaded")
        drive.settle(page)
        keys = ["PageDown", " ", "ArrowRight", "ArrowDown"]
        for i, title in enumerate(SLIDES):
            drive.no_exception(page)
            assert slide_title(page) == title
            assert page.locator("h2").first.inner_text() == title
            fit = page.evaluate(FIT_JS)
            drive.shoot(page, f"present_{i + 1}_{size}", tmp_path / "shots")
            assert fit["scroll"] <= fit["height"] + 1, f"slide {title!r} scrolls at {size}: {fit}"
            assert fit["plotBottom"] is not None and fit["plotBottom"] <= fit["inner"], fit
            assert fit["plotRight"] <= fit["width"], fit
            assert fit["shown"] == 1, f"{fit['shown']} charts on screen on {title!r}"
            assert not fit["cut"], f"cut button labels on {title!r}: {fit['cut']}"
            assert parse_qs(urlsplit(page.url).query)["slide"] == [str(i + 1)]
            if i < len(SLIDES) - 1:
                press(page, keys[i], f"Slide {i + 2} of 5")
        press(page, "PageUp", "Slide 4 of 5")
        press(page, "ArrowLeft", "Slide 3 of 5")
        assert slide_title(page) == "How customers move"
        # A key typed into the persona picker's search is the picker's, not a slide move.
        page.get_by_role("combobox").last.click()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Escape")
        drive.settle(page)
        assert slide_title(page) == "How customers move"
        browser.close()


def test_fonts_grow_and_the_link_brings_back_slide_and_persona(server, tmp_path):
    url, _ = server
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/emotions", wait_until="domcontentloaded")
        drive.settle(page)
        on_page = page.evaluate(FONTS_JS)  # the same emotion curve as the second slide
        page.goto(f"{url}/journey_map?present=1&slide=2", wait_until="domcontentloaded")
        drive.settle(page)
        assert slide_title(page) == "How customers feel"
        on_slide = page.evaluate(FONTS_JS)
        for part in ("legend", "xtick", "ytick"):
            assert on_page[part] and on_slide[part] >= 1.3 * on_page[part], (part, on_page, on_slide)

        picker = page.get_by_role("combobox").last
        picker.click()
        persona = page.get_by_role("option").nth(2).inner_text()
        page.get_by_role("option").nth(2).click()
        drive.settle(page)
        press(page, "PageDown", "Slide 3 of 5")
        query = parse_qs(urlsplit(page.url).query)
        assert query["present"] == ["1"] and query["slide"] == ["3"] and query["jm_persona"] == [persona]
        subtitle = page.evaluate(VISIBLE_TITLE_JS)
        assert persona in subtitle

        fresh = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        fresh.goto(page.url, wait_until="domcontentloaded")
        drive.settle(fresh)
        assert slide_title(fresh) == "How customers move"
        assert fresh.get_by_role("combobox").last.input_value() == persona or \
            persona in fresh.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').last.inner_text()
        assert persona in fresh.evaluate(VISIBLE_TITLE_JS)
        drive.shoot(fresh, "present_link_1920x1080", tmp_path / "shots")
        browser.close()


@pytest.mark.parametrize("size", list(drive.SIZES))
def test_a_comparison_adds_a_what_changed_slide_that_fits(server, tmp_path, size):
    url, _ = server
    width, height = drive.SIZES[size]
    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{url}/journey_map?present=1&slide=2&cmp=Two+periods", wait_until="domcontentloaded")
        drive.settle(page)
        drive.no_exception(page)
        assert slide_title(page) == "What changed"
        assert page.get_by_text(re.compile(r"^Slide 2 of 6: ")).count() == 1
        fit = page.evaluate(FIT_JS)
        drive.shoot(page, f"present_what_changed_{size}", tmp_path / "shots")
        assert fit["scroll"] <= fit["height"] + 1, fit
        assert fit["plotBottom"] is not None and fit["plotBottom"] <= fit["inner"], fit
        assert fit["plotRight"] <= fit["width"], fit
        assert fit["shown"] == 1 and not fit["cut"], fit
        # The page's comparison controls are kept out of sight.
        assert not page.get_by_text("Second period").is_visible()
        press(page, "PageUp", "Slide 1 of 6")
        assert slide_title(page) == "Journey map"
        browser.close()
