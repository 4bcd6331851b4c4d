"""Present mode and the journey-map page's cached results and exports.

Present mode is for a meeting room: no sidebar or page controls, fonts 1.35 times larger
(legends and axes too), one chart per slide, sized to the browser window so a slide never
scrolls at 1280x800 or 1920x1080. A small keyboard listener (a Streamlit v2 component, which
runs in the page itself, nothing fetched) moves between slides on the keys a presenter's
clicker sends: arrows, Page Up/Down, Space. It also reports the window's size. The slide
area is a fragment, so moving on reruns only that area, and each slide's figure is built
once per view, persona and window size; all of them are drawn once, the current one shown.
The state lives in ``st.session_state`` and in the link: ``?present=1&slide=N`` plus the
persona picker's own parameter, so a link opens the same slide for the same persona.

The journey map, key drivers and report files are cached here too, keyed on the view
(dataset + filters) and the persona shown.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import plotly.graph_objects as go
import streamlit as st

from journeylib import export
from ui import cache, filters, state, widgets
from ui.widgets import md_escape  # noqa: F401 - the pages call present.md_escape

PRESENT_KEY = "present_mode"
STEP_KEY = "present_step"
QUERY_KEY = "present"
SLIDE_PARAM = "slide"  # 1-based, in the link with present=1
PERSONA_KEY = "jm_persona"  # the journey map's "whose journey" control (in the link too)
KEYS_KEY = "present_keys"
DECK_SLIDE = "present_slide_"  # container keys of the slides' charts: present_slide_0, ...
SIZE_KEY = "_present_viewport"
HIDDEN_CONTROLS = "present_hidden_controls"  # the page's comparison controls, kept but not shown
EVERYONE = "All customers"
FONT_FACTOR = 1.35
# What the browser window reports before it has reported anything (a small laptop).
DEFAULT_VIEWPORT = (1280, 800)

PRESENT_CSS = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stToolbarActions"], [data-testid="stMainMenu"],
[data-testid="stAppDeployButton"], [data-testid="stDecoration"] {display: none !important;}
/* The header stays for Streamlit's running indicator, out of the slide's way. */
header[data-testid="stHeader"], [data-testid="stToolbar"] {background: transparent !important;
  pointer-events: none !important; height: 0 !important;}
[data-testid="stStatusWidget"] {position: fixed !important; right: 1rem; bottom: 0.6rem; top: auto !important;
  pointer-events: auto !important; background: #FFFFFF; z-index: 1000;}
[data-testid="stMainBlockContainer"], .block-container {max-width: 100% !important;
  padding: 0.8rem 2.5rem 0.4rem 2.5rem !important;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.45rem !important;
  line-height: 1.45 !important;}
[data-testid="stCaptionContainer"] p {font-size: 1.15rem !important;}
h1 {font-size: 2.8rem !important;}
.st-key-present_hidden_controls {display: none !important;}
.st-key-present_deck {position: relative; overflow: hidden;}
h2, h3 {font-size: 2.1rem !important; padding: 0.2rem 0 !important;}
button p {font-size: 1.15rem !important;}
</style>
"""

# Keys a presenter's clicker or keyboard sends: forward and back. Space and Page Down would
# otherwise scroll. Keys typed into a box (the persona picker's search) stay the box's,
# except a clicker's Page Up/Down while the picker is closed: after picking a persona the
# focus is still in the picker, and the clicker must go on working.
KEYS_JS = """
export default function(component) {
  const { setTriggerValue, setStateValue } = component;
  const next = new Set(["ArrowRight", "ArrowDown", "PageDown", " ", "Spacebar"]);
  const back = new Set(["ArrowLeft", "ArrowUp", "PageUp", "Backspace"]);
  const clicker = new Set(["PageDown", "PageUp"]);
  const onKey = (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const target = event.target;
    const inBox = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (inBox && !(clicker.has(event.key) && target.tagName === "INPUT"
                   && target.getAttribute("aria-expanded") !== "true")) return;
    const step = next.has(event.key) ? 1 : back.has(event.key) ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    // A focused button would also take Space or Enter as a click; a focused box would
    // keep the arrows from the next slide.
    if (target && /^(BUTTON|INPUT)$/.test(target.tagName)) target.blur();
    setTriggerValue("move", step);
  };
  let timer = null;
  const report = () => setStateValue("viewport", [window.innerWidth, window.innerHeight]);
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 200); };
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", onResize);
  report();
  return () => {
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("resize", onResize);
    clearTimeout(timer);
  };
}
"""

_keys = st.components.v2.component("journey_present_keys", js=KEYS_JS)


@dataclass(frozen=True)
class Slide:
    """One slide: a title, a one-line takeaway (text, or a function giving it when the slide
    is built) and its chart. ``figure()`` returns a figure present mode sizes and enlarges;
    with ``fits=True`` it is called as ``figure(width, height)`` and lays itself out."""

    title: str
    takeaway: str | Callable[[], str]
    figure: Callable[..., go.Figure]
    fits: bool = False


# ----------------------------------------------------------------------------- present mode


def map_needs_no_personas() -> bool:
    """Whether the Journey map page can draw its map before the personas are found: this
    session has not found them yet, and neither it nor the link asks for one persona's
    journey or a comparison (``jm_persona``, ``cmp``)."""
    if state.personas_asked():
        return False
    for key, nothing in (("jm_persona", EVERYONE), ("cmp", "none")):
        value = st.session_state.get(key, st.query_params.get(key))
        if value not in (None, "", nothing):
            return False
    return True


def is_on() -> bool:
    """Whether present mode is on (first run of a session reads ``?present=1&slide=N``)."""
    if PRESENT_KEY not in st.session_state:
        st.session_state[PRESENT_KEY] = st.query_params.get(QUERY_KEY) == "1"
        if st.session_state[PRESENT_KEY]:
            text = str(st.query_params.get(SLIDE_PARAM) or "1")
            st.session_state[STEP_KEY] = int(text) - 1 if text.isdigit() and int(text) > 0 else 0
    return bool(st.session_state[PRESENT_KEY])


def _set(on: bool) -> None:
    st.session_state[PRESENT_KEY] = on
    st.session_state[STEP_KEY] = 0
    if on:
        st.query_params[QUERY_KEY] = "1"
    else:
        for key in (QUERY_KEY, SLIDE_PARAM):
            if key in st.query_params:
                del st.query_params[key]


def toggle() -> None:
    """The button that turns present mode on (shown with the page's controls)."""
    st.button("Present", icon=":material/slideshow:", key="present_on", on_click=_set, args=(True,),
              help="Full-screen view for a meeting: no sidebar or controls, large fonts, one chart at a time; "
                   "arrow keys, Page Up/Down and Space move between slides.")


def inject_css() -> None:
    """Hide the sidebar and header and enlarge text (present mode only)."""
    st.html(PRESENT_CSS)


def _move(delta: int, count: int) -> None:
    st.session_state[STEP_KEY] = min(max(int(st.session_state.get(STEP_KEY, 0)) + delta, 0), count - 1)


def _on_key(count: int) -> None:
    pressed = st.session_state.get(KEYS_KEY)
    delta = getattr(pressed, "move", None) if pressed is not None else None
    if delta in (1, -1):
        _move(int(delta), count)


def _on_viewport() -> None:
    reported = getattr(st.session_state.get(KEYS_KEY), "viewport", None)
    if isinstance(reported, (list, tuple)) and len(reported) == 2:
        st.session_state[SIZE_KEY] = (int(reported[0]), int(reported[1]))


def step(count: int) -> int:
    """Current slide (0-based), clamped to ``count`` slides."""
    current = min(max(int(st.session_state.get(STEP_KEY, 0)), 0), max(count - 1, 0))
    st.session_state[STEP_KEY] = current
    return current


def viewport() -> tuple[int, int]:
    """The browser window's size in CSS pixels, as last reported (a laptop's before that)."""
    return tuple(st.session_state.get(SIZE_KEY) or DEFAULT_VIEWPORT)


# Room the slide's chrome takes above and below the chart, in CSS pixels at the fonts above:
# the navigation row, the slide title, the paddings, and per line of takeaway.
_CHROME_PX, _TAKEAWAY_LINE_PX, _TAKEAWAY_CHAR_PX, _SIDE_PX = 175, 36, 11.5, 80


def chart_size(window: tuple[int, int], takeaway: str) -> tuple[int, int]:
    """Width and height a slide's chart gets so the whole slide fits ``window`` unscrolled."""
    width, height = window
    inner = max(width - _SIDE_PX, 480)
    lines = max(1, math.ceil(len(takeaway) * _TAKEAWAY_CHAR_PX / inner))
    return inner, max(height - _CHROME_PX - lines * _TAKEAWAY_LINE_PX, 300)


def fitted_font_scale(height: int, comfortable: int = 620) -> float:
    """Font scale for a chart that lays itself out in ``height`` pixels: 1 up to a laptop's
    slide, growing with the room up to 1.5."""
    return round(max(1.0, min(1.5, height / comfortable)), 2)


def _subtitle_only(fig: go.Figure) -> None:
    """Drop a chart's first title line (the slide's heading says it) and keep the second,
    who and how many, as its title."""
    text = fig.layout.title.text or ""
    if "<br>" in text:
        rest = text.split("<br>", 1)[1].replace("<sup>", "").replace("</sup>", "")
        fig.update_layout(title=dict(text=rest, font=dict(size=round(15 * FONT_FACTOR))))


@st.cache_resource(max_entries=48, show_spinner=False)
def _built(key, index: int, window: tuple[int, int], _slide: Slide) -> tuple[str, go.Figure]:
    """A slide's takeaway and finished figure, once per view, persona and window size."""
    takeaway = _slide.takeaway() if callable(_slide.takeaway) else _slide.takeaway
    width, height = chart_size(window, takeaway)
    if _slide.fits:
        fig = go.Figure(_slide.figure(width, height))
        # The slide's heading and takeaway say what and for whom: the chart gets the room.
        fig.update_layout(title_text=None, margin_t=10)
    else:
        fig = slide_figure(_slide.figure(), height)
    return takeaway, fig


def slide_figure(fig: go.Figure, height: int, factor: float = FONT_FACTOR) -> go.Figure:
    """A page's figure made into a slide: fonts ``factor`` times larger, the title's first
    line dropped (the slide's heading says it), ``height`` pixels tall, and a legend laid
    under the plot moved to the figure's foot with room for the grown axis text above it."""
    fig = scale_fonts(fig, factor)
    _subtitle_only(fig)
    legend = fig.layout.legend
    if legend.orientation == "h" and legend.y is not None and legend.y < 0:
        base = fig.layout.font.size
        # Tick labels, the axis title and one row of legend, each about 1.6 lines of text.
        foot = round(5.5 * base)
        fig.update_layout(legend=dict(yref="container", y=0, yanchor="bottom"),
                          margin_b=max(fig.layout.margin.b or 0, foot))
    fig.update_layout(height=height)
    return fig


def show(slides: list[Slide], key, persona_choices: list[str], persona: str) -> None:
    """Present mode: the slides one at a time, fitted to the window, with the persona picker.

    ``key`` names what the slides show (view, persona, any other choice behind them); the
    built slides are cached on it. Every slide's chart is drawn once, below the slide
    area, and a style rule shows the current one only: moving to another slide reruns the
    slide area (a fragment: buttons, heading, takeaway, that rule) and redraws no chart.
    """
    inject_css()
    window = viewport()
    current = step(len(slides))
    complete = SIZE_KEY in st.session_state
    _slide_area(slides, key, persona_choices, persona, window, complete)
    with st.container(key="present_deck", gap=None):
        places = [st.container(key=f"{DECK_SLIDE}{i}") for i in range(len(slides))]
    # The slide on screen first, then the others, so moving on only shows them. Until the
    # browser has said how large its window is, only the first: they would be built again.
    others = [i for i in range(len(slides)) if i != current] if complete else []
    for index in [current] + others:
        _, fig = _built(key, index, window, slides[index])
        places[index].plotly_chart(fig, theme=None, key=f"present_fig_{index}", width="stretch",
                                   config={"displaylogo": False})


def deck_css(current: int, count: int) -> str:
    """The style rule that shows slide ``current``'s chart and keeps the others laid out at
    full width but out of sight (so they need no redraw when their turn comes)."""
    hidden = ", ".join(f".st-key-{DECK_SLIDE}{i}" for i in range(count) if i != current)
    # Out of the flow, over the shown one, as wide as it: laid out, invisible, unclickable.
    rule = ("{position: absolute !important; top: 0; left: 0; right: 0; visibility: hidden !important; "
            "pointer-events: none !important;}")
    return f"<style>{hidden} {rule}</style>" if hidden else "<style></style>"


@st.fragment
def _slide_area(slides: list[Slide], key, persona_choices: list[str], persona: str,
                window: tuple[int, int], complete: bool) -> None:
    count = len(slides)
    if not is_on():  # "Exit" was pressed inside this fragment
        st.rerun(scope="app")
    _keys(key=KEYS_KEY, default={"viewport": None},
          on_move_change=lambda: _on_key(count), on_viewport_change=_on_viewport)
    if viewport() != window or (not complete and SIZE_KEY in st.session_state):
        st.rerun(scope="app")  # the charts below were laid out for another window, or not all drawn
    current = step(count)
    if st.query_params.get(SLIDE_PARAM) != str(current + 1):
        st.query_params[SLIDE_PARAM] = str(current + 1)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button("Previous", icon=":material/chevron_left:", key="present_prev", disabled=current == 0,
                  on_click=_move, args=(-1, count), help="Left arrow, Page Up")
        st.button("Next", icon=":material/chevron_right:", key="present_next", disabled=current >= count - 1,
                  on_click=_move, args=(1, count), help="Right arrow, Page Down, Space")
        st.caption(f"Slide {current + 1} of {count}: {slides[current].title}", width="stretch")
        chosen = st.selectbox("Whose journey", persona_choices, label_visibility="collapsed", width=260,
                              **filters.linked(PERSONA_KEY))
        st.button("Exit", icon=":material/close:", key="present_off", on_click=_set, args=(False,),
                  help="Back to the page")
    if chosen != persona:  # the slides were built for the persona picked before
        st.rerun(scope="app")
    takeaway, _ = _built(key, current, window, slides[current])
    st.header(slides[current].title, anchor=False)
    st.markdown(md_escape(takeaway))
    st.html(deck_css(current, count))


def scale_fonts(fig: go.Figure, factor: float = FONT_FACTOR) -> go.Figure:
    """A copy of ``fig`` with every font size multiplied by ``factor``, for reading across a
    meeting room: the layout's, the title's, legends, axis ticks and titles, colour bars,
    annotations and trace text, including sizes the figure inherits from its template."""
    spec = fig.to_plotly_json()
    layout = spec.setdefault("layout", {})
    template_layout = (layout.get("template") or {}).get("layout", {})
    # Plotly's own default is 12 px; text without a size of its own inherits this one.
    base = (layout.get("font") or {}).get("size") or (template_layout.get("font") or {}).get("size") or 12
    _scale_font_sizes(spec, factor)
    layout.setdefault("font", {})["size"] = round(base * factor, 1)
    margin = layout.get("margin") or template_layout.get("margin") or {}
    if margin.get("t"):
        layout.setdefault("margin", {})["t"] = round(margin["t"] * factor)
    return go.Figure(spec)


def _scale_font_sizes(node, factor: float) -> None:
    """Multiply ``size`` inside every ``...font`` mapping below ``node`` (in place)."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name.endswith("font") and isinstance(value, dict) and "size" in value:
                size = value["size"]
                if isinstance(size, (int, float)):
                    value["size"] = round(size * factor, 1)
                elif isinstance(size, (list, tuple)):
                    value["size"] = [round(s * factor, 1) if isinstance(s, (int, float)) else s for s in size]
            _scale_font_sizes(value, factor)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _scale_font_sizes(item, factor)


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
def _base_map(view: cache.View, persona: str | None):
    from journeylib.journey_map import build_journey_map
    from ui import voice

    # Everyone's themes are the Emotions page's, cached once; a persona's are its own.
    themes = voice.themes(view) if persona is None else True
    return build_journey_map(cache.filtered(view, persona), group=persona or EVERYONE,
                             themes=themes if themes is not None else True)


def journey_map(view: cache.View, persona: str | None, pair=None):
    """JourneyMap for the view, restricted to one persona (None: everyone in view), with a
    "what changed" lane when ``pair`` (a ui.compare.Pair) is given. The map is cached per
    view and persona, the lane per pair: a new comparison does not build the map again."""
    from journeylib.journey_map import with_changes
    from ui import compare as compare_ui

    jm = _base_map(view, persona)
    if pair is None:
        return jm
    return with_changes(jm, compare_ui.what_changed(view, pair), (pair.label_a, pair.label_b))


def changed_section(view: cache.View, pair, why_not: str | None = None) -> export.Section:
    """The "What changed" slide of present mode: the deck's section
    (journeylib.export.what_changed_section) for ``pair``, or, when the views cannot be
    compared, a slide that says why."""
    from journeylib import charts
    from ui import compare as compare_ui

    if pair is None:
        text = f"The two views cannot be compared: {why_not}."
        return export.Section("What changed", text, charts.empty_figure(text, "What changed"))
    section = export.what_changed_section(compare_ui.what_changed(view, pair), pair.label_a, pair.label_b)
    if section.figure is None:  # nothing could be compared: the slide says so
        return export.Section(section.title, section.takeaway, charts.empty_figure(section.takeaway, "What changed"))
    # A slide shows a chart's second title line only (its heading says the first); here the
    # heading is "What changed", so the measure the chart draws goes into that line too.
    fig = go.Figure(section.figure)
    what, _, who = (fig.layout.title.text or "").partition("<br>")
    who = who.replace("<sup>", "").replace("</sup>", "")
    if what and who:
        fig.update_layout(title_text=f"{what}<br><sup>{what}: {who}</sup>")
    return dataclasses.replace(section, figure=fig)


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
def report_file(view: cache.View, persona: str | None, kind: str, dataset_name: str, pair=None) -> bytes:
    """The HTML report or the PPTX deck for the view and persona, as bytes; with a "What
    changed" section when ``pair`` (a ui.compare.Pair) is given."""
    comparison = None
    if pair is not None:
        from ui import compare as compare_ui

        comparison = (compare_ui.side(view, pair.a), compare_ui.side(view, pair.b), pair.label_a, pair.label_b)
    report = export.build_report(
        cache.filtered(view), persona=persona, personas=_personas_or_none(view),
        dataset_name=dataset_name, filters=_filters_text(view), comparison=comparison,
    )
    return export.report_pptx(report) if kind == "pptx" else export.report_html(report).encode("utf-8")


def _filters_text(view: cache.View) -> str | None:
    text = state.subject(view)
    return None if text == EVERYONE else text


def report_downloads(view: cache.View, persona: str | None, dataset_name: str, pair=None) -> None:
    """'Download report' (HTML, always) and 'Download deck' (PPTX, needs a browser)."""
    ok = export.images_available()
    stem = widgets.safe_filename(f"journey_report_{persona or 'all'}", "x")[:-2]
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download report", data=lambda: report_file(view, persona, "html", dataset_name, pair),
        file_name=f"{stem}.html", mime="text/html", key="dl_report", icon=":material/description:",
        on_click="ignore", width="stretch",
        help="One HTML file with the key charts and tables for the current filters; interactive, works offline.",
    )
    c2.download_button(
        "Download deck", data=lambda: report_file(view, persona, "pptx", dataset_name, pair),
        file_name=f"{stem}.pptx", key="dl_deck", icon=":material/slideshow:", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        disabled=not ok, width="stretch",
        help=export.INSTALL_HINT if not ok else "A 16:9 PowerPoint deck: personas, flows, emotions, journey map, "
        "pain points and opportunities, each slide with a one-line takeaway.",
    )
    if not ok:
        st.caption(export.INSTALL_HINT)
