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
