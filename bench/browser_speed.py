"""What a user waits for in a real browser, on the bundled sample (issue 14's speed targets:
a sidebar filter change redraws the page within 1 s, a page switch within 1.5 s, the next
present-mode slide within 0.5 s).

Run: python bench/browser_speed.py [--repeat 3] [--json FILE]

The app is served by ``streamlit run app.py`` on a free port with a temporary workspace,
whose first start imports the bundled sample (data/sample: 5,000 customers, 52,815 events),
and driven by Playwright on Debian's Chromium (/usr/bin/chromium). Each time runs from the
user's action (the click on a channel, a page link, the Page Down key) until the page is
done: the script run has finished (no running widget, spinner, skeleton or stale element),
the new content is there (the chart title names the filter, the page's title, the slide's
counter) and every chart on the page has been drawn by Plotly. Chromium checks that with
``requestAnimationFrame`` polling, so the times include the browser's own drawing.

- filter, new: a channel chosen for the first time (the page's results are computed);
- filter, seen: going back to all channels (the results are cached);
- page switch: Journeys -> Emotions -> Personas -> Journey map -> Data -> Journeys, the
  first round (results computed for the page) apart from the later ones (cached);
- next slide: Page Down in present mode on the journey map page, after the deck is built.

The median of each kind is printed with its range and count; the machine's load average
is printed too, because other work on a shared machine slows every number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import drive  # noqa: E402 - the repository root goes on the path first
from tests.browser.serve import served_app  # noqa: E402

TARGETS = {"filter, new": 1.0, "filter, seen": 1.0, "page switch, first": 1.5, "page switch, seen": 1.5,
           "next slide": 0.5}
PAGES = ["Emotions", "Personas", "Journey map", "Data", "Journeys"]

# True once the run is over and every chart on the page has been drawn.
DONE_JS = """(want) => {
  const busy = document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
    + '[data-stale="true"], [data-testid="stSkeleton"]');
  if (busy) return false;
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.innerText.includes(want.text)) return false;
  if (want.h1 && (!main.querySelector('h1') || main.querySelector('h1').innerText.trim() !== want.h1)) return false;
  const charts = [...main.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.every(c => { const gd = c.querySelector('.js-plotly-plot'); return gd && gd._fullLayout
    && gd.querySelector('.main-svg'); });
}"""


def timed(page, action, text: str, h1: str | None = None, timeout_s: float = 120) -> float:
    """Seconds from ``action()`` until the page shows ``text`` (and title ``h1``), done."""
    start = time.perf_counter()
    action()
    page.wait_for_function(DONE_JS, arg={"text": text, "h1": h1}, polling="raf", timeout=timeout_s * 1000)
    return time.perf_counter() - start


def channel_box(page):
    return page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Channels")


def measure_filters(page, times: dict, repeat: int) -> None:
    page.get_by_role("link", name="Journeys", exact=True).click()
    drive.settle(page)
    channel_box(page).click()
    names = [o.inner_text() for o in page.get_by_role("option").all() if o.inner_text() != "Select all"]
    page.keyboard.press("Escape")
    for name in names[: max(repeat, 3)]:
        def choose():
            channel_box(page).click()
            page.get_by_role("option", name=name, exact=True).click()
        times["filter, new"].append(timed(page, choose, f"channels: {name}"))
        page.keyboard.press("Escape")
        drive.settle(page, quiet_polls=2)

        def clear():
            channel_box(page).get_by_role("button", name=f"Remove {name}").click()
        times["filter, seen"].append(timed(page, clear, "All customers · "))
        drive.settle(page, quiet_polls=2)


def measure_pages(page, times: dict, repeat: int) -> None:
    for round_ in range(repeat + 1):
        for name in PAGES:
            kind = "page switch, first" if round_ == 0 else "page switch, seen"
            times[kind].append(timed(page, lambda: page.get_by_role("link", name=name, exact=True).click(),
                                     name, h1=name))
            drive.settle(page, quiet_polls=2)


def measure_slides(page, url: str, times: dict, repeat: int) -> None:
    page.goto(f"{url}/journey_map?present=1", wait_until="domcontentloaded")
    drive.settle(page)
    time.sleep(2)  # the other slides are built after the first is shown
    drive.settle(page)
    for _ in range(repeat):
        for k in range(2, 6):
            times["next slide"].append(timed(page, lambda: page.keyboard.press("PageDown"), f"Slide {k} of 5"))
        for k in range(4, 0, -1):
            page.keyboard.press("PageUp")
            page.wait_for_function(DONE_JS, arg={"text": f"Slide {k} of 5", "h1": None}, polling="raf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each measurement (default 3)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--json", help="also write the raw times here")
    args = parser.parse_args()
    if not Path(drive.CHROMIUM).exists():
        sys.exit(f"{drive.CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {k: [] for k in TARGETS}
    with tempfile.TemporaryDirectory(prefix="browser_speed_") as base, served_app(Path(base), None) as (url, _):
        with sync_playwright() as p:
            browser = drive.launch(p)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url, wait_until="domcontentloaded")
            drive.settle(page, timeout_s=600)  # first start: the sample is imported, personas fitted
            measure_filters(page, times, args.repeat)
            measure_pages(page, times, args.repeat)
            measure_slides(page, url, times, args.repeat)
            browser.close()
    load = os.getloadavg()
    print(f"\nBundled sample in Chromium at {args.width}x{args.height}; load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'measure':<20} {'median':>8} {'min':>7} {'max':>7} {'n':>4}  target")
    for kind, values in times.items():
        if values:
            print(f"{kind:<20} {statistics.median(values):>7.2f}s {min(values):>6.2f}s {max(values):>6.2f}s "
                  f"{len(values):>4}  {TARGETS[kind]:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"load": load, "times": times}, indent=2))


if __name__ == "__main__":
    main()
