"""Present mode and the journey-map page's cached results and exports.

Present mode hides the sidebar and the page's controls, enlarges fonts, and steps through
the key charts one at a time (state in ``st.session_state``, mirrored as ``?present=1``
so a link opens straight into it). The journey map, key drivers and report files are
cached here, keyed on the view (dataset + filters) and the persona shown.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from journeylib import export
from ui import cache, state, widgets
from ui.widgets import md_escape  # noqa: F401 - the pages call present.md_escape

PRESENT_KEY = "present_mode"
STEP_KEY = "present_step"
QUERY_KEY = "present"
EVERYONE = "All customers"

PRESENT_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"], [data-testid="stToolbar"],
[data-testid="stDecoration"] {display: none !important;}
[data-testid="stMainBlockContainer"], .block-container {max-width: 100% !important;
  padding-top: 1.2rem !important; padding-left: 2.5rem !important; padding-right: 2.5rem !important;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.45rem !important;
  line-height: 1.5 !important;}
[data-testid="stCaptionContainer"] p {font-size: 1.1rem !important;}
h1 {font-size: 2.8rem !important;}
h2, h3 {font-size: 2.1rem !important;}
button p {font-size: 1.2rem !important;}
</style>
"""


# ----------------------------------------------------------------------------- present mode


def is_on() -> bool:
    """Whether present mode is on (first run of a session reads ``?present=1``)."""
    if PRESENT_KEY not in st.session_state:
        st.session_state[PRESENT_KEY] = st.query_params.get(QUERY_KEY) == "1"
    return bool(st.session_state[PRESENT_KEY])


def _set(on: bool) -> None:
    st.session_state[PRESENT_KEY] = on
    st.session_state[STEP_KEY] = 0
    if on:
        st.query_params[QUERY_KEY] = "1"
    elif QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]


def toggle() -> None:
    """The button that turns present mode on (shown with the page's controls)."""
    st.button("Present", icon=":material/slideshow:", key="present_on", on_click=_set, args=(True,),
              help="Full-screen view for a meeting: no sidebar or controls, large fonts, one chart at a time.")


def inject_css() -> None:
    """Hide the sidebar and header and enlarge text (present mode only)."""
    st.html(PRESENT_CSS)


def _move(delta: int, count: int) -> None:
    st.session_state[STEP_KEY] = min(max(st.session_state.get(STEP_KEY, 0) + delta, 0), count - 1)


def step(count: int) -> int:
    """Current slide (0-based), clamped to ``count`` slides."""
    current = min(max(int(st.session_state.get(STEP_KEY, 0)), 0), max(count - 1, 0))
    st.session_state[STEP_KEY] = current
    return current


def navigation(count: int, titles: list[str]) -> None:
    """Previous / next buttons, the slide counter and the exit button."""
    current = step(count)
    c1, c2, c3, c4 = st.columns([1, 1, 4, 1.2], vertical_alignment="center")
    c1.button("Previous", icon=":material/chevron_left:", key="present_prev", disabled=current == 0,
              on_click=_move, args=(-1, count), width="stretch")
    c2.button("Next", icon=":material/chevron_right:", key="present_next", disabled=current >= count - 1,
              on_click=_move, args=(1, count), width="stretch")
    c3.caption(f"Slide {current + 1} of {count}: {titles[current]}")
    c4.button("Exit present mode", icon=":material/close:", key="present_off", on_click=_set, args=(False,),
              width="stretch")


def scale_fonts(fig: go.Figure, factor: float = 1.35) -> go.Figure:
    """A copy of ``fig`` with every font size (layout, title, annotations, trace text)
    multiplied by ``factor``, for reading across a meeting room."""
    fig = go.Figure(fig)
    base = fig.layout.font.size or 14
    fig.update_layout(font_size=round(base * factor))
    if fig.layout.title.font.size:
        fig.layout.title.font.size = round(fig.layout.title.font.size * factor)
    else:
        fig.layout.title.font.size = round(18 * factor)
    for ann in fig.layout.annotations or ():
        if ann.font and ann.font.size:
            ann.font.size = round(ann.font.size * factor)
    for trace in fig.data:
        textfont = getattr(trace, "textfont", None)
        if textfont is not None and textfont.size:
            textfont.size = round(textfont.size * factor)
    if fig.layout.height:
        fig.update_layout(height=round(fig.layout.height * min(factor, 1.25)))
    return fig


# ----------------------------------------------------------------------------- image downloads


def image_downloads(fig: go.Figure, name: str, key: str) -> None:
    """PNG (2x) and SVG download buttons for one chart, drawn only when clicked.

    Without a browser for kaleido the buttons are disabled and say how to install one.
    """
    ok = export.images_available()
    hint = None if ok else export.INSTALL_HINT
    stem = widgets.safe_filename(name, "png")[:-4]
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button("PNG", data=lambda: export.figure_png(fig, scale=2), file_name=f"{stem}.png",
                       mime="image/png", key=f"{key}_png", icon=":material/image:", on_click="ignore",
                       disabled=not ok, help=hint or "The chart as a PNG image at twice screen resolution.")
    c2.download_button("SVG", data=lambda: export.figure_svg(fig), file_name=f"{stem}.svg",
                       mime="image/svg+xml", key=f"{key}_svg", icon=":material/draw:", on_click="ignore",
                       disabled=not ok, help=hint or "The chart as a scalable vector image.")


# ----------------------------------------------------------------------------- cached results


@st.cache_data(max_entries=16, show_spinner="Building the journey map…")
def journey_map(view: cache.View, persona: str | None):
    """JourneyMap for the view, restricted to one persona (None: everyone in view)."""
    from journeylib.journey_map import build_journey_map

    return build_journey_map(cache.filtered(view, persona), group=persona or EVERYONE)


@st.cache_data(max_entries=16, show_spinner=False)
def driver_outcomes(view: cache.View, persona: str | None) -> list[str]:
    from journeylib.insights import driver_outcomes as outcomes

    return outcomes(cache.filtered(view, persona))


@st.cache_data(max_entries=32, show_spinner="Estimating key drivers…")
def key_drivers(view: cache.View, persona: str | None, outcome: str):
    """KeyDrivers, or the reason they cannot be estimated (a string)."""
    from journeylib.insights import InsightError, key_drivers as drivers

    try:
        return drivers(cache.filtered(view, persona), outcome=outcome)
    except InsightError as exc:
        return str(exc)


def _personas_or_none(view: cache.View):
    try:
        return cache.personas(view)
    except Exception:  # noqa: BLE001 - a dataset too small for personas still gets a report
        return None


@st.cache_data(max_entries=4, show_spinner=False)
def report_file(view: cache.View, persona: str | None, kind: str, dataset_name: str) -> bytes:
    """The HTML report or the PPTX deck for the view and persona, as bytes."""
    report = export.build_report(
        cache.filtered(view), persona=persona, personas=_personas_or_none(view),
        dataset_name=dataset_name, filters=_filters_text(view),
    )
    return export.report_pptx(report) if kind == "pptx" else export.report_html(report).encode("utf-8")


def _filters_text(view: cache.View) -> str | None:
    text = state.subject(view)
    return None if text == EVERYONE else text


def report_downloads(view: cache.View, persona: str | None, dataset_name: str) -> None:
    """'Download report' (HTML, always) and 'Download deck' (PPTX, needs a browser)."""
    ok = export.images_available()
    stem = widgets.safe_filename(f"journey_report_{persona or 'all'}", "x")[:-2]
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download report", data=lambda: report_file(view, persona, "html", dataset_name),
        file_name=f"{stem}.html", mime="text/html", key="dl_report", icon=":material/description:",
        on_click="ignore", width="stretch",
        help="One HTML file with the key charts and tables for the current filters; interactive, works offline.",
    )
    c2.download_button(
        "Download deck", data=lambda: report_file(view, persona, "pptx", dataset_name),
        file_name=f"{stem}.pptx", key="dl_deck", icon=":material/slideshow:", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        disabled=not ok, width="stretch",
        help=export.INSTALL_HINT if not ok else "A 16:9 PowerPoint deck: personas, flows, emotions, journey map, "
        "pain points and opportunities, each slide with a one-line takeaway.",
    )
    if not ok:
        st.caption(export.INSTALL_HINT)
