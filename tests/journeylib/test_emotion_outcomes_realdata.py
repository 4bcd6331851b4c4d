"""CSAT and the satisfaction outcome per touchpoint on the airline passenger survey (a survey
with no events), against pandas on the raw file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from journeylib import emotions, insights
from journeylib.ingest import load_journey

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
PATH = REALDATA / "airline_passenger_satisfaction_survey.csv.gz"
RATED = ["Inflight wifi service", "Seat comfort", "Gate location"]

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not PATH.is_file(), reason="no ../shared/realdata airline survey")]


def test_airline_csat_and_satisfaction_per_touchpoint():
    data = load_journey(survey=str(PATH), mapping={"customer_id": "id", "score": RATED}, not_rated=(0,))
    raw = pd.read_csv(PATH)
    csat = emotions.csat_by(data.survey, data.score_scale, "touchpoint").set_index("group")
    values, binary, label = insights.outcome_values(data, "satisfaction")
    assert binary and label == "satisfaction = satisfied"
    sat = emotions.outcome_by(data.survey, values, binary, "touchpoint").set_index("group")
    for column in RATED:
        rated = raw[raw[column] > 0]  # 0 is "not applicable" in this survey
        top = int((rated[column] >= 4).sum())
        assert csat.loc[column, "n"] == len(rated)
        assert csat.loc[column, "csat"] == pytest.approx(top / len(rated))
        ci = stats.binomtest(top, len(rated)).proportion_ci(method="wilson")
        assert csat.loc[column, "ci_low"] == pytest.approx(ci.low)
        assert sat.loc[column, "value"] == pytest.approx((rated["satisfaction"] == "satisfied").mean())
