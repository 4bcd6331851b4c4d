"""The dataset a user chose is the dataset they see (issue 14, item 1).

One file uploaded three times with different "not rated" values gives three datasets with
the same default name. Streamlit's selectbox sends back the label a user sees, so three
equal labels were one choice: after "Use this data" the first click on a sidebar page
moved the sidebar and the URL to the oldest copy. Now the copies have distinct names and
every page shows the last one: its id in the URL, its name in the sidebar, its own count
of survey answers.
"""

import datetime as dt
import random
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.browser import drive
from tests.browser.drive import PAGES
from tests.browser.serve import served_app

pytestmark = pytest.mark.browser

if not Path(drive.CHROMIUM).exists():
    pytest.skip(f"{drive.CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

NOT_RATED = ["", "1", "1, 2"]  # the setting that differs between the three uploads


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("identity")
    with served_app(base, n_customers=120) as (url, proc):
        yield url, base


def shop_csv(folder: Path) -> Path:
    rnd = random.Random(3)
    rows = []
    steps = [("Search ad", "Awareness"), ("Product page", "Consideration"), ("Cart", "Intent"),
             ("Checkout", "Purchase")]
    for c in range(40):
        for k, (touchpoint, stage) in enumerate(steps[: rnd.randint(1, 4)]):
            rows.append((f"u{c}", f"2024-03-{1 + c % 28:02d} {9 + k}:00", touchpoint, stage,
                         rnd.choice(["Web", "App"]), rnd.randint(1, 5)))
    path = folder / "shop.csv"
    pd.DataFrame(rows, columns=["user_id", "event_time", "event_name", "stage", "channel", "score"]).to_csv(
        path, index=False)
    return path


def dataset_param(page) -> str:
    return parse_qs(urlsplit(page.url).query).get("dataset", [""])[0]


def sidebar_dataset(page) -> str:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Dataset")
    return box.first.locator('[data-testid="stSelectboxValue"], input').first.evaluate(
        "el => el.value || el.textContent").strip() or box.first.inner_text()


def answers_in_view(page) -> int:
    match = re.search(r"([\d,]+) survey answers", drive.sidebar_text(page))
    assert match, drive.sidebar_text(page)
    return int(match.group(1).replace(",", ""))


def test_three_uploads_of_one_file_every_page_shows_the_last(server, tmp_path):
    url, base = server
    upload = shop_csv(tmp_path)
    scores = pd.read_csv(upload)["score"]
    expected_answers = [int((~scores.isin([float(v) for v in nr.split(",") if v.strip()])).sum()) for nr in NOT_RATED]
    assert len(set(expected_answers)) == 3  # the three copies can be told apart by their answers
    today = dt.date.today().isoformat()
    names = ["shop", f"shop (2, {today})", f"shop (3, {today})"]

    with sync_api.sync_playwright() as p:
        browser = drive.launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/data", wait_until="domcontentloaded")
        drive.settle(page)
        ids = []
        for i, not_rated in enumerate(NOT_RATED):
            page.locator('input[type="file"]').first.set_input_files(str(upload))
            page.get_by_text("shop.csv").first.wait_for(timeout=60000)
            if i:
                # The name is taken: keeping both is the default, and says the new name. The
                # last upload's file name is still shown, so wait for what this one brings:
                # on a busy machine the rerun starts after a quiet moment that settle() takes
                # for the end.
                page.get_by_text("A dataset called “shop” already exists").wait_for(timeout=120000)
            drive.settle(page)
            if i:
                assert page.get_by_text("A dataset called “shop” already exists").count() == 1
                assert page.get_by_text(f"This one is saved as “{names[i]}”.").count() == 1
            if not_rated:
                box = page.get_by_role("textbox", name="Score values meaning “not rated”")
                box.fill(not_rated)
                box.press("Enter")
                drive.settle(page)
            page.get_by_role("button", name="Use this data").click()
            page.get_by_text(f"“{names[i]}” is now the active dataset").wait_for(timeout=120000)
            drive.settle(page)
            ids.append(dataset_param(page))
            assert answers_in_view(page) == expected_answers[i]
        assert len(set(ids)) == 3

        for name in PAGES + ["Journeys"]:
            page.get_by_role("link", name=name, exact=True).click()
            drive.settle(page)
            drive.no_exception(page)
            assert dataset_param(page) == ids[-1], f"{name}: the URL names another dataset"
            assert sidebar_dataset(page) == names[-1], f"{name}: the sidebar shows another dataset"
            assert answers_in_view(page) == expected_answers[-1], f"{name}: another dataset's numbers"

        # The Saved datasets tab lists the three under distinct names, the last one active.
        page.get_by_role("link", name="Data", exact=True).click()
        drive.settle(page)
        page.get_by_role("tab", name="Saved datasets").click()
        listed = page.locator('[data-testid="stTabPanel"]:visible').inner_text()
        for name in names:
            assert listed.count(name) >= 1, name
        assert f"{names[-1]}  ·  active" in listed or f"{names[-1]} · active" in listed
        assert "/tmp" not in listed and str(base) not in listed  # no server paths

        # A fresh browser opening the link sees the same dataset.
        link = page.url
        other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        other.goto(link.replace("/data", "/"), wait_until="domcontentloaded")
        drive.settle(other)
        assert dataset_param(other) == ids[-1] and answers_in_view(other) == expected_answers[-1]
        browser.close()
