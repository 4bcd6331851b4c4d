"""Comparisons on the public real-world files in ../shared/realdata, checked against pandas and
scipy computed here independently. Skipped when the folder is absent (a fresh clone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from journeylib import compare as C
from journeylib import flows
from journeylib.engine import execute
from journeylib.ingest import load_journey
from journeylib.journey import Goal, JourneyModel

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata folder")

RATED = ["Online boarding", "Seat comfort", "Checkin service"]


def test_airline_classes_compared_by_welch_on_each_rating():
    path = REALDATA / "airline_passenger_satisfaction_survey.csv.gz"
    data = load_journey(survey=str(path), mapping={"customer_id": "id", "score": RATED}, not_rated=(0,))
    result = C.compare(C.apply_view(data, "attribute:Class=business"), C.apply_view(data, "attribute:Class=Eco"),
                       level="touchpoint")
    table = result.table[result.table["measure"] == "score"].set_index("stage")
    csat = result.table[result.table["measure"] == C.CSAT].set_index("stage")
    satisfied = result.table[result.table["measure"] == "share:satisfaction"].set_index("stage")
    raw = pd.read_csv(path)
    for rating in RATED:
        a = raw.loc[raw["Class"] == "Business", rating]
        b = raw.loc[raw["Class"] == "Eco", rating]
        a, b = a[a > 0].astype(float), b[b > 0].astype(float)  # 0 = not rated
        ref = stats.ttest_ind(b, a, equal_var=False)
        row = table.loc[rating]
        assert (row["n_a"], row["n_b"]) == (len(a), len(b))
        assert row["difference"] == pytest.approx(b.mean() - a.mean())
        assert row["ci_low"] == pytest.approx(ref.confidence_interval().low)
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        # CSAT: ratings of 4 or 5 on the 1-5 scale, per class; the pooled z-test is the
        # uncorrected chi-square test of the 2x2 table.
        xa, xb = int((a >= 4).sum()), int((b >= 4).sum())
        got = csat.loc[rating]
        assert (got["a"], got["b"]) == pytest.approx((xa / len(a), xb / len(b)))
        chi = stats.chi2_contingency([[xa, len(a) - xa], [xb, len(b) - xb]], correction=False)
        assert got["p_value"] == pytest.approx(chi.pvalue, rel=1e-6, abs=1e-300)
        # The satisfaction column: the share satisfied among the passengers who rated it.
        ya = raw.loc[(raw["Class"] == "Business") & (raw[rating] > 0), "satisfaction"] == "satisfied"
        yb = raw.loc[(raw["Class"] == "Eco") & (raw[rating] > 0), "satisfaction"] == "satisfied"
        got = satisfied.loc[rating]
        assert (got["n_a"], got["n_b"]) == (len(ya), len(yb))
        assert (got["a"], got["b"]) == pytest.approx((ya.mean(), yb.mean()))
        chi = stats.chi2_contingency([[ya.sum(), (~ya).sum()], [yb.sum(), (~yb).sum()]], correction=False)
        assert got["p_value"] == pytest.approx(chi.pvalue, rel=1e-6, abs=1e-300)
    # No events: reach and a stage goal are not claimed, and the notes say why.
    assert set(result.table["measure"]) == {"score", C.CSAT, "share:satisfaction"}
    assert any(n.startswith("reached: no touchpoint events") for n in result.notes)
    assert any(n.startswith("converted: ") for n in result.notes)


def test_loan_applications_two_periods_and_what_led_to_approval():
    path = REALDATA / "bpic2012_loan_application_events.csv.gz"
    model = JourneyModel(stages=("Application", "Offer", "Work"), goal=Goal("touchpoint", "A_APPROVED", name="Loan approved"))
    data = load_journey(touchpoints=str(path), journey=model, mapping={
        "customer_id": "case:concept:name", "timestamp": "time:timestamp", "touchpoint": "concept:name"})
    a = C.apply_view(data, "from=2011-10-01,to=2011-12-31")
    b = C.apply_view(data, "from=2012-01-01,to=2012-03-14")
    row = C.compare(a, b).table.set_index("measure").loc["converted"]
    assert row["stage"] == "Loan approved"
    ev = execute(data.events.select("customer_id", "timestamp", "touchpoint"))
    day = pd.to_datetime(ev["timestamp"]).dt.tz_localize(None).dt.normalize()
    for side, lo, hi in (("a", "2011-10-01", "2011-12-31"), ("b", "2012-01-01", "2012-03-14")):
        part = ev[(day >= lo) & (day <= hi)]
        approved = part.groupby("customer_id")["touchpoint"].apply(lambda t: (t == "A_APPROVED").any())
        assert row[f"n_{side}"] == len(approved)
        assert row[side] == pytest.approx(approved.mean())
    # Every customer behind the backward Sankey's last column reached approval.
    anchor = flows.Anchor.goal(data.journey)
    back = flows.backward_sankey(data.events, anchor, max_steps=3, top=0)
    assert int(back.loc[back["step"] == -1, "customers"].sum()) == int(
        ev.loc[ev["touchpoint"] == "A_APPROVED", "customer_id"].nunique())
    assert np.all(back["step"] < 0)
