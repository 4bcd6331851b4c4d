"""The app driven through AppTest: pages render, filters change numbers, uploads, URLs."""

import io

import pandas as pd
import pytest

PAGES = ["pages/journeys.py", "pages/emotions.py", "pages/personas.py", "pages/data.py"]


def active_id(at):
    # The sidebar widget's key, or the copy ui.state keeps when the sidebar was not drawn.
    return at.session_state["dataset_id"] if "dataset_id" in at.session_state else \
        at.session_state["_active_dataset"]


def active_name(at):
    from journeylib import workspace

    return workspace.get_info(active_id(at)).name


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def no_exceptions(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not [e for e in at.error if "Could not open" in e.value], [e.value for e in at.error]


def combined_csv() -> bytes:
    # 4 customers; u1 and u2 buy; survey scores on some rows (a combined file).
    rows = [
        ("u1", "2024-02-01 10:00", "Search ad", "Awareness", "Web", 4),
        ("u1", "2024-02-01 10:05", "Product page", "Consideration", "Web", None),
        ("u1", "2024-02-02 09:00", "Checkout", "Purchase", "Web", 5),
        ("u2", "2024-02-03 11:00", "Instagram", "Awareness", "Social", 3),
        ("u2", "2024-02-03 11:10", "Checkout", "Purchase", "App", 2),
        ("u3", "2024-02-04 12:00", "Search ad", "Awareness", "Web", None),
        ("u3", "2024-02-04 12:10", "Product page", "Consideration", "Web", 1),
        ("u4", "2024-02-05 08:00", "Instagram", "Awareness", "Social", None),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "event_time", "event_name", "stage", "channel", "score"])
    return frame.to_csv(index=False).encode()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_sample(app, page):
    app.run()
    no_exceptions(app)
    app.switch_page(page).run()
    no_exceptions(app)
    assert app.title[0].value == page.split("/")[1].removesuffix(".py").capitalize()
    if page != "pages/data.py":
        assert len(app.get("plotly_chart")) >= 2
    if page == "pages/emotions.py":
        # Answers at every stage: the curve starts along the stages.
        assert app.segmented_control(key="e_level").value == "stage"
    # The app opened on the bundled sample, saved in the workspace. (AppTest drops the
    # entrypoint's sidebar elements from its tree after switch_page, so read the state.)
    assert active_name(app) == "Sample data (bundled)"


def test_channel_filter_changes_the_numbers(app, sample_events, small_sample):
    app.run()
    no_exceptions(app)
    everyone = sample_events["customer_id"].nunique()
    assert metric(app, "Customers in view") == f"{everyone:,}"
    channel = sample_events["channel"].value_counts().index[-1]  # the rarest channel
    expected = sample_events.loc[sample_events["channel"] == channel, "customer_id"].nunique()
    assert expected < everyone
    answers = len(pd.read_csv(small_sample / "survey.csv"))
    app.multiselect(key="flt_channels").set_value([channel]).run()
    no_exceptions(app)
    assert metric(app, "Customers in view") == f"{expected:,}"
    assert app.query_params["channel"] in (channel, [channel])
    # Channels keep events only: every survey answer is still in view.
    in_view = next(c.value for c in app.sidebar.caption if c.value.startswith("In view"))
    assert f"{answers:,} survey answers" in in_view
    # The Sankey's title carries the filter and the new denominator.
    fig = app.get("plotly_chart")[0].proto.spec
    assert f"channels: {channel}" in fig and f"{expected:,} customers" in fig


def test_date_filter_changes_the_numbers(app, sample_events, small_sample):
    app.run()
    ts = pd.to_datetime(sample_events["timestamp"])
    first = ts.min().date()
    cut = (ts.min() + (ts.max() - ts.min()) / 3).date()
    expected = sample_events.loc[ts.dt.date <= cut, "customer_id"].nunique()
    app.date_input(key="flt_dates").set_value((first, cut)).run()
    no_exceptions(app)
    assert metric(app, "Customers in view") == f"{expected:,}"
    # Dated answers follow the dates (the events' channel filter does not touch them).
    survey = pd.read_csv(small_sample / "survey.csv")
    dated = pd.to_datetime(survey["timestamp"])
    answers = int((dated.isna() | (dated < pd.Timestamp(cut) + pd.Timedelta(days=1))).sum())
    assert answers < len(survey)
    in_view = next(c.value for c in app.sidebar.caption if c.value.startswith("In view"))
    assert f"{answers:,} survey answers" in in_view
    assert app.query_params["to"] in (cut.isoformat(), [cut.isoformat()])


def test_query_params_restore_the_filters(app, sample_events):
    channel = sample_events["channel"].value_counts().index[0]
    expected = sample_events.loc[sample_events["channel"] == channel, "customer_id"].nunique()
    app.query_params["channel"] = channel
    app.query_params["to"] = "2999-01-01"  # clipped to the data's last day
    app.run()
    no_exceptions(app)
    assert app.multiselect(key="flt_channels").value == [channel]
    assert metric(app, "Customers in view") == f"{expected:,}"


def test_persona_filter_from_query_params(app):
    app.run()
    personas = app.multiselect(key="flt_personas").options
    assert len(personas) >= 2
    first_view = metric(app, "Customers in view")
    second = type(app).from_file(app._script_path, default_timeout=60)
    second.query_params["persona"] = personas[0]
    second.query_params["dataset"] = active_id(app)
    second.run()
    no_exceptions(second)
    assert second.multiselect(key="flt_personas").value == [personas[0]]
    assert int(metric(second, "Customers in view").replace(",", "")) < int(first_view.replace(",", ""))


def upload_and_use(app, name, payload):
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value((name, payload, "text/csv")).run()
    no_exceptions(app)
    app.button(key="d_use").click().run()
    no_exceptions(app)


def test_uploaded_csv_becomes_active_and_every_page_renders(app):
    app.run()
    sample_id = active_id(app)
    upload_and_use(app, "shop_events.csv", combined_csv())
    assert not app.error, [e.value for e in app.error]
    assert active_id(app) != sample_id
    assert active_name(app) == "shop_events"
    assert any("is now the active dataset" in s.value for s in app.success)
    for page in PAGES:
        app.switch_page(page).run()
        no_exceptions(app)
        assert active_id(app) != sample_id
    app.switch_page("pages/journeys.py").run()
    assert metric(app, "Customers in view") == "4"
    assert metric(app, "Reached Purchase") == "50%"


def test_bad_upload_shows_error_and_keeps_the_previous_dataset(app):
    app.run()
    before = active_id(app)
    bad = b"name,colour\nanna,blue\nbob,green\n"  # no customer id, timestamp or touchpoint
    upload_and_use(app, "wrong.csv", bad)
    assert app.error, "expected an error message"
    assert "still" in app.error[0].value
    report = next(d.value for d in app.dataframe if "severity" in d.value.columns)  # the check report
    assert (report["severity"] == "error").any() and (report["file"] == "wrong.csv").all()
    assert active_id(app) == before
    app.switch_page("pages/journeys.py").run()
    no_exceptions(app)
    assert active_name(app) == "Sample data (bundled)"


def test_csv_downloads_neutralise_formulas():
    from ui.widgets import csv_bytes

    frame = pd.DataFrame({"comment": ["=HYPERLINK(\"x\")", "+1", "-2", "@me", "\tx", "fine"], "n": [1, -2, 3, 4, 5, 6]})
    text = csv_bytes(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["comment"].tolist()[:5] == ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@me", "'\tx"]
    assert back["comment"].iloc[5] == "fine" and back["n"].tolist() == [1, -2, 3, 4, 5, 6]


def test_journeys_read_stored_elements_only_where_they_apply(app, monkeypatch):
    """Unfiltered and persona views draw flows from the elements stored with the dataset;
    a channel filter changes the elements, so those flows number the events again. The
    links drawn are the same either way."""
    from journeylib import flows

    calls = []
    real = flows.step_sankey

    def recorded(events, **kwargs):
        calls.append(kwargs.get("elements") is not None)
        out = real(events, **kwargs)
        if kwargs.get("elements") is not None:
            again = real(events, **{**kwargs, "elements": None})
            pd.testing.assert_frame_equal(out, again)
        return out

    monkeypatch.setattr(flows, "step_sankey", recorded)
    app.run()
    no_exceptions(app)
    assert calls and all(calls)
    calls.clear()
    personas = app.multiselect(key="flt_personas")
    personas.set_value(list(personas.options)[:1]).run()
    no_exceptions(app)
    assert calls and all(calls)
    calls.clear()
    channels = app.multiselect(key="flt_channels")
    channels.set_value(list(channels.options)[:1]).run()
    no_exceptions(app)
    assert calls and not any(calls)


def test_persona_labels_reach_the_engine_when_the_dataset_opens(app, monkeypatch):
    """The customer -> persona table goes to the engine once, while the dataset opens, so a
    persona filter later does not wait for that upload."""
    from journeylib import persona_sampling as warehouse

    uploads = []
    real = warehouse.labels_table

    def recorded(engine, frame):
        uploads.append(len(frame))
        return real(engine, frame)

    monkeypatch.setattr(warehouse, "labels_table", recorded)
    app.run()
    no_exceptions(app)
    assert len(uploads) == 1 and uploads[0] > 0
    personas = app.multiselect(key="flt_personas")
    personas.set_value(list(personas.options)[:1]).run()
    no_exceptions(app)
    assert len(uploads) == 1


def saved_names(at):
    from journeylib import workspace

    return sorted(i.name for i in workspace.list_datasets())


def test_reupload_asks_and_replace_keeps_one_copy(app):
    """A second upload of the same file says the name is taken; "Replace it" leaves one
    dataset of that name, the new one, active."""
    app.run()
    upload_and_use(app, "shop_events.csv", combined_csv())
    first = active_id(app)
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value(("shop_events.csv", combined_csv(), "text/csv")).run()
    clash = next(r for r in app.radio if r.key and r.key.startswith("d_name_clash_"))
    assert "“shop_events” already exists" in clash.label and clash.value == "Keep both"
    clash.set_value("Replace it").run()
    app.button(key="d_use").click().run()
    no_exceptions(app)
    assert active_id(app) != first
    assert saved_names(app) == ["Sample data (bundled)", "shop_events"]
    assert active_name(app) == "shop_events"


def test_reupload_keep_both_gets_a_distinct_name(app):
    import datetime as dt

    app.run()
    upload_and_use(app, "shop_events.csv", combined_csv())
    first = active_id(app)
    upload_and_use(app, "shop_events.csv", combined_csv())
    second = f"shop_events (2, {dt.date.today().isoformat()})"
    assert active_id(app) != first and active_name(app) == second
    assert saved_names(app) == ["Sample data (bundled)", "shop_events", second]
    # The sidebar's choices are the distinct names, so each one picks its own dataset.
    app.switch_page("pages/journeys.py").run()
    box = app.selectbox(key="dataset_id")
    assert sorted(box.options) == sorted(saved_names(app))
    assert box.value == active_id(app)


def test_renaming_the_active_dataset_keeps_it_active(app):
    app.run()
    upload_and_use(app, "shop_events.csv", combined_csv())
    chosen = active_id(app)
    app.switch_page("pages/data.py").run()
    app.text_input(key=f"rn_{chosen}").set_value("Spring shop").run()
    app.button(key=f"rn_save_{chosen}").click().run()
    no_exceptions(app)
    assert active_id(app) == chosen and active_name(app) == "Spring shop"
    app.switch_page("pages/journeys.py").run()
    assert active_id(app) == chosen
    assert metric(app, "Customers in view") == "4"


def test_default_dataset_name_has_no_file_ending(app):
    app.run()
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value(("spring.csv.gz", _gzipped(combined_csv()),
                                                           "application/gzip")).run()
    no_exceptions(app)
    assert [t.value for t in app.text_input if t.label == "Dataset name"] == ["spring"]


def _gzipped(payload: bytes) -> bytes:
    import gzip

    return gzip.compress(payload)


def test_saved_datasets_show_file_names_not_server_paths(app, small_sample):
    app.run()
    app.switch_page("pages/data.py").run()
    listed = "\n".join(m.value for m in app.markdown).replace("\\", "")  # markdown escapes
    assert "Sample data (bundled)" in listed and "touchpoints.csv" in listed and "survey answers" in listed
    assert str(small_sample) not in listed and "/" not in listed.split("from ", 1)[-1]
