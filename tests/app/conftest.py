"""AppTest fixtures: a small generated sample (fast persona fitting) and a temp workspace."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from journeylib.sample import write_sample

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, n_customers=300, seed=11)
    return out


@pytest.fixture
def app(small_sample, tmp_path, monkeypatch):
    """An AppTest on a fresh workspace whose first start imports the small sample."""
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest re-detects the pages/ folder before every run and would then run a page
    # script without app.py (old-style multipage). The server does so only until
    # st.navigation first runs (see ui/__init__.py), so make every test run go through app.py.
    real_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    monkeypatch.setenv("JOURNEY_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("JOURNEY_SAMPLE_DIR", str(small_sample))
    import ui.cache

    monkeypatch.setattr(ui.cache, "SAMPLE_DIR", small_sample)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


@pytest.fixture
def sample_events(small_sample) -> pd.DataFrame:
    return pd.read_csv(small_sample / "touchpoints.csv")
