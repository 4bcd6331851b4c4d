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
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

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


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2, width: int | None = None,
                 height: int | None = None) -> bytes:
    """The figure as PNG, SVG, JPEG or PDF bytes (PNG at 2x by default)."""
    if fmt not in ("png", "svg", "jpeg", "pdf"):
        raise ValueError(f"image format must be png, svg, jpeg or pdf, got {fmt!r}")
    _ensure_server()
    import kaleido

    opts = {
        "format": fmt,
        "width": int(width or fig.layout.width or DEFAULT_WIDTH),
        "height": int(height or fig.layout.height or DEFAULT_HEIGHT),
        "scale": scale,
    }
    with _render_lock:
        try:
            return kaleido.calc_fig_sync(fig, opts=opts)
        except ImageExportUnavailable:
            raise
        except Exception as exc:
            raise ImageExportUnavailable(f"Could not draw the chart as {fmt.upper()}: {exc}") from exc


def figure_png(fig: go.Figure, scale: float = 2, width: int | None = None, height: int | None = None) -> bytes:
    """PNG bytes at ``scale`` x the figure's size (2x: crisp on slides and retina screens)."""
    return figure_image(fig, "png", scale, width, height)


def figure_svg(fig: go.Figure, width: int | None = None, height: int | None = None) -> bytes:
    """SVG bytes (vector; scale does not apply)."""
    return figure_image(fig, "svg", 1, width, height)


# --------------------------------------------------------------------------- report model


@dataclass
class Section:
    """One chart (and/or table) with its title and a one-line takeaway drawn from the data."""

    title: str
    takeaway: str
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    bullets: list[str] = field(default_factory=list)  # shown beside the chart in the deck
    full_height: bool = False  # the deck gives the picture the whole slide below the title
    notes: list[str] = field(default_factory=list)  # fine print, in the HTML report only


@dataclass
class Report:
    title: str
    facts: list[str]  # dataset, dates, filters, customers
    sections: list[Section]


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
ul.bullets{margin:8px 0 0 18px;padding:0}
footer{color:#777;font-size:.85rem}
p.note{color:#666;font-size:.85rem;margin:6px 0 0}
"""


def _table_html(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:,.3g}" if abs(v) < 1 else f"{v:,.2f}")
    return shown.to_html(index=False, escape=True, border=0, na_rep="")


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
        if sec.bullets:
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


def report_pptx(report: Report, image_scale: float = 2) -> bytes:
    """The report as a 16:9 deck: a title slide, then one slide per section with its title,
    its takeaway and the chart as a picture (plus bullets beside it where given)."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Inches, Pt

    # Render every picture first, so a missing browser fails before any slide is built.
    pictures = []
    for sec in report.sections:
        if sec.figure is None:
            pictures.append(None)
            continue
        # Drawn near slide size (13.3 x 5.4 in at ~90 px/in) so chart text reads like body text.
        width, height = (1200, 560) if not sec.bullets else (780, 560)
        fig = go.Figure(sec.figure)
        if sec.full_height:  # drawn for the slide already: keep its own size
            width, height = int(sec.figure.layout.width or 1400), int(sec.figure.layout.height or 780)
        fig.update_layout(width=width, height=height, title=None, margin=dict(t=30))
        pictures.append((figure_png(fig, scale=image_scale, width=width, height=height), width, height))

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    W, H = prs.slide_width, prs.slide_height
    margin = Inches(0.5)

    def text_box(slide, left, top, width, height, text, size, color=_INK, bold=False):
        box = slide.shapes.add_textbox(left, top, width, height)
        frame = box.text_frame
        frame.word_wrap = True
        para = frame.paragraphs[0]
        para.text = text
        para.font.size = Pt(size)
        para.font.bold = bold
        para.font.color.rgb = RGBColor(*color)
        return box

    def set_title(slide, text, top, size):
        title = slide.shapes.title
        title.left, title.top, title.width, title.height = margin, top, W - 2 * margin, Inches(0.9)
        title.text = text
        para = title.text_frame.paragraphs[0]
        para.font.size = Pt(size)
        para.font.bold = True
        para.font.color.rgb = RGBColor(*_INK)
        title.text_frame.word_wrap = True
        from pptx.enum.text import PP_ALIGN

        para.alignment = PP_ALIGN.LEFT

    # Title slide.
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    set_title(slide, report.title, Inches(1.6), 40)
    slide.shapes.title.height = Inches(1.5)
    bar = slide.shapes.add_shape(1, margin, Inches(3.2), Inches(1.5), Emu(50000))
    bar.fill.solid()
    bar.fill.fore_color.rgb = RGBColor(*_BLUE)
    bar.line.fill.background()
    box = text_box(slide, margin, Inches(3.5), W - 2 * margin, Inches(2.5), "", 20, _GREY)
    frame = box.text_frame
    for i, fact in enumerate(report.facts):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.text = fact
        para.font.size = Pt(20)
        para.font.color.rgb = RGBColor(*_GREY)

    for sec, pic in zip(report.sections, pictures):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        set_title(slide, sec.title, Inches(0.3), 28)
        text_box(slide, margin, Inches(1.1), W - 2 * margin, Inches(0.6), sec.takeaway, 16, _GREY)
        top = Inches(1.8)
        avail_h = H - top - Inches(0.35)
        avail_w = (W - 2 * margin) if not sec.bullets else Inches(7.6)
        if pic is not None:
            data, width, height = pic
            ratio = min(avail_w / width, avail_h / height)
            pw, ph = int(width * ratio), int(height * ratio)
            left = margin + max(int((avail_w - pw) / 2), 0) if not sec.bullets else margin
            slide.shapes.add_picture(io.BytesIO(data), left, top, pw, ph)
        if sec.bullets:
            left = margin + avail_w + Inches(0.3)
            box = text_box(slide, left, top, W - left - margin, avail_h, "", 14)
            frame = box.text_frame
            bullets = sec.bullets[:5]
            size = 14 if sum(len(b) for b in bullets) < 520 else 12
            for i, bullet in enumerate(bullets):
                para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
                para.text = f"{i + 1}. {bullet}"
                para.font.size = Pt(size)
                para.font.color.rgb = RGBColor(*_INK)
                para.space_after = Pt(10)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- building reports


def _persona_overview(data: JourneyData, assignments: pd.DataFrame) -> pd.DataFrame:
    """persona, customers, share, purchase_rate, mean_score over the customers in ``data``."""
    from journeylib.engine import execute
    from journeylib.insights import _purchase_frame

    bought = _purchase_frame(data)
    frame = bought.merge(assignments[["customer_id", "persona"]], on="customer_id", how="inner")
    if data.survey is not None:
        s = data.survey.filter(data.survey.score.notnull())
        per = execute(s.group_by("customer_id").aggregate(score_sum=s.score.sum(), score_n=s.score.count()))
        frame = frame.merge(per, on="customer_id", how="left")
    else:
        frame = frame.assign(score_sum=float("nan"), score_n=0)
    order = list(dict.fromkeys(assignments["persona"].astype(str)))
    out = frame.groupby("persona", sort=False).agg(
        customers=("customer_id", "size"), purchased=("purchased", "sum"),
        score_sum=("score_sum", "sum"), score_n=("score_n", "sum"),
    )
    out = out.reindex([p for p in order if p in out.index])
    out["share"] = out["customers"] / out["customers"].sum()
    out["purchase_rate"] = out["purchased"] / out["customers"]
    out["mean_score"] = (out["score_sum"] / out["score_n"].where(out["score_n"] > 0)).astype(float)
    out = out.reset_index()
    return out[["persona", "customers", "share", "purchase_rate", "mean_score"]]


def _count_facts(data: JourneyData) -> tuple[int, int, int, str | None, str | None]:
    from journeylib.engine import execute

    ev = data.events
    row = execute(ev.aggregate(events=ev.count(), customers=ev.customer_id.nunique(),
                                first=ev.timestamp.min(), last=ev.timestamp.max())).iloc[0]
    answers = 0
    if data.survey is not None:
        answers = int(execute(data.survey.count().as_table()).iloc[0, 0])
    day = lambda t: None if pd.isna(t) else pd.Timestamp(t).date().isoformat()  # noqa: E731
    return int(row["customers"]), int(row["events"]), answers, day(row["first"]), day(row["last"])


def _sankey_section(data: JourneyData, group: str, stage_level: bool = True) -> Section:
    from journeylib import charts, flows

    level = "stage" if stage_level else "touchpoint"
    frame = flows.step_sankey(data.events, level=level, max_steps=5, top=8)
    fig = charts.sankey(frame, subject=group, level=level, stages=data.stages)
    paths = flows.top_paths(data.events, level="stage", n=1)
    if len(paths):
        p = paths.iloc[0]
        takeaway = (f"Most common path: {p['path']} ({p['share']:.0%} of {group.lower() if group == 'All customers' else group}, "
                    f"{int(p['customers']):,} customers; {p['purchase_rate']:.0%} of them purchase).")
    else:
        takeaway = "No journeys in this group."
    return Section(f"Journeys step by step: {group}", takeaway, fig)


def _emotion_section(data: JourneyData, group: str, color: str | None = None) -> Section | None:
    from journeylib import charts
    from journeylib.emotions import emotion_curve
    from journeylib.insights import format_score, score_scale

    if data.survey is None:
        return None
    frame = emotion_curve(data.survey, data.stages, level="stage", personas=None)
    frame = frame[frame["n"] > 0]
    if frame.empty:
        return None
    frame = frame.assign(persona=group)
    fig = charts.emotion_curve(frame, subject=group, colors={group: color} if color else None)
    scale = score_scale(data)
    sure = frame[~frame["low_n"].astype(bool)] if "low_n" in frame else frame
    sure = sure if len(sure) else frame
    lo, hi = sure.loc[sure["mean"].idxmin()], sure.loc[sure["mean"].idxmax()]
    takeaway = (f"Lowest at {lo['stage']}: {format_score(lo['mean'], scale)} (n={int(lo['n']):,}); "
                f"highest at {hi['stage']}: {format_score(hi['mean'], scale)} (n={int(hi['n']):,}).")
    return Section(f"How {group if group != 'All customers' else 'customers'} feel at each stage", takeaway, fig)


def build_report(
    data: JourneyData,
    persona: str | None = None,
    personas=None,
    dataset_name: str | None = None,
    filters: str | None = None,
) -> Report:
    """Everything the HTML report and the deck show, for ``data`` as given (already
    filtered by the caller) and optionally one persona (``personas``: a PersonaResult or
    DataFrame[customer_id, persona]).

    Sections: personas overview; Sankey and emotion curve per persona (only the chosen
    one when ``persona`` is given; everyone when there are no personas); journey map; pain
    points with opportunities; key drivers. Each takeaway is computed from the data.
    """
    from journeylib import charts
    from journeylib.insights import InsightError, driver_outcomes, key_drivers, pain_point_summary
    from journeylib.journey_map import EVERYONE, build_journey_map, for_persona, persona_names

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
    ]
    sections: list[Section] = []
    colors = charts.persona_colors(names)

    if names:
        overview = _persona_overview(data, assignments)
        if len(overview):
            fig = charts.persona_overview_chart(overview, colors=colors)
            big = overview.loc[overview["customers"].idxmax()]
            rates = overview.dropna(subset=["purchase_rate"])
            lo, hi = rates.loc[rates["purchase_rate"].idxmin()], rates.loc[rates["purchase_rate"].idxmax()]
            takeaway = (f"{len(overview)} personas; the largest, {big['persona']}, is {big['share']:.0%} of customers; "
                        f"purchase rate runs from {lo['purchase_rate']:.0%} ({lo['persona']}) "
                        f"to {hi['purchase_rate']:.0%} ({hi['persona']}).")
            table = overview.rename(columns={"purchase_rate": "purchase rate", "mean_score": "mean score"})
            sections.append(Section("Personas at a glance", takeaway, fig, table))

    groups = [(group, group_data)]
    if persona is None and names:
        groups = [for_persona(data, assignments, n) for n in names]
        groups = [(label, d) for d, label in groups]
    for label, d in groups:
        if _count_facts(d)[0] == 0:
            continue
        sections.append(_sankey_section(d, label))
        emo = _emotion_section(d, label, colors.get(label))
        if emo is not None:
            sections.append(emo)

    jm = build_journey_map(group_data, group=group)
    opp = jm.opportunities
    top_sentence = opp["sentence"].iloc[0] if len(opp) else "No pain point stands out: nobody leaves early and no stage is rated below average."
    sections.append(Section(f"Journey map: {group}", top_sentence, charts.journey_map_figure(jm, width=1400, height=780),
                            jm.to_frame(), full_height=True))
    pains = jm.pains
    pain_table = pains.head(10)[["stage", "touchpoint", "customers", "left", "drop_off_rate", "mean_score",
                                 "score_n", "severity", "impact"]]
    pain_take = pain_point_summary(pains, group_data)
    goal_label = group_data.goal.label if group_data.goal is not None else None
    sections.append(Section("Pain points and opportunities", pain_take,
                            charts.pain_points_chart(pains, subject=group, top=8, goal_label=goal_label,
                                                     empty_text=pain_take), pain_table,
                            bullets=list(opp["sentence"])))

    outcomes = driver_outcomes(group_data)
    outcome = "purchase" if "purchase" in outcomes else (outcomes[0] if outcomes else None)
    if outcome is not None:
        try:
            kd = key_drivers(group_data, outcome=outcome)
        except InsightError as exc:
            kd = None
            sections.append(Section("Key drivers", f"Key drivers could not be estimated: {exc}."))
        if kd is not None:
            table = kd.table[["label", "importance", "importance_low", "importance_high", "performance", "reading"]]
            sections.append(Section(f"Key drivers of {kd.label}", kd.summary,
                                    charts.key_drivers_chart(kd, subject=group), table,
                                    bullets=list(kd.table["reading"].head(4))))
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
