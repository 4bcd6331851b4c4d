"""Serve the app on a free loopback port for browser tests (one Streamlit process)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_app(base: Path, n_customers: int | None):
    """Start ``streamlit run app.py`` on a generated sample in ``base`` (the bundled sample
    with ``n_customers=None``); yield (url, process)."""
    env = {**os.environ, "JOURNEY_WORKSPACE": str(base / "workspace")}
    env.pop("JOURNEY_SAMPLE_DIR", None)
    if n_customers is not None:
        from journeylib.sample import write_sample

        sample = base / "sample"
        write_sample(sample, n_customers=n_customers, seed=5)
        env["JOURNEY_SAMPLE_DIR"] = str(sample)
    port = free_port()
    log = open(base / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start: " + (base / "streamlit.log").read_text()[-2000:])
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
