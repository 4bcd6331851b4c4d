"""Driving the served app in Chromium: launch, wait for a run to finish, screenshots."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SIZES = {"1280x800": (1280, 800), "1920x1080": (1920, 1080)}
# The app's pages, as the sidebar names them.
PAGES = ["Journeys", "Emotions", "Personas", "Journey map", "Data"]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def busy(page) -> bool:
    """Whether a script run is going on: Streamlit's running widget (shown after 0.5 s), a
    spinner, stale elements of the last run, or the skeletons of a first run."""
    return bool(page.evaluate(
        "() => !!document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stSpinner\"], "
        "[data-stale=\"true\"], [data-testid=\"stSkeleton\"]')"))


def settle(page, timeout_s: float = 180, quiet_polls: int = 6, poll_s: float = 0.25) -> None:
    """Wait until the script run has finished: a title shown and nothing running for a while."""
    page.wait_for_selector("h1, h2", timeout=timeout_s * 1000)
    quiet, deadline = 0, time.time() + timeout_s
    while time.time() < deadline:
        quiet = 0 if busy(page) else quiet + 1
        if quiet >= quiet_polls:
            return
        time.sleep(poll_s)
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s on {page.url}")


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()[:500]


def screenshot_dir() -> Path | None:
    extra = os.environ.get("SCREENSHOT_DIR")
    return Path(extra) if extra else None


def shoot(page, name: str, folder: Path, full_page: bool = False) -> Path:
    """Save a screenshot in ``folder`` and, when $SCREENSHOT_DIR is set, a copy there."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if full_page:
        # The app scrolls inside its main area, not the document: grow the window to the
        # main area's height for the picture, then put it back.
        size = dict(page.viewport_size)
        tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        if tall > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": min(int(tall), 16000)})
            time.sleep(1.0)
        page.screenshot(path=str(path))
        page.set_viewport_size(size)
    else:
        page.screenshot(path=str(path))
    extra = screenshot_dir()
    if extra:
        extra.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, extra / path.name)
    return path
