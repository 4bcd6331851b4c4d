"""Hostile data: SQL-looking names and values, formulas, HTML and script, path tricks, and no
code execution on user data anywhere in the code."""

from __future__ import annotations

import ast
import csv
import io
import re
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from journeylib import workspace as ws
from journeylib.__main__ import main
from journeylib.engine import Engine
from journeylib.flows import step_sankey, transitions
from journeylib.ingest import load_journey
from tests.data.make_bad_inputs import BAD_DIR, GOOD_EVENTS, IMG, SCRIPT, SQL_COLUMN, SQL_VALUE

REPO = Path(__file__).resolve().parents[2]
CODE = [REPO / "app.py", *sorted((REPO / "journeylib").glob("*.py")), *sorted((REPO / "ui").glob("*.py")),
        *sorted((REPO / "pages").glob("*.py"))]


@pytest.fixture(scope="module")
def engine():
    return Engine()


# --------------------------------------------------------------------------- SQL


def test_sql_looking_values_flow_exactly_like_plain_ones(engine):
    plain = load_journey(touchpoints=str(BAD_DIR / GOOD_EVENTS), engine=engine)
    hostile = load_journey(touchpoints=str(BAD_DIR / "sql_values.csv"), engine=engine)
    suffix = '"; DROP TABLE t; --'
    want = transitions(plain.events)
    want["source"] = want["source"] + suffix
    want["target"] = want["target"] + suffix
    got = transitions(hostile.events)
    key = ["source", "target"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True))
    ids = engine.execute(hostile.events.customer_id.name("customer_id").as_table().distinct())["customer_id"]
    assert set(ids) == {f"c{i}{SQL_VALUE}" for i in range(1, 7)}
    # A value used as a filter is a bound value, not SQL text.
    assert engine.execute(hostile.filter(channels=[SQL_VALUE]).events.count().as_table()).iloc[0, 0] == 22
    assert engine.execute(hostile.filter(customer_ids=[f"c1{SQL_VALUE}"]).events.count().as_table()).iloc[0, 0] \
        == engine.execute(plain.filter(customer_ids=["c1"]).events.count().as_table()).iloc[0, 0]


def test_sql_looking_column_names_load_map_filter_and_save(engine, tmp_path):
    data = load_journey(touchpoints=str(BAD_DIR / "sql_column_names.csv"),
                        customers=str(BAD_DIR / "customers_sql_html.csv"), engine=engine)
    events = engine.execute(data.events.order_by("seq"))
    plain = pd.read_csv(BAD_DIR / GOOD_EVENTS)
    assert events[SQL_COLUMN].tolist() == plain["channel"].tolist()  # kept as an attribute column
    customers = engine.execute(data.customers.order_by("customer_id"))
    assert set(customers.columns) == {"customer_id", SQL_COLUMN, "<b>segment</b>"}
    assert (customers[SQL_COLUMN] == SQL_VALUE).all() and (customers["<b>segment</b>"] == SCRIPT).all()

    # The hostile column mapped as the channel, then filtered on.
    mapped = load_journey(touchpoints=str(BAD_DIR / "sql_column_names.csv"), mapping={"channel": SQL_COLUMN},
                          engine=engine)
    web = engine.execute(mapped.filter(channels=["web"]).events)
    assert len(web) == int((plain["channel"] == "web").sum())

    # Saved and reopened through Parquet with the names intact.
    info = ws.save_dataset(data, "sql names", root=tmp_path, engine=engine)
    again = ws.open_dataset(info.id, root=tmp_path, engine=engine)
    assert SQL_COLUMN in again.events.columns and SQL_COLUMN in again.customers.columns
    back = engine.execute(again.customers.order_by("customer_id"))
    pd.testing.assert_frame_equal(back, customers, check_dtype=False)

    sankey = step_sankey(again.events, top=0, max_steps=3)
    assert sankey.loc[sankey["step"] == 1, "customers"].sum() == 6


def test_personas_features_accept_hostile_attribute_names(engine):
    from journeylib.personas import customer_features

    data = load_journey(touchpoints=str(BAD_DIR / GOOD_EVENTS), customers=str(BAD_DIR / "customers_sql_html.csv"),
                        engine=engine)
    features = customer_features(data)
    assert len(features) == 6


def _code_lines(path: Path):
    """(line number, code text) with comments and strings blanked (docstrings say 'pickle')."""
    out = []
    with open(path, "rb") as fh:
        for tok in tokenize.tokenize(fh.readline):
            if tok.type in (tokenize.NAME, tokenize.OP):
                out.append((tok.start[0], tok.string))
    return out


def test_no_sql_text_is_built_in_the_code():
    """Queries are Ibis expressions: no raw SQL calls, no SQL in f-strings."""
    found = []
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\.raw_sql\(", r"\.sql\(", r"\bf[\"']\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|WITH|"
                        r"ATTACH|COPY|PRAGMA)\s", r"\.execute\(\s*f?[\"']"):
            for m in re.finditer(pattern, text):
                found.append(f"{path.relative_to(REPO)}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}")
    assert not found, found


def test_no_eval_pickle_or_shell_on_user_data():
    forbidden = {"eval", "exec", "pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "read_pickle",
                 "to_pickle", "__import__", "joblib", "getattr_static", "literal_eval", "compile"}
    found = []
    for path in CODE:
        tokens = _code_lines(path)
        for i, (line, tok) in enumerate(tokens):
            after_dot = i > 0 and tokens[i - 1][1] == "."
            if tok in forbidden and not (tok == "compile" and after_dot):  # re.compile is fine
                found.append(f"{path.relative_to(REPO)}:{line}: {tok}")
            if tok == "query" and after_dot and i + 1 < len(tokens) and tokens[i + 1][1] == "(":
                found.append(f"{path.relative_to(REPO)}:{line}: .query( evaluates expressions")
            if tok == "shell" and i + 2 < len(tokens) and tokens[i + 1][1] == "=" and tokens[i + 2][1] == "True":
                found.append(f"{path.relative_to(REPO)}:{line}: shell=True")
            if tok == "yaml":
                found.append(f"{path.relative_to(REPO)}:{line}: yaml")
    assert not found, found
    assert len(CODE) > 15  # the scan really looked at the app


# --------------------------------------------------------------------------- CSV downloads


def test_csv_downloads_neutralise_formulas():
    from ui.widgets import csv_bytes

    frame = pd.DataFrame({
        "touchpoint": ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rCR", "plain", None, "a=b"],
        "customers": [1, -2, 3, 4, 5, 6, 7, 8, 9],
        "share": [0.5, -0.25, 0, 1, 0, 0, 0, 0, 0],
    })
    text = csv_bytes(frame).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(frame)  # a cell holding CR is quoted, not a line break
    assert [r["touchpoint"] for r in rows] == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tTab", "'\rCR",
                                              "plain", "", "a=b"]
    assert [r["customers"] for r in rows] == ["1", "-2", "3", "4", "5", "6", "7", "8", "9"]  # numbers stay numbers
    assert rows[1]["share"] == "-0.25"


def test_formula_file_downloads_are_neutralised_end_to_end(engine):
    from ui.widgets import csv_bytes

    data = load_journey(touchpoints=str(BAD_DIR / "formula_values.csv"), engine=engine)
    frame = transitions(data.events)
    text = csv_bytes(frame).decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert any(c.startswith("'=") for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or re.match(r"-[^0-9]", c)]


def test_every_csv_download_goes_through_the_safe_writer():
    offenders = []
    for path in CODE:
        if path.parent.name not in ("ui", "pages") or path.name == "widgets.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ".to_csv(" in line or ("download_button" in line and "text/csv" in line):
                offenders.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert not offenders, offenders


# --------------------------------------------------------------------------- HTML


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory):
    """The bundled-sample generator's data with script, HTML and quotes in every text field."""
    from journeylib.sample import generate_sample

    folder = tmp_path_factory.mktemp("hostile")
    sample = generate_sample(n_customers=300, seed=3)
    tp = sample["touchpoints"].copy()
    names = {n: (f"{n} {SCRIPT}" if i % 2 else f"{n} {IMG}") for i, n in enumerate(sorted(tp["touchpoint"].unique()))}
    tp["touchpoint"] = tp["touchpoint"].map(names)
    tp["channel"] = "<b>" + tp["channel"].astype(str) + "</b>"
    survey = sample["survey"].copy()
    survey["touchpoint"] = survey["touchpoint"].map(names)
    survey["comment"] = f"{SCRIPT} </textarea></table> & more"
    customers = sample["customers"].copy()
    customers["region"] = customers["region"].astype(str) + "</td><script>alert(2)</script>"
    paths = {}
    for kind, frame in (("touchpoints", tp), ("survey", survey), ("customers", customers)):
        paths[kind] = folder / f"{kind}.csv"
        frame.to_csv(paths[kind], index=False)
    return paths


def test_html_report_has_no_live_script_from_data(hostile_files, tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", "--touchpoints", str(hostile_files["touchpoints"]), "--survey",
                 str(hostile_files["survey"]), "--customers", str(hostile_files["customers"]), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    html = out.read_text(encoding="utf-8")
    # The hostile names are in the report (else this test proves nothing)...
    assert "&lt;script&gt;alert(" in html or "\\u003cscript\\u003ealert(" in html
    # ... but never as markup.
    for raw in ("<script>alert", "<img src=x", "</textarea></table>", "</td><script>"):
        assert raw.lower() not in html.lower(), raw
    parser = _Tags()
    parser.feed(html)
    on_attrs = [(tag, name) for tag, attrs in parser.tags for name, _ in attrs if name.lower().startswith("on")]
    assert not on_attrs
    assert not [t for t, _ in parser.tags if t in ("img", "iframe", "object", "embed")]
    # Every script element is Plotly's (the library once, then one newPlot per figure).
    assert parser.scripts and all("Plotly" in s or "plotly" in s for s in parser.scripts)
    assert all(attrs == [("type", "text/javascript")] or not attrs
               for tag, attrs in parser.tags if tag == "script")


def _escaped(node: ast.expr) -> bool:
    """An interpolated value is safe in HTML when it is html.escape(...) (or our palette colour)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "escape":
        return True
    return isinstance(node, ast.Name) and node.id in ("color", "colour")


def test_pages_escape_user_text_they_render_as_html():
    """Wherever a page renders HTML (unsafe_allow_html, st.html), every value put into it is escaped."""
    problems = []
    for path in CODE:
        if path.parent.name not in ("ui", "pages") and path.name != "app.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            is_html = isinstance(func, ast.Attribute) and func.attr == "html"
            unsafe = any(k.arg == "unsafe_allow_html" and isinstance(k.value, ast.Constant) and k.value.value
                         for k in call.keywords)
            if not (is_html or unsafe):
                continue
            for arg in call.args:
                for node in ast.walk(arg):
                    if isinstance(node, ast.FormattedValue) and not _escaped(node.value):
                        problems.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node.value)}")
                    if isinstance(node, ast.Name) and not node.id.isupper() and arg is node:
                        problems.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.id} (not a constant)")
    assert not problems, problems


# --------------------------------------------------------------------------- workspace paths


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "x/../../y",
                                  "CON", "a\x00b", ".", "..", "~root", "$(rm -rf ~)", SQL_VALUE, SCRIPT])
def test_dataset_names_never_form_paths(name, engine, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    data = load_journey(touchpoints=("../../" + name + ".csv", (BAD_DIR / GOOD_EVENTS).read_bytes()), engine=engine)
    info = ws.save_dataset(data, name, root=root, engine=engine)
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]  # nothing written beside the workspace
    assert [p.name for p in root.iterdir()] == [info.id]
    assert re.fullmatch(r"[0-9a-f]{32}", info.id)
    assert sorted(p.name for p in (root / info.id).iterdir()) == ["elements_stage.parquet", "elements_touchpoint.parquet",
                                                            "events.parquet", "meta.json"]
    assert info.name == ws.clean_name(name) and "\x00" not in info.name
    (again,) = ws.list_datasets(root)
    # The source file is kept by its name only: no path of the server is stored or shown.
    stored = again.source_names["touchpoints"]
    assert again.name == info.name and stored == ws.file_name("../../" + name + ".csv")
    assert "/" not in stored and "\\" not in stored
    ws.rename_dataset(info.id, "../" + name, root=root)
    assert [p.name for p in root.iterdir()] == [info.id]


@pytest.mark.parametrize("bad_id", ["../x", "..", "/etc/passwd", "../" + "0" * 29, "A" * 32, "0" * 31 + "/",
                                    "0" * 32 + "/../..", "", "%2e%2e"])
def test_dataset_ids_from_outside_are_checked(bad_id, engine, tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    for call in (lambda: ws.open_dataset(bad_id, root=root, engine=engine),
                 lambda: ws.get_info(bad_id, root=root),
                 lambda: ws.delete_dataset(bad_id, root=root),
                 lambda: ws.rename_dataset(bad_id, "x", root=root)):
        with pytest.raises(ws.WorkspaceError):
            call()
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]


# --------------------------------------------------------------------------- engine lock


def test_every_query_on_the_shared_engine_holds_its_lock(monkeypatch):
    """Streamlit runs sessions in threads and one DuckDB connection is not safe to use from
    several at once: every query must run under the engine's lock (journeylib.engine)."""
    import ibis.backends.duckdb as duck

    from journeylib import engine as engine_mod
    from journeylib.emotions import emotion_curve
    from journeylib.flows import funnel, top_paths
    from journeylib.personas import customer_features

    eng = Engine()
    monkeypatch.setattr(engine_mod, "_default", eng)  # the app's engine is the default one
    unlocked: list[str] = []
    for method in ("execute", "to_pyarrow", "to_pandas", "to_parquet", "to_pyarrow_batches", "raw_sql"):
        real = getattr(duck.Backend, method)

        def wrapped(self, *args, _real=real, _name=method, **kwargs):
            if self is eng.con and not eng.lock._is_owned():
                import traceback

                caller = [f for f in traceback.extract_stack()[:-1] if "/journeylib/" in f.filename or "/ui/" in f.filename]
                unlocked.append(f"{_name} from {caller[-1].filename.rsplit('/', 2)[-1]}:{caller[-1].lineno}"
                                if caller else _name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(duck.Backend, method, wrapped)

    data = load_journey(touchpoints=str(BAD_DIR / GOOD_EVENTS), survey=str(BAD_DIR / "good_survey.csv"),
                        customers=str(BAD_DIR / "customers_sql_html.csv"), engine=eng)
    step_sankey(data.events, top=0)
    transitions(data.events)
    funnel(data)
    top_paths(data)
    emotion_curve(data.survey, data.stages, min_n=1)
    data.has_nps
    customer_features(data)
    assert not unlocked, sorted(set(unlocked))
