"""Fixtures shared by the ingest tests: one embedded engine and one warehouse per module."""

from __future__ import annotations

import pytest

from journeylib.engine import Engine

from .roads import Warehouse


@pytest.fixture(scope="module")
def engine():
    eng = Engine()
    yield eng
    eng.con.disconnect()


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    """A DuckDB database file read by URL (the warehouse road)."""
    w = Warehouse(tmp_path_factory.mktemp("warehouse") / "tmp.ddb")
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _default_goal_kept(monkeypatch):
    """The ingest tests' small logs name touchpoints without stage words, and their
    subject is the rules' warnings: the note that leaves the default goal unset there is
    kept out of them (tests/journeylib/test_journey.py asserts it)."""
    import journeylib.ingest.load as load

    monkeypatch.setattr(load, "unreachable_default_goal", lambda *args: None)
