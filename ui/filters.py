"""Sidebar filters and page controls in the link: a URL brings back the whole view.

The sidebar's widgets keep their values in ``st.session_state`` and are mirrored into
``st.query_params`` as plain strings (``dataset`` as the dataset's id, repeated ``persona``
and ``channel``, ``from`` and ``to`` as ISO dates); on a session's first run the query
parameters are read back into the widgets. They are kept by hand because they outlive
page switches and their values are checked against the dataset.

A page's own controls (level, steps, whose journey...) are bound to the URL with
Streamlit's ``bind="query-params"`` through :func:`linked`: the widget key is the
parameter's name, a value equal to the widget's default leaves the URL, an invalid one is
dropped, and a page switch drops the other page's parameters. :func:`link_value` reads
such a control's value before the widget is drawn (present mode reads "whose journey"
first), so a fresh browser opening the link computes with the linked value.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import streamlit as st

from ui import cache, state

RESTORED_KEY = "_filters_restored"
SIDEBAR_PARAMS = ("dataset", "persona", "from", "to", "channel")


def linked(key: str) -> dict:
    """Widget arguments that put a page control in the link: ``**filters.linked("j_level")``."""
    if key in SIDEBAR_PARAMS:
        raise ValueError(f"{key!r} is a sidebar parameter; give the control another key")
    return {"key": key, "bind": "query-params"}


def link_value(key: str, options, default):
    """The value of the linked control ``key`` before its widget is drawn: this session's
    value, else the link's, else ``default`` (a value not among ``options`` counts as none).
    The value is stored under ``key``, so the widget drawn later shows the same."""
    options = list(options)
    value = st.session_state.get(key)
    if value not in options:
        value = st.query_params.get(key)
        if value not in options:
            value = default
        st.session_state[key] = value
    return value


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _restore_from_query(infos) -> None:
    """First run of a session: query parameters -> session state (invalid values dropped)."""
    qp = st.query_params
    ids = {i.id for i in infos}
    wanted = qp.get("dataset")
    if wanted in ids:
        st.session_state[state.ACTIVE_KEY] = wanted
    info = next((i for i in infos if i.id == st.session_state.get(state.ACTIVE_KEY)), infos[0])
    view = state.base_view(info)
    facts = cache.facts(view.root, view.dataset_id, view.saved)
    personas = qp.get_all("persona")
    if personas:
        known = state.persona_names()
        st.session_state["flt_personas"] = [p for p in personas if p in known]
    channels = [c for c in qp.get_all("channel") if c in facts["channels"]]
    if channels:
        st.session_state["flt_channels"] = channels
    lo, hi = _date(qp.get("from")), _date(qp.get("to"))
    first, last = _date(facts["first"]), _date(facts["last"])
    if (lo or hi) and first and last:
        lo = min(max(lo or first, first), last)
        hi = max(min(hi or last, last), lo)
        st.session_state["flt_dates"] = (lo, hi)


def _on_dataset_change() -> None:
    for key in state.FILTER_KEYS:
        st.session_state.pop(key, None)
        st.session_state.pop(state.DURABLE[key], None)


def _write_query(view: cache.View) -> None:
    wanted: dict[str, str | list[str]] = {"dataset": view.dataset_id}
    if view.personas:
        wanted["persona"] = list(view.personas)
    if view.start:
        wanted["from"] = view.start
    if view.end:
        wanted["to"] = view.end
    if view.channels:
        wanted["channel"] = list(view.channels)
    current = {k: (st.query_params.get_all(k) if k in ("persona", "channel") else st.query_params.get(k))
               for k in st.query_params.keys()}
    # Keys owned by other pages (e.g. present mode) are left alone.
    mine = {k: v for k, v in current.items() if k in SIDEBAR_PARAMS}
    if mine != wanted:
        for key in SIDEBAR_PARAMS:
            if key not in wanted and key in st.query_params:
                del st.query_params[key]
        for key, value in wanted.items():
            st.query_params[key] = value


def _persona_filter(personas: list[str]) -> None:
    if personas:
        st.multiselect("Personas", personas, key="flt_personas", placeholder="All personas",
                       help="Show only customers of these personas.")


def sidebar() -> Callable[[bool], None]:
    """Render the shared sidebar; returns what completes it once the page has run.

    A new dataset's personas take seconds to find (2.9 s for 26,000 respondents), and the
    page should not wait for the filter's list: unless this session has them already or a
    persona filter is set, the filter's place is kept and filled after the page, with
    ``finish(True)``; ``finish(False)`` (a page that needs no personas, the Data page)
    leaves it empty. The view is the same either way: with no persona chosen it is everyone."""
    infos = state.all_datasets()
    state.recall()
    pending = st.session_state.pop(state.PENDING_KEY, None)
    if pending and pending in {i.id for i in infos}:
        st.session_state[state.ACTIVE_KEY] = pending
    if not st.session_state.get(RESTORED_KEY):
        st.session_state[RESTORED_KEY] = True
        _restore_from_query(infos)
    if st.session_state.get(state.ACTIVE_KEY) not in {i.id for i in infos}:
        st.session_state[state.ACTIVE_KEY] = infos[0].id

    names = state.labels(infos)
    with st.sidebar:
        st.selectbox("Dataset", options=list(names), format_func=lambda i: names.get(i, i),
                     key=state.ACTIVE_KEY, on_change=_on_dataset_change,
                     help="Upload, rename or delete datasets on the Data page.")
        base = state.base_view()
        facts = cache.facts(base.root, base.dataset_id, base.saved)
        survey_only = not facts["events"] and facts["has_survey"]
        st.caption(("Survey answers only, no events" if survey_only else
                    f"{facts['customers']:,} customers · {facts['events']:,} events")
                   + (f" · {facts['first']} to {facts['last']}" if facts["first"] else ""))
        st.markdown("**Filters**")
        slot = st.empty()
        now = state.personas_asked() or bool(state.get("flt_personas"))
        if now:
            with slot.container():
                _persona_filter(state.persona_names())
        first, last = _date(facts["first"]), _date(facts["last"])
        if first and last:
            if "flt_dates" not in st.session_state:
                st.session_state["flt_dates"] = (first, last)
            st.date_input("Dates", key="flt_dates", min_value=first, max_value=last, format="YYYY-MM-DD",
                          help="Events (and dated survey answers) between these days, inclusive.")
        if facts["channels"]:
            st.multiselect("Channels", facts["channels"], key="flt_channels", placeholder="All channels",
                           help="Keep only events from these channels.")
        state.remember()
        view = state.current_view()
        n = cache.counts(view)
        if survey_only:
            st.caption(f"In view: **{n['answers']:,} survey answers**")
        else:
            st.caption(f"In view: **{n['customers']:,} customers**, {n['events']:,} events"
                       + (f", {n['answers']:,} survey answers" if facts["has_survey"] else ""))
    _write_query(view)

    def finish(find: bool) -> None:
        if now or not (find or state.personas_asked()):
            return
        with slot.container():
            _persona_filter(state.persona_names())
        state.remember()

    return finish
