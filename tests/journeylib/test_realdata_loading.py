"""Load each public real-world file in ../shared/realdata with the mapping its README gives,
and check the result against counts computed here independently with plain pandas.

Skipped when the folder is absent (a fresh clone has no ../shared).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from journeylib.ingest import load_journey
from journeylib.schema import ScoreScale

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata folder")

AIRLINE_RATINGS = [
    "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking", "Gate location",
    "Food and drink", "Online boarding", "Seat comfort", "Inflight entertainment", "On-board service",
    "Leg room service", "Baggage handling", "Checkin service", "Inflight service", "Cleanliness",
]
BA_RATINGS = [
    "GroundService", "SeatComfort", "CabinStaffService", "Food&Beverages", "InflightEntertainment",
    "Wifi&Connectivity", "ValueForMoney",
]


def raw(name: str) -> pd.DataFrame:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{name} not in {REALDATA}")
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def path_of(name: str) -> Path:
    return REALDATA / name


def utc_naive(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, utc=True, format="ISO8601").dt.tz_localize(None)


def test_helpdesk_events():
    name = "helpdesk_ticket_events.csv.gz"
    src = raw(name)
    expected = src.drop_duplicates()
    data = load_journey(touchpoints=path_of(name))
    ev = data.events.execute()
    assert len(ev) == len(expected)
    assert ev["customer_id"].nunique() == expected["case:concept:name"].nunique()
    dup = [w for w in data.warnings if "exact duplicates" in w.message]
    assert len(src) - len(expected) == (dup[0].count if dup else 0)
    # every event's time, in UTC, as pandas reads it
    assert ev["timestamp"].min() == utc_naive(expected["time:timestamp"]).min()
    assert ev["timestamp"].max() == utc_naive(expected["time:timestamp"]).max()
    assert set(ev["touchpoint"]) == set(expected["concept:name"])
    assert {"product", "service_level", "service_type"} <= set(ev.columns)


def test_helpdesk_by_customer_column():
    name = "helpdesk_ticket_events.csv.gz"
    expected = raw(name).drop_duplicates()
    data = load_journey(touchpoints=path_of(name), mapping={"customer_id": "customer"})
    ev = data.events.execute()
    assert ev["customer_id"].nunique() == expected["customer"].nunique()


def test_wabo_events_with_channel():
    name = "wabo_receipt_events.csv.gz"
    expected = raw(name).drop_duplicates()
    data = load_journey(touchpoints=path_of(name))
    ev = data.events.execute()
    assert len(ev) == len(expected)
    assert ev["customer_id"].nunique() == expected["case:concept:name"].nunique()
    assert ev["channel"].value_counts().to_dict() == expected["case:channel"].value_counts().to_dict()
    # seq is the row position in the file: the first row's time, converted to UTC
    first = ev.loc[ev["seq"] == 0].iloc[0]
    assert first["timestamp"] == utc_naive(expected["time:timestamp"].iloc[[0]]).iloc[0]


def test_bpic_complete_events():
    name = "bpic2012_loan_application_events.csv.gz"
    src = raw(name)
    complete = src[src["lifecycle:transition"] == "COMPLETE"].reset_index(drop=True)
    expected = complete.drop_duplicates()
    data = load_journey(touchpoints=complete)
    ev = data.events.execute()
    assert len(ev) == len(expected)
    assert ev["customer_id"].nunique() == expected["case:concept:name"].nunique()
    assert ev["touchpoint"].nunique() == expected["concept:name"].nunique()
    assert ev["timestamp"].min() == utc_naive(expected["time:timestamp"]).min()
    # A case attribute describes the customer (the application): on the customers table, a number.
    assert "case:AMOUNT_REQ" not in ev.columns
    amounts = data.customers.execute().set_index("customer_id")["case:AMOUNT_REQ"]
    want = expected.drop_duplicates("case:concept:name").set_index("case:concept:name")["case:AMOUNT_REQ"]
    assert amounts.sort_index().tolist() == want.astype(int).sort_index().tolist()


def test_airline_wide_survey_with_not_rated():
    name = "airline_passenger_satisfaction_survey.csv.gz"
    src = raw(name)
    long = src.melt(id_vars=["id"], value_vars=AIRLINE_RATINGS, var_name="touchpoint", value_name="score")
    long["score"] = pd.to_numeric(long["score"])
    rated = long[long["score"].notna() & (long["score"] != 0)]
    data = load_journey(survey=path_of(name), mapping={"score": AIRLINE_RATINGS}, not_rated=(0,))
    sv = data.survey.execute()
    assert len(sv) == len(rated)
    assert sv["customer_id"].nunique() == rated["id"].nunique()
    assert data.score_scale == ScoreScale(1, 5)
    assert sv.groupby("touchpoint")["score"].mean().round(9).to_dict() == \
        rated.groupby("touchpoint")["score"].mean().round(9).to_dict()
    not_rated = sum(w.count for w in data.warnings if "not rated" in w.message)
    assert not_rated == int((long["score"] == 0).sum())
    customers = data.customers.execute()
    assert len(customers) == src["id"].nunique()
    assert {"Gender", "Age", "Class", "satisfaction"} <= set(customers.columns)


def test_british_airways_reviews():
    name = "british_airways_reviews.csv.gz"
    src = raw(name)
    long = src.melt(id_vars=["ReviewID"], value_vars=BA_RATINGS, var_name="touchpoint", value_name="score")
    answered = long[pd.to_numeric(long["score"]).notna()]
    data = load_journey(survey=path_of(name), mapping={"score": BA_RATINGS, "timestamp": "Datetime"})
    sv = data.survey.execute()
    assert len(sv) == len(answered)
    assert sv["customer_id"].nunique() == answered["ReviewID"].nunique()
    assert data.score_scale == ScoreScale(1, 5)
    # ordinal dates ("19th November 2023"), read independently here
    days = pd.to_datetime(src["Datetime"].str.replace(r"(\d+)(st|nd|rd|th) ", r"\1 ", regex=True),
                          format="%d %B %Y")
    by_id = dict(zip(src["ReviewID"], days))
    got = sv.drop_duplicates("customer_id").set_index("customer_id")["timestamp"]
    assert got.notna().all()
    assert all(got[i] == by_id[i] for i in got.index)
    assert sv["comment"].notna().all()  # ReviewBody detected as the comment
