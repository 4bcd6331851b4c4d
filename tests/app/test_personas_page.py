"""Personas page: a fit on a sample of customers says so."""


def test_sampled_fit_is_stated(app, sample_events, monkeypatch):
    monkeypatch.setenv("JOURNEY_MAX_CLUSTER_CUSTOMERS", "120")
    app.run()
    app.switch_page("pages/personas.py").run()
    assert not app.exception, [e.message for e in app.exception]
    total = sample_events["customer_id"].nunique()
    assert any(f"fitted on a sample of 120 of {total:,} customers" in i.value for i in app.info), \
        [i.value for i in app.info]


def test_full_fit_has_no_sample_note(app):
    app.run()
    app.switch_page("pages/personas.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert not [i for i in app.info if "sample of" in i.value]
