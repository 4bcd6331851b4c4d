"""journeylib.engine: the embedded DuckDB's settings (carried over from the retired
test_csv_ingest.py, which held them)."""

from __future__ import annotations

from journeylib import engine


def test_memory_limit_from_environment(monkeypatch):
    monkeypatch.setenv(engine.MEMORY_LIMIT_ENV, "1.5GB")
    assert engine.memory_limit() == "1.5GB"
    eng = engine.Engine()
    # DuckDB reports the limit in GiB: 1.5 GB = 1.397 GiB
    got = eng.con.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert got.endswith("GiB") and 1.3 <= float(got.split()[0]) <= 1.45
    monkeypatch.setenv(engine.MEMORY_LIMIT_ENV, "lots; DROP TABLE x")
    assert engine.memory_limit() is None


def test_progress_bar_only_in_a_terminal(monkeypatch):
    """DuckDB's progress bar would fill a script's log with control characters."""

    class Terminal:
        def isatty(self):
            return True

    assert engine.Engine().con.settings["enable_progress_bar"] == "false"  # pytest captures stderr
    monkeypatch.setattr(engine.sys, "stderr", Terminal())
    assert engine.Engine().con.settings["enable_progress_bar"] == "true"
