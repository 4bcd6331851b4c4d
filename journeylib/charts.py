"""Plotly figure builders: a small frame in, a ``go.Figure`` out, one visual theme.

Every builder takes the frame first (as produced by :mod:`journeylib.flows`,
:mod:`journeylib.emotions` or :mod:`journeylib.personas`), reads columns by name and
returns a figure whose title says what is shown, for whom, and out of how many customers.
Colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies);
a persona keeps the colour given by :func:`persona_colors` wherever it appears.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from journeylib.schema import ALL_PERSONAS, END_NODE, OTHER_NODE

# Okabe & Ito (2008). Yellow goes last: it has the least contrast on white.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
# Paul Tol's "muted" qualitative scheme, ordered so neighbouring stages contrast.
TOL_MUTED = ("#88CCEE", "#44AA99", "#DDCC77", "#117733", "#332288", "#AA4499", "#CC6677", "#882255", "#999933")
ALL_COLOR = "#555555"
END_COLOR = "#C8C8C8"
OTHER_COLOR = "#9A9A9A"
NO_STAGE_COLOR = "#B5B5B5"
NO_STAGE = "(no stage)"

FONT_FAMILY = "Source Sans Pro, Helvetica, Arial, sans-serif"
TEMPLATE_NAME = "journey"

# plotly_white's defaults for the trace types drawn here only: a figure validates and copies
# its whole template when one is set, and the other 20 types' defaults doubled that cost.
_DRAWN_TRACES = ("bar", "funnel", "heatmap", "sankey", "scatter", "scattergl")
_white = pio.templates["plotly_white"]
_template = go.layout.Template(
    layout=_white.layout,
    data={k: v for k, v in _white.data.to_plotly_json().items() if k in _DRAWN_TRACES})
_template.layout.update(
    font=dict(family=FONT_FAMILY, size=14, color="#262730"),
    # A fixed distance from the figure's top edge (a fraction of a short figure's height
    # is too little), enough for Plotly, which sets a two-line title's first baseline at
    # the pad, to keep the first line inside the figure.
    title=dict(font=dict(size=18), x=0.0, xanchor="left", y=1.0, yanchor="top", pad=dict(l=12, t=28)),
    colorway=list(OKABE_ITO),
    hoverlabel=dict(font=dict(size=14)),
    legend=dict(font=dict(size=13)),
    margin=dict(l=20, r=20, t=70, b=40),
)
pio.templates[TEMPLATE_NAME] = _template


def apply_template(fig: go.Figure) -> go.Figure:
    """Give ``fig`` the project's template (the same as ``template=TEMPLATE_NAME``).

    The template was validated once, when built above; Plotly would validate and copy
    it again for every figure (about 15 ms each, a sixth of drawing a page), so it is
    set with validation off, as Plotly itself sets its default template.
    """
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = _template
    finally:
        layout._validate = fig._validate
    return fig


# ----------------------------------------------------------------------------- colours


def persona_colors(names: Sequence[str]) -> dict[str, str]:
    """Colour per persona by its position in ``names`` (pass the full persona list, in
    model order, so that filtering or renaming never changes a persona's colour)."""
    colors = {ALL_PERSONAS: ALL_COLOR}
    for i, name in enumerate(n for n in names if n != ALL_PERSONAS):
        colors[str(name)] = OKABE_ITO[i % len(OKABE_ITO)]
    return colors


def stage_colors(stages: Sequence[str]) -> dict[str, str]:
    """Colour per stage, by position in the stage order, from Paul Tol's colour-blind-safe
    "muted" scheme (distinct from the persona palette, so a stage never looks like a persona)."""
    stages = list(stages)
    out = {s: TOL_MUTED[i % len(TOL_MUTED)] for i, s in enumerate(stages)}
    out.update({NO_STAGE: NO_STAGE_COLOR, OTHER_NODE: OTHER_COLOR, END_NODE: END_COLOR})
    return out


def text_color_on(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color`` (WCAG relative luminance)."""
    h = hex_color.lstrip("#")
    rgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if lum > 0.179 else "#FFFFFF"


def _ordered_groups(frame: pd.DataFrame, colors: Mapping[str, str] | None):
    """(persona, rows) in the colour map's order (model order), then any others."""
    groups = dict(tuple(frame.groupby("persona", sort=False)))
    order = [p for p in (colors or {}) if p in groups] + [p for p in groups if p not in (colors or {})]
    return [(p, groups[p]) for p in order]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _color_for(name: str, colors: Mapping[str, str] | None, i: int) -> str:
    if colors and name in colors:
        return colors[name]
    if name == ALL_PERSONAS:
        return ALL_COLOR
    return OKABE_ITO[i % len(OKABE_ITO)]


# ----------------------------------------------------------------------------- text that fits
# Plotly cannot wrap text, so text meant to fit a box is wrapped here by its width in
# pixels. Widths are Helvetica's (Adobe's font metrics, in thousandths of the font size):
# Chromium draws our font stack in Helvetica's metric twin (Liberation Sans) where Source
# Sans Pro is missing, and Source Sans Pro is narrower, so text measured this way fits.
_HELVETICA = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278] + [556] * 10
    + [278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
       778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500,
       556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500,
       500, 500, 334, 260, 334, 584],
))
_HELVETICA_BOLD = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278] + [556] * 10
    + [333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722,
       778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556,
       611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556,
       556, 500, 389, 280, 389, 584],
))
# Punctuation the charts write themselves (bullets, quotes, the middle dot, no-break space).
_EXTRA = {"\u00a0": 278, "•": 350, "·": 278, "“": 333, "”": 333, "‘": 222, "’": 222, "–": 556, "—": 1000,
          "…": 1000, "×": 584, "→": 1000}
_HELVETICA.update(_EXTRA)
_HELVETICA_BOLD.update(_EXTRA)
# Head room for hinting and for a fallback font a little wider than Helvetica.
_TEXT_SLACK = 1.08
LINE_SPACING = 1.3  # Plotly's distance between lines of one text, in font sizes


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in pixels of one line of ``text`` at font ``size`` (see the metrics above);
    letters outside the table count as wide ones, ideographs as a full em."""
    table = _HELVETICA_BOLD if bold else _HELVETICA
    em = sum(table.get(ch, 1000 if ord(ch) >= 0x2E80 else 650) for ch in str(text))
    return em / 1000 * size * _TEXT_SLACK


def wrap_to_width(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` as lines no wider than ``width`` pixels at font ``size``: broken between
    words, and inside a word only when the word alone is wider than the line."""
    lines: list[str] = []
    line = ""
    for word in str(text).split():
        trial = f"{line} {word}" if line else word
        if text_width(trial, size, bold) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = ""
        while text_width(word, size, bold) > width and len(word) > 1:
            cut = 1
            while cut < len(word) and text_width(word[: cut + 1], size, bold) <= width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


# ----------------------------------------------------------------------------- titles


def figure_title(what: str, subject: str | None = None, customers: int | None = None) -> str:
    """Standard title: what is shown, then (smaller, second line) for whom and the denominator
    (``subject`` is user text: shown literally)."""
    parts = []
    if subject:
        parts.append(_esc(subject))
    if customers is not None:
        parts.append(f"{int(customers):,} customers")
    return f"{what}<br><sup>{' · '.join(parts)}</sup>" if parts else what


def _with_note(title: str, note: str, first: bool = False) -> str:
    """``title`` (from :func:`figure_title`) with ``note`` added to its second line."""
    if "<br><sup>" not in title:
        return f"{title}<br><sup>{note}</sup>"
    if first:
        return title.replace("<br><sup>", f"<br><sup>{note} · ", 1)
    return title.replace("</sup>", f" · {note}</sup>", 1)


TITLE_SIZE = 18
SUBTITLE_SIZE = 0.7 * TITLE_SIZE  # Plotly draws <sup> at 70%


def _fit_title(title: str, width: float) -> tuple[str, float]:
    """A :func:`figure_title` wrapped to ``width`` px, and the height its lines take."""
    import html as _html
    import re

    main, _, rest = str(title).partition("<br><sup>")
    sub = rest.removesuffix("</sup>")
    plain = lambda t: _html.unescape(re.sub(r"<[^>]+>", "", t))  # noqa: E731 - measured as shown
    lines = wrap_to_width(plain(main), width, TITLE_SIZE)
    out = "<br>".join(_esc(x) for x in lines)
    used = len(lines) * LINE_SPACING * TITLE_SIZE
    if sub:
        subs = wrap_to_width(plain(sub), width, SUBTITLE_SIZE)
        out += "".join(f"<br><sup>{_esc(x)}</sup>" for x in subs)
        used += len(subs) * LINE_SPACING * TITLE_SIZE
    return out, used


def _legend_at_bottom(fig: go.Figure, **legend) -> None:
    """A horizontal legend in the bottom margin, placed from the figure's bottom edge: placed
    as a share of the plot's height (y=-0.1) it moves with the chart's height and ran into the
    x-axis title of a tall chart. The margin below the plot must hold ticks, axis title and legend."""
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom",
                                  **legend))


def _finish(fig: go.Figure, title: str, height: int = 520, fit_width: int | None = None) -> go.Figure:
    """Apply the theme, the title and the height. With ``fit_width`` the title is wrapped
    to a figure that wide and the top margin grows to hold its lines."""
    if fit_width and title:
        title, used = _fit_title(title, fit_width - 24)
        top = fig.layout.margin.t if fig.layout.margin.t is not None else 70
        need = round(used + 28)
        if need > top:
            fig.update_layout(margin_t=need)
            height += need - top
    fig.update_layout(title=dict(text=title), height=height)
    return apply_template(fig)


def empty_figure(message: str, title: str = "", fit_width: int = 700) -> go.Figure:
    """A figure with a centred message, for when there is nothing to plot; the message
    and the title are wrapped to a figure ``fit_width`` px wide."""
    lines = wrap_to_width(message, fit_width - 60, 16)
    fig = go.Figure()
    fig.add_annotation(text="<br>".join(_esc(x) for x in lines), x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=16, color="#555555"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _finish(fig, title, height=max(260, round(140 + len(lines) * LINE_SPACING * 16 + 60)),
                   fit_width=fit_width)


# ----------------------------------------------------------------------------- sankey


SANKEY_FONT = 13
SANKEY_PAD = 12  # px between nodes of a step
SANKEY_THICKNESS = 16
SANKEY_MARGIN = dict(l=10, r=10, t=70, b=60)


def _sankey_layout(sizes: Mapping[tuple[int, str], int], steps: list[int], labels: Mapping[tuple[int, str], str],
                   plot_w: float, plot_h: float, max_h: float, font: float = SANKEY_FONT):
    """Where each node sits and what its label says, so no label overlaps another.

    Labels are wrapped to the room between two steps (Plotly puts them beside the node,
    left of the last step's). A node's slot is the taller of its bar and its label; the
    figure grows up to ``max_h`` px of plot to give every label its slot, then the labels
    of a step's smallest nodes are left to the hover until the rest fit.
    Returns (y centre per node as a share of the plot height, label per node, plot height).
    """
    line_h = LINE_SPACING * font
    gap = (plot_w - SANKEY_THICKNESS) / max(len(steps) - 1, 1) - SANKEY_THICKNESS - 12
    # The last two steps share the gap between them: labels of the one before the last go
    # right, the last step's go left.
    room = {s: gap / 2 if len(steps) > 1 and s in steps[-2:] else gap for s in steps}
    wrapped = {k: wrap_to_width(labels[k], room[k[0]], font) for k in sizes}
    columns = {s: [k for k in sizes if k[0] == s] for s in steps}
    # A word wider than the room would have to break ("Compari/son"): that label is left
    # to the hover rather than printed in pieces.
    whole = {k for k in sizes if all(text_width(w, font) <= room[k[0]] for w in labels[k].split())}

    def scale(h: float) -> float:  # px per customer, as d3-sankey sizes the bars
        return min((h - (len(c) - 1) * SANKEY_PAD) / max(sum(sizes[k] for k in c), 1) for c in columns.values())

    def need(h: float, shown) -> float:
        ky = scale(h)
        return max(sum(max(sizes[k] * ky, len(wrapped[k]) * line_h if k in shown else 0) for k in c)
                   + (len(c) - 1) * SANKEY_PAD for c in columns.values())

    shown = set(whole)
    h = plot_h
    while need(h, shown) > h and h < max_h:
        h = min(max_h, h + 40)
    ky = scale(h)
    for col in columns.values():
        # Smallest first: their labels go to the hover until the step fits.
        for k in sorted(col, key=lambda k: (sizes[k], k[1])):
            total = sum(max(sizes[j] * ky, len(wrapped[j]) * line_h if j in shown else 0) for j in col)
            if total + (len(col) - 1) * SANKEY_PAD <= h:
                break
            shown.discard(k)
    y = {}
    for col in columns.values():
        used = 0.0
        for k in col:
            slot = max(sizes[k] * ky, len(wrapped[k]) * line_h if k in shown else 0)
            y[k] = min(max((used + slot / 2) / h, 0.001), 0.999)
            used += slot + SANKEY_PAD
    text = {k: "<br>".join(_esc(x) for x in wrapped[k]) if k in shown else "" for k in sizes}
    return y, text, h


def sankey(
    frame: pd.DataFrame,
    *,
    subject: str | None = None,
    level: str = "touchpoint",
    stages: Sequence[str] = (),
    node_stage: Mapping[str, str] | None = None,
    height: int = 560,
    fit_width: int = 820,
    empty_text: str | None = None,
    font_size: float = SANKEY_FONT,
    grow: float = 1.5,
) -> go.Figure:
    """Step Sankey from ``flows.step_sankey`` output (step, source, target, customers).

    A node is identified by (step, name); the label is the name, wrapped to the room
    between steps for a figure at least ``fit_width`` px wide at ``font_size``; the figure
    grows taller (up to ``grow`` times) so labels never overlap, and a node too small for
    its label shows it in the hover (a note says so). ``(end)`` nodes sit one column after the step where
    journeys stop, in grey, with the number of customers who stopped and their share of
    that step's customers in the hover. Nodes are coloured by stage: at stage level the
    node is its own stage, at touchpoint level ``node_stage`` maps touchpoint -> stage.
    """
    what = f"Customer journeys, step by step ({'stages' if level == 'stage' else 'touchpoints'})"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No journeys to draw.", figure_title(what, subject))
    df = frame.copy()
    df["step"] = df["step"].astype(int)
    df["customers"] = df["customers"].astype(int)
    first = int(df["step"].min())
    denominator = int(df.loc[df["step"] == first, "customers"].sum())
    # Node customers: outgoing flow, or incoming flow for nodes with no outgoing links.
    out_flow = df.groupby(["step", "source"])["customers"].sum()
    in_flow = df.groupby(["step", "target"])["customers"].sum()
    in_flow.index = pd.MultiIndex.from_arrays(
        [in_flow.index.get_level_values(0) + 1, in_flow.index.get_level_values(1)]
    )
    node_size: dict[tuple[int, str], int] = {}
    for key, val in in_flow.items():
        node_size[(int(key[0]), str(key[1]))] = int(val)
    for key, val in out_flow.items():
        node_size[(int(key[0]), str(key[1]))] = int(val)  # outgoing wins: same for inner nodes

    def sort_key(item):
        (step, name), size = item
        rank = 2 if name == END_NODE else 1 if name == OTHER_NODE else 0
        return (step, rank, -size, name)

    ordered = sorted(node_size.items(), key=sort_key)
    index = {key: i for i, (key, _) in enumerate(ordered)}
    steps = sorted({k[0] for k in node_size})
    last = max(steps)
    colors = stage_colors(stages)

    plot_h = height - SANKEY_MARGIN["t"] - SANKEY_MARGIN["b"]
    y_of, text_of, plot_h = _sankey_layout(node_size, steps, {k: k[1] for k in node_size},
                                           fit_width - SANKEY_MARGIN["l"] - SANKEY_MARGIN["r"], plot_h, grow * plot_h,
                                           font_size)
    height = round(plot_h + SANKEY_MARGIN["t"] + SANKEY_MARGIN["b"])
    labels, node_colors, hover, xs, ys = [], [], [], [], []
    reach = {s: sum(v for (st, nm), v in node_size.items() if st == s and nm != END_NODE) for s in steps}
    for (step, name), size in ordered:
        labels.append(text_of[(step, name)])
        if name == END_NODE:
            prev = reach.get(step - 1, 0)
            share = size / prev if prev else float("nan")
            hover.append(
                f"<b>Journey ended after step {step - 1}</b><br>{size:,} customers stopped here"
                f"<br>{share:.1%} of the {prev:,} customers at step {step - 1}"
            )
            node_colors.append(END_COLOR)
        else:
            share = size / max(reach[step], 1)
            stage = name if level == "stage" else (node_stage or {}).get(name)
            stage_txt = f"<br>Stage: {_esc(stage)}" if stage and level != "stage" else ""
            hover.append(
                f"<b>{_esc(name)}</b> (step {step}){stage_txt}<br>{size:,} customers"
                f"<br>{share:.1%} of customers at this step"
            )
            if name == OTHER_NODE:
                node_colors.append(OTHER_COLOR)
            else:
                node_colors.append(colors.get(stage, NO_STAGE_COLOR) if stage else NO_STAGE_COLOR)
        # Explicit positions keep each step in its own column (plotly would otherwise
        # push every (end) node to the far right).
        xs.append(0.001 + 0.998 * (step - steps[0]) / max(last - steps[0], 1))
        ys.append(y_of[(step, name)])

    link_src = [index[(int(r.step), str(r.source))] for r in df.itertuples()]
    link_tgt = [index[(int(r.step) + 1, str(r.target))] for r in df.itertuples()]
    link_colors = [
        "rgba(200,200,200,0.35)" if str(t) == END_NODE else _rgba(node_colors[s], 0.30)
        for s, t in zip(link_src, df["target"])
    ]
    link_hover = [
        f"{_esc(r.source)} → {_esc(r.target)}<br>step {int(r.step)} → {int(r.step) + 1}<br>{int(r.customers):,} customers"
        for r in df.itertuples()
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node=dict(
                label=labels,
                color=node_colors,
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
                x=xs,
                y=ys,
                pad=SANKEY_PAD,
                thickness=SANKEY_THICKNESS,
                line=dict(color="rgba(0,0,0,0.25)", width=0.5),
            ),
            link=dict(
                source=link_src,
                target=link_tgt,
                value=df["customers"].tolist(),
                color=link_colors,
                customdata=link_hover,
                hovertemplate="%{customdata}<extra></extra>",
            ),
            textfont=dict(size=font_size, color="#262730"),
        )
    )
    # Sankey has no legend of its own: invisible markers give a stage colour key.
    used_stages = [s for s in list(stages) + [NO_STAGE] if s in colors and any(c == colors[s] for c in node_colors)]
    if used_stages == [NO_STAGE]:
        used_stages = []  # a key of one grey "(no stage)" says nothing the chart does not
    for s in used_stages:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=s,
                                 marker=dict(size=12, color=colors[s], symbol="square"),
                                 hoverinfo="skip", showlegend=True))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.02, x=0, title_text="Stage: "),
                      margin=SANKEY_MARGIN)
    title = figure_title(what, subject, denominator)
    if any(not t for t in labels):
        title = _with_note(title, "hover unlabelled nodes for their names")
    return _finish(fig, title, height=height, fit_width=fit_width)


# ----------------------------------------------------------------------------- emotions


def emotion_curve(
    frame: pd.DataFrame,
    *,
    subject: str | None = None,
    colors: Mapping[str, str] | None = None,
    score_label: str | None = None,
    min_n: int = 30,
    y_range: tuple[float, float] | None = None,
    height: int = 500,
    empty_text: str | None = None,
    legend_title: str = "Persona",
) -> go.Figure:
    """Mean score per stage (or touchpoint), one line per persona with its 95% band
    (``persona`` may hold any group, e.g. the two views of a comparison: ``legend_title``).

    Points with few answers (``low_n``) get open markers and a note, so they are shown
    but read as uncertain. ``y_range`` (the score scale) keeps a wide band from a tiny
    group from squashing the other lines.
    """
    x_col = "stage" if frame is not None and "stage" in frame.columns else "touchpoint"
    what = f"How customers feel at each {x_col}"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No survey answers to average.", figure_title(what, subject))
    order = list(dict.fromkeys(frame[x_col].astype(str)))
    fig = go.Figure()
    any_low = False
    for i, (persona, part) in enumerate(_ordered_groups(frame, colors)):
        part = part.set_index(part[x_col].astype(str)).reindex(order)
        color = _color_for(str(persona), colors, i)
        x = order
        lo, hi = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
        # One band per run of stages with an interval: a single "tonexty" band across a gap
        # would join its edges over the missing stage and draw a shape the data does not have.
        ok = np.isfinite(lo) & np.isfinite(hi)
        runs, start = [], None
        for j, flag in enumerate([*ok, False]):
            if flag and start is None:
                start = j
            elif not flag and start is not None:
                runs.append((start, j))
                start = None
        for a, b in runs:
            if b - a < 2:
                # One point has no width to fill: its interval as a bar.
                fig.add_trace(go.Scatter(x=x[a:b], y=(lo[a:b] + hi[a:b]) / 2, mode="markers",
                                         marker=dict(size=1, color=_rgba(color, 0.0)), hoverinfo="skip",
                                         error_y=dict(type="data", array=(hi[a:b] - lo[a:b]) / 2, width=0,
                                                      thickness=8, color=_rgba(color, 0.25)),
                                         showlegend=False, legendgroup=str(persona)))
                continue
            fig.add_trace(go.Scatter(x=x[a:b], y=hi[a:b], mode="lines", line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=str(persona)))
            fig.add_trace(go.Scatter(x=x[a:b], y=lo[a:b], mode="lines", line=dict(width=0), fill="tonexty",
                                     fillcolor=_rgba(color, 0.15), hoverinfo="skip", showlegend=False,
                                     legendgroup=str(persona)))
        low = part["low_n"].fillna(False).astype(bool).to_numpy() if "low_n" in part else np.zeros(len(x), bool)
        any_low = any_low or bool(low.any())
        symbols = ["circle-open" if flag else "circle" for flag in low]
        n = part["n"].fillna(0).astype(int).to_numpy()
        custom = np.column_stack([n, lo, hi, np.where(low, f"few answers (under {min_n})", "")])
        fig.add_trace(
            go.Scatter(
                x=x, y=part["mean"].to_numpy(float), mode="lines+markers", name=str(persona),
                line=dict(color=color, width=3), legendgroup=str(persona),
                marker=dict(size=11, symbol=symbols, color=color, line=dict(width=2, color=color)),
                customdata=custom,
                hovertemplate=(f"<b>{persona}</b><br>%{{x}}: mean %{{y:.2f}}<br>95% CI %{{customdata[1]:.2f}}"
                               "–%{customdata[2]:.2f}<br>n = %{customdata[0]} answers"
                               "<br>%{customdata[3]}<extra></extra>"),
            )
        )
    ticks, angle, label_px = _category_ticks(order)
    if any_low:
        fig.add_annotation(text=f"Open markers: fewer than {min_n} answers, read with care",
                           # pixels under the plot, below the names however many lines they take
                           xref="paper", yref="paper", x=0, y=0, yanchor="top", yshift=-(label_px + 16),
                           showarrow=False, xanchor="left", font=dict(size=13, color="#555555"))
    total_n = int(frame.groupby(x_col)["n"].sum().max()) if "n" in frame else None
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    if ticks is not None:
        fig.update_xaxes(tickvals=order, ticktext=ticks, tickangle=angle)
    fig.update_yaxes(title_text=score_label or "Mean score (95% confidence band)")
    if y_range is not None:
        pad = (y_range[1] - y_range[0]) * 0.04
        fig.update_yaxes(range=[y_range[0] - pad, y_range[1] + pad])
    fig.update_layout(legend=dict(title_text=_esc(legend_title)), hovermode="closest",
                      margin=dict(l=20, r=20, t=70, b=max(90, label_px + 44)))
    height += max(0, label_px + 44 - 90)
    title = f"{what}<br><sup>{_esc(subject) + ' · ' if subject else ''}"
    title += f"up to {total_n:,} answers per {x_col}</sup>" if total_n is not None else "</sup>"
    return _finish(fig, title, height=height)


TICK_SIZE = 13  # the template's tick font
CURVE_PLOT_PX = 590  # an emotion curve's plot on a 1280 px page, its legend beside it


def _category_ticks(names: Sequence[str]) -> tuple[list[str] | None, int | None, float]:
    """Category names under an emotion curve: (tick texts, angle, pixels they take below
    the axis). Names that fit their room on one line stay as Plotly lays them out (it turns
    them when the plot is narrower); longer ones are wrapped between words, upright, when
    no word is wider than the room; otherwise (14 airline ratings, "entertainment") they
    read upwards on at most two lines, so no two names meet."""
    room = CURVE_PLOT_PX / max(len(names), 1)
    line_px = TICK_SIZE * 1.3
    if all(text_width(n, TICK_SIZE) <= room - 8 for n in names):
        return None, None, line_px + 6
    widest_word = max((text_width(w, TICK_SIZE) for n in names for w in str(n).split()), default=0.0)
    if widest_word <= room - 8:
        wrapped = [wrap_to_width(n, room - 8, TICK_SIZE) for n in names]
        return (["<br>".join(_esc(x) for x in lines) for lines in wrapped], 0,
                max(len(lines) for lines in wrapped) * line_px + 6)
    # Two lines fit the room of a name turned upright; every word is kept.
    wrapped = [wrap_to_width(n, max(150.0, text_width(n, TICK_SIZE) / 2 + 12), TICK_SIZE) for n in names]
    longest = max(text_width(x, TICK_SIZE) for lines in wrapped for x in lines)
    return ["<br>".join(_esc(x) for x in lines) for lines in wrapped], -90, longest + 6


def heatmap(
    frame: pd.DataFrame,
    *,
    stages: Sequence[str] = (),
    subject: str | None = None,
    midpoint: float | None = None,
    height: int | None = None,
    empty_text: str | None = None,
) -> go.Figure:
    """Mean score per touchpoint (rows) and stage (columns), ``n`` in hover and text.

    The diverging scale is centred on ``midpoint`` (the middle of the score scale) so
    red reads as below neutral and blue as above.
    """
    what = "Mean score by touchpoint and stage"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No survey answer names both a touchpoint and a stage.",
                            figure_title(what, subject))
    df = frame.copy()
    df["stage"] = df["stage"].fillna(NO_STAGE).astype(str)
    df["touchpoint"] = df["touchpoint"].fillna("(none)").astype(str)
    cols = [s for s in stages if s in set(df["stage"])] + sorted(set(df["stage"]) - set(stages))
    mean = df.pivot_table(index="touchpoint", columns="stage", values="mean", aggfunc="first")
    n = df.pivot_table(index="touchpoint", columns="stage", values="n", aggfunc="first")
    mean = mean.reindex(columns=cols)
    n = n.reindex(index=mean.index, columns=cols)
    # Order touchpoints by the first stage they appear in, so the grid reads diagonally.
    first_col = mean.notna().to_numpy().argmax(axis=1)
    order = sorted(range(len(mean.index)), key=lambda i: (first_col[i], mean.index[i]))
    mean, n = mean.iloc[order], n.iloc[order]
    z = mean.to_numpy(float)
    nn = n.fillna(0).to_numpy(float).astype(int)
    text = [[("" if math.isnan(v) else f"{v:.2f}") for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=cols, y=list(mean.index), text=text, texttemplate="%{text}",
            textfont=dict(size=12), customdata=nn, colorscale="RdBu", zmid=midpoint,
            colorbar=dict(title=dict(text="Mean")), xgap=2, ygap=2,
            hovertemplate="%{y} in %{x}<br>mean %{z:.2f}<br>n = %{customdata} answers<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="Touchpoint", automargin=True)
    fig.update_xaxes(title_text="Stage", side="bottom")
    h = height or min(max(300, 28 * len(mean.index) + 160), 900)
    return _finish(fig, figure_title(what, subject), height=h)


def nps_bar(frame: pd.DataFrame, *, subject: str | None = None,
            colors: Mapping[str, str] | None = None, empty_text: str | None = None) -> go.Figure:
    """Promoters / passives / detractors per persona as stacked shares, NPS in the label."""
    what = "Net Promoter Score by persona"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No likelihood-to-recommend (0-10) answers.", figure_title(what, subject))
    df = frame.copy()
    n = df["n"].astype(float).replace(0, np.nan)
    parts = {}
    for col in ("promoters", "passives", "detractors"):
        vals = df[col].astype(float)
        # Counts or shares both work: counts are divided by n.
        parts[col] = vals / n if vals.max() > 1.0 else vals
    labels = [f"{_esc(p)}  (NPS {v:+.0f}, n={int(c):,})" for p, v, c in zip(df["persona"], df["nps"], df["n"])]
    fig = go.Figure()
    spec = (("detractors", "Detractors (0–6)", "#D55E00"), ("passives", "Passives (7–8)", "#BBBBBB"),
            ("promoters", "Promoters (9–10)", "#0072B2"))
    for col, name, color in spec:
        # A segment too thin for its share keeps it in the hover: Plotly would turn it on end.
        fig.add_trace(go.Bar(y=labels, x=parts[col], name=name, orientation="h", marker_color=color,
                             text=[f"{v:.0%}" if v >= 0.08 else "" for v in parts[col]], textposition="inside",
                             insidetextanchor="middle", textangle=0,
                             hovertemplate=f"%{{y}}<br>{name}: %{{x:.1%}}<extra></extra>"))
    # The legend above the bars, under the title: below them it met the axis title.
    fig.update_layout(barmode="stack", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom",
                                                   traceorder="normal"),
                      margin=dict(l=20, r=20, t=104, b=50))
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="Share of answers")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _finish(fig, figure_title(what, subject, None), height=max(300, 60 * len(df) + 190))


# ----------------------------------------------------------------------------- flows


GOAL_COLOR = "#0072B2"  # the goal's own row: Okabe-Ito blue, apart from the stage colours
NO_GOAL_HINT = "Name a goal on the Data page to see how many reach it."


def funnel(frame: pd.DataFrame, *, subject: str | None = None, goal_label: str | None = None,
           stages: Sequence[str] = (), height: int | None = None, empty_text: str | None = None,
           fit_width: int = 700) -> go.Figure:
    """Customers at each stage towards the goal, from ``flows.funnel`` (stage, customers,
    share, conversion): the share of the first stage in each bar, the conversion from the
    previous row and the customers lost in the hover.

    ``goal_label`` marks the last row as the goal (a stage goal's stage, or the row named
    after a touchpoint or column goal); without it the title says no goal is set. Rows are
    coloured by their place in ``stages`` (the stage order, as every chart colours them);
    a last row outside it is the goal's own, in the goal's colour. A bar too narrow for its
    label (at ``fit_width`` px) gets it outside.
    """
    what = f"Funnel towards {_esc(goal_label)}" if goal_label else "Funnel by stage (no goal set)"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No customers to count.", figure_title(what, subject))
    df = frame.reset_index(drop=True).copy()
    n = df["customers"].astype(int)
    lost = (n.shift(1) - n).fillna(0).astype(int)
    labels = [_esc(s) for s in df["stage"].astype(str)]
    order = list(stages) or list(df["stage"])
    colors = stage_colors(order)
    fills = [colors.get(s, NO_STAGE_COLOR) for s in df["stage"]]
    if goal_label:
        last = str(df["stage"].iloc[-1])
        labels[-1] = _esc(f"{last} (goal)" if last == goal_label else f"{last}: {goal_label} (goal)")
        if stages and last not in stages:
            fills[-1] = GOAL_COLOR
    share = df["share"].astype(float)
    text = [f"{c:,}" + ("" if pd.isna(s) else f" · {s:.0%}") for c, s in zip(n, share)]
    # Inside a bar when it is wide enough for the label, beside it otherwise: a small stage's
    # number is never squeezed out (bars take about three quarters of the plot's width).
    top = max(int(n.max()), 1)
    bar_px = [0.72 * fit_width * c / top for c in n]
    position = ["inside" if text_width(t, 14) + 12 < w else "outside" for t, w in zip(text, bar_px)]
    ink = [text_color_on(f) if p == "inside" else "#262730" for f, p in zip(fills, position)]
    custom = np.column_stack([share, df["conversion"].astype(float), lost])
    hover = ("<b>%{y}</b><br>%{x:,} customers<br>%{customdata[0]:.1%} of the first stage"
             "<br>%{customdata[1]:.1%} of the previous row<br>lost since the previous row: %{customdata[2]:,}"
             "<extra></extra>")
    fig = go.Figure(
        go.Funnel(
            y=labels, x=n, text=text, textinfo="text", textposition=position, customdata=custom,
            marker=dict(color=fills), textfont=dict(color=ink, size=14), constraintext="none",
            connector=dict(fillcolor="#EEEEEE"), cliponaxis=False, hovertemplate=hover,
        )
    )
    fig.update_yaxes(automargin=True)
    fig.update_layout(margin=dict(l=20, r=60, t=70, b=30))
    title = figure_title(what, subject, int(n.iloc[0]))
    if not goal_label:
        title = _with_note(title, NO_GOAL_HINT)
    return _finish(fig, title, height=height or max(300, 58 * len(df) + 120), fit_width=fit_width)


def top_paths(frame: pd.DataFrame, *, subject: str | None = None, customers: int | None = None,
              goal_label: str | None = None, height: int | None = None, empty_text: str | None = None,
              fit_width: int = 820) -> go.Figure:
    """Most common paths (``flows.top_paths``) as horizontal bars: share of customers,
    and the share of each path's customers who reached the goal (``goal_label``) in text;
    without a goal the title says what to set. Path labels and bar texts are wrapped, and
    the axis leaves room for the texts, for a figure at least ``fit_width`` px wide."""
    what = "Most common paths"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No journeys to show.", figure_title(what, subject))
    df = frame.copy()
    label_px = 0.38 * fit_width
    wrapped = [_wrap_path(p, label_px, 12) for p in df["path"].astype(str)]
    conv = df["conversion"].astype(float)
    plot_px = fit_width - label_px - 50
    text, widest = [], 1.0
    for s, c, p in zip(df["share"].astype(float), df["customers"], conv):
        lines = [f"{s:.1%} · {int(c):,} customers"]
        if goal_label and pd.notna(p):
            lines.append(f"{p:.0%} reached {goal_label}")
        # One line when it fits beside the longest bar's share of the plot, else two.
        one = " · ".join(lines)
        lines = [one] if text_width(one, 13) < 0.55 * plot_px else lines
        widest = max(widest, max(text_width(x, 13) for x in lines))
        text.append("<br>".join(_esc(x) for x in lines))
    custom = np.column_stack([df["customers"].astype(int), [_esc(p) for p in df["path"]]])
    fig = go.Figure(
        go.Bar(
            y=wrapped, x=df["share"].astype(float), orientation="h", marker_color=OKABE_ITO[0],
            text=text, textposition="outside", cliponaxis=False, customdata=custom,
            textfont=dict(size=13),
            hovertemplate="%{customdata[1]}<br>%{customdata[0]:,} customers (%{x:.1%})<br>%{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True, tickfont=dict(size=12))
    # The longest bar ends where its text still fits right of it.
    top = float(df["share"].astype(float).max()) or 1.0
    stretch = plot_px / max(plot_px - widest - 12, 0.25 * plot_px)
    _share_axis(fig, top * stretch)
    title = figure_title(what, subject, customers)
    title = (_with_note(title, f"with the share that reached {_esc(goal_label)}", first=True) if goal_label
             else _with_note(title, NO_GOAL_HINT))
    lines = sum(p.count("<br>") + 1 for p in wrapped)
    h = height or max(320, 20 * lines + 24 * len(df) + 150)
    return _finish(fig, title, height=h, fit_width=fit_width)


def _wrap_path(path: str, width_px: float, size: float) -> str:
    """A path's elements on as few lines as fit ``width_px``, broken after a " >"."""
    parts = path.split(" > ")
    lines, line = [], ""
    for p in parts:
        piece = p if not line else f"{line} > {p}"
        if text_width(piece + " >", size) > width_px and line:
            lines.append(line + " >")
            line = p
        else:
            line = piece
    lines.append(line)
    return "<br>".join(_esc(x) for x in lines)


# ----------------------------------------------------------------------------- personas


def persona_map(frame: pd.DataFrame, *, subject: str | None = None,
                colors: Mapping[str, str] | None = None, max_points: int = 8000,
                height: int = 520, fit_width: int = 820) -> go.Figure:
    """Customers on the 2-D map (columns x, y, persona), coloured by persona.

    Large sets are thinned to ``max_points`` (a fixed random sample) so the map stays
    readable and fast; the title keeps the full count.
    """
    what = "Map of customers by persona"
    if frame is None or frame.empty:
        return empty_figure("No customers to map.", figure_title(what, subject))
    total = len(frame)
    df = frame.sample(max_points, random_state=0) if total > max_points else frame
    fig = go.Figure()
    for i, (persona, part) in enumerate(_ordered_groups(df, colors)):
        fig.add_trace(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=str(persona),
            marker=dict(size=6, color=_color_for(str(persona), colors, i), opacity=0.65),
            customdata=part["customer_id"].astype(str),
            hovertemplate=f"{persona}<br>customer %{{customdata}}<extra></extra>",
        ))
    # The map's axes have no units: only distance means something, so they carry no names.
    fig.update_xaxes(title_text=None, showticklabels=False, zeroline=False)
    fig.update_yaxes(title_text=None, showticklabels=False, zeroline=False)
    fig.update_layout(legend=dict(title_text="Persona", itemsizing="constant"))
    note = f"showing a random {max_points:,}; " if total > max_points else ""
    title = figure_title(what, f"{subject + ' · ' if subject else ''}{total:,} customers, {note}"
                               "customers close together behave alike; the axes have no units")
    return _finish(fig, title, height=height, fit_width=fit_width)


def silhouette_curve(curve: Mapping[int, float] | pd.DataFrame, *, chosen: int | None = None,
                     height: int = 320, fit_width: int = 380) -> go.Figure:
    """Silhouette score per number of personas (higher = better separated), chosen k marked;
    the title wrapped for a chart at least ``fit_width`` px wide (it sits in a side column)."""
    if isinstance(curve, pd.DataFrame):
        ks, scores = curve.iloc[:, 0].astype(int).tolist(), curve.iloc[:, 1].astype(float).tolist()
    else:
        items = sorted((int(k), float(v)) for k, v in dict(curve).items())
        ks, scores = [k for k, _ in items], [v for _, v in items]
    fig = go.Figure(go.Scatter(x=ks, y=scores, mode="lines+markers", line=dict(color=OKABE_ITO[0], width=3),
                               marker=dict(size=9),
                               hovertemplate="%{x} personas: silhouette %{y:.3f}<extra></extra>"))
    if chosen is not None and chosen in ks:
        fig.add_trace(go.Scatter(x=[chosen], y=[scores[ks.index(chosen)]], mode="markers",
                                 marker=dict(size=16, color=OKABE_ITO[1], symbol="star"),
                                 name="chosen", hovertemplate="chosen: %{x}<extra></extra>"))
    fig.update_xaxes(title_text="Number of personas", dtick=1)
    fig.update_yaxes(title_text="Separation (silhouette)")
    fig.update_layout(showlegend=False, margin=dict(l=20, r=20, t=80, b=40))
    title = figure_title("How clearly customers split into groups", "higher = clearer; the star is the choice")
    return _finish(fig, title, height=height, fit_width=fit_width)


# ----------------------------------------------------------------------------- insights
# Pain points, key drivers and the journey map figure (owned by the journey-map page).


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text) -> str:
    """User text shown literally by Plotly (which reads <b>, <br>, <a>... in labels)."""
    import html

    return html.escape(str(text), quote=False)


def _wrap(text: str, width: int, max_lines: int | None = None) -> str:
    """Wrapped to ``width`` characters, each line escaped, joined with <br>."""
    import textwrap

    lines = textwrap.wrap(str(text), width=max(width, 8), break_long_words=True) or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _short(lines[-1] + " …", width)
    return "<br>".join(_esc(line) for line in lines)


def pain_points_chart(frame: pd.DataFrame, *, subject: str | None = None, top: int = 10,
                      score_label: str | None = None, height: int | None = None,
                      goal_label: str | None = None, empty_text: str | None = None) -> go.Figure:
    """Top pain points from ``insights.pain_points`` as stacked bars of impact.

    Impact = customers who left without the goal + answers x how far the rating sits below
    the overall mean (a share of the scale; only significantly below-average ratings); the
    two parts are the two colours, and the text beside each bar gives the numbers behind
    it: who left, and the mean with its 95% interval and n. ``empty_text`` is what to say
    when there are none (pass ``insights.pain_point_summary``: it says what was checked).
    """
    what = "Pain points, ranked by impact"
    if frame is None or frame.empty:
        return empty_figure(empty_text or "No stage or touchpoint stands out as a pain point.",
                            figure_title(what, subject))
    goal = goal_label or "the goal"
    df = frame.head(top).copy()
    # Every bar at one stage (a survey of one stage): the stage is said once, in the title.
    places = set(df["stage"].dropna().astype(str))
    one_stage = len(places) == 1 and df["stage"].notna().all() and (df["level"] == "touchpoint").all()
    if one_stage:
        subject = f"{subject + ' · ' if subject else ''}all at {next(iter(places))}"
    labels = []
    for s, t, lvl in zip(df["stage"], df["touchpoint"], df["level"]):
        staged = isinstance(s, str) and s != "" and not one_stage
        text = (f"{s} · {t}" if staged else str(t)) if lvl == "touchpoint" else f"{s} (whole stage)"
        labels.append(_wrap(text, 34, 2))
    leave = df["left"].astype(float)
    rated = df["score_n"] * df["score_gap"]
    evidence = []
    for r in df.itertuples():
        bits = []
        if r.left > 0:
            bits.append(f"{int(r.left):,} of {int(r.customers):,} left ({r.drop_off_rate:.0%})")
        if r.below_average:
            # Two lines: one long line beside a bar runs off a slide's narrow picture.
            bits.append(f"rated {r.mean_score:.2f} vs {r.overall_mean:.2f} average\n"
                        f"95% CI {r.ci_low:.2f}-{r.ci_high:.2f}, n={int(r.score_n):,}")
        evidence.append("<br>".join(_esc(x) for x in " · ".join(bits).split("\n")))
    fig = go.Figure()
    # Each part appears (and is named in the legend) only when some pain point has it.
    fig.add_trace(go.Bar(y=labels, x=leave, orientation="h", name=_esc(f"customers who left without {goal}"),
                         marker_color=OKABE_ITO[4], visible=bool((leave > 0).any()),
                         hovertemplate="%{y}<br>left without the goal: %{x:,.0f}<extra></extra>"))
    fig.add_trace(go.Bar(y=labels, x=rated, orientation="h", name="answers × gap below the average rating",
                         showlegend=bool((rated > 0).any()),
                         marker_color=OKABE_ITO[1], text=evidence, textposition="outside",
                         cliponaxis=False, textfont=dict(size=12, color="#333333"),
                         hovertemplate="%{y}<br>rating part: %{x:,.0f}<extra></extra>"))
    # Room on the right for the evidence text.
    lost = bool((leave > 0).any())
    # Short enough for the narrow plot beside long names in a 600 px column.
    fig.update_xaxes(title_text=("Impact: customers lost + answers × rating gap" if lost else
                                 "Impact: answers × rating gap"),
                     range=[0, float(df["impact"].max()) * 2.6])
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(barmode="stack", margin=dict(l=20, r=20, t=70, b=120))
    _legend_at_bottom(fig)
    h = height or max(370, 46 * len(df) + 230)
    return _finish(fig, figure_title(what, subject), height=h)


def themes_chart(table: pd.DataFrame, *, subject: str | None = None, top: int = 8,
                 height: int | None = None) -> go.Figure:
    """Comment themes (rows of :func:`journeylib.voice.theme_table` with ``theme_id`` > 0)
    as bars of their comments, the share and mean score beside each; themes whose
    comments lean negative (``tone`` < 0) in red (vermillion), the others blue."""
    what = "Comment themes"
    df = table[table["theme_id"] > 0].head(top) if table is not None and len(table) else pd.DataFrame()
    if df.empty:
        return empty_figure("No themes formed in these comments.", figure_title(what, subject))
    labels = [_wrap(str(t), 34, 2) for t in df["theme"]]
    text = [f"{int(c):,} ({s:.0%})" + ("" if pd.isna(m) else f" · mean score {m:.1f}")
            for c, s, m in zip(df["comments"], df["share"], df["mean_score"])]
    tone = df["tone"] if "tone" in df else pd.Series(np.nan, index=df.index)
    colors = [OKABE_ITO[4] if pd.notna(t) and t < 0 else OKABE_ITO[0] for t in tone]
    fig = go.Figure(go.Bar(y=labels, x=df["comments"], orientation="h", marker_color=colors, text=text,
                           textposition="outside", cliponaxis=False, textfont=dict(size=12, color="#333333"),
                           hovertemplate="%{y}<br>%{x:,} comments<extra></extra>"))
    fig.update_xaxes(title_text="Comments in the theme (red: they lean negative; blue: not)",
                     range=[0, float(df["comments"].max()) * 1.8])
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False, margin=dict(l=20, r=20, t=70, b=60))
    h = height or max(300, 46 * len(df) + 170)
    return _finish(fig, figure_title(what, subject, None), height=h)


# Quadrant colours: fix first stands out; the others recede.
QUADRANT_COLORS = {"Fix first": OKABE_ITO[4], "Keep up": OKABE_ITO[2], "Low priority": "#8C8C8C",
                   "Don't overinvest": OKABE_ITO[0], "Goes the other way": "#B0B0B0"}


def _driver_effect_text(r, binary: bool) -> str:
    """A short effect beside a bar: '+7.8 pts per point', '2.9× as likely', '+0.84 per point'."""
    if r.kind == "touchpoint used":
        if pd.isna(r.effect):
            return ""
        return f"{r.effect:.2f}× as likely" if binary else f"{r.effect:+.2f} on average"
    return f"{100 * r.effect:+.1f} pts per point" if binary else f"{r.effect:+.2f} per point"


def key_drivers_chart(result, *, subject: str | None = None, height: int | None = None,
                      x_max: float | None = None) -> go.Figure:
    """Key drivers from ``insights.key_drivers``: each input's share of what the inputs
    explain together (Shapley share of R-squared) with its 95% bootstrap interval, most
    important on top. Ratings are coloured by their importance-performance quadrant;
    touchpoints used by whether they go with more (blue) or less (grey) of the outcome.
    ``x_max`` (in %) fixes the axis, so charts of parts of one table compare."""
    table = result.table
    what = f"Key drivers of {result.label}"
    if table is None or table.empty:
        return empty_figure("No inputs to explain the outcome.", figure_title(what, subject))
    df = table.iloc[::-1]  # largest on top
    colors = [QUADRANT_COLORS.get(q, OKABE_ITO[0]) if k != "touchpoint used" else
              (OKABE_ITO[5] if d > 0 else "#B0B0B0") for q, k, d in zip(df["quadrant"], df["kind"], df["direction"])]
    labels = [_wrap(v, 30, 2) for v in df["label"]]
    share = 100 * df["importance"]
    fig = go.Figure(go.Bar(
        y=labels, x=share, orientation="h", marker_color=colors,
        error_x=dict(type="data", symmetric=False, array=100 * df["importance_high"] - share,
                     arrayminus=share - 100 * df["importance_low"], color="#444444", thickness=1.5),
        customdata=[_wrap(r, 70) for r in df["reading"]],
        hovertemplate="%{customdata}<extra></extra>",
    ))
    text = [f" {share_i:.0f}% · {_esc(_driver_effect_text(r, result.binary))} "
            for share_i, r in zip(share, df.itertuples())]
    fig.add_trace(go.Scatter(
        y=labels, x=100 * df["importance_high"], mode="text", text=text, textposition="middle right",
        cliponaxis=False, textfont=dict(size=12, color="#333333"), hoverinfo="skip", showlegend=False,
    ))
    top = float(np.nanmax(100 * df["importance_high"].to_numpy()))
    end = x_max or top * 1.6
    fig.update_xaxes(title_text="Share of what the inputs explain together, % (95% interval)",
                     range=[0, end], zeroline=False)
    if end > 100:  # room for the text beside a bar near 100%; a share never goes past it
        fig.update_xaxes(tickvals=list(range(0, 101, 20)))
    fig.update_yaxes(automargin=True)
    # A legend of the colours in use: quadrants for ratings, direction for touchpoints used.
    keys = [q for q in QUADRANT_COLORS if q in set(df["quadrant"].dropna())]
    used = df[df["kind"] == "touchpoint used"]
    key_colors = [(q, QUADRANT_COLORS[q]) for q in keys]
    if (used["direction"] > 0).any():
        key_colors.append(("touchpoint goes with more", OKABE_ITO[5]))
    if (used["direction"] < 0).any():
        key_colors.append(("touchpoint goes with less", "#B0B0B0"))
    for name, color in key_colors:
        fig.add_trace(go.Bar(x=[None], y=[None], orientation="h", name=_esc(name), marker_color=color,
                             hoverinfo="skip", showlegend=True))
    fig.update_layout(showlegend=True, margin=dict(l=20, r=20, t=70, b=120))
    _legend_at_bottom(fig)
    fig.data[0].showlegend = fig.data[1].showlegend = False
    h = height or max(360, 40 * len(df) + 230)
    return _finish(fig, figure_title(what, subject, result.n), height=h)


def _place_labels(px: np.ndarray, py: np.ndarray, texts: Sequence[str], char_px: float = 7.0,
                  line_px: float = 15.0, pad: float = 9.0, bars: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> list[str]:
    """A Plotly textposition per point (pixel coordinates, y up) chosen greedily so label
    boxes overlap each other, the markers and their vertical error bars (``bars``: pixel
    low and high per point) as little as possible."""
    options = ("top center", "bottom center", "middle right", "middle left",
               "top right", "top left", "bottom right", "bottom left")
    placed: list[tuple[float, float, float, float]] = [(x - 6, y - 6, x + 6, y + 6) for x, y in zip(px, py)]
    if bars is not None:
        placed += [(x - 3, lo, x + 3, hi) for x, lo, hi in zip(px, *bars)]
    out = [""] * len(texts)
    for i in sorted(range(len(texts)), key=lambda i: -py[i]):
        w, h = char_px * max(len(line) for line in str(texts[i]).split("<br>")), line_px * (str(texts[i]).count("<br>") + 1)
        best, best_cost = options[0], math.inf
        for opt in options:
            v, hz = opt.split()
            cx = px[i] + (0 if hz == "center" else (pad + w / 2) if hz == "right" else -(pad + w / 2))
            cy = py[i] + (0 if v == "middle" else (pad + h / 2) if v == "top" else -(pad + h / 2))
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            cost = sum(max(0.0, min(box[2], b[2]) - max(box[0], b[0])) * max(0.0, min(box[3], b[3]) - max(box[1], b[1]))
                       for b in placed)
            if cost < best_cost - 1e-9:
                best, best_cost = opt, cost
        out[i] = best
        v, hz = best.split()
        cx = px[i] + (0 if hz == "center" else (pad + w / 2) if hz == "right" else -(pad + w / 2))
        cy = py[i] + (0 if v == "middle" else (pad + h / 2) if v == "top" else -(pad + h / 2))
        placed.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return out


def importance_performance_chart(result, *, subject: str | None = None, height: int | None = None,
                                 width_hint: int = 900, score_label: str | None = None) -> go.Figure:
    """Importance against performance for the rated drivers of ``insights.key_drivers``:
    one marker per rating at (mean rating, share of what the inputs explain) with its 95%
    importance interval, dashed lines at the means of both, and the four quadrants named in
    plain words: "Fix first" (important, rated low), "Keep up" (important, rated high),
    "Low priority", "Don't overinvest". ``width_hint`` is the width the labels are placed for."""
    what = f"What to fix first for {result.label}"
    table = result.table
    rated = table[table["kind"] != "touchpoint used"] if table is not None and len(table) else table
    if rated is None or rated.empty:
        return empty_figure("Importance against performance needs ratings (a survey with a score per touchpoint "
                            "or stage); these key drivers are touchpoints used only.", figure_title(what, subject))
    x = rated["performance"].to_numpy(dtype=float)
    y = 100 * rated["importance"].to_numpy(dtype=float)
    lo, hi = 100 * rated["importance_low"].to_numpy(dtype=float), 100 * rated["importance_high"].to_numpy(dtype=float)
    x_mid, y_mid = float(np.mean(x)), float(np.mean(y))
    x_span = max(float(x.max() - x.min()), 0.2)
    x_range = [float(x.min()) - 0.25 * x_span, float(x.max()) + 0.25 * x_span]
    y_top = float(np.nanmax(np.append(hi, y))) * 1.18
    y_range = [-0.06 * y_top, y_top]
    names = [_wrap(n, 22, 2) for n in rated["label"]]
    h = height or 600
    plot_w, plot_h = width_hint - 120, h - 170
    px = (x - x_range[0]) / (x_range[1] - x_range[0]) * plot_w
    py = (y - y_range[0]) / (y_range[1] - y_range[0]) * plot_h
    to_px = lambda v: (v - y_range[0]) / (y_range[1] - y_range[0]) * plot_h  # noqa: E731
    positions = _place_labels(px, py, names, bars=(to_px(lo), to_px(hi)))
    fig = go.Figure()
    quadrant = rated["quadrant"].to_numpy()
    readings = np.array([_wrap(r, 70) for r in rated["reading"]], dtype=object)
    for q, color in QUADRANT_COLORS.items():
        i = np.nonzero(quadrant == q)[0]
        if not len(i):
            continue
        other_way = q == "Goes the other way"
        fig.add_trace(go.Scatter(
            x=x[i], y=y[i], mode="markers+text", text=[names[k] for k in i],
            textposition=[positions[k] for k in i], cliponaxis=False, textfont=dict(size=12, color="#333333"),
            marker=dict(size=12, color="#FFFFFF" if other_way else color, symbol="circle",
                        line=dict(color=color if other_way else "#FFFFFF", width=2 if other_way else 1)),
            error_y=dict(type="data", symmetric=False, array=hi[i] - y[i], arrayminus=y[i] - lo[i], color="#999999",
                         thickness=1),
            customdata=readings[i], hovertemplate="%{customdata}<extra></extra>",
            name=_esc(f"a better rating goes with less {result.label} (other ratings equal)") if other_way else q,
            showlegend=other_way,
        ))
    fig.add_vline(x=x_mid, line_dash="dash", line_color="#888888", line_width=1)
    fig.add_hline(y=y_mid, line_dash="dash", line_color="#888888", line_width=1)
    corners = (("Fix first", 0.01, 0.99, "left", "top"), ("Keep up", 0.99, 0.99, "right", "top"),
               ("Low priority", 0.01, 0.01, "left", "bottom"), ("Don't overinvest", 0.99, 0.01, "right", "bottom"))
    for name, ax, ay, xa, ya in corners:
        fig.add_annotation(text=f"<b>{name}</b>", x=ax, y=ay, xref="paper", yref="paper", xanchor=xa, yanchor=ya,
                           showarrow=False, font=dict(size=15, color=QUADRANT_COLORS[name]),
                           bgcolor="rgba(255,255,255,0.85)")
    scale = f" ({score_label})" if score_label else ""
    fig.update_xaxes(title_text=f"Performance: mean rating{scale} →", range=x_range, zeroline=False)
    fig.update_yaxes(title_text="Importance: share of what the inputs explain, % →", range=y_range, zeroline=False)
    fig.update_layout(margin=dict(l=20, r=30, t=80, b=120))
    _legend_at_bottom(fig)
    return _finish(fig, figure_title(what, subject, result.n), height=h)


_MAP_LANE_ORDER = ("doing", "channels", "emotion", "nps", "pains", "themes", "opportunities", "quotes", "changed")
_MAP_LANE_TINT = {"doing": "#F3F7FB", "channels": "#FFFFFF", "emotion": "#F3F7FB", "nps": "#FFFFFF",
                  "pains": "#FDF3EE", "themes": "#FFFFFF", "opportunities": "#F1F8F5", "quotes": "#FFFFFF",
                  "changed": "#F5F3FA"}
_MAP_GREY = "#5A5A5A"  # evidence text: lighter than the item, still 6.9:1 on the lane tints
MAP_MIN_FONT = 12  # px: the smallest text the map draws in the app
MAP_COUNT_RULE = "reached: customers who reached the stage or a later one"
MAP_ANSWER_RULE = "answered: customers who rated the stage (a survey alone: no touchpoint events)"


MAP_QUOTE_CHARS = 240  # a longer comment is a paragraph: the cell quotes its first sentence


def _map_quote(text: str) -> tuple[str, str]:
    """What a map cell quotes of a comment, and a note when it is not all of it: the whole
    comment, else its first sentence, else a pointer to the table (nothing is cut short)."""
    import re

    text = " ".join(str(text).split())
    if len(text) <= MAP_QUOTE_CHARS:
        return f"“{text}”", ""
    words = len(text.split())
    first = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]
    if len(first) <= MAP_QUOTE_CHARS:
        return f"“{first}”", f"first sentence of {words:,} words"
    return f"A comment of {words:,} words", "read it in the table of the map's items"


def _map_cell_text(lane: str, items, width: float, size: float) -> tuple[str, int]:
    """A cell's items as Plotly text wrapped to ``width`` px, and its number of lines."""
    parts: list[str] = []

    def add(text: str, bold: bool = False, italic: bool = False, grey: bool = False) -> None:
        for line in wrap_to_width(text, width, size, bold):
            body = _esc(line)
            body = f"<b>{body}</b>" if bold else f"<i>{body}</i>" if italic else body
            parts.append(f"<span style='color:{_MAP_GREY}'>{body}</span>" if grey else body)

    for item in items:
        if lane == "quotes":
            quote, note = _map_quote(item.text)
            add(quote, italic=True)
            add(item.evidence + (f" · {note}" if note else ""), grey=True)
        elif lane in ("pains", "nps", "themes", "changed"):
            add(item.text, bold=True)
            if item.evidence:
                add(item.evidence, grey=True)
        elif lane == "opportunities":
            indent = "\u00a0\u00a0\u00a0"  # lines after the first start under the text, past the bullet
            lines = wrap_to_width(item.text, width - max(text_width("• ", size), text_width(indent, size)), size)
            parts.extend(("• " if i == 0 else indent) + _esc(x) for i, x in enumerate(lines))
        else:  # a touchpoint or channel and its share of the stage's customers
            share = f" {item.share:.0%}" if item.share is not None else ""
            lines = wrap_to_width(f"{item.text}{share}", width, size)
            last = lines[-1]
            # The share in grey on the last line, when it fits there whole.
            if share and last.endswith(share.strip()):
                lines[-1] = last[: -len(share.strip())].rstrip()
                tail = f"<span style='color:{_MAP_GREY}'>{_esc(share.strip())}</span>"
                lines[-1] = f"{_esc(lines[-1])} {tail}" if lines[-1] else tail
                parts += [_esc(x) for x in lines[:-1]] + [lines[-1]]
            else:
                parts += [_esc(x) for x in lines]
    return "<br>".join(parts), len(parts)


# Lanes a slide that must fit its window leaves out first (the page and the deck keep them).
_MAP_LANES_TO_SPARE = ("quotes", "themes", "channels", "changed", "nps", "opportunities", "doing")


def journey_map_fitting(jm, height: int, **kwargs) -> tuple[go.Figure, list[str]]:
    """The journey map no taller than ``height`` pixels where leaving out lanes can make it
    so: lanes go in :data:`_MAP_LANES_TO_SPARE` order until it fits (emotion and pain
    points always stay). Returns the figure and the names of the lanes left out."""
    from journeylib.journey_map import LANES

    lanes = list(_MAP_LANE_ORDER)
    left_out: list[str] = []
    fig = journey_map_figure(jm, height=height, lanes=lanes, **kwargs)
    for lane in _MAP_LANES_TO_SPARE:
        if (fig.layout.height or 0) <= height:
            break
        if lane in lanes and (lane == "emotion" or any(jm.items(lane, s) for s in jm.stages)):
            lanes.remove(lane)
            left_out.append(LANES[lane])
            fig = journey_map_figure(jm, height=height, lanes=lanes, **kwargs)
    return fig, left_out


def journey_map_figure(jm, *, height: int | None = None, width: int | None = None,
                       fit_width: int = 1100, font_scale: float = 1.0, font_size: float = MAP_MIN_FONT,
                       lanes: Sequence[str] | None = None, ranks: slice | None = None,
                       show_title: bool = True) -> go.Figure:
    """The journey map as one figure: stages as columns, lanes as rows, the emotion curve
    drawn as one continuous line across the stages with its scores, evidence in each cell.

    ``jm`` is a :class:`journeylib.journey_map.JourneyMap`. Plotly cannot wrap text, so
    every cell's text is wrapped here for a figure ``width`` pixels wide (fixed) or, when
    the figure stretches to its container, at least ``fit_width`` wide; each lane is as
    tall as its fullest cell, so nothing is cut. ``font_size`` is the body text in pixels
    (never below :data:`MAP_MIN_FONT` times ``font_scale``, which enlarges every font for
    presenting); ``height`` is a minimum (lanes share any extra room). ``lanes`` draws
    only some lanes and ``ranks`` only some items of each cell (a deck splits the map over
    slides: :func:`journey_map_pages`). Customers at a stage follow the funnel rule, as
    the header says.
    """
    from journeylib.journey_map import LANES

    fs = float(font_scale)
    size = max(float(font_size), MAP_MIN_FONT) * fs
    rule = MAP_ANSWER_RULE if getattr(jm, "survey_only", False) else MAP_COUNT_RULE
    title = _with_note(figure_title("Journey map", jm.group, jm.customers), rule) if show_title else None
    if not jm.stages:
        return empty_figure("No customer reached a stage of the stage order.", title or "")
    stages = list(jm.stages)
    # A lane with nothing in any stage (no channel column, no survey) is left out: an empty
    # row reads as a broken map. The map's notes say what is missing.
    filled = {lane for lane in _MAP_LANE_ORDER if (len(jm.emotion) if lane == "emotion" else
                                                   any(jm.items(lane, st) for st in stages))}
    lanes = [lane for lane in (_MAP_LANE_ORDER if lanes is None else lanes) if lane in filled]
    ncol = len(stages)
    margin = dict(l=10, r=10, t=round(64 * max(fs, size / MAP_MIN_FONT)) if show_title else 10, b=10)
    plot_w = (width or fit_width) - margin["l"] - margin["r"]
    pad = 0.5 * size
    # The lane names' longest word fits the label column unbroken.
    widest = max([text_width(w, size, bold=True) for lane in lanes for w in LANES[lane].split()] + [0])
    label_w = max(min(max(plot_w * 0.14, 8.5 * size), 15 * size), widest + 2 * pad + 2)
    col_w = (plot_w - label_w) / ncol
    text_w = col_w - 2 * pad
    line_px = LINE_SPACING * size

    def block(n_lines: int) -> float:
        return n_lines * line_px + 2 * pad

    # Stage names a little larger than the body, but never so large a word must break.
    longest = max((text_width(w, 1, bold=True) for st in stages for w in str(st).split()), default=1)
    head_size = max(min(size + 2 * fs, text_w / longest), size)
    colors = stage_colors(stages)
    heads, head_lines = [], 0
    for st in stages:
        name = wrap_to_width(st, text_w, head_size, bold=True)
        n = jm.stage_customers.get(st)
        sub = wrap_to_width(f"{n:,} {jm.count_word}", text_w, size) if n is not None else []
        heads.append((name, sub))
        head_lines = max(head_lines, len(name) * head_size / size + len(sub))
    header_h = block(head_lines)

    cells: dict[str, list[tuple[str, int]]] = {}
    lane_h: dict[str, float] = {}
    label_lines = {lane: wrap_to_width(LANES[lane], label_w - 2 * pad, size, bold=True) for lane in lanes}
    for lane in lanes:
        if lane == "emotion":
            # Room for the curve and its two-line labels above the highest point.
            lane_h[lane] = max(7.5 * line_px, block(len(label_lines[lane]) + 3))
            continue
        cells[lane] = [_map_cell_text(lane, jm.items(lane, st)[ranks or slice(None)], text_w, size) for st in stages]
        most = max([n for _, n in cells[lane]] + [1])
        lane_h[lane] = max(block(most), block(len(label_lines[lane])))
    total = header_h + sum(lane_h.values())
    fig_height = max(round(total + margin["t"] + margin["b"]), int(height or 0))
    extra = fig_height - margin["t"] - margin["b"] - total
    if extra > 0:  # a taller figure asked for: share the room between the lanes
        for lane in lanes:
            lane_h[lane] += extra / len(lanes)
        total += extra

    shapes, annotations = [], []
    x_of = [label_w + i * col_w for i in range(ncol + 1)]
    # Header: each stage's name and the customers who reached it (or a later stage).
    for i, st in enumerate(stages):
        fill = colors.get(st, NO_STAGE_COLOR)
        shapes.append(dict(type="rect", x0=x_of[i] + 2, x1=x_of[i + 1] - 2, y0=-header_h + 2, y1=-2,
                           fillcolor=fill, line=dict(width=0), layer="below"))
        ink = text_color_on(fill)
        name, sub = heads[i]
        text = "<br>".join(f"<b>{_esc(x)}</b>" for x in name)
        if sub:
            text += "<br>" + "<br>".join(f"<span style='font-size:{round(size)}px'>{_esc(x)}</span>" for x in sub)
        annotations.append(dict(x=(x_of[i] + x_of[i + 1]) / 2, y=-pad, text=text, showarrow=False,
                                xanchor="center", yanchor="top", align="center",
                                font=dict(color=ink, size=round(head_size))))
    top = -header_h
    lane_top = {}
    for lane in lanes:
        h = lane_h[lane]
        lane_top[lane] = top
        shapes.append(dict(type="rect", x0=0, x1=label_w, y0=top - h, y1=top,
                           fillcolor=_MAP_LANE_TINT[lane], line=dict(color="#DDDDDD", width=1), layer="below"))
        for i in range(ncol):
            # One rectangle per cell: its text stays inside it (the browser test measures this).
            shapes.append(dict(type="rect", x0=x_of[i], x1=x_of[i + 1], y0=top - h, y1=top,
                               fillcolor=_MAP_LANE_TINT[lane], line=dict(color="#DDDDDD", width=1), layer="below"))
        annotations.append(dict(x=pad, y=top - pad, text="<br>".join(f"<b>{_esc(x)}</b>" for x in label_lines[lane]),
                                showarrow=False, xanchor="left", yanchor="top", align="left",
                                font=dict(size=round(size), color="#262730")))
        for i, (text, n) in enumerate(cells.get(lane, [])):
            if n:
                annotations.append(dict(x=x_of[i] + pad, y=top - pad, text=text, showarrow=False,
                                        xanchor="left", yanchor="top", align="left",
                                        font=dict(size=round(size), color="#262730")))
        top -= h
    bottom = top
    parts = {"shapes": shapes, "annotations": annotations, "traces": []}
    if "emotion" in lanes and len(jm.emotion):
        _map_emotion(parts, jm, stages, x_of, lane_top["emotion"], lane_h["emotion"], size, pad, label_w,
                     len(label_lines["emotion"]))
    fig = go.Figure(parts["traces"])
    fig.update_layout(shapes=shapes, annotations=annotations, showlegend=False, margin=margin, plot_bgcolor="white")
    fig.update_xaxes(visible=False, range=[0, plot_w], fixedrange=True)
    fig.update_yaxes(visible=False, range=[bottom, 0], fixedrange=True)
    fig = _finish(fig, title, height=fig_height)
    if fs != 1:
        fig.update_layout(title_font_size=round(18 * fs))
    if width:
        fig.update_layout(width=width)
    return fig


# The deck's map leaves out the opportunities: the pain-points slide lists them in full.
DECK_MAP_LANES = ("doing", "channels", "emotion", "nps", "pains", "themes", "quotes", "changed")


def journey_map_pages(jm, *, width: int, height: int, first_height: int | None = None, font_size: float = 14,
                      lanes: Sequence[str] = DECK_MAP_LANES) -> list[go.Figure]:
    """The journey map as figures ``width`` px wide and at most ``height`` tall
    (``first_height`` for the first) where the content allows, for slides: ``lanes`` in
    order, as many to a figure as fit at ``font_size``; a lane too tall alone is drawn one
    item rank per figure."""
    def draw(group, ranks=None):
        return journey_map_figure(jm, width=width, font_size=font_size, lanes=group, ranks=ranks, show_title=False)

    def room(i: int) -> int:
        return first_height if i == 0 and first_height else height

    lanes = [lane for lane in lanes if (len(jm.emotion) if lane == "emotion" else
                                        any(jm.items(lane, st) for st in jm.stages))]
    pages: list[list[str]] = []
    current: list[str] = []
    for lane in lanes:
        if not current or draw(current + [lane]).layout.height <= room(len(pages)):
            current.append(lane)
            continue
        pages.append(current)
        current = [lane]
    pages.append(current)
    out = []
    for group in pages:
        fig = draw(group)
        if fig.layout.height <= room(len(out)) or len(group) > 1:
            out.append(fig)
            continue
        most = max(len(jm.items(group[0], st)) for st in jm.stages) if jm.stages else 0
        out += [draw(group, slice(k, k + 1)) for k in range(max(most, 1))]
    return out


def _map_emotion(parts: dict, jm, stages, x_of, top: float, h: float, size: float, pad: float,
                 label_w: float, label_lines: int) -> None:
    """The emotion lane: one line through the stages' mean scores, each point labelled with
    its mean and n above it, and the overall mean as a dotted line named under the lane's label."""
    em = jm.emotion.set_index("stage")
    line_px = LINE_SPACING * size
    values = list(em["mean"].astype(float)) + ([float(jm.overall_mean)] if jm.overall_mean is not None else [])
    lo, hi = min(values), max(values)
    full = (jm.scale.high - jm.scale.low) if jm.scale else max(hi - lo, 1.0)
    spread = max((hi - lo) * 0.1, full * 0.05)
    lo, hi = lo - spread, hi + spread
    # Points sit between the bottom pad and two label lines below the lane's top.
    y_lo, y_hi = top - h + pad + 0.5 * size, top - pad - 2 * line_px - 0.5 * size

    def to_y(v):
        return y_lo + (float(v) - lo) / (hi - lo) * (y_hi - y_lo)

    xs, ys, hover = [], [], []
    for i, st in enumerate(stages):
        if st not in em.index:
            continue
        r = em.loc[st]
        x, y = (x_of[i] + x_of[i + 1]) / 2, to_y(r["mean"])
        xs.append(x)
        ys.append(y)
        few = " (few)" if bool(r.get("low_n", False)) else ""
        parts["annotations"].append(dict(
            x=x, y=y + 0.6 * size, text=f"<b>{r['mean']:.1f}</b><br><span style='color:{_MAP_GREY}'>n={int(r['n']):,}{few}</span>",
            showarrow=False, xanchor="center", yanchor="bottom", align="center", font=dict(size=round(size)),
            bgcolor=_rgba(_MAP_LANE_TINT["emotion"], 0.85)))
        ci = "" if pd.isna(r["ci_low"]) else f"<br>95% CI {r['ci_low']:.2f}–{r['ci_high']:.2f}"
        hover.append(f"{_esc(st)}: mean {r['mean']:.2f}{ci}<br>n = {int(r['n']):,} answers")
    if jm.overall_mean is not None:
        oy = to_y(jm.overall_mean)
        parts["shapes"].append(dict(type="line", x0=label_w, x1=x_of[-1], y0=oy, y1=oy,
                                    line=dict(color="#888888", width=1, dash="dot")))
        key = wrap_to_width(f"····· overall mean {jm.overall_mean:.1f}", label_w - 2 * pad, size)
        parts["annotations"].append(dict(
            x=pad, y=top - pad - label_lines * LINE_SPACING * size, text="<br>".join(_esc(x) for x in key),
            showarrow=False, xanchor="left", yanchor="top", align="left", font=dict(size=round(size), color=_MAP_GREY)))
    parts["traces"].append(go.Scatter(
        x=xs, y=ys, mode="lines+markers", line=dict(color=OKABE_ITO[0], width=3, shape="spline"),
        marker=dict(size=0.8 * size, color=OKABE_ITO[0]), customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", showlegend=False, name="Mean score"))


def _share_axis(fig: go.Figure, end: float) -> None:
    """A share-of-customers x axis running to ``end`` (past 100% where bar text needs the
    room), with ticks only where a share can be."""
    limit = min(end, 1.0)
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if limit / s <= 5), 0.5)
    ticks = list(np.arange(0, limit + 1e-9, step))
    fig.update_xaxes(tickformat=".0%", title_text="Share of customers", range=[0, end], tickvals=ticks)


def persona_overview_chart(frame: pd.DataFrame, *, colors: Mapping[str, str] | None = None,
                           goal_label: str | None = None, height: int | None = None) -> go.Figure:
    """Persona sizes as bars (share of customers), with the share reaching the goal and the
    mean score in text.

    ``frame``: persona, customers, share, conversion (share who reached ``goal_label``; NaN
    without a goal), mean_score (may be NaN).
    """
    what = "Personas at a glance"
    if frame is None or frame.empty:
        return empty_figure("No personas to show.", what)
    df = frame
    text = []
    for r in df.itertuples():
        bits = [f"{int(r.customers):,} customers ({r.share:.0%})"]
        if goal_label and pd.notna(r.conversion):
            bits.append(f"{r.conversion:.0%} reached {goal_label}")
        if pd.notna(r.mean_score):
            bits.append(f"mean score {r.mean_score:.1f}")
        text.append(_esc(" · ".join(bits)))
    fig = go.Figure(go.Bar(
        y=[_esc(p) for p in df["persona"]], x=df["share"], orientation="h",
        marker_color=[_color_for(str(p), colors, i) for i, p in enumerate(df["persona"])],
        text=text, textposition="outside", cliponaxis=False,
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    _share_axis(fig, float(df["share"].max()) * 2.4)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False)
    h = height or max(300, 56 * len(df) + 160)
    sub = None if goal_label else NO_GOAL_HINT
    return _finish(fig, figure_title(what, sub, int(df["customers"].sum())), height=h)


# ----------------------------------------------------------------------------- comparisons, paths, time

UP_MARK, DOWN_MARK = "▲", "▼"
UP_COLOR, DOWN_COLOR, SAME_COLOR = OKABE_ITO[0], OKABE_ITO[4], "#8C8C8C"
_MEASURE_WORDS = {
    "reached": "Reach of each stage",
    "converted": "Conversion to the goal",
    "score": "Mean score",
    "nps": "NPS",
    "csat": "CSAT (share of answers in the top two points of the scale)",
    "pain": "Leaving after the top pain point",
    "node": "Share of customers at each node",
}


def format_duration(seconds: float | None) -> str:
    """A time span as people read it: 45 s, 12 min, 3.4 h, 2.1 d, 5 wk."""
    if seconds is None or pd.isna(seconds):
        return "–"
    s = float(seconds)
    for limit, unit, size in ((90, "s", 1), (90 * 60, "min", 60), (36 * 3600, "h", 3600), (14 * 86400, "d", 86400)):
        if abs(s) < limit:
            value = s / size
            return f"{value:.0f} {unit}" if unit in ("s", "min") or value >= 10 else f"{value:.1f} {unit}"
    return f"{s / (7 * 86400):.1f} wk"


def _is_share(measure: str) -> bool:
    from journeylib.compare import is_share

    return is_share(measure)


def _measure_words(measure: str) -> str:
    from journeylib.compare import MEAN_PREFIX, outcome_column

    column = outcome_column(measure)
    if column is not None:
        return f"{column}: mean" if measure.startswith(MEAN_PREFIX) else f"{column}: share with the positive answer"
    return _MEASURE_WORDS.get(measure, measure)


def _difference_text(measure: str, value: float) -> str:
    if pd.isna(value):
        return "–"
    if _is_share(measure):
        return f"{100 * value:+.1f} pts"
    return f"{value:+.2f}" if measure == "score" else f"{value:+.1f}"


def _mark(row) -> str:
    if not bool(row["significant"]):
        return ""
    return UP_MARK if row["difference"] > 0 else DOWN_MARK


def difference_chart(table: pd.DataFrame, *, measure: str = "reached", label_a: str = "A", label_b: str = "B",
                     subject: str | None = None, height: int | None = None) -> go.Figure:
    """One measure of :func:`journeylib.compare.compare` (b minus a) per stage: a dot with its
    95% interval; significant differences (p < 0.05) in colour with ▲/▼, others grey."""
    what = _measure_words(measure)
    subject = subject or f"{label_b} minus {label_a}"
    rows = table[table["measure"] == measure] if table is not None and len(table) else pd.DataFrame()
    if rows.empty:
        return empty_figure("Nothing to compare for this measure.", figure_title(what, subject))
    scale = 100.0 if _is_share(measure) else 1.0
    diff = rows["difference"].astype(float) * scale
    lo = rows["ci_low"].astype(float) * scale
    hi = rows["ci_high"].astype(float) * scale
    colors = [(UP_COLOR if d > 0 else DOWN_COLOR) if bool(s) else SAME_COLOR
              for d, s in zip(diff, rows["significant"])]
    labels = [f"{_difference_text(measure, d / scale)} {_mark(r)}".strip()
              + ("" if bool(r["significant"]) else " (no test)" if pd.isna(r["p_value"]) else " (n.s.)")
              for d, (_, r) in zip(diff, rows.iterrows())]
    fmt = (lambda v: f"{v:.1%}") if _is_share(measure) else (lambda v: f"{v:.2f}")
    hover = [
        f"<b>{_esc(r['stage'])}</b><br>{_esc(label_a)}: {fmt(r['a']) if pd.notna(r['a']) else '–'} (n={int(r['n_a']):,})"
        f"<br>{_esc(label_b)}: {fmt(r['b']) if pd.notna(r['b']) else '–'} (n={int(r['n_b']):,})"
        f"<br>difference {_difference_text(measure, r['difference'])}"
        + (f", 95% CI {_difference_text(measure, r['ci_low'])} to {_difference_text(measure, r['ci_high'])}"
           if pd.notna(r["ci_low"]) else "")
        + (f"<br>p = {r['p_value']:.3g}" if pd.notna(r["p_value"]) else "<br>no test (no variation)")
        for _, r in rows.iterrows()
    ]
    y = [_esc(s) for s in rows["stage"]]
    fig = go.Figure(go.Scatter(
        x=diff, y=y, mode="markers+text", text=labels, textposition="top center",
        marker=dict(size=12, color=colors),
        error_x=dict(type="data", symmetric=False, array=(hi - diff).fillna(0), arrayminus=(diff - lo).fillna(0),
                     color="#777777", thickness=1.5, width=6),
        customdata=hover, hovertemplate="%{customdata}<extra></extra>", cliponaxis=False,
    ))
    fig.add_vline(x=0, line_color="#444444", line_width=1)
    unit = "percentage points" if _is_share(measure) else \
        {"score": "points on the score scale", "nps": "NPS points"}.get(measure, "of the means")
    span = float(np.nanmax(np.abs(np.concatenate([lo.to_numpy(), hi.to_numpy(), diff.to_numpy()])))) if len(rows) else 1
    span = span if np.isfinite(span) and span > 0 else 1.0
    fig.update_xaxes(title_text=f"Difference ({unit}) with its 95% interval", range=[-1.15 * span, 1.15 * span],
                     zeroline=False)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False)
    h = height or max(260, 62 * len(rows) + 150)
    return _finish(fig, figure_title(what, subject), height=h)


def funnel_compare(funnel_a: pd.DataFrame, funnel_b: pd.DataFrame, table: pd.DataFrame | None = None, *,
                   label_a: str = "A", label_b: str = "B", subject: str | None = None,
                   height: int | None = None) -> go.Figure:
    """Two funnels side by side as shares of each view's customers (views of different sizes
    compare by share), one pair of bars per stage; a stage whose reach differs significantly
    (the ``reached`` rows of :func:`journeylib.compare.compare`) carries ▲/▼ and the
    difference on the second view's bar. Trace 0 is the first view, trace 1 the second."""
    what = "Funnel: share of each view's customers reaching each stage"
    if (funnel_a is None or funnel_a.empty) and (funnel_b is None or funnel_b.empty):
        return empty_figure("No customers in either view.", figure_title(what, subject))
    reached = {}
    if table is not None and len(table):
        reached = {r["stage"]: r for _, r in table[table["measure"] == "reached"].iterrows()}
    fig = go.Figure()
    stages: list[str] = []
    for i, (frame, label) in enumerate(((funnel_a, label_a), (funnel_b, label_b))):
        if frame is None or frame.empty:
            continue
        stages += [s for s in frame["stage"].astype(str) if s not in stages]
        text = []
        for stage, c, conv in zip(frame["stage"], frame["customers"], frame["conversion"].astype(float)):
            t = f"{conv:.0%} ({int(c):,})"
            r = reached.get(stage)
            if i == 1 and r is not None and bool(r["significant"]):
                t += f" {_mark(r)} {_difference_text('reached', r['difference'])}"
            text.append(t)
        fig.add_trace(go.Bar(
            name=_esc(label), y=frame["stage"].astype(str), x=frame["conversion"].astype(float), orientation="h",
            text=text, textposition="outside", cliponaxis=False, marker_color=(ALL_COLOR, OKABE_ITO[0])[i],
            hovertemplate=f"<b>%{{y}}</b> · {_esc(label)}<br>%{{text}} of its customers<extra></extra>",
        ))
    fig.update_yaxes(autorange="reversed", automargin=True, categoryorder="array", categoryarray=stages)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.45], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
                     title_text="Share of the view's customers (its first stage)")
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
                      bargap=0.25, bargroupgap=0.05)
    h = height or max(320, 64 * len(stages) + 170)
    return _finish(fig, figure_title(what, subject), height=h)


def sankey_compare(frame: pd.DataFrame, differences: pd.DataFrame | None = None, **kw) -> go.Figure:
    """:func:`sankey` of one view of a comparison, nodes whose share of customers differs
    significantly from the other view (:func:`journeylib.compare.sankey_differences`)
    labelled ▲ or ▼."""
    if frame is None or frame.empty or differences is None or differences.empty:
        return sankey(frame, **kw)
    marks = {(int(r["step"]), str(r["node"])): _mark(r) for _, r in differences.iterrows() if bool(r["significant"])}
    if not marks:
        return sankey(frame, **kw)
    df = frame.copy()
    df["source"] = [f"{s} {marks[(int(k), s)]}" if (int(k), s) in marks else s for k, s in zip(df["step"], df["source"])]
    df["target"] = [f"{t} {marks[(int(k) + 1, t)]}" if (int(k) + 1, t) in marks else t
                    for k, t in zip(df["step"], df["target"])]
    node_stage = dict(kw.pop("node_stage", None) or {})
    stage_level = kw.get("level") == "stage"
    for (_, name), mark in marks.items():
        stage = name if stage_level else node_stage.get(name)
        if stage:
            node_stage[f"{name} {mark}"] = stage
    if stage_level:
        # A marked stage node is no longer named after its stage: colour it through the
        # node -> stage map, as touchpoints are, and keep the stage-level title.
        for name in set(df["source"]) | set(df["target"]):
            node_stage.setdefault(name, name)
        kw["level"] = "touchpoint"
    fig = sankey(df, node_stage=node_stage, **kw)
    if stage_level:
        first = int(df["step"].min())
        denominator = int(df.loc[df["step"] == first, "customers"].sum())
        fig.update_layout(title=dict(text=figure_title("Customer journeys, step by step (stages)",
                                                       kw.get("subject"), denominator)))
    fig.add_annotation(text=f"{UP_MARK}/{DOWN_MARK}: share of customers significantly higher/lower than in the other view "
                            "(p < 0.05)", x=0, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                       showarrow=False, font=dict(size=12, color="#555555"))
    return fig


def backward_sankey(frame: pd.DataFrame, *, anchor: str, subject: str | None = None, level: str = "touchpoint",
                    stages: Sequence[str] = (), node_stage: Mapping[str, str] | None = None,
                    height: int = 520) -> go.Figure:
    """The step Sankey read back from an end (``flows.backward_sankey``): columns left to
    right end at the anchor; ``(start)`` nodes hold journeys shorter than the window."""
    what = f"What happened before {anchor}"
    if frame is None or frame.empty:
        return empty_figure(f"No journey in view reaches {anchor}.", figure_title(what, subject))
    fig = sankey(frame, subject=subject, level=level, stages=stages, node_stage=node_stage, height=height)
    reached = int(frame.loc[frame["step"] == -1, "customers"].sum())
    fig.update_layout(title=dict(text=figure_title(what, subject, reached)))
    # (start) is where short journeys begin, like (end) where they stop: grey, not a stage.
    node = fig.data[0].node
    colors = [END_COLOR if label == "(start)" else color for label, color in zip(node.label, node.color)]
    node.color = colors
    if NO_STAGE_COLOR not in colors:
        fig.data = [t for t in fig.data if getattr(t, "name", None) != NO_STAGE]
    return fig


def paths_between_chart(frame: pd.DataFrame, *, source: str, target: str, subject: str | None = None,
                        height: int | None = None) -> go.Figure:
    """Most common paths from ``source`` to the next ``target`` (``flows.paths_between``):
    bars by customers, with the median time and quartiles in the text."""
    what = f"Paths from {source} to {target}"
    if frame is None or frame.empty:
        return empty_figure(f"No journey in view goes from {source} to {target}.", figure_title(what, subject))
    df = frame
    text = [f"{int(c):,} customers ({s:.0%}) · median {format_duration(m)}"
            for c, s, m in zip(df["customers"], df["share"], df["median_seconds"])]
    hover = [f"{_esc(p)}<br>{int(c):,} customers<br>time: median {format_duration(m)}, "
             f"quartiles {format_duration(q1)} to {format_duration(q3)}"
             for p, c, m, q1, q3 in zip(df["path"], df["customers"], df["median_seconds"], df["q1_seconds"],
                                        df["q3_seconds"])]
    fig = go.Figure(go.Bar(
        y=[_wrap_path(str(p), 420, 12) for p in df["path"]], x=df["customers"].astype(int), orientation="h",
        marker_color=OKABE_ITO[2], text=text, textposition="outside", cliponaxis=False,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", automargin=True, tickfont=dict(size=12))
    fig.update_xaxes(title_text="Customers", range=[0, float(df["customers"].max()) * 1.9 or 1])
    total = int(round(float(df["customers"].iloc[0]) / float(df["share"].iloc[0]))) if float(df["share"].iloc[0]) else None
    h = height or max(300, 52 * len(df) + 150)
    return _finish(fig, figure_title(what, subject, total), height=h)


_TIME_TICKS = [1, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400]


def time_to_stage_chart(frame: pd.DataFrame, *, subject: str | None = None, colors: Mapping[str, str] | None = None,
                        height: int | None = None) -> go.Figure:
    """Time from the first event to each stage (``flows.time_to_stage``): the median as a
    dot and the quartiles as a bar, one colour per persona (or view), time on a log axis."""
    what = "Time from the first event to each stage"
    if frame is None or frame.empty:
        return empty_figure("No journey in view to time.", figure_title(what, subject))
    order = list(dict.fromkeys(frame["stage"].astype(str)))
    fig = go.Figure()
    groups = list(dict.fromkeys(frame["persona"].astype(str)))
    for i, group in enumerate(groups):
        part = frame[frame["persona"].astype(str) == group].set_index("stage").reindex(order)
        # Zero seconds (the first stage, reached at the first event) cannot sit on a log axis.
        med = part["median_seconds"].clip(lower=1)
        color = ALL_COLOR if group == ALL_PERSONAS and len(groups) > 1 else _color_for(group, colors, i)
        hover = [f"<b>{_esc(s)}</b> · {_esc(group)}<br>{int(n):,} customers arrived" 
                 f"<br>median {format_duration(m)}<br>quartiles {format_duration(a)} to {format_duration(b)}"
                 if pd.notna(n) else "" for s, n, m, a, b in
                 zip(order, part["customers"], part["median_seconds"], part["q1_seconds"], part["q3_seconds"])]
        fig.add_trace(go.Scatter(
            x=med, y=order, mode="markers", orientation="h", name=_esc("Everyone" if group == ALL_PERSONAS else group),
            marker=dict(size=11, color=color),
            error_x=dict(type="data", symmetric=False, array=(part["q3_seconds"].clip(lower=1) - med).fillna(0),
                         arrayminus=(med - part["q1_seconds"].clip(lower=1)).fillna(0), color=color, thickness=2),
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        ))
    fig.update_xaxes(type="log", title_text="Time since the customer's first event (median, quartile bar)",
                     tickvals=_TIME_TICKS, ticktext=[format_duration(t) for t in _TIME_TICKS])
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    fig.update_layout(scattermode="group", margin=dict(l=20, r=20, t=70, b=120))
    _legend_at_bottom(fig)
    h = height or max(360, 30 * len(order) * max(2, len(groups)) + 220)
    return _finish(fig, figure_title(what, subject), height=h)


def measure_by_group(frame: pd.DataFrame, *, value: str, what: str, x_label: str, subject: str | None = None,
                     share: bool = False, x_range: tuple[float, float] | None = None,
                     reference: float | None = None, reference_label: str = "overall",
                     empty_text: str | None = None, height: int | None = None,
                     number: str | None = None) -> go.Figure:
    """One measure per group (stage, touchpoint or persona) as a dot with its 95% interval:
    the frames of :func:`journeylib.emotions.nps_by`, ``csat_by`` and ``outcome_by``
    (columns group, n, ``value``, ci_low, ci_high). ``share``: values are 0-1 and shown as
    percentages; ``number`` formats the labels ("{:+.0f}" for NPS). Groups of fewer than 30
    are drawn open, as on the emotion curve."""
    title = figure_title(what, subject)
    if frame is None or frame.empty:
        return empty_figure(empty_text or "Nothing to show.", title)
    df = frame.reset_index(drop=True)
    scale = 100.0 if share else 1.0
    v = df[value].astype(float) * scale
    lo, hi = df["ci_low"].astype(float) * scale, df["ci_high"].astype(float) * scale
    unit = "%" if share else ""
    text = [number.format(x) if number else f"{x:.0f}{unit}" if share else f"{x:.2f}" for x in v]
    y = [f"{_esc(g)} (n={int(n):,})" for g, n in zip(df["group"], df["n"])]
    small = df["n"].astype(int) < 30
    hover = [f"<b>{_esc(g)}</b><br>{x:.1f}{unit}" + (f", 95% CI {a:.1f}{unit} to {b:.1f}{unit}" if pd.notna(a) else "")
             + f"<br>n = {int(n):,}" for g, x, a, b, n in zip(df["group"], v, lo, hi, df["n"])]
    fig = go.Figure(go.Scatter(
        x=v, y=y, mode="markers+text", text=text, textposition="top center", cliponaxis=False,
        marker=dict(size=11, color=OKABE_ITO[0], symbol=["circle-open" if s else "circle" for s in small],
                    line=dict(width=2, color=OKABE_ITO[0])),
        error_x=dict(type="data", symmetric=False, array=(hi - v).fillna(0), arrayminus=(v - lo).fillna(0),
                     color="#777777", thickness=1.5, width=6),
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    ))
    if reference is not None and np.isfinite(reference):
        fig.add_vline(x=reference * scale, line_color="#444444", line_width=1, line_dash="dot",
                      annotation_text=f"{reference_label} " + (number.format(reference) if number else
                                                               f"{reference * scale:.0f}{unit}" if share
                                                               else f"{reference:.2f}"),
                      annotation_position="top")
    if x_range is not None:
        fig.update_xaxes(range=[x_range[0] * scale, x_range[1] * scale])
    fig.update_xaxes(title_text=x_label, ticksuffix=unit, zeroline=not share)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False, margin=dict(l=20, r=30, t=100, b=60))
    return _finish(fig, title, height=height or max(280, 44 * len(df) + 170))


def persona_share_compare(table: pd.DataFrame, *, label_a: str = "A", label_b: str = "B",
                          subject: str | None = None, height: int | None = None) -> go.Figure:
    """Each persona's share of two views' customers (:func:`journeylib.compare.persona_shares`)
    as pairs of bars; a share that differs significantly (p < 0.05) carries ▲/▼ and the
    difference in points on the second view's bar. Trace 0 is the first view."""
    what = "Share of each persona"
    title = figure_title(what, subject or f"{label_a} against {label_b}")
    if table is None or table.empty:
        return empty_figure("No customers in either view.", title)
    df = table.reset_index(drop=True)
    y = [_esc(p) for p in df["persona"]]
    marks = [f"{_mark(r)} {100 * r['difference']:+.1f} pts" if bool(r["significant"]) else ""
             for _, r in df.iterrows()]
    fig = go.Figure()
    for i, (col, label, n) in enumerate((("a", label_a, "n_a"), ("b", label_b, "n_b"))):
        text = [f"{v:.0%}" + (f"  {m}" if i == 1 and m else "") for v, m in zip(df[col], marks)]
        fig.add_trace(go.Bar(
            y=y, x=df[col], name=f"{_esc(label)} (n={int(df[n].iloc[0]):,})", orientation="h",
            marker_color=OKABE_ITO[i], text=text, textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{x:.1%}<extra>" + _esc(label) + "</extra>"))
    top = float(np.nanmax(df[["a", "b"]].to_numpy())) if len(df) else 1.0
    fig.update_layout(barmode="group", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
                      margin=dict(l=20, r=40, t=110, b=60))
    fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, top * 1.35 + 0.02)], title_text="Share of the view's customers")
    fig.update_yaxes(autorange="reversed", automargin=True, ticksuffix="  ")
    return _finish(fig, title, height=height or max(300, 70 * len(df) + 190))
