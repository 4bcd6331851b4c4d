"""A survey alone uploaded on the Data page (issue #16): in "One combined file" mode it is
read as a survey; a file that is neither events nor a survey is told which column is
missing and which mode to choose; a rare 0 is proposed as not rated."""

import pandas as pd

from journeylib import workspace
from tests.app.test_app import active_id, no_exceptions
from tests.journeylib.test_survey_stages import RATINGS, wide_survey


def upload(app, name, payload, key="up_touchpoints_One"):
    app.switch_page("pages/data.py").run()
    app.file_uploader(key=key).set_value((name, payload, "text/csv")).run()
    no_exceptions(app)


def test_a_survey_in_one_combined_file_mode_is_read_as_a_survey(app):
    app.run()
    frame = wide_survey(zero_every=20)
    zeros = int((frame[RATINGS] == 0).sum().sum())
    upload(app, "cabin_survey.csv", frame.to_csv(index=False).encode())
    assert any("read as a survey alone" in i.value for i in app.info), [i.value for i in app.info]
    # The ratings are in the stage table where the check places them (two of five named by a
    # stage word are too few to be the journey: all in the survey's stage); the 0 is
    # proposed as not rated.
    table = next(d for d in app.data_editor if d.key.startswith("d_journey_") and "_map_" in d.key).value
    assert dict(zip(table["touchpoint"], table["stage"])) == {name: "Cabin survey" for name in RATINGS}
    box = next(t for t in app.text_input if t.label == "Score values meaning “not rated”")
    assert box.value == "0"
    assert any("0 reads as 'not applicable' in 1 of 5 rating columns" in c.value for c in app.caption)
    app.button(key="d_check").click().run()
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
    app.button(key="d_use").click().run()
    no_exceptions(app)
    info = workspace.get_info(active_id(app))
    assert info.name == "cabin_survey"
    assert info.row_counts["survey"] == 5 * len(frame) - zeros
    for page in ("pages/journey_map.py", "pages/emotions.py", "pages/journeys.py", "pages/personas.py"):
        app.switch_page(page).run()
        no_exceptions(app)
        if page == "pages/emotions.py":
            # Every rating sits at the one stage: the curve starts touchpoint by touchpoint.
            assert app.segmented_control(key="e_level").value == "touchpoint"
            assert "How customers feel at each touchpoint" in app.get("plotly_chart")[0].proto.spec
            # One comment per respondent, on each of their ratings' rows: listed once.
            listed = next(d for d in app.dataframe if "comment" in d.value.columns).value
            assert listed["comment"].is_unique and len(listed) == min(len(frame), 200)
            assert "touchpoint" not in listed.columns  # blank on every row, so not shown as "None"
            assert any(c.value.startswith("Each respondent left one comment") for c in app.caption)
            # Who answered cannot be checked without events: said as a fact, not a warning.
            assert any(c.value.startswith("Whether the people who answered") for c in app.caption)
            assert not any(w.value.startswith("Whether the people who answered") for w in app.warning)


def test_a_file_that_is_neither_events_nor_a_survey_is_told_what_is_missing(app):
    app.run()
    text = "customer,page,device\nc1,Home,mobile\nc2,Cart,desktop\n"
    upload(app, "pages.csv", text.encode())
    assert not any("read as a survey alone" in i.value for i in app.info)
    app.button(key="d_check").click().run()
    no_exceptions(app)
    said = [e.value for e in app.error]
    assert any("1 problem(s) must be fixed" in e for e in said), said
    assert any("a time column (when each event happened)" in e and "**pages.csv** has none" in e
               and "choose **Separate files**" in e for e in said), said


def test_a_new_dataset_finds_its_personas_on_the_page_that_needs_them(app, monkeypatch):
    """The Data page filters nothing by persona: after "Use this data" it does not wait for
    the new dataset's personas (no model is fitted, the sidebar has no persona filter yet).
    The Journey map page draws everyone's map, then finds them: its "Whose journey" and the
    sidebar's filter list the personas the model names, and no placeholder text is left."""
    from journeylib import personas as persona_lib

    fits = []
    real = persona_lib.find_personas

    def counted(data, *args, **kwargs):
        fits.append(len(data.survey.execute()) if data.survey is not None else 0)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(persona_lib, "find_personas", counted)
    app.run()
    no_exceptions(app)
    before = len(fits)
    frame = wide_survey(n=120, seed=4)
    upload(app, "cabin_survey.csv", frame.to_csv(index=False).encode())
    app.button(key="d_use").click().run()
    no_exceptions(app)
    assert any("is now the active dataset" in s.value for s in app.success)
    assert len(fits) == before, "the Data page fitted personas"
    assert "flt_personas" not in [m.key for m in app.sidebar.multiselect]

    app.switch_page("pages/journey_map.py").run()
    no_exceptions(app)
    assert len(fits) == before + 1 and fits[-1] == 5 * len(frame)
    names = list(real(workspace.open_dataset(active_id(app))).model.names_)
    assert len(names) >= 2
    assert app.selectbox(key="jm_persona").options == ["All customers", *names]
    assert app.multiselect(key="flt_personas").options == names
    assert not any("Finding this dataset's personas" in c.value for c in app.caption)
    # Found once: the next run lists them before drawing anything, with no new fit.
    app.run()
    no_exceptions(app)
    assert len(fits) == before + 1
    assert app.selectbox(key="jm_persona").options == ["All customers", *names]


def test_dated_reviews_in_one_combined_file_are_read_as_a_survey(app):
    """Reviews carry a date but no column says what happened: a survey, not events."""
    app.run()
    frame = wide_survey(n=40)
    frame.insert(1, "Datetime", [f"{d.day}th {d:%B %Y}" for d in pd.date_range("2023-01-04", periods=40, freq="7D")])
    upload(app, "reviews.csv", frame.to_csv(index=False).encode())
    said = [i.value for i in app.info]
    assert any("**reviews.csv** has one rating column per question and no touchpoint column: it is read as a "
               "survey alone" in i for i in said), said
    app.button(key="d_check").click().run()
    no_exceptions(app)
    assert not app.error, [e.value for e in app.error]
