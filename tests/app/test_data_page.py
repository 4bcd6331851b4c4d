"""Data page: editing a saved dataset's stages changes the analysis."""

import json

import pandas as pd
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1.element_tree import Block, Dataframe, Widget



class _EditedTable(Widget):
    """A data editor with cell edits, as the browser would send them (AppTest cannot edit one)."""

    def __init__(self, node: Dataframe, edits: dict):
        self.proto, self.root, self.type = node.proto, node.root, "data_editor"
        self.id, self.key, self.disabled = node.proto.id, node.key, False
        self._value = edits

    @property
    def value(self):
        return self._value

    @property
    def _widget_state(self) -> WidgetState:
        ws = WidgetState()
        ws.id = self.id
        ws.string_value = json.dumps({"edited_rows": self._value, "added_rows": [], "deleted_rows": []})
        return ws


def edit_cells(at, key_prefix: str, edits: dict) -> pd.DataFrame:
    """Replace the editor whose key starts with ``key_prefix`` by one carrying ``edits``; returns its table."""
    def walk(block):
        for i, child in list(block.children.items()):
            if isinstance(child, Dataframe) and child.key and child.key.startswith(key_prefix):
                block.children[i] = _EditedTable(child, edits)
                return child.value
            if isinstance(child, Block):
                got = walk(child)
                if got is not None:
                    return got
        return None

    table = walk(at._tree)
    assert table is not None, f"no data editor with key {key_prefix}*"
    return table


def purchased_share(events: pd.DataFrame, stage: pd.Series) -> float:
    # As the funnel counts it: customers who reached Purchase or a later stage.
    later = ["Purchase", "Retention", "Advocacy"]
    return events.loc[stage.isin(later), "customer_id"].nunique() / events["customer_id"].nunique()


def test_changed_stage_map_changes_the_funnel(app, sample_events):
    app.run()
    before = next(m.value for m in app.metric if m.label == "Reached Purchase")
    assert before == f"{purchased_share(sample_events, sample_events['stage']):.0%}"

    app.switch_page("pages/data.py").run()
    assert not app.exception, [e.message for e in app.exception]
    # The most common touchpoint that is not a purchase step now counts as one, for every event.
    counts = sample_events.loc[sample_events["stage"] != "Purchase", "touchpoint"].value_counts()
    moved = counts.index[0]
    # The saved dataset's editor (its keys start with st_<id>_<saved>_; the upload's with d_).
    editor = next(d for d in app.data_editor if d.key.startswith("st_") and "_map_" in d.key)
    table = editor.value
    row = table.index[table["touchpoint"] == moved][0]
    edit_cells(app, editor.key, {str(row): {"stage": "Purchase"}})
    next(c for c in app.checkbox if (c.key or "").startswith("st_all_")).check()
    app.button(key=next(b.key for b in app.button if (b.key or "").startswith("st_apply_"))).click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("Journey of" in s.value for s in app.success), [e.value for e in app.error]

    # Every event of a touchpoint in the editor's table takes the table's stage ("apply to every event").
    shown = {t: s for t, s in zip(table["touchpoint"], table["stage"]) if isinstance(s, str) and s}
    assert set(shown) == set(sample_events["touchpoint"])  # prefilled from the events' own stages
    new_map = {**shown, moved: "Purchase"}
    new_stage = sample_events["touchpoint"].map(new_map).fillna(sample_events["stage"])
    expected = purchased_share(sample_events, new_stage)
    assert f"{expected:.0%}" != before
    app.switch_page("pages/journeys.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert next(m.value for m in app.metric if m.label == "Reached Purchase") == f"{expected:.0%}"


def make_duckdb(path, sample_dir) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    events = pd.read_csv(sample_dir / "touchpoints.csv")
    survey = pd.read_csv(sample_dir / "survey.csv")
    con.register("ev", events)
    con.register("sv", survey)
    con.execute("CREATE TABLE events AS SELECT * FROM ev")
    con.execute("CREATE TABLE survey AS SELECT * FROM sv")
    con.close()


def connect_to(app, url, touchpoints="events", survey="survey"):
    app.switch_page("pages/data.py").run()
    app.text_input(key="db_url").set_value(url)
    app.text_input(key="db_touchpoints").set_value(touchpoints)
    app.text_input(key="db_survey").set_value(survey)
    next(b for b in app.button if b.label == "Connect").click().run()


def test_connected_duckdb_file_every_page_and_filters(app, small_sample, sample_events, tmp_path):
    db = tmp_path / "warehouse.ddb"
    make_duckdb(db, small_sample)
    app.run()
    connect_to(app, f"duckdb:///{db}")
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    active = app.session_state["_active_dataset"]
    assert active.startswith("db-")
    # Not copied into the workspace: still only the bundled sample there.
    from journeylib import workspace

    assert [i.name for i in workspace.list_datasets()] == ["Sample data (bundled)"]
    for page in ("pages/journeys.py", "pages/emotions.py", "pages/personas.py", "pages/journey_map.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, [e.message for e in app.exception])
        assert not [e for e in app.error if "Could not" in e.value], (page, [e.value for e in app.error])
        assert len(app.get("plotly_chart")) >= 2, page
    app.switch_page("pages/journeys.py").run()
    assert next(m.value for m in app.metric if m.label == "Customers in view") == \
        f"{sample_events['customer_id'].nunique():,}"
    channel = sample_events["channel"].value_counts().index[-1]
    expected = sample_events.loc[sample_events["channel"] == channel, "customer_id"].nunique()
    app.multiselect(key="flt_channels").set_value([channel]).run()
    assert not app.exception, [e.message for e in app.exception]
    assert next(m.value for m in app.metric if m.label == "Customers in view") == f"{expected:,}"
    assert app.session_state["_active_dataset"] == active


def test_connection_errors_are_one_clear_message_without_the_password(app, small_sample, tmp_path):
    db = tmp_path / "warehouse.ddb"
    make_duckdb(db, small_sample)
    app.run()
    connect_to(app, f"duckdb:///{db}", touchpoints="no_such_table")
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.error) == 1 and "no_such_table" in app.error[0].value, [e.value for e in app.error]
    connect_to(app, "postgres://analyst:s3cret-pw@127.0.0.1:1/crm")
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.error) == 1, [e.value for e in app.error]
    assert "s3cret-pw" not in app.error[0].value and "analyst:***@127.0.0.1:1" in app.error[0].value
    assert app.session_state["_active_dataset"] == workspace_id()


def workspace_id():
    from journeylib import workspace

    return workspace.list_datasets()[0].id


def test_mask_url():
    from ui.connect import clean_error, mask_url

    assert mask_url("postgres://me:pw@host:5432/db?x=1") == "postgres://me:***@host:5432/db?x=1"
    assert mask_url("duckdb:///tmp/a.ddb") == "duckdb:///tmp/a.ddb"
    url = "trino://u:p%40ss@h/c"
    assert "p%40ss" not in clean_error(RuntimeError(f"cannot reach {url}"), url)


def _jl_tables(engine) -> set[str]:
    got = engine.con.raw_sql("select table_name from duckdb_tables() union all "
                             "select view_name from duckdb_views()").fetchall()
    return {name for (name,) in got if name.startswith("_jl_")}


def test_large_upload_is_read_and_checked_once(app, small_sample, monkeypatch):
    """A large text upload is previewed from its first rows; "Check data" then "Use this data"
    read and check the whole file once, save what was checked and leave no engine table."""
    from journeylib import ingest as jio
    from journeylib import workspace
    from ui import cache, upload

    monkeypatch.setattr(upload, "PREVIEW_BYTES", 20_000)
    calls = []
    real = jio.check

    def counted(*args, **kwargs):
        calls.append(kwargs.get("touchpoints"))
        return real(*args, **kwargs)

    monkeypatch.setattr(jio, "check", counted)
    payload = (small_sample / "touchpoints.csv").read_bytes()
    assert len(payload) > 20_000
    app.run()
    before = _jl_tables(cache.engine())
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value(("big_events.csv", payload, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    titles = [e.label for e in app.expander]
    assert any("big_events.csv" in t and "a large file" in t for t in titles), titles
    assert calls == []  # nothing is checked before a button is pressed
    app.button(key="d_check").click().run()
    app.button(key="d_use").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("is now the active dataset" in s.value for s in app.success), [s.value for s in app.success]
    assert len(calls) == 1, "the upload was read and checked more than once"
    info = workspace.get_info(app.session_state["_active_dataset"])
    expected = jio.load_journey(small_sample / "touchpoints.csv")
    assert info.row_counts["events"] == len(expected.events.execute())
    jio.release(expected)
    assert _jl_tables(cache.engine()) <= before, "the check's engine tables outlived the save"


def test_large_upload_with_an_error_names_the_upload(app, monkeypatch):
    from ui import upload

    monkeypatch.setattr(upload, "PREVIEW_BYTES", 10_000)
    rows = ["customer_id,timestamp,touchpoint"] + [f"c{i},never,Visit" for i in range(2000)]
    app.run()
    before = app.session_state["_active_dataset"]
    app.switch_page("pages/data.py").run()
    app.file_uploader(key="up_touchpoints_One").set_value(
        ("bad_big.csv", ("\n".join(rows) + "\n").encode(), "text/csv")).run()
    app.button(key="d_use").click().run()
    assert not app.exception, [e.message for e in app.exception]
    shown = " ".join(d.value.to_string() for d in app.dataframe) + " ".join(e.value for e in app.error)
    assert "bad_big.csv" in shown and "journeylib-" not in shown  # the upload's name, no temporary file
    assert "no parseable timestamp" in shown
    assert app.session_state["_active_dataset"] == before
