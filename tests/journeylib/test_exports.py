"""The files teams really export, written here in their tools' shapes: Qualtrics, SurveyMonkey,
Google Forms, Typeform, XES and GA4. Respondent counts, labels, scores and ids by hand."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from journeylib.__main__ import main
from journeylib.engine import Engine
from journeylib.ingest import check, load_journey


@pytest.fixture(scope="module")
def engine():
    return Engine()


def survey_of(data) -> pd.DataFrame:
    return data.survey.execute().sort_values(["customer_id", "touchpoint"]).reset_index(drop=True)


def notes(checked) -> str:
    return "\n".join(str(w) for w in checked.report.warnings)


QUALTRICS = (
    'StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,'
    'Q1,Q33_1,Q33_2,Q33_3,Q5\n'
    'Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,'
    'Response ID,How old are you?,How satisfied were you with... - Seat comfort,'
    'How satisfied were you with... - Check-in,How satisfied were you with... - Wifi,Anything else? - Text\n'
    + ",".join(f'"{{""ImportId"":""{k}""}}"' for k in (
        "startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate",
        "_recordId", "QID1_TEXT", "QID33_1", "QID33_2", "QID33_3", "QID5_TEXT")) + "\n"
    '2024-01-01 10:00:00,2024-01-01 10:05:00,0,1.2.3.4,100,300,1,2024-01-01 10:05:01,R_1,34,5,4,3,'
    'great seats and a calm crew\n'
    '2024-01-02 10:00:00,2024-01-02 10:05:00,0,1.2.3.5,100,300,1,2024-01-02 10:05:01,R_2,45,3,-99,1,'
    'the wifi was bad all the way\n'
    '2024-01-03 10:00:00,2024-01-03 10:05:00,0,1.2.3.6,100,300,1,2024-01-03 10:05:01,R_3,29,4,2,2,\n'
    '2024-01-04 10:00:00,2024-01-04 10:05:00,0,1.2.3.7,100,300,1,2024-01-04 10:05:01,R_4,51,2,5,4,\n'
)


def test_qualtrics_header_rows_ids_labels_and_not_applicable_codes(engine):
    checked = check(survey=("qualtrics.csv", QUALTRICS.encode()), engine=engine)
    assert checked.report.ok, checked.report.lines()
    assert checked.exports == {"survey": "Qualtrics"}
    # The question text and ImportId rows are no respondents: three answers per rating column.
    sv = survey_of(checked.data)
    assert sorted(set(sv["customer_id"])) == ["R_1", "R_2", "R_3", "R_4"]
    assert checked.questions == {"Q33_1": "Seat comfort", "Q33_2": "Check-in", "Q33_3": "Wifi"}
    seat = sv[sv["touchpoint"] == "Seat comfort"].set_index("customer_id")["score"]
    assert seat.to_dict() == {"R_1": 5.0, "R_2": 3.0, "R_3": 4.0, "R_4": 2.0}
    assert sv.loc[sv["customer_id"] == "R_2", "comment"].iloc[0] == "the wifi was bad all the way"
    assert sv["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:05:01")  # RecordedDate
    text = notes(checked)
    assert "2 rows under the header skipped" in text
    assert "values -99 in 'Q33_2' look like 'not applicable' codes" in text and "--not-rated -99" in text
    checked.release()
    coded = load_journey(survey=("qualtrics.csv", QUALTRICS.encode()), not_rated=(-99,), engine=engine)
    checkin = survey_of(coded).query("touchpoint == 'Check-in'")
    assert checkin.set_index("customer_id")["score"].to_dict() == {"R_1": 4.0, "R_3": 2.0, "R_4": 5.0}


SURVEYMONKEY = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,Custom Data 1,"
    "How satisfied are you with the cinema?,Please rank these films,,,What else?\n"
    ",,,,,,,,,Response,Casablanca,Vertigo,Jaws,Open-Ended Response\n"
    "114,431,2024-02-01 10:00:00,2024-02-01 10:05:00,1.1.1.1,,,,,4,1,2,3,Loved it very much indeed\n"
    "115,431,2024-03-01 11:00:00,2024-03-01 11:05:00,1.1.1.2,,,,,2,3,1,2,Too loud and too expensive\n"
    "116,431,2024-04-01 12:00:00,2024-04-01 12:05:00,1.1.1.3,,,,,5,2,3,1,\n"
)


def test_surveymonkey_answer_option_row_labels_the_columns(engine):
    checked = check(survey=("monkey.csv", SURVEYMONKEY.encode()), engine=engine)
    assert checked.report.ok, checked.report.lines()
    assert checked.exports == {"survey": "SurveyMonkey"}
    # The blank header cells of the ranked films are named by the option row, not column_11.
    assert list(checked.questions.values()) == ["How satisfied are you with the cinema?", "Casablanca", "Vertigo",
                                                "Jaws"]
    sv = survey_of(checked.data)
    assert sorted(set(sv["customer_id"])) == ["114", "115", "116"]  # the option row is no respondent
    assert sv[sv["touchpoint"] == "Vertigo"].set_index("customer_id")["score"].to_dict() == {
        "114": 2.0, "115": 1.0, "116": 3.0}
    assert "1 row under the header skipped" in notes(checked)
    checked.release()


GOOGLE_FORMS = (
    "Timestamp,How was the food?,How was the service?,Any comments?\n"
    "2024/01/02 10:00:00 AM GMT,4,5,Great food and lovely staff\n"
    "2024/01/03 11:00:00 AM GMT,2,3,Cold soup and long waits\n"
    "2024/01/04 12:00:00 PM GMT,5,4,\n"
)


def test_google_forms_rows_are_respondents_numbered_by_row(engine):
    checked = check(survey=("form.csv", GOOGLE_FORMS.encode()), engine=engine)
    assert checked.report.ok, checked.report.lines()
    assert checked.exports == {"survey": "Google Forms"}
    sv = survey_of(checked.data)
    assert sorted(set(sv["customer_id"])) == ["respondent 1", "respondent 2", "respondent 3"]
    food = sv[sv["touchpoint"] == "How was the food?"].set_index("customer_id")
    assert food["score"].to_dict() == {"respondent 1": 4.0, "respondent 2": 2.0, "respondent 3": 5.0}
    assert food.loc["respondent 2", "comment"] == "Cold soup and long waits"
    assert food.loc["respondent 3", "timestamp"] == pd.Timestamp("2024-01-04 12:00:00")
    assert "each row is one respondent" in notes(checked)
    checked.release()


TYPEFORM = (
    "#,How likely are you to come back?,Rate the checkout,Rate the delivery,Start Date (UTC),Submit Date (UTC),"
    "Network ID\n"
    "a1b2,9,4,5,2024-05-01 08:00:00,2024-05-01 08:03:00,n1\n"
    "c3d4,6,2,3,2024-05-02 09:00:00,2024-05-02 09:04:00,n2\n"
    "e5f6,10,5,4,2024-05-03 10:00:00,2024-05-03 10:01:00,n3\n"
)


def test_typeform_token_is_the_respondent(engine):
    checked = check(survey=("typeform.csv", TYPEFORM.encode()), engine=engine)
    assert checked.report.ok, checked.report.lines()
    assert checked.exports == {"survey": "Typeform"}
    sv = survey_of(checked.data)
    assert sorted(set(sv["customer_id"])) == ["a1b2", "c3d4", "e5f6"]
    assert set(sv["touchpoint"]) >= {"Rate the checkout", "Rate the delivery"}
    checkout = sv[sv["touchpoint"] == "Rate the checkout"].set_index("customer_id")
    assert checkout["score"].to_dict() == {"a1b2": 4.0, "c3d4": 2.0, "e5f6": 5.0}
    assert checkout.loc["c3d4", "timestamp"] == pd.Timestamp("2024-05-02 09:04:00")  # the submit time
    checked.release()


XES = b"""<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="concept:name" value="loans"/>
  <trace>
    <string key="concept:name" value="173688"/>
    <int key="AMOUNT_REQ" value="20000"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.546+02:00"/>
      <string key="org:resource" value="112"><string key="team" value="front"/></string>
    </event>
    <event>
      <string key="concept:name" value="A_PARTLYSUBMITTED"/>
      <string key="lifecycle:transition" value="START"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.880+02:00"/>
    </event>
    <event>
      <string key="concept:name" value="A_PARTLYSUBMITTED"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <date key="time:timestamp" value="2011-10-01T00:39:00.000+02:00"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="173691"/>
    <int key="AMOUNT_REQ" value="5000"/>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <string key="lifecycle:transition" value="COMPLETE"/>
      <date key="time:timestamp" value="2011-10-01T08:08:58.256+02:00"/>
    </event>
  </trace>
</log>"""


@pytest.mark.parametrize("name, payload", [("log.xes", XES), ("log.xes.gz", gzip.compress(XES))])
def test_xes_events_case_attributes_and_nested_attributes(engine, name, payload):
    data = load_journey(touchpoints=(name, payload), where={"lifecycle:transition": ["COMPLETE"]}, engine=engine)
    ev = data.events.execute().sort_values(["customer_id", "seq"]).reset_index(drop=True)
    assert ev["customer_id"].tolist() == ["173688", "173688", "173691"]  # the START row left out by --where
    assert ev["touchpoint"].tolist() == ["A_SUBMITTED", "A_PARTLYSUBMITTED", "A_SUBMITTED"]
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2011-09-30 22:38:44.546")  # +02:00 to UTC
    assert ev["org:resource.team"].iloc[0] == "front"  # a nested attribute, flattened
    customers = data.customers.execute().set_index("customer_id")
    assert customers["case:AMOUNT_REQ"].to_dict() == {"173688": 20000, "173691": 5000}  # case attributes
    assert any("kept 3 of 4 rows" in w.message for w in data.warnings)


def test_ga4_sparse_user_id_falls_back_to_the_pseudo_id(engine):
    rows = ["event_date,event_timestamp,event_name,user_pseudo_id,user_id"]
    for i in range(55):
        rows.append(f"20231114,{1700000000000000 + i * 1_000_000},page_view,p{i % 7},{f'U{i % 3}' if i < 9 else ''}")
    data = load_journey(touchpoints=("ga4.csv", ("\n".join(rows) + "\n").encode()), engine=engine)
    ev = data.events.execute()
    assert len(ev) == 55  # none of the 46 rows without a user_id is dropped
    expected = {f"U{i % 3}" if i < 9 else f"p{i % 7}" for i in range(55)}
    assert set(ev["customer_id"]) == expected
    (w,) = [w for w in data.warnings if "user_pseudo_id" in w.message]
    assert w.count == 46 and "46 of 55 rows have no 'user_id'" in w.message


def test_a_survey_alone_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "form.csv"
    path.write_text(GOOGLE_FORMS)
    code = main(["emotions", "--survey", str(path), "--level", "touchpoint", "--by", "none"])
    out, err = capsys.readouterr()
    assert code == 0, err
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert list(frame.columns) == ["touchpoint", "persona", "mean", "ci_low", "ci_high", "n"]
    food = frame.set_index("touchpoint").loc["How was the food?"]
    assert food["n"] == 3 and food["mean"] == pytest.approx((4 + 2 + 5) / 3)
