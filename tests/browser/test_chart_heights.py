"""Charts whose height grows with their rows stay readable at every height and width.

A legend or note placed as a share of the plot's height moves with the chart and met the
x-axis title of a tall chart (seven key drivers of the airline reviews). Here each such
chart is drawn from 1 row to all its rows, at the widths of a narrow column and a wide
page, in Chromium, and its text boxes measured as on the app's pages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import plotly.io as pio
import pytest

from journeylib import charts, flows
from journeylib.ingest import load_journey
from journeylib.insights import key_drivers, pain_points
from journeylib.sample import generate_sample
from tests.browser.drive import CHROMIUM, launch
from tests.browser.measure import MEASURE, problems

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

WIDTHS = (620, 1100)
REVIEWS = ["Cabin staff service", "Food & beverages", "Ground service", "Inflight entertainment", "Seat comfort",
           "Value for money", "Wifi & connectivity"]
SURVEY = ["Baggage handling", "Checkin service", "Cleanliness", "Departure/Arrival time convenient",
          "Ease of Online booking", "Food and drink", "Gate location", "Inflight entertainment", "Inflight service",
          "Inflight wifi service", "Leg room service", "On-board service", "Online boarding", "Seat comfort"]


@pytest.fixture(scope="module")
def figures():
    frames = generate_sample(n_customers=400, seed=11)
    data = load_journey(touchpoints=frames["touchpoints"], survey=frames["survey"], customers=frames["customers"])
    kd = key_drivers(data, bootstrap=20)
    pains = pain_points(data)
    ratings = dataclasses.replace(kd, table=kd.table[kd.table["kind"] != "touchpoint used"].reset_index(drop=True))
    assert len(kd.table) >= 8 and len(pains) >= 8 and len(ratings.table) >= 3
    out = []
    for k in range(1, len(kd.table) + 1):
        out.append((f"{k} key drivers", charts.key_drivers_chart(dataclasses.replace(kd, table=kd.table.head(k)))))
    for k in (1, 3, 6, 10):
        out.append((f"{k} pain points", charts.pain_points_chart(pains, top=k, goal_label="Purchase")))
    out.append(("importance-performance", charts.importance_performance_chart(ratings)))
    # Emotion curves along the airline reviews' 7 and the airline survey's 14 touchpoints.
    stages = ["Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy"]
    for names in (stages, REVIEWS, SURVEY):
        for few in (False, True):
            curve = pd.DataFrame({"touchpoint": names, "persona": "all", "mean": 3.0, "ci_low": 2.8, "ci_high": 3.2,
                                  "n": 10 if few else 500, "low_n": few})
            out.append((f"{len(names)} touchpoints{' with few answers' if few else ''}",
                        charts.emotion_curve(curve, score_label="Mean score (1 to 5)", y_range=(1, 5))))
    out.append(("time to stage", charts.time_to_stage_chart(flows.time_to_stage(data))))
    return out


def test_legends_and_axis_titles_never_meet_at_any_height(figures, tmp_path):
    drawn = [(w, fig) for w in WIDTHS for _, fig in figures]
    divs = [pio.to_html(fig, include_plotlyjs=i == 0, full_html=False, default_width=f"{w}px")
            for i, (w, fig) in enumerate(drawn)]
    page_file = tmp_path / "charts.html"
    page_file.write_text("<html><head><meta charset=\"utf-8\"></head><body>" + "".join(divs) + "</body></html>", encoding="utf-8")
    names = [f"{name} at {w} px" for w in WIDTHS for name, _ in figures]
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_file.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(divs)}")
        page.wait_for_timeout(500)
        measured = page.evaluate(MEASURE)
        browser.close()
    assert len(measured) == len(names)
    found = [f"{names[m['index']]}: {p}" for m in measured for p in problems([m])]
    assert not found, "\n".join(found[:30])
