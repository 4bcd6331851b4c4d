"""Glue for the voice of the customer on the Emotions page: cached themes, comment
sentiment and who answered the survey (journeylib.voice)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from journeylib import voice
from ui import cache
from ui.present import md_escape

THEME_CHOICES = ["auto", 2, 3, 4, 5, 6, 8]
EXAMPLE_CHARS = 280


def _persona_frame(view: cache.View) -> pd.DataFrame | None:
    """customer_id -> persona of the whole dataset, or None when it has no personas."""
    try:
        return cache.personas(view).assignments[["customer_id", "persona"]]
    except Exception:  # noqa: BLE001 - a dataset too small for personas still has themes
        return None


@st.cache_data(max_entries=16, show_spinner="Reading the comments…")
def _themes(view: cache.View, by: str, n_themes: int | str) -> voice.Themes | None:
    data = cache.filtered(view)
    if data.survey is None or "comment" not in data.survey.columns:
        return None
    personas = _persona_frame(view) if by == "persona" else None
    return voice.comment_themes(data.survey, by=by, n_themes=n_themes, seed=0, personas=personas,
                                order=data.stages, scale=data.score_scale)


def themes(view: cache.View, by: str = "stage", n_themes: int | str = "auto") -> voice.Themes | None:
    """Comment themes of the view's answers (None without comments); channels do not change them."""
    return _themes(cache.survey_view(view), by, n_themes)


def with_sentiment(view: cache.View, quotes: pd.DataFrame) -> pd.DataFrame:
    """Comments with their sentiment beside the score and whether the two disagree."""
    if quotes.empty:
        return quotes
    data = cache.filtered(view)
    found = themes(view)
    language = found.language if found is not None else "auto"
    out = voice.with_sentiment(quotes, data.score_scale, language)
    out["sentiment"] = out["sentiment"].round(2)  # VADER gives four decimals; two are all a reader uses
    out["score"] = out["score"].round(2)  # a shared comment's score is the mean of its ratings
    # A column with nothing in it (no touchpoint for a shared comment) would show "None" on every row.
    out = out.drop(columns=[c for c in ("stage", "touchpoint", "timestamp") if c in out and out[c].isna().all()])
    front = [c for c in ("customer_id", "persona", "stage", "touchpoint", "score", "sentiment", "disagrees", "comment")
             if c in out]
    return out[front + [c for c in out if c not in front]]


@st.cache_data(max_entries=32, show_spinner="Reading the comments…")
def _disagreeing(view: cache.View, stage: str | None, persona: str | None,
                 low: float | None, high: float | None, limit: int) -> pd.DataFrame:
    from journeylib.emotions import comments

    data = cache.filtered(view)
    if data.survey is None:
        return pd.DataFrame()
    personas = _persona_frame(view)
    every = comments(data.survey, personas=personas, stage=stage, persona=persona, min_score=low,
                     max_score=high, limit=None)
    scored = with_sentiment(view, every)
    return scored[scored["disagrees"]].head(limit).reset_index(drop=True) if not scored.empty else scored


def disagreeing(view: cache.View, stage: str | None, persona: str | None,
                low: float | None, high: float | None, limit: int = 200) -> pd.DataFrame:
    """The comments (of the chosen stage, persona and scores) whose sentiment contradicts their score."""
    return _disagreeing(cache.survey_view(view), stage, persona, low, high, limit)


@st.cache_data(max_entries=16, show_spinner="Comparing who answered…")
def coverage(view: cache.View) -> dict:
    """Who answered the survey: ``table`` (journeylib.voice.survey_coverage, per stage and
    persona), ``differences`` (answerers vs the rest) and ``warnings`` (sentences)."""
    data = cache.filtered(view)
    if data.survey is None:
        return {"table": pd.DataFrame(), "differences": pd.DataFrame(), "warnings": []}
    differences = voice.answerer_differences(data)
    return {"table": voice.survey_coverage(data, _persona_frame(view)), "differences": differences,
            "warnings": voice.coverage_warnings(data, differences)}


def _fmt(value: float, digits: int = 1) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def theme_card(found: voice.Themes, group: str, theme_id: int, side: str, key: str) -> None:
    """One highlighted theme: label, size, mean score and sentiment, and its comments."""
    table = found.table
    row = table[(table[found.by] == group) & (table["theme_id"] == theme_id)]
    if row.empty:
        st.caption(f"No theme here reads {side}.")
        return
    row = row.iloc[0]
    icon = ":material/sentiment_dissatisfied:" if side == "negative" else ":material/sentiment_satisfied:"
    st.markdown(f"{icon} **{md_escape(row['theme'])}**")
    st.caption(f"{int(row['comments']):,} comments ({row['share']:.0%}) · mean score {_fmt(row['mean_score'])} · "
               f"sentiment {_fmt(row['sentiment'], 2)}")
    example = str(row["example"])
    if len(example) > EXAMPLE_CHARS:  # a long review in full would push the other stages off the screen
        example = example[:EXAMPLE_CHARS].rsplit(" ", 1)[0] + " …"
    st.markdown(f"> {md_escape(example)}")
    with st.expander(f"Read its {int(row['comments']):,} comments"):
        st.dataframe(voice.theme_comments(found, group, theme_id).drop(columns=["weight"], errors="ignore"),
                     hide_index=True, width="stretch", key=key)


def show_coverage(reach: dict) -> None:
    """The coverage table (per stage and persona) and the answerers-vs-the-rest table."""
    table = reach["table"].copy()
    if table["asked"].isna().all():
        table = table.drop(columns=["asked"])
    if table["reached"].isna().all():
        table = table.drop(columns=["reached", "answered_reached"])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "reached": st.column_config.NumberColumn("Reached", help="Customers with events at this stage."),
        "asked": st.column_config.NumberColumn("Asked", help="Customers with a survey row here, answered or not."),
        "answered": st.column_config.NumberColumn("Answered", help="Customers with a score or a comment here."),
        "answered_reached": st.column_config.NumberColumn("Answered of the reached"),
        "response_rate": st.column_config.NumberColumn("Response rate", format="percent"),
    })
    diff = reach["differences"]
    if diff.empty:
        return
    shares = diff["measure"].str.startswith("reached")
    shown = diff.assign(
        answered=[f"{v:.0%}" if s else f"{v:.1f}" if pd.notna(v) else "–" for v, s in zip(diff["answered"], shares)],
        not_answered=[f"{v:.0%}" if s else f"{v:.1f}" if pd.notna(v) else "–"
                      for v, s in zip(diff["not_answered"], shares)])
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "measure": "Behaviour", "answered": "Answered", "not_answered": "Did not answer",
        "n_answered": "n answered", "n_not_answered": "n not answered",
        "effect": st.column_config.NumberColumn("Effect", format="%.2f"), "effect_kind": "Effect size",
        "differs": st.column_config.CheckboxColumn("Differs (above 0.2)"), "note": "Note"})
