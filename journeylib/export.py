"""Exports: chart images (PNG, SVG), a self-contained HTML report, a 16:9 PPTX deck.

Static images are drawn by kaleido 1.x in a headless Chrome/Chromium, started once per
process. Where no browser exists, image and deck export raise
:class:`ImageExportUnavailable` with install instructions; the HTML report needs no browser
(Plotly's JavaScript is embedded once, inline, so the file works offline and stays
interactive).
"""

from __future__ import annotations

import html
import io
import math
import os
import shutil
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import plotly.graph_objects as go

from journeylib.schema import JourneyData

INSTALL_HINT = (
    "PNG, SVG and deck export draw charts in a headless Chrome or Chromium, and none was found. "
    "Install one (Debian/Ubuntu: `apt-get install chromium`; or run `plotly_get_chrome`), "
    "or point BROWSER_PATH at it, then restart. The HTML report works without it."
)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1200, 560


class ImageExportUnavailable(RuntimeError):
    """No browser for static images; the message says how to install one."""


class ReportError(ValueError):
    """A report cannot be written as asked (bad file name, nothing to show...)."""


# --------------------------------------------------------------------------- static images

_server_lock = threading.Lock()
_render_lock = threading.Lock()
_server_state: dict[str, object] = {}


def find_browser() -> str | None:
    """Path of the browser kaleido will use: BROWSER_PATH if set, else the first on PATH,
    else one downloaded by ``plotly_get_chrome`` (choreographer's local copy)."""
    env = os.environ.get("BROWSER_PATH")
    if env and os.access(env, os.X_OK):
        return env
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    try:
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
        return str(found) if found else None
    except Exception:  # choreographer API differs across versions; best effort only
        return None


def images_available() -> bool:
    """True when a browser for static images exists (does not start it)."""
    return find_browser() is not None


def _ensure_server() -> None:
    """Start kaleido's sync server once per process, on the browser found above."""
    with _server_lock:
        if _server_state.get("started"):
            return
        if "error" in _server_state:
            raise ImageExportUnavailable(str(_server_state["error"]))
        browser = find_browser()
        if browser is None:
            _server_state["error"] = INSTALL_HINT
            raise ImageExportUnavailable(INSTALL_HINT)
        # choreographer reads BROWSER_PATH; mathjax=False keeps kaleido from fetching it online.
        os.environ.setdefault("BROWSER_PATH", browser)
        import kaleido

        try:
            kaleido.start_sync_server(silence_warnings=True, mathjax=False)
        except Exception as exc:  # the browser exists but will not start
            _server_state["error"] = f"The browser at {browser} did not start ({exc}). {INSTALL_HINT}"
            raise ImageExportUnavailable(str(_server_state["error"])) from exc
        _server_state["started"] = True


# White space every exported image keeps around its content, in pixels before scaling.
IMAGE_BORDER = 24


def _framed(image: bytes, fmt: str, width: int, height: int, border: int, scale: float) -> bytes:
    """``image`` (``width`` x ``height`` figure pixels, times ``scale``) inside a white
    ``border``. Added around the finished picture, not as margins, so Plotly's automatic
    margins (long axis labels) cannot take the border back."""
    if fmt == "svg":
        text = image.decode("utf-8")
        inner = text.replace("<svg ", f'<svg x="{border}" y="{border}" ', 1)
        w, h = width + 2 * border, height + 2 * border
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
                f'<rect width="{w}" height="{h}" fill="white"/>{inner}</svg>').encode("utf-8")
    from PIL import Image

    picture = Image.open(io.BytesIO(image)).convert("RGB")
    pad = round(border * scale)
    canvas = Image.new("RGB", (picture.width + 2 * pad, picture.height + 2 * pad), "white")
    canvas.paste(picture, (pad, pad))
    out = io.BytesIO()
    canvas.save(out, format="PNG" if fmt == "png" else "JPEG", quality=95)
    return out.getvalue()


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2, width: int | None = None,
                 height: int | None = None, border: int = IMAGE_BORDER) -> bytes:
    """The figure as PNG, SVG, JPEG or PDF bytes (PNG at 2x by default), ``width`` x
    ``height`` pixels of figure inside a white ``border`` (the image is ``2 * border``
    wider and taller, times ``scale``; a PDF keeps its own page)."""
    if fmt not in ("png", "svg", "jpeg", "pdf"):
        raise ValueError(f"image format must be png, svg, jpeg or pdf, got {fmt!r}")
    _ensure_server()
    import kaleido

    width = int(width or fig.layout.width or DEFAULT_WIDTH)
    height = int(height or fig.layout.height or DEFAULT_HEIGHT)
    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    with _render_lock:
        try:
            image = kaleido.calc_fig_sync(fig, opts=opts)
        except ImageExportUnavailable:
            raise
        except Exception as exc:
            raise ImageExportUnavailable(f"Could not draw the chart as {fmt.upper()}: {exc}") from exc
    return _framed(image, fmt, width, height, int(border), scale) if border and fmt != "pdf" else image


def figure_png(fig: go.Figure, scale: float = 2, width: int | None = None, height: int | None = None,
               border: int = IMAGE_BORDER) -> bytes:
    """PNG bytes at ``scale`` x the figure's size (2x: crisp on slides and retina screens)."""
    return figure_image(fig, "png", scale, width, height, border)


def figure_svg(fig: go.Figure, width: int | None = None, height: int | None = None,
               border: int = IMAGE_BORDER) -> bytes:
    """SVG bytes (vector; scale does not apply)."""
    return figure_image(fig, "svg", 1, width, height, border)


# --------------------------------------------------------------------------- report model


@dataclass
class Section:
    """One chart (and/or table) with its title and a one-line takeaway drawn from the data.

    ``table`` is shown as it is (build it with :func:`display_table`: human headers,
    numbers formatted). ``deck_pages``, when given, draws the section's slides instead of
    ``figure``: called with the picture's room on a slide (width, then the height on the
    first slide and on the next ones, in points, drawn 1 px = 1 pt), it returns the
    figures, one slide each (the journey map spreads its lanes over slides so its text
    stays at 14 pt).
    """

    title: str
    takeaway: str
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    bullets: list[str] = field(default_factory=list)  # shown beside the chart in the deck
    bullets_in_html: bool = True  # False: the table already says it in the HTML report
    notes: list[str] = field(default_factory=list)  # fine print, in the HTML report only
    deck_pages: Callable[[int, int, int], list[go.Figure]] | None = None


@dataclass
class Report:
    title: str
    facts: list[str]  # dataset, dates, filters, goal, customers
    sections: list[Section]


# --------------------------------------------------------------------------- tables

TABLE_ROWS = 10  # rows a report table shows; the rest wait in a collapsible part
LONG_CELL = 280  # characters of a cell shown before the rest folds away


def display_table(frame: pd.DataFrame, columns: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """``frame``'s columns as a reader sees them: ``(column, header, kind)`` each, kind
    ``int`` (1,234), ``pct`` (65%), ``score`` (3.7), ``num`` (1,234.5) or ``text``; missing
    values and absent columns are blank, never "None" or "nan"."""
    out = {}
    for col, header, kind in columns:
        values = frame[col] if col in frame.columns else pd.Series([None] * len(frame), index=frame.index)
        out[header] = [_cell(v, kind) for v in values]
    return pd.DataFrame(out, index=range(len(frame)))


def _cell(value, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value):.0%}"
    if kind == "score":
        return f"{float(value):.1f}"
    if kind == "num":
        return f"{float(value):,.1f}"
    return str(value)


def _cell_html(value) -> str:
    """A cell's escaped text; a long one (a 400-word review) shows its first words and folds
    the rest into a ``<details>`` the reader opens."""
    text = str(value)
    if len(text) <= LONG_CELL:
        return html.escape(text)
    cut = text.rfind(" ", 0, LONG_CELL)
    cut = cut if cut > LONG_CELL // 2 else LONG_CELL
    rest = len(text[cut:].split())
    return (f"<details class='cell'><summary>{html.escape(text[:cut])} … ({rest:,} more words)</summary>"
            f"{html.escape(text[cut:])}</details>")


def _rows_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell_html(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_html(frame: pd.DataFrame, top: int = TABLE_ROWS) -> str:
    """The first ``top`` rows as a table; any more in a ``<details>`` section below it."""
    shown = frame.astype(object).where(frame.notna(), "")
    head = _rows_html(shown.head(top))
    if len(shown) <= top:
        return head
    rest = _rows_html(shown.iloc[top:])
    return f"{head}<details><summary>The other {len(shown) - top:,} rows</summary>{rest}</details>"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:"Source Sans Pro",Helvetica,Arial,sans-serif;color:#262730;margin:0;background:#fafafa}
main{max-width:1240px;margin:0 auto;padding:24px 32px 64px}
header{border-bottom:3px solid #0072B2;margin-bottom:24px}
h1{font-size:2rem;margin:0 0 8px}
.facts{color:#555;margin:0 0 16px;padding:0;list-style:none}
.facts li{display:inline-block;margin-right:24px}
section{background:#fff;border:1px solid #e6e6e6;border-radius:8px;padding:16px 20px;margin:0 0 24px}
h2{font-size:1.35rem;margin:0 0 4px}
p.takeaway{font-size:1.05rem;color:#333;margin:0 0 12px}
table{border-collapse:collapse;font-size:.9rem;margin-top:12px;width:100%}
th,td{border-bottom:1px solid #e6e6e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}
details{margin-top:8px}
summary{cursor:pointer;color:#0072B2}
details.cell{margin-top:0}
details.cell summary{color:inherit}
details.cell summary::marker{color:#0072B2}
ul.bullets{margin:8px 0 0 18px;padding:0}
footer{color:#777;font-size:.85rem}
p.note{color:#666;font-size:.85rem;margin:6px 0 0}
"""


def report_html(report: Report) -> str:
    """The report as one HTML file: Plotly JS inline once, interactive, no external loads.

    All user text (titles, takeaways, table cells, facts) is HTML-escaped; figure JSON is
    embedded by Plotly, which escapes ``<`` and ``/`` inside it.
    """
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body><main>",
        f"<header><h1>{html.escape(report.title)}</h1><ul class='facts'>",
        *[f"<li>{html.escape(f)}</li>" for f in report.facts],
        "</ul></header>",
    ]
    plotly_included = False
    config = {"displaylogo": False, "responsive": True}
    for i, sec in enumerate(report.sections):
        parts.append(f"<section id='s{i + 1}'><h2>{html.escape(sec.title)}</h2>")
        parts.append(f"<p class='takeaway'>{html.escape(sec.takeaway)}</p>")
        if sec.figure is not None:
            fig = go.Figure(sec.figure)
            fig.layout.width = None  # fill the page's width
            parts.append(
                fig.to_html(full_html=False, include_plotlyjs=not plotly_included, config=config,
                            div_id=f"fig{i + 1}")
            )
            plotly_included = True
        if sec.bullets and sec.bullets_in_html:
            parts.append("<ul class='bullets'>" + "".join(f"<li>{html.escape(b)}</li>" for b in sec.bullets) + "</ul>")
        if sec.table is not None and len(sec.table):
            parts.append(_table_html(sec.table))
        for note in sec.notes:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
        parts.append("</section>")
    parts.append(f"<footer>Made with journeylib on {date.today():%d %B %Y}.</footer></main></body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- PPTX

_INK = (0x26, 0x27, 0x30)
_GREY = (0x55, 0x55, 0x55)
_BLUE = (0x00, 0x72, 0xB2)
DECK_MIN_PT = 14  # no text on a slide, chart text included, is smaller
# Named on every text: the theme's Calibri became the much wider DejaVu Sans in LibreOffice,
# and a takeaway measured with Helvetica's widths then ran under the picture below it.
DECK_FONT = "Arial"
# The slide (16:9, inches) and the room it gives a picture, in points: pictures are drawn
# one pixel to a point, so a 14 px chart font is 14 pt on the slide.
SLIDE_W, SLIDE_H, SLIDE_MARGIN = 13.333, 7.5, 0.5
BULLETS_W = 4.6  # inches beside a chart for its bullets
TAKEAWAY_PT = 16


def _takeaway_height(text: str, width_pt: float) -> float:
    """Points a takeaway needs at TAKEAWAY_PT in a box ``width_pt`` wide."""
    from journeylib.charts import text_width

    lines = max(1, math.ceil(text_width(text, TAKEAWAY_PT) / (width_pt - 14)))
    return lines * TAKEAWAY_PT * 1.25 + 10


def deck_fonts(fig: go.Figure, minimum: float = DECK_MIN_PT) -> go.Figure:
    """A copy of ``fig`` with every font at least ``minimum`` px: the layout, title,
    legend, axes, annotations (and sizes written inside their text) and trace text."""
    fig = go.Figure(fig)
    base = fig.layout.font.size or (fig.layout.template.layout.font.size if fig.layout.template else None) or 14
    fig.update_layout(font_size=max(base, minimum), legend_font_size=max(fig.layout.legend.font.size or 0, minimum),
                      hoverlabel_font_size=max(fig.layout.hoverlabel.font.size or 0, minimum))
    for axis in [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))]:
        ax = fig.layout[axis]
        ax.tickfont.size = max(ax.tickfont.size or 0, minimum)
        ax.title.font.size = max(ax.title.font.size or 0, minimum)
    for ann in fig.layout.annotations or ():
        ann.font.size = max(ann.font.size or 0, minimum)
        if ann.text:
            ann.text = _raise_inline_sizes(ann.text, minimum)
    for trace in fig.data:
        tf = getattr(trace, "textfont", None)
        if tf is not None:
            size = tf.size
            if isinstance(size, (tuple, list)):
                tf.size = [max(s or 0, minimum) for s in size]
            else:
                tf.size = max(size or 0, minimum)
        if getattr(trace, "type", None) in ("bar", "funnel") and trace.textposition in (None, "auto", "inside"):
            trace.insidetextfont = dict(size=max(minimum, (trace.insidetextfont.size or 0)))
            trace.constraintext = "none"  # an inside label keeps its size rather than shrinking
    return fig


def _raise_inline_sizes(text: str, minimum: float) -> str:
    import re

    return re.sub(r"font-size:\s*(\d+(?:\.\d+)?)px",
                  lambda m: f"font-size:{max(float(m.group(1)), minimum):g}px", str(text))


DECK_BORDER = 8  # px of white around a slide's picture: the slide has its own margins


def deck_slides(report: Report) -> list[tuple[Section, go.Figure | None, str, tuple[float, float, float, float]]]:
    """Every slide after the title slide: (section, figure or None, takeaway, picture box
    in points (left, top, width, height)). Figures are drawn at their box's size, one pixel
    to a point, with fonts of at least DECK_MIN_PT; a section drawing several slides
    (``deck_pages``) shows its takeaway on the first only."""
    slide_w, slide_h, margin = SLIDE_W * 72, SLIDE_H * 72, SLIDE_MARGIN * 72
    text_w = slide_w - 2 * margin
    out = []
    for sec in report.sections:
        pic_w = text_w - (BULLETS_W * 72 + 18 if sec.bullets else 0)
        first_top = 1.1 * 72 + _takeaway_height(sec.takeaway, text_w) + 6
        rest_top = 1.1 * 72

        def room(top: float) -> int:
            return int(slide_h - top - 0.3 * 72 - 2 * DECK_BORDER)

        fig_w = int(pic_w - 2 * DECK_BORDER)
        if sec.deck_pages is not None:
            pages = [deck_fonts(f) for f in sec.deck_pages(fig_w, room(first_top), room(rest_top))]
        elif sec.figure is not None:
            fig = go.Figure(sec.figure)
            # The slide's title says what the chart is: no title inside the picture.
            fig.update_layout(width=fig_w, height=room(first_top), title=None, margin_t=16)
            pages = [deck_fonts(fig)]
        else:
            pages = [None]
        for i, fig in enumerate(pages):
            top = first_top if i == 0 else rest_top
            takeaway = sec.takeaway if i == 0 else ""
            if fig is None:
                out.append((sec, None, takeaway, (margin, top, pic_w, room(top))))
                continue
            if not fig.layout.width:  # e.g. an empty map's message: the picture's room
                fig.update_layout(width=fig_w, height=min(int(fig.layout.height or room(top)), room(top)))
            w, h = int(fig.layout.width) + 2 * DECK_BORDER, int(fig.layout.height) + 2 * DECK_BORDER
            ratio = min(1.0, pic_w / w, (slide_h - top - 0.3 * 72) / h)
            out.append((sec, fig, takeaway, (margin, top, w * ratio, h * ratio)))
    return out


def report_pptx(report: Report, image_scale: float = 2) -> bytes:
    """The report as a 16:9 deck: a title slide, then a slide per section (two or three for
    the journey map) with its title, its takeaway and the chart as a picture (plus bullets
    beside it where given). Every text is at least 14 pt, chart text included."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Emu, Inches, Pt

    slides = deck_slides(report)
    # Render every picture first, so a missing browser fails before any slide is built.
    pictures = [None if fig is None else figure_png(fig, scale=image_scale, border=DECK_BORDER)
                for _, fig, _, _ in slides]

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    W = prs.slide_width
    margin = Inches(SLIDE_MARGIN)

    def text_box(slide, left, top, width, height, text, size, color=_INK, bold=False):
        box = slide.shapes.add_textbox(left, top, width, height)
        frame = box.text_frame
        frame.word_wrap = True
        para = frame.paragraphs[0]
        para.text = text
        para.font.size = Pt(size)
        para.font.name = DECK_FONT
        para.font.bold = bold
        para.font.color.rgb = RGBColor(*color)
        return box

    def set_title(slide, text, top, size):
        title = slide.shapes.title
        title.left, title.top, title.width, title.height = margin, top, W - 2 * margin, Inches(0.9)
        title.text = text
        para = title.text_frame.paragraphs[0]
        para.font.size = Pt(size)
        para.font.name = DECK_FONT
        para.font.bold = True
        para.font.color.rgb = RGBColor(*_INK)
        title.text_frame.word_wrap = True
        para.alignment = PP_ALIGN.LEFT

    # Title slide.
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    set_title(slide, report.title, Inches(1.6), 40)
    slide.shapes.title.height = Inches(1.5)
    bar = slide.shapes.add_shape(1, margin, Inches(3.2), Inches(1.5), Emu(50000))
    bar.fill.solid()
    bar.fill.fore_color.rgb = RGBColor(*_BLUE)
    bar.line.fill.background()
    box = text_box(slide, margin, Inches(3.5), W - 2 * margin, Inches(3.5), "", 20, _GREY)
    frame = box.text_frame
    for i, fact in enumerate(report.facts):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.text = fact
        para.font.size = Pt(18)
        para.font.name = DECK_FONT
        para.font.color.rgb = RGBColor(*_GREY)

    count: dict[int, int] = {}
    for sec, *_ in slides:
        count[id(sec)] = count.get(id(sec), 0) + 1
    seen: dict[int, int] = {}
    for (sec, fig, takeaway, (left, top, pw, ph)), png in zip(slides, pictures):
        seen[id(sec)] = seen.get(id(sec), 0) + 1
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        title = sec.title if count[id(sec)] == 1 else f"{sec.title} ({seen[id(sec)]} of {count[id(sec)]})"
        set_title(slide, title, Inches(0.3), 28)
        if takeaway:
            text_box(slide, margin, Inches(1.1), W - 2 * margin, Pt(_takeaway_height(takeaway, SLIDE_W * 72 - 72)),
                     takeaway, TAKEAWAY_PT, _GREY)
        if png is not None:
            slide.shapes.add_picture(io.BytesIO(png), Pt(left), Pt(top), Pt(pw), Pt(ph))
        if sec.bullets and seen[id(sec)] == 1:  # said once, beside the section's first picture
            bl = Pt(left) + Pt(SLIDE_W * 72 - 2 * SLIDE_MARGIN * 72 - BULLETS_W * 72)
            box = text_box(slide, bl, Pt(top), Inches(BULLETS_W), prs.slide_height - Pt(top) - Inches(0.3), "",
                           DECK_MIN_PT)
            frame = box.text_frame
            for i, bullet in enumerate(_fitting_bullets(sec.bullets, BULLETS_W * 72, SLIDE_H * 72 - top - 0.3 * 72)):
                para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
                para.text = f"{i + 1}. {bullet}"
                para.font.size = Pt(DECK_MIN_PT)
                para.font.name = DECK_FONT
                para.font.color.rgb = RGBColor(*_INK)
                para.space_after = Pt(8)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _fitting_bullets(bullets: Sequence[str], width_pt: float, height_pt: float) -> list[str]:
    """As many of ``bullets`` (at most five) as fit the box at 14 pt; the report keeps all."""
    from journeylib.charts import text_width

    kept, used = [], 0.0
    for i, b in enumerate(list(bullets)[:5]):
        lines = math.ceil(text_width(f"{i + 1}. {b}", DECK_MIN_PT) / (width_pt - 14))
        need = lines * DECK_MIN_PT * 1.2 + 8
        if used + need > height_pt - 10:
            break
        kept.append(b)
        used += need
    return kept


# --------------------------------------------------------------------------- building reports

SET_STAGES = "set touchpoint -> stage rules on the Data page or with --stage-map / --stage-prefix"


def persona_overview(data: JourneyData, assignments: pd.DataFrame) -> pd.DataFrame:
    """persona, customers, share, conversion (share who reached the goal, of those it can
    judge; NaN without a goal), mean_score, over the customers with events in ``data``."""
    from journeylib.engine import execute
    from journeylib.journey import GoalError, goal_outcomes

    ev = data.events
    frame = execute(ev.select(customer_id=ev.customer_id.cast("string")).distinct())
    try:
        won = execute(goal_outcomes(data))
        frame = frame.merge(won.astype({"customer_id": "str"}), on="customer_id", how="left")
        frame["converted"] = frame["converted"].astype("float64")
    except GoalError:
        frame["converted"] = float("nan")
    frame = frame.merge(assignments[["customer_id", "persona"]].astype({"customer_id": "str"}), on="customer_id")
    if data.survey is not None:
        s = data.survey.filter(data.survey.score.notnull())
        per = execute(s.group_by("customer_id").aggregate(score_sum=s.score.sum(), score_n=s.score.count()))
        frame = frame.merge(per.astype({"customer_id": "str"}), on="customer_id", how="left")
    else:
        frame = frame.assign(score_sum=float("nan"), score_n=0)
    order = list(dict.fromkeys(assignments["persona"].astype(str)))
    out = frame.groupby("persona", sort=False).agg(
        customers=("customer_id", "size"), conversion=("converted", "mean"),
        score_sum=("score_sum", "sum"), score_n=("score_n", "sum"),
    )
    out = out.reindex([p for p in order if p in out.index])
    out["share"] = out["customers"] / out["customers"].sum()
    out["mean_score"] = (out["score_sum"] / out["score_n"].where(out["score_n"] > 0)).astype(float)
    out = out.reset_index()
    return out[["persona", "customers", "share", "conversion", "mean_score"]]


def _count_facts(data: JourneyData) -> tuple[int, int, int, str | None, str | None]:
    """(customers, events, survey answers, first day, last day); for a survey alone the
    customers are those who answered and the days are the answers' own."""
    from journeylib.engine import execute

    ev = data.events
    row = execute(ev.aggregate(events=ev.count(), customers=ev.customer_id.nunique(),
                                first=ev.timestamp.min(), last=ev.timestamp.max())).iloc[0]
    answers = 0
    if data.survey is not None:
        sv = data.survey
        metrics = dict(n=sv.count(), customers=sv.customer_id.nunique())
        if "timestamp" in sv.columns:
            metrics.update(first=sv.timestamp.min(), last=sv.timestamp.max())
        got = execute(sv.aggregate(**metrics)).iloc[0]
        answers = int(got["n"])
        if int(row["events"]) == 0:
            row = pd.Series({"customers": int(got["customers"]), "events": 0,
                             "first": got.get("first"), "last": got.get("last")})
    day = lambda t: None if t is None or pd.isna(t) else pd.Timestamp(t).date().isoformat()  # noqa: E731
    return int(row["customers"]), int(row["events"]), answers, day(row["first"]), day(row["last"])


def _survey_only(data: JourneyData) -> bool:
    return data.survey is not None and not data.has_events


def _goal_fact(data: JourneyData) -> str:
    from journeylib.journey_map import SET_GOAL

    goal = data.goal
    if goal is None:
        return f"Goal: none set ({SET_GOAL})"
    rule = {"stage": f"reached the {goal.target} stage or a later one", "touchpoint": f"reached {goal.target}",
            "column": f"{goal.target} is {goal.value}"}[goal.kind]
    if goal.kind != "column" and _survey_only(data):
        return (f"Goal: {goal.label} ({rule}), which needs touchpoint events; with a survey alone name an "
                "outcome column as the goal (e.g. --goal column:satisfaction=satisfied)")
    return f"Goal: {goal.label} ({rule})"


def _has_stages(data: JourneyData) -> bool:
    from journeylib.engine import execute

    ev = data.events
    return bool(execute(ev.stage.isin(list(data.stages)).fill_null(False).any()))


def _pct_text(x: float) -> str:
    return f"{x:.0%}"


def persona_section(data: JourneyData, assignments: pd.DataFrame, colors) -> Section | None:
    """The personas overview: sizes and the share of each reaching the goal, in words that
    never state a range whose ends are the same."""
    from journeylib import charts
    from journeylib.journey_map import SET_GOAL

    overview = persona_overview(data, assignments)
    if not len(overview):
        return None
    goal = data.goal.label if data.goal is not None else None
    big = overview.loc[overview["customers"].idxmax()]
    n = len(overview)
    text = (f"{n} personas; the largest, {big['persona']}, is {big['share']:.0%} of customers" if n > 1 else
            f"One persona: {big['persona']}, {int(big['customers']):,} customers")
    rates = overview.dropna(subset=["conversion"])
    if goal is None:
        text += f". The share reaching a goal could not be computed: no goal is set ({SET_GOAL})."
    elif len(rates) == 0:
        text += f". No persona has customers {goal} can be judged for."
    elif len(rates) == 1 or _pct_text(rates["conversion"].min()) == _pct_text(rates["conversion"].max()):
        who = "every persona" if len(rates) > 1 else rates["persona"].iloc[0]
        text += f"; {_pct_text(rates['conversion'].iloc[0])} of {who} reach {goal}."
    else:
        lo, hi = rates.loc[rates["conversion"].idxmin()], rates.loc[rates["conversion"].idxmax()]
        text += (f"; the share reaching {goal} runs from {_pct_text(lo['conversion'])} ({lo['persona']}) "
                 f"to {_pct_text(hi['conversion'])} ({hi['persona']}).")
    if not text.endswith("."):
        text += "."
    fig = charts.persona_overview_chart(overview, colors=colors, goal_label=goal)
    table = display_table(overview, [("persona", "Persona", "text"), ("customers", "Customers", "int"),
                                     ("share", "Share of customers", "pct"),
                                     ("conversion", f"Reached {goal}" if goal else "Reached the goal", "pct"),
                                     ("mean_score", "Mean score", "score")])
    return Section("Personas at a glance", text, fig, table)


def funnel_takeaway(frame: pd.DataFrame, data: JourneyData) -> str:
    """One true sentence about a funnel (:func:`journeylib.flows.funnel`) of ``data``."""
    from journeylib.journey_map import SET_GOAL

    goal = data.goal
    stages = frame.iloc[: len(data.journey.funnel_stages())]
    first = int(stages["customers"].iloc[0]) if len(stages) else 0
    if first == 0:
        text = (f"No customer has an event at any of the {len(data.stages)} stages of the stage order, so the "
                f"funnel has no stages to count: {SET_STAGES}.")
        if goal is not None and goal.kind != "stage":
            text += f" {int(frame['customers'].iloc[-1]):,} customers reached {goal.label}."
        return text
    lost = (stages["customers"].shift(1) - stages["customers"]).iloc[1:]
    drop = ""
    if len(lost) and lost.max() > 0:
        i = int(lost.idxmax())
        drop = (f"; the most are lost between {stages['stage'].iloc[i - 1]} and {stages['stage'].iloc[i]} "
                f"({int(lost.max()):,} customers, {1 - stages['conversion'].iloc[i]:.0%} of those at "
                f"{stages['stage'].iloc[i - 1]})")
    if goal is None:
        return (f"{first:,} customers at {stages['stage'].iloc[0]}{drop}. No goal is set, so the funnel runs over "
                f"every stage: {SET_GOAL} to see how many reach it.")
    won = int(frame["customers"].iloc[-1])
    return (f"Of the {first:,} customers at {stages['stage'].iloc[0]}, {won:,} ({won / first:.0%}) reached "
            f"{goal.label}{drop}.")


def _funnel_section(data: JourneyData, group: str) -> Section:
    from journeylib import charts, flows

    frame = flows.funnel(data)
    goal = data.goal.label if data.goal is not None else None
    takeaway = funnel_takeaway(frame, data)
    title = f"Funnel towards {goal}" if goal else "Funnel by stage"
    if not frame["customers"].iloc[0]:  # no stage known: a column of zeros says nothing
        return Section(title, takeaway, charts.empty_figure(takeaway, charts.figure_title(title, group)))
    fig = charts.funnel(frame, subject=group, goal_label=goal, stages=data.stages)
    table = display_table(frame, [
        ("stage", "Stage", "text"), ("customers", "Customers", "int"), ("share", "Share of the first stage", "pct"),
        ("conversion", "Conversion from the previous row", "pct")])
    bullets = [f"{r.stage}: {int(r.customers):,} customers" + (f" ({r.share:.0%})" if pd.notna(r.share) else "")
               for r in frame.itertuples()]
    return Section(title, takeaway, fig, table, bullets=bullets, bullets_in_html=False)


def path_takeaway(paths: pd.DataFrame, data: JourneyData, group: str, level: str) -> str:
    """The most common path in words, skipping one made only of unknown stages (it says
    nothing of the journey), with the share of its customers who reached the goal."""
    from journeylib.flows import NO_STAGE, PATH_MORE, PATH_SEP
    from journeylib.journey_map import SET_GOAL

    if not len(paths):
        return "No journeys in this group."
    who = group.lower() if group == "All customers" else group

    def unknown(path: str) -> bool:
        return all(p in (NO_STAGE, PATH_MORE) for p in path.split(PATH_SEP))

    staged = paths[~paths["path"].map(unknown)] if level == "stage" else paths
    lead = ""
    if level == "stage" and unknown(paths["path"].iloc[0]):
        lead = (f"The most common journey ({paths['share'].iloc[0]:.0%} of {who}) has no stage of the stage order "
                f"({SET_STAGES}). ")
        if not len(staged):
            return lead.strip()
    p = staged.iloc[0]
    goal = data.goal
    if goal is None:
        reach = f"; {SET_GOAL} to see how many of them reach it"
    elif pd.isna(p["conversion"]):
        reach = f"; none of them can be judged for {goal.label}"
    else:
        reach = f"; {p['conversion']:.0%} of them reached {goal.label}"
    kind = "path" if not lead else "path with stages"
    return (f"{lead}Most common {kind}: {p['path']} ({p['share']:.0%} of {who}, {int(p['customers']):,} customers"
            f"{reach}).")


def _sankey_section(data: JourneyData, group: str) -> Section:
    from journeylib import charts, flows

    # Stage flows say most; without any event at a known stage they would be one
    # "(no stage)" column, so touchpoints are drawn instead.
    level = "stage" if _has_stages(data) else "touchpoint"
    frame = flows.step_sankey(data.events, level=level, max_steps=5, top=8)
    fig = charts.sankey(frame, subject=group, level=level, stages=data.stages)
    paths = flows.top_paths(data, level=level, n=10)
    takeaway = path_takeaway(paths, data, group, level)
    if level == "touchpoint":
        takeaway = f"Touchpoint by touchpoint: no event has a stage of the stage order ({SET_STAGES}). " + takeaway

    def slide(width: int, height: int, _rest: int) -> list[go.Figure]:
        # Labels laid out again for the slide, at its font and without growing past it.
        fig = charts.sankey(frame, level=level, stages=data.stages, height=height, fit_width=width,
                            font_size=DECK_MIN_PT, grow=1.0)
        # No title on a slide; the title's room goes to the plot, which only spreads the nodes.
        fig.update_layout(width=width, height=height, title=None, margin_t=16)
        return [fig]

    return Section(f"Journeys step by step: {group}", takeaway, fig, deck_pages=slide)


def emotion_takeaway(frame: pd.DataFrame, scale) -> str:
    """Lowest and highest stage (or touchpoint) in words, or what is true when they cannot differ."""
    from journeylib.insights import format_score

    key = "stage" if "stage" in frame.columns else "touchpoint"
    sure = frame[~frame["low_n"].astype(bool)] if "low_n" in frame else frame
    sure = sure if len(sure) else frame
    lo, hi = sure.loc[sure["mean"].idxmin()], sure.loc[sure["mean"].idxmax()]
    if len(frame) == 1:
        return f"Only {lo[key]} has answers: {format_score(lo['mean'], scale)} on average (n={int(lo['n']):,})."
    if format_score(lo["mean"], scale) == format_score(hi["mean"], scale):
        return (f"Every {key} with answers scores {format_score(lo['mean'], scale)} on average "
                f"({len(frame)} {key}s, {int(frame['n'].sum()):,} answers).")
    return (f"Lowest at {lo[key]}: {format_score(lo['mean'], scale)} (n={int(lo['n']):,}); "
            f"highest at {hi[key]}: {format_score(hi['mean'], scale)} (n={int(hi['n']):,}).")


def _emotion_section(data: JourneyData, group: str, color: str | None = None) -> Section | None:
    from journeylib import charts
    from journeylib.emotions import curve_level, emotion_curve
    from journeylib.insights import score_scale

    if data.survey is None:
        return None
    level = curve_level(data.survey, data.stages)
    frame = emotion_curve(data.survey, data.stages, level=level, personas=None)
    frame = frame[frame["n"] > 0]
    if frame.empty:
        return None
    frame = frame.assign(persona=group)
    scale = score_scale(data)
    # The score scale on the y axis, as the app draws it, so slides compare at a glance.
    fig = charts.emotion_curve(frame, subject=group, colors={group: color} if color else None,
                               score_label=f"Mean score ({scale.label})" if scale else None,
                               y_range=(scale.low, scale.high) if scale else None)
    who = group if group != "All customers" else "customers"
    takeaway = emotion_takeaway(frame, scale)
    if level == "touchpoint":
        takeaway = ("No two stages of the stage order have answers, so touchpoint by touchpoint: "
                    + takeaway[0].lower() + takeaway[1:])
    return Section(f"How {who} feel at each {level}", takeaway, fig)


def _map_sections(data: JourneyData, group: str, changed: pd.DataFrame | None = None,
                  changed_labels: tuple[str, str] = ("a", "b")) -> list[Section]:
    from journeylib import charts
    from journeylib.journey_map import build_journey_map

    jm = build_journey_map(data, group=group, changed=changed, changed_labels=changed_labels)
    pain_text = jm.pain_summary
    opp = jm.opportunities
    top = opp["sentence"].iloc[0] if len(opp) else pain_text
    items = jm.to_frame()
    table = display_table(items, [("lane", "Lane", "text"), ("stage", "Stage", "text"), ("rank", "Rank", "int"),
                                  ("text", "Item", "text"), ("evidence", "Evidence", "text")])

    def pages(width: int, first_height: int, height: int) -> list[go.Figure]:
        return charts.journey_map_pages(jm, width=width, height=height, first_height=first_height,
                                        font_size=DECK_MIN_PT)

    sections = [Section(f"Journey map: {group}", top, charts.journey_map_figure(jm, fit_width=1100), table,
                        notes=list(jm.notes), deck_pages=pages)]
    pains = jm.pains
    goal = data.goal.label if data.goal is not None else None
    columns = [("stage", "Stage", "text"), ("touchpoint", "Touchpoint", "text")]
    if not jm.survey_only:  # a survey alone has no customers seen leaving: no columns of zeros
        columns += [("customers", "Customers", "int"), ("left", f"Left without {goal}" if goal else "Left", "int"),
                    ("drop_off_rate", "Drop-off", "pct")]
    columns += [("mean_score", "Mean score", "score"), ("score_n", "Answers", "int"), ("impact", "Impact", "num")]
    pain_table = display_table(pains.head(50), columns)
    # With none, the chart says what was checked and what could not be, as the takeaway does.
    chart = charts.pain_points_chart(pains, subject=group, top=8, goal_label=goal, empty_text=pain_text)
    sections.append(Section("Pain points and opportunities", pain_text, chart, pain_table,
                            bullets=list(opp["sentence"])))
    behind = pain_theme_section(data, pains, jm.scale)
    if behind is not None:
        sections.append(behind)
    return sections


def pain_theme_section(data: JourneyData, pains: pd.DataFrame, scale=None) -> Section | None:
    """"Themes behind the worst pain point": the comment themes of the answers at the top
    pain point's touchpoint (its stage, for a stage-level one), by
    :func:`journeylib.voice.comment_themes`. None without comments or pain points."""
    from journeylib import charts
    from journeylib.emotions import shared_comments
    from journeylib.voice import comment_themes

    survey = data.survey
    if survey is None or "comment" not in survey.columns or pains is None or not len(pains):
        return None
    top = pains.iloc[0]
    if top["level"] == "touchpoint" and "touchpoint" in survey.columns:
        where, by, name = survey.touchpoint == str(top["touchpoint"]), "touchpoint", f"'{top['touchpoint']}'"
    elif "stage" in survey.columns and pd.notna(top["stage"]):
        where, by, name = survey.stage == str(top["stage"]), "stage", f"the {top['stage']} stage"
    else:
        return None
    found = comment_themes(survey.filter(where), by=by, scale=scale)
    table = found.table
    title = f"Themes behind the worst pain point: {name}"
    # One comment per customer on the whole survey: what its raters wrote, not about it.
    shared = by == "touchpoint" and shared_comments(survey)
    place = f"of the customers who rated {name}" if shared else f"at {name}"
    if shared:
        title = f"What the customers who rated {name} wrote"
    real = table[table["theme_id"] > 0]
    if table.empty:
        from journeylib.engine import execute

        c = survey.comment.cast("string").strip()
        if not bool(execute((c.notnull() & (c != "")).any())):
            return None  # a survey without comments: the map's notes already have no quotes
        return Section(title, f"No comment was left at {name}, so its themes cannot be shown.")
    if real.empty:
        return Section(title, str(found.groups["note"].iloc[0]))
    n = int(found.groups["comments"].sum())
    lead = real.iloc[0]
    score = "" if pd.isna(lead["mean_score"]) else f", mean score {lead['mean_score']:.1f}"
    takeaway = (f"{len(real)} themes in the {n:,} comments {place}; the largest, '{lead['theme']}', holds "
                f"{lead['share']:.0%} of them ({int(lead['comments']):,} comments{score}).")
    shown = display_table(real, [("theme", "Theme", "text"), ("terms", "Terms", "text"),
                                 ("comments", "Comments", "int"), ("share", "Share", "pct"),
                                 ("mean_score", "Mean score", "score"), ("example", "Typical comment", "text")])
    bullets = [f"{r.theme}: {int(r.comments):,} comments ({r.share:.0%})"
               + ("" if pd.isna(r.mean_score) else f", mean score {r.mean_score:.1f}") for r in real.head(5).itertuples()]
    fig = charts.themes_chart(real, subject=f"comments {place}")
    notes = list(found.notes)
    if shared:
        notes.insert(0, f"Each customer left one comment for the whole survey, shown beside each of their ratings: "
                        f"these are the themes of what the customers who rated {name} wrote, about any part of "
                        f"the journey; the mean score is their rating of {name}.")
    return Section(title, takeaway, fig, shown, bullets=bullets, notes=notes)


def what_changed_section(changed: pd.DataFrame, label_a: str, label_b: str) -> Section:
    """The report's "What changed" section from :func:`journeylib.compare.what_changed`:
    every stage's differences (b minus a) with their intervals, the significant ones
    (p < 0.05) first in the takeaway."""
    from journeylib import charts
    from journeylib.journey_map import changed_text

    title = f"What changed: {label_b} against {label_a}"
    if changed is None or not len(changed):
        return Section(title, f"Nothing could be compared between {label_a} and {label_b}: neither has events at "
                              "a stage of the stage order nor survey answers.")
    sig = changed[changed["significant"].astype(bool)]
    if len(sig):
        big = sig.assign(_z=(sig["difference"].abs() / (sig["ci_high"] - sig["ci_low"]).abs())).sort_values(
            "_z", ascending=False).iloc[0]
        text, evidence = changed_text(big)
        takeaway = (f"{len(sig)} of {len(changed)} differences are significant (p < 0.05); the clearest: "
                    f"{big['stage']}, {text.lstrip('▲▼ ')} ({evidence}).")
    else:
        takeaway = (f"None of the {len(changed)} differences between {label_a} and {label_b} is significant "
                    "(p < 0.05): nothing is shown to have changed.")
    counts = changed.groupby("measure")["significant"].sum()
    measure = counts.idxmax() if counts.max() > 0 else changed["measure"].value_counts().idxmax()
    fig = charts.difference_chart(changed, measure=measure, label_a=label_a, label_b=label_b)
    rows = changed.copy()
    rows["change"], rows["evidence"] = zip(*[changed_text(r) for r in changed.itertuples()])
    rows["p"] = ["no test" if pd.isna(p) else "< 0.001" if p < 0.001 else f"{p:.3f}" for p in rows["p_value"]]
    table = display_table(rows, [("stage", "Stage", "text"), ("change", f"Change ({label_b} minus {label_a})", "text"),
                                 ("evidence", f"{label_a} → {label_b}", "text"), ("p", "p-value", "text")])
    bullets = [f"{r.stage}: {changed_text(r)[0]}" for r in (sig if len(sig) else changed).head(5).itertuples()]
    return Section(title, takeaway, fig, table, bullets=bullets)


DRIVER_ROW_PT = (26, 40)  # a key driver's bar on a slide: one or two lines of a 14 pt name
DRIVER_FRAME_PT = 150  # the rest of its picture: the axis, its title and the legend below


def _driver_slides(kd) -> Callable[[int, int, int], list[go.Figure]]:
    """Key-driver slides: as many bars as fit at 14 pt on each, the rest on the next slide
    (fourteen ratings squeezed onto one had Plotly skip every other name), all on one axis."""
    from journeylib import charts

    def pages(width: int, first: int, rest: int) -> list[go.Figure]:
        table = kd.table.reset_index(drop=True)
        top = 100 * float(table["importance_high"].max())
        sizes, start = [], 0
        while start < len(table):
            room = first if not sizes else rest
            rows = 1
            while start + rows < len(table):
                names = table["label"].iloc[start:start + rows + 1]
                row_pt = DRIVER_ROW_PT[1] if any(len(str(v)) > 30 for v in names) else DRIVER_ROW_PT[0]
                if DRIVER_FRAME_PT + (rows + 1) * row_pt > room:
                    break
                rows += 1
            sizes.append(rows)
            start += rows
        # No lone bar on the last slide: the one before gives it rows until they are even.
        while len(sizes) > 1 and sizes[-1] < sizes[-2] - 1:
            sizes[-2] -= 1
            sizes[-1] += 1
        figs, start = [], 0
        for i, rows in enumerate(sizes):
            room = first if i == 0 else rest
            # Room right of the longest bar for its share and effect at 14 pt.
            fig = charts.key_drivers_chart(replace(kd, table=table.iloc[start:start + rows]), height=room,
                                           x_max=top * 2.2)
            fig.update_layout(width=width, height=room, title=None, margin_t=16)
            figs.append(fig)
            start += rows
        return figs

    return pages


def build_report(
    data: JourneyData,
    persona: str | None = None,
    personas=None,
    dataset_name: str | None = None,
    filters: str | None = None,
    comparison: tuple[JourneyData, JourneyData, str, str] | None = None,
) -> Report:
    """Everything the HTML report and the deck show, for ``data`` as given (already
    filtered by the caller) and optionally one persona (``personas``: a PersonaResult or
    DataFrame[customer_id, persona]).

    Sections: personas overview; funnel towards the goal; Sankey and emotion curve per
    persona (only the chosen one when ``persona`` is given; everyone when there are no
    personas); journey map; pain points with opportunities; the themes behind the worst
    pain point (when there are comments); what changed (when ``comparison`` = (a, b,
    label_a, label_b) is given: :func:`journeylib.compare.what_changed`, b minus a, also a
    lane of the map); key drivers. A survey alone (no events) has no funnel nor
    journeys: the facts say so in one line. Each takeaway is
    computed from the data and names the goal (``data.goal.label``); where a number cannot
    be computed it says what is missing and what to set.
    """
    from journeylib import charts
    from journeylib.insights import InsightError, driver_outcomes, key_drivers, pain_point_summary
    from journeylib.journey_map import EVERYONE, for_persona, persona_names

    names = persona_names(personas)
    assignments = getattr(personas, "assignments", personas)
    group_data, group = for_persona(data, assignments, persona)
    customers, events, answers, first, last = _count_facts(group_data)
    if customers == 0:
        raise ReportError(f"no customers in {group} under the current filters; nothing to report")
    name = dataset_name or ", ".join(dict.fromkeys(Path(str(v)).name for v in data.source_names.values())) or "Dataset"
    facts = [
        f"Dataset: {name}",
        f"Dates: {first} to {last}" if first else "Dates: none",
        f"Showing: {group}" + (f"; filters: {filters}" if filters else ""),
        f"{customers:,} customers, {events:,} events" + (f", {answers:,} survey answers" if data.survey is not None else ""),
        _goal_fact(data),
    ]
    survey_only = _survey_only(group_data)
    if survey_only:
        from journeylib.journey_map import NEEDS_EVENTS

        facts[3] = f"{customers:,} customers who answered the survey, {answers:,} answers, no touchpoint events"
        facts.append(NEEDS_EVENTS.replace("What customers do, channels", "Journeys, the funnel, channels"))
    sections: list[Section] = []
    colors = charts.persona_colors(names)

    if names:
        overview = persona_section(data, assignments, colors)
        if overview is not None:
            sections.append(overview)
    if not survey_only:
        sections.append(_funnel_section(group_data, group))

    groups = [(group, group_data)]
    if persona is None and names:
        groups = [for_persona(data, assignments, n) for n in names]
        groups = [(label, d) for d, label in groups]
    for label, d in groups:
        if _count_facts(d)[0] == 0:
            continue
        if not _survey_only(d):
            sections.append(_sankey_section(d, label))
        emo = _emotion_section(d, label, colors.get(label))
        if emo is not None:
            sections.append(emo)

    changed, labels = None, ("a", "b")
    if comparison is not None:
        from journeylib.compare import what_changed

        a, b, label_a, label_b = comparison
        changed, labels = what_changed(a, b), (label_a, label_b)
    sections += _map_sections(group_data, group, changed, labels)
    if changed is not None:
        sections.append(what_changed_section(changed, *labels))

    outcomes = driver_outcomes(group_data)
    if outcomes:
        try:
            kd = key_drivers(group_data, outcome=outcomes[0])
        except InsightError as exc:
            kd = None
            sections.append(Section("Key drivers", f"Key drivers could not be estimated: {exc}."))
        if kd is not None:
            table = display_table(kd.table, [("label", "Input", "text"), ("importance", "Share of what is explained", "pct"),
                                             ("importance_low", "Low", "pct"), ("importance_high", "High", "pct"),
                                             ("performance", "Mean rating", "score"),
                                             ("reading", "What it goes with", "text")])
            sections.append(Section(f"Key drivers of {kd.label}", kd.summary,
                                    charts.key_drivers_chart(kd, subject=group), table,
                                    bullets=list(kd.table["reading"].head(4)), deck_pages=_driver_slides(kd)))
            sections[-1].notes = list(kd.notes)
    title = "Customer journey report" + (f": {group}" if group != EVERYONE else "")
    return Report(title, facts, sections)


def write_report(data: JourneyData, out_path, persona: str | None = None, personas=None) -> Path:
    """Write the report for ``data`` to ``out_path``: .html (self-contained, interactive) or
    .pptx (16:9 deck; needs a browser for the pictures). Returns the path written."""
    path = Path(out_path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".pptx"):
        raise ReportError(f"{path.name}: report files end in .html or .pptx")
    report = build_report(data, persona=persona, personas=personas)
    payload = report_html(report).encode("utf-8") if suffix != ".pptx" else report_pptx(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
    return path
