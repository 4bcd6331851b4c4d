"""Session state: the active dataset and the current view of it.

A dataset is identified by its id everywhere: the sidebar's widget holds the active id,
the URL carries it (``dataset=``), and the Data page opens, renames and deletes by it.
Names are what people read; :func:`labels` keeps the names shown unique, because a
selectbox sends back the label a user picked, so two equal labels would be one choice.
The active dataset id lives in ``st.session_state``; the sidebar filters (ui.filters) live
there too. Pages ask this module for what they show: :func:`current_view` (the cache key),
:func:`current_data` (filtered JourneyData), :func:`current_personas`, :func:`persona_colors`
and :func:`subject` (the "for whom" text every chart title carries).
"""

from __future__ import annotations

import threading

import streamlit as st

from journeylib import charts, workspace
from journeylib.schema import JourneyData
from ui import cache

ACTIVE_KEY = "dataset_id"  # the sidebar widget
PENDING_KEY = "_next_dataset_id"
FILTER_KEYS = ("flt_personas", "flt_dates", "flt_channels")
# Streamlit forgets a widget's value when a run does not draw the widget; these plain keys
# keep the last values so a page shown without the sidebar still sees the same view.
DURABLE = {ACTIVE_KEY: "_active_dataset", **{k: f"_keep_{k}" for k in FILTER_KEYS}}


def get(key: str, default=None):
    """A widget's value, or its remembered copy when the widget was not drawn this run."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(DURABLE[key], default)


def remember() -> None:
    """Copy the sidebar widgets' values into their durable keys."""
    for key, keep in DURABLE.items():
        if key in st.session_state:
            st.session_state[keep] = st.session_state[key]
        else:
            st.session_state.pop(keep, None)


def recall() -> None:
    """Put remembered values back into widget keys that Streamlit dropped."""
    for key, keep in DURABLE.items():
        if key not in st.session_state and keep in st.session_state:
            st.session_state[key] = st.session_state[keep]

_sample_lock = threading.Lock()


def root() -> str:
    """The workspace folder for this process ($JOURNEY_WORKSPACE or ./workspace)."""
    return str(workspace.workspace_root())


def import_sample(base: str) -> workspace.DatasetInfo:
    """Load the bundled sample CSVs and save them as a dataset."""
    from journeylib.ingest import load_journey

    files = {kind: cache.SAMPLE_DIR / f"{kind}.csv" for kind in ("touchpoints", "survey", "customers")}
    data = load_journey(**{k: str(p) for k, p in files.items() if p.exists()}, engine=cache.engine())
    return workspace.save_dataset(data, cache.SAMPLE_NAME, root=base, engine=cache.engine())


def datasets() -> list[workspace.DatasetInfo]:
    """Saved datasets, newest first; on a fresh workspace the bundled sample is imported."""
    base = root()
    found = workspace.list_datasets(base)
    if found:
        return found
    with _sample_lock:
        found = workspace.list_datasets(base)
        if not found:
            with st.spinner("First start: loading the bundled sample data…"):
                import_sample(base)
            found = workspace.list_datasets(base)
    return found


def all_datasets() -> list[workspace.DatasetInfo]:
    """This session's connected datasets (ui.connect), then the saved ones."""
    from ui import connect

    return [connect.info(c) for c in connect.connections().values()] + datasets()


def labels(infos: list[workspace.DatasetInfo]) -> dict[str, str]:
    """Dataset id -> the name shown for it, unique among ``infos`` (in their order)."""
    from ui import connect

    saved = workspace.distinct_names(i for i in infos if not connect.is_connected(i.id))
    shown: dict[str, str] = {}
    for info in infos:
        shown[info.id] = saved.get(info.id) or workspace.unique_name(info.name or info.id, shown.values())
    return shown


def is_connected(info: workspace.DatasetInfo) -> bool:
    from ui import connect

    return connect.is_connected(info.id)


def update_settings(info: workspace.DatasetInfo, **settings) -> None:
    """Store view settings (persona count...) with the dataset, or in the session if connected."""
    from ui import connect

    if connect.is_connected(info.id):
        connect.update_settings(info.id, **settings)
    else:
        workspace.update_settings(info.id, root=root(), **settings)


def set_persona_names(info: workspace.DatasetInfo, names: dict[str, str]) -> None:
    """Store persona renames with the dataset, or in the session if connected."""
    from ui import connect

    if connect.is_connected(info.id):
        clean = {str(k): str(v).strip()[:80] for k, v in names.items() if str(v).strip() and str(v).strip() != k}
        connect.update_settings(info.id, persona_names=clean)
    else:
        workspace.set_persona_names(info.id, names, root=root())


def set_active(dataset_id: str) -> None:
    """Make a dataset active from anywhere (applied by the sidebar on the next run)."""
    keep_active(dataset_id)
    for key in FILTER_KEYS:
        st.session_state.pop(key, None)
        st.session_state.pop(DURABLE[key], None)


def keep_active(dataset_id: str) -> None:
    """Hold on to the active dataset through a change of its label (a rename): the next
    run's sidebar sets its widget by id, not by the old label the browser sends back."""
    st.session_state[PENDING_KEY] = dataset_id
    st.session_state[DURABLE[ACTIVE_KEY]] = dataset_id


def active_info() -> workspace.DatasetInfo:
    """Metadata of the active dataset (falls back to the newest one)."""
    infos = all_datasets()
    wanted = st.session_state.get(PENDING_KEY) or get(ACTIVE_KEY)
    for info in infos:
        if info.id == wanted:
            return info
    return infos[0]


def base_view(info: workspace.DatasetInfo | None = None) -> cache.View:
    """The whole active dataset, no filters."""
    from ui import connect

    info = info or active_info()
    return cache.View(
        root=connect.ROOT if connect.is_connected(info.id) else root(),
        dataset_id=info.id,
        saved=info.saved,
        n_personas=str(info.settings.get("n_personas", "auto")),
        persona_names=cache.names_key(info.persona_names),
    )


def current_view() -> cache.View:
    """The active dataset with the sidebar filters (the key every cached result uses)."""
    import dataclasses

    view = base_view()
    dates = get("flt_dates") or ()
    start = end = None
    if isinstance(dates, (tuple, list)) and len(dates) == 2:
        start, end = (d.isoformat() if d else None for d in dates)
        facts = cache.facts(view.root, view.dataset_id, view.saved)
        # The full range is no filter at all: keep the cache key (and the title) simple.
        if start == facts["first"] and end == facts["last"]:
            start = end = None
    return dataclasses.replace(
        view,
        personas=tuple(get("flt_personas") or ()),
        start=start,
        end=end,
        channels=tuple(get("flt_channels") or ()),
    )


def current_data() -> JourneyData:
    """The active dataset with the sidebar filters applied."""
    return cache.filtered(current_view())


def current_personas():
    """PersonaResult of the active dataset (fitted once per dataset and persona count)."""
    return cache.personas(base_view())


FOUND_KEY = "_personas_asked"  # base views whose personas this session has asked for


def persona_names() -> list[str]:
    """Persona names in model order, or [] when personas cannot be found."""
    view = base_view()
    asked = st.session_state.setdefault(FOUND_KEY, set())
    try:
        names = cache.persona_order(view)
    except Exception:  # noqa: BLE001 - shown on the Personas page; other pages just lose the filter
        asked.add(view)
        return []
    asked.add(view)
    cache.persona_labels_ready(view)
    return names


def personas_asked() -> bool:
    """Whether this session has already asked for the active dataset's personas (found, or
    found impossible), so asking again is quick; a new dataset's take seconds to find."""
    return base_view() in st.session_state.get(FOUND_KEY, ())


def persona_colors() -> dict[str, str]:
    """Persona -> colour, fixed by model order so every page agrees."""
    return charts.persona_colors(persona_names())


def subject(view: cache.View | None = None, persona: str | None = None) -> str:
    """Who a chart is about: personas, dates, channels in words."""
    view = view or current_view()
    if persona:
        who = persona
    elif view.personas:
        who = ", ".join(view.personas)
    else:
        who = "All customers"
    parts = [who]
    if view.start or view.end:
        parts.append(f"{view.start or '…'} to {view.end or '…'}")
    if view.channels:
        parts.append("channels: " + ", ".join(view.channels))
    return ", ".join(parts)
