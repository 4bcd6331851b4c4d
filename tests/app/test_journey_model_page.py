"""The team's own journey through the Data page: stage order, name prefixes and a goal set for
an uploaded log are used on Journeys, the journey map and the deck, and kept when the saved
dataset is opened again."""

from __future__ import annotations

import pandas as pd

from journeylib import workspace
from journeylib.journey import Goal

from .test_app import active_id

# Three loan applications: A_ application steps, O_ offers, W_ work items.
LOG = pd.DataFrame({
    "case:concept:name": ["1", "1", "1", "1", "2", "2", "2", "3", "3"],
    "time:timestamp": ["2011-10-01T10:00:00+02:00", "2011-10-01T11:00:00+02:00", "2011-10-02T09:00:00+02:00",
                       "2011-10-03T09:00:00+02:00", "2011-10-01T12:00:00+02:00", "2011-10-02T12:00:00+02:00",
                       "2011-10-03T12:00:00+02:00", "2011-10-05T08:00:00+02:00", "2011-10-05T09:00:00+02:00"],
    "concept:name": ["A_SUBMITTED", "W_Completeren aanvraag", "O_SENT", "A_APPROVED",
                     "A_SUBMITTED", "O_SENT", "A_DECLINED", "A_SUBMITTED", "W_Completeren aanvraag"],
})


def texts(at) -> str:
    parts = [m.label + " " + m.value for m in at.metric] + [c.value for c in at.caption]
    parts += [m.value for m in at.markdown] + [i.value for i in at.info] + [w.value for w in at.warning]
    return "\n".join(parts)


def test_prefixes_and_a_goal_set_at_upload_are_used_everywhere_and_kept(app, tmp_path):
    app.run()
    before = active_id(app)
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value(("loans.csv", LOG.to_csv(index=False).encode(),
                                                           "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    app.text_area(key="d_journey_order").set_value("Application\nOffer\nWork").run()
    app.text_area(key="d_journey_prefixes").set_value("A_=Application\nO_=Offer\nW_=Work").run()
    app.selectbox(key="d_journey_goal_kind").set_value("touchpoint").run()
    app.selectbox(key="d_journey_goal_target_touchpoint").set_value("A_APPROVED").run()
    app.text_input(key="d_journey_goal_name").set_value("Loan approved").run()
    app.button(key="d_use").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert active_id(app) != before, [e.value for e in app.error]

    info = workspace.get_info(active_id(app))
    assert info.journey.stages == ("Application", "Offer", "Work")
    assert info.journey.stage_prefixes == (("A_", "Application"), ("O_", "Offer"), ("W_", "Work"))
    assert info.journey.goal == Goal("touchpoint", "A_APPROVED", None, "Loan approved")
    # Every event is placed by the prefixes (none has a stage of its own).
    assert info.touchpoint_stage_map == {"A_SUBMITTED": "Application", "A_APPROVED": "Application",
                                         "A_DECLINED": "Application", "O_SENT": "Offer",
                                         "W_Completeren aanvraag": "Work"}

    app.switch_page("pages/journeys.py").run()
    assert not app.exception, [e.message for e in app.exception]
    # One of the three applications was approved.
    assert next(m.value for m in app.metric if m.label == "Reached Loan approved") == "33%"
    assert "purchase" not in texts(app).lower()

    app.switch_page("pages/journey_map.py").run()
    assert not app.exception, [e.message for e in app.exception]
    shown = texts(app)
    assert "Loan approved" in shown and "purchase" not in shown.lower()

    from journeylib import export
    from ui import cache

    data = cache.dataset(info.path.parent.as_posix(), info.id, info.saved)
    report = export.build_report(data, dataset_name=info.name)
    words = " ".join([report.title, *(s.title + " " + s.takeaway for s in report.sections)])
    assert "Loan approved" in words and "purchase" not in words.lower()
    funnel = next(s for s in report.sections if s.title == "Funnel towards Loan approved")
    assert funnel.table is not None

    # Opened again (a new session): the saved journey is what the editor shows.
    app.switch_page("pages/data.py").run()
    key = f"st_{info.id}_{info.saved}"
    assert app.text_area(key=f"{key}_order").value == "Application\nOffer\nWork"
    assert app.text_area(key=f"{key}_prefixes").value == "A_=Application\nO_=Offer\nW_=Work"
    assert app.selectbox(key=f"{key}_goal_kind").value == "touchpoint"
    assert app.text_input(key=f"{key}_goal_name").value == "Loan approved"
