"""Measuring rendered Plotly text in Chromium: every text box of every figure on a page,
and what a reader would see as cut, overlapping or too small."""

from __future__ import annotations

SLACK = 1.0  # px: anti-aliasing and rounding of boxes

# Every figure's visible text boxes, its own box, and (for shapes drawn as rectangles) the
# rectangles: all in page coordinates, read in one pass in the page.
MEASURE = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map((plot, i) => {
  const svg = plot.querySelector('svg.main-svg');
  if (!svg) return null;
  const own = svg.getBoundingClientRect();
  const visible = el => {
    for (let e = el; e && e !== plot; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) return false;
    }
    return true;
  };
  const texts = [];
  plot.querySelectorAll('svg text').forEach(t => {
    if (t.closest('.hoverlayer') || !t.textContent.trim() || !visible(t)) return;
    const r = t.getBoundingClientRect();
    if (r.width < 0.5 || r.height < 0.5) return;
    const size = parseFloat(getComputedStyle(t).fontSize);
    const kind = t.closest('.annotation') ? 'annotation' : t.classList.contains('node-label') ? 'node' :
                 t.closest('.legend') ? 'legend' : t.closest('.g-gtitle') ? 'title' : 'other';
    texts.push({text: t.textContent.trim().slice(0, 60), x0: r.left, y0: r.top, x1: r.right, y1: r.bottom,
                size, kind});
  });
  const rects = [];
  plot.querySelectorAll('.shapelayer path').forEach(p => {
    const r = p.getBoundingClientRect();
    if (r.width > 20 && r.height > 20) rects.push({x0: r.left, y0: r.top, x1: r.right, y1: r.bottom});
  });
  const title = plot.querySelector('.g-gtitle text');
  return {index: i, title: title ? title.textContent.slice(0, 50) : '', box: {x0: own.left, y0: own.top,
          x1: own.right, y1: own.bottom}, texts, rects};
}).filter(Boolean)
"""


def overlap(a, b) -> float:
    """The area two boxes share, beyond the slack."""
    w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
    return 0.0 if w <= SLACK or h <= SLACK else w * h


def problems(figures: list[dict]) -> list[str]:
    """What a reader would see as cut, overlapping or too small, per figure."""
    found = []
    for fig in figures:
        name = f"figure {fig['index']} '{fig['title']}'"
        box, texts = fig["box"], fig["texts"]
        for t in texts:
            if (t["x0"] < box["x0"] - SLACK or t["x1"] > box["x1"] + SLACK
                    or t["y0"] < box["y0"] - SLACK or t["y1"] > box["y1"] + SLACK):
                found.append(f"{name}: '{t['text']}' is cut by the figure's edge")
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                if overlap(a, b) > 0:
                    found.append(f"{name}: '{a['text']}' overlaps '{b['text']}'")
        if fig["title"].startswith("Journey map"):
            for t in texts:
                if t["kind"] != "annotation":
                    continue
                if t["size"] < 12:
                    found.append(f"{name}: '{t['text']}' is {t['size']:.0f} px, under 12")
                # The cell: the smallest rectangle holding the text's top-left corner.
                holders = [r for r in fig["rects"] if r["x0"] - SLACK <= t["x0"] <= r["x1"] and
                           r["y0"] - SLACK <= t["y0"] <= r["y1"]]
                if not holders:
                    continue
                cell = min(holders, key=lambda r: (r["x1"] - r["x0"]) * (r["y1"] - r["y0"]))
                if t["x1"] > cell["x1"] + SLACK or t["y1"] > cell["y1"] + SLACK:
                    found.append(f"{name}: '{t['text']}' runs out of its cell")
    return found
