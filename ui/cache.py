"""Cached access to the engine, saved datasets and analysis results.

Everything expensive goes through here. Results are keyed on a :class:`View` (workspace,
dataset id and save stamp, persona settings, sidebar filters) plus the page's own
parameters, so changing a filter back and forth is served from the cache. Caches are
bounded (``max_entries``); the engine and opened datasets are shared resources.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd
import streamlit as st

from journeylib import workspace
from journeylib.engine import Engine, default_engine, execute
from journeylib.schema import JourneyData

# JOURNEY_SAMPLE_DIR points first start at another folder of sample CSVs.
SAMPLE_DIR = Path(os.environ.get("JOURNEY_SAMPLE_DIR") or Path(__file__).resolve().parent.parent / "data" / "sample")
SAMPLE_NAME = "Sample data (bundled)"


@dataclass(frozen=True)
class View:
    """Everything that decides which rows a page analyses (hashable cache key)."""

    root: str
    dataset_id: str
    saved: str  # changes whenever the dataset's tables are re-saved
    n_personas: str = "auto"  # "auto" or a whole number as text
    persona_names: tuple[tuple[str, str], ...] = ()  # renames: automatic -> chosen
    personas: tuple[str, ...] = ()  # persona filter (chosen names); empty = everyone
    start: str | None = None  # ISO dates, inclusive
    end: str | None = None
    channels: tuple[str, ...] = ()

    def unfiltered(self) -> "View":
        return dataclasses.replace(self, personas=(), start=None, end=None, channels=())

    @property
    def has_filters(self) -> bool:
        """Whether a sidebar filter (personas, dates, channels) narrows this view."""
        return self != self.unfiltered()


# ----------------------------------------------------------------------------- resources


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide query engine (embedded DuckDB unless JOURNEY_BACKEND_URL says otherwise)."""
    return default_engine()


@st.cache_resource(show_spinner=False)
def warm_imports() -> bool:
    """Once per process, while the first page shows: the analysis modules imported on a
    thread (scikit-learn, scipy.stats; 2-4 s on a busy 2-core machine), so the first
    personas, map or themes a user asks for do not wait for the import."""
    from journeylib import import_in_background

    import_in_background("journeylib.personas", "journeylib.insights", "journeylib.voice", "journeylib.journey_map")
    return True


@st.cache_resource(max_entries=6, show_spinner="Opening dataset…")
def dataset(root: str, dataset_id: str, saved: str) -> JourneyData:
    """A saved dataset, reopened from its Parquet files; or a connected one, read where it lives
    (then ``saved`` is the connection's description, see ui.connect)."""
    from ui import connect

    if root == connect.ROOT:
        return connect.open_connection(connect.Connection.from_key(saved))
    return workspace.open_dataset(dataset_id, root=root, engine=engine())


def engine_for(view: "View") -> Engine:
    """The engine holding a view's tables (the database's for a connected dataset)."""
    from ui import connect

    if view.root == connect.ROOT:
        return connect.engine(connect.Connection.from_key(view.saved).url)
    return engine()


def _k(n_personas: str) -> int | str:
    return "auto" if n_personas in ("", "auto") else int(n_personas)


@st.cache_resource(max_entries=6, show_spinner="Finding personas…")
def _fitted_personas(root: str, dataset_id: str, saved: str, n_personas: str):
    from journeylib.personas import find_personas

    return find_personas(dataset(root, dataset_id, saved), n_personas=_k(n_personas), random_state=0)


def personas(view: View):
    """PersonaResult for the whole dataset (filters do not refit), renamed as the user chose."""
    return _named_personas(view.unfiltered())


@st.cache_resource(max_entries=12, show_spinner=False)
def _named_personas(view: View):
    raw = _fitted_personas(view.root, view.dataset_id, view.saved, view.n_personas)
    names = dict(view.persona_names)
    if not names:
        return raw
    rename = lambda n: names.get(n, n)  # noqa: E731
    assignments = raw.assignments.assign(persona=raw.assignments["persona"].map(rename))
    embedding = raw.embedding
    if embedding is not None and "persona" in embedding:
        embedding = embedding.assign(persona=embedding["persona"].map(rename))
    # profiles are keyed by integer label; persona_cards() maps labels to names.
    return dataclasses.replace(raw, assignments=assignments, embedding=embedding)


def persona_order(view: View) -> list[str]:
    """Persona names in model order (this order fixes each persona's colour)."""
    raw = _fitted_personas(view.root, view.dataset_id, view.saved, view.n_personas)
    names = dict(view.persona_names)
    auto = list(getattr(raw.model, "names_", None) or dict.fromkeys(raw.assignments["persona"]))
    return [names.get(n, n) for n in auto]


@st.cache_data(max_entries=12, show_spinner=False)
def persona_cards(view: View) -> list[dict]:
    """One card per persona (model order), :func:`journeylib.personas.persona_cards` with
    the user's names: ``auto_name``, ``name`` plus that frame's columns."""
    from journeylib.personas import persona_cards as cards_of

    raw = _fitted_personas(view.root, view.dataset_id, view.saved, view.n_personas)
    records = cards_of(dataset(view.root, view.dataset_id, view.saved), raw).to_dict("records")
    for record, name in zip(records, persona_order(view)):
        record.update(auto_name=record["persona"], name=name)
    return records


@st.cache_data(max_entries=12, show_spinner=False)
def persona_summary(view: View) -> dict:
    """How the personas were found, in words: ``criterion`` (why this many),
    ``stability`` (how far to trust them) and ``goal_note`` (why conversion cannot be
    shown and what to set; None when it can)."""
    from journeylib.personas import goal_note, stability_text

    raw = _fitted_personas(view.root, view.dataset_id, view.saved, view.n_personas)
    return {"criterion": raw.model.criterion_, "stability": stability_text(raw.model),
            "goal_note": goal_note(dataset(view.root, view.dataset_id, view.saved))}


@st.cache_resource(max_entries=12, show_spinner=False)
def _persona_table(view: View):
    """customer_id -> persona as a table on the engine, so a persona filter is a join
    inside the backend rather than a list of ids shipped with every query."""
    from journeylib.persona_sampling import labels_table

    frame = personas(view).assignments[["customer_id", "persona"]].astype({"customer_id": "str"})
    return labels_table(engine_for(view), frame)


def _chosen_customers(view: View, persona: str | None):
    """customer_id of the persona asked for, else of the view's personas; None: everyone."""
    chosen = (persona,) if persona else view.personas
    if not chosen:
        return None
    pt = _persona_table(view.unfiltered())
    return pt.filter(pt.persona.isin(list(chosen))).select("customer_id")


def _restrict(data: JourneyData, view: View, persona: str | None) -> JourneyData:
    keep = _chosen_customers(view, persona)
    if keep is not None:
        data = dataclasses.replace(
            data,
            events=data.events.semi_join(keep, "customer_id"),
            survey=None if data.survey is None else data.survey.semi_join(keep, "customer_id"),
            customers=None if data.customers is None else data.customers.semi_join(keep, "customer_id"),
        )
    if not (view.start or view.end or view.channels):
        return data
    return data.filter(start=view.start, end=view.end, channels=list(view.channels) or None)


@st.cache_resource(max_entries=16, show_spinner=False)
def filtered(view: View, persona: str | None = None) -> JourneyData:
    """The dataset with the sidebar filters (and optionally one persona) applied."""
    return _restrict(dataset(view.root, view.dataset_id, view.saved), view, persona)


# ----------------------------------------------------------------------------- facts


@st.cache_data(max_entries=16, show_spinner=False)
def facts(root: str, dataset_id: str, saved: str) -> dict:
    """Dates, channels and sizes of a whole dataset (for the sidebar's choices)."""
    data = dataset(root, dataset_id, saved)
    ev = data.events
    row = execute(ev.aggregate(
        events=ev.count(), customers=ev.customer_id.nunique(),
        first=ev.timestamp.min(), last=ev.timestamp.max(),
    )).iloc[0]
    channels = execute(
        ev.filter(ev.channel.notnull()).group_by("channel").agg(n=ibis._.count()).order_by(ibis.desc("n"))
    )["channel"].astype(str).tolist()
    first, last = row["first"], row["last"]
    return {
        "events": int(row["events"]), "customers": int(row["customers"]),
        "first": None if pd.isna(first) else pd.Timestamp(first).date().isoformat(),
        "last": None if pd.isna(last) else pd.Timestamp(last).date().isoformat(),
        "channels": channels,
        "has_survey": data.survey is not None,
    }


@st.cache_data(max_entries=64, show_spinner=False)
def counts(view: View, persona: str | None = None) -> dict:
    """Customers, events and survey answers in the filtered view."""
    ev = filtered(view, persona).events
    row = execute(ev.aggregate(events=ev.count(), customers=ev.customer_id.nunique())).iloc[0]
    return {"events": int(row["events"]), "customers": int(row["customers"]),
            "answers": _answers(survey_view(view), persona)}


@st.cache_data(max_entries=64, show_spinner=False)
def _answers(view: View, persona: str | None) -> int:
    # Keyed on the survey's view: a change of channels alone does not count them again.
    survey = filtered(view, persona).survey
    return 0 if survey is None else int(execute(survey.count().as_table()).iloc[0, 0])


@st.cache_data(max_entries=16, show_spinner=False)
def touchpoint_stages(root: str, dataset_id: str, saved: str) -> dict[str, str]:
    """Each touchpoint's most frequent stage (colours Sankey nodes by stage)."""
    ev = dataset(root, dataset_id, saved).events
    t = ev.filter(ev.stage.notnull()).group_by(["touchpoint", "stage"]).agg(n=ibis._.count())
    frame = execute(t.order_by([ibis.desc("n"), "touchpoint", "stage"]))
    return dict(frame.drop_duplicates("touchpoint")[["touchpoint", "stage"]].itertuples(index=False, name=None))


# ----------------------------------------------------------------------------- flows


@st.cache_resource(max_entries=12, show_spinner=False)
def _stored_elements(root: str, dataset_id: str, saved: str, level: str):
    from ui import connect

    if root == connect.ROOT:
        return None
    return workspace.open_elements(dataset_id, level, root=root, engine=engine())


def elements(view: View, level: str, collapse: bool, persona: str | None = None):
    """The saved dataset's journey elements for the view (journeylib.flows.stored_elements),
    so its flows skip ordering every customer's events; None where they do not apply: a
    date or channel filter changes the elements, and the stored ones keep repeats."""
    if view.start or view.end or view.channels or (level == "touchpoint" and collapse):
        return None
    stored = _stored_elements(view.root, view.dataset_id, view.saved, level)
    keep = None if stored is None else _chosen_customers(view, persona)
    return stored if keep is None else stored.semi_join(keep, "customer_id")


@st.cache_data(max_entries=64, show_spinner="Counting journeys…")
def sankey_frame(view: View, level: str, max_steps: int, top: int, collapse: bool,
                 start: str | None, persona: str | None = None) -> pd.DataFrame:
    from journeylib.flows import step_sankey

    return step_sankey(filtered(view, persona).events, level=level, max_steps=max_steps, top=top,
                       collapse_repeats=collapse, start=start or None,
                       elements=elements(view, level, collapse, persona))


@st.cache_data(max_entries=32, show_spinner=False)
def start_nodes(view: View, level: str, collapse: bool) -> list[str]:
    """First elements of journeys, most common first (choices for 'start at'); pages pass
    the unfiltered view so the choices do not cost a query on every filter change."""
    from journeylib.flows import step_sankey

    frame = step_sankey(filtered(view).events, level=level, max_steps=2, top=0, collapse_repeats=collapse,
                        elements=elements(view, level, collapse))
    return frame.groupby("source")["customers"].sum().sort_values(ascending=False).index.astype(str).tolist()


def _without_goal(data: JourneyData) -> JourneyData:
    return dataclasses.replace(data, journey=data.journey.with_goal(None))


@st.cache_data(max_entries=32, show_spinner=False)
def funnel_frame(view: View, persona: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The funnel towards the goal (journeylib.flows.funnel) and, when the goal cannot be
    judged here, the funnel without it and the reason; an empty frame and the reason when
    there is no funnel at all (no events)."""
    return goal_funnel(filtered(view, persona))


def goal_funnel(data: JourneyData) -> tuple[pd.DataFrame, str | None]:
    """:func:`funnel_frame` of any data (a side of a comparison too); not cached itself."""
    from journeylib.flows import funnel
    from journeylib.journey import GoalError

    try:
        return funnel(data), None
    except GoalError as exc:
        return funnel(_without_goal(data)), str(exc)
    except ValueError as exc:
        return pd.DataFrame(), str(exc)


@st.cache_data(max_entries=32, show_spinner=False)
def top_paths_frame(view: View, level: str, n: int, persona: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The most common paths with their conversion to the goal (journeylib.flows.top_paths);
    without conversion, and the reason, when the goal cannot be judged here."""
    from journeylib.flows import top_paths
    from journeylib.journey import GoalError

    data = filtered(view, persona)
    stored = elements(view, level, False, persona)
    try:
        return top_paths(data, level=level, n=n, elements=stored), None
    except GoalError as exc:
        return top_paths(_without_goal(data), level=level, n=n, elements=stored), str(exc)


@st.cache_data(max_entries=32, show_spinner=False)
def transitions_frame(view: View, level: str, collapse: bool) -> pd.DataFrame:
    from journeylib.flows import transitions

    return transitions(filtered(view).events, level=level, collapse_repeats=collapse,
                       elements=elements(view, level, collapse))


# ----------------------------------------------------------------------------- emotions


def _persona_labels(view: View) -> ibis.Table | None:
    """customer_id -> persona on the engine (a join there, not a million-row upload per call)."""
    try:
        return _persona_table(view.unfiltered())
    except Exception:  # noqa: BLE001 - a dataset too small for personas still has curves
        return None


def persona_labels(view: View) -> ibis.Table | None:
    """The fitted personas (customer_id, persona) as a table on the engine, or None when the
    dataset has none (too small to fit)."""
    return _persona_labels(view)


def persona_labels_ready(view: View) -> None:
    """Put the persona labels on the engine now (once per fit, while the dataset opens):
    the first persona filter then does not wait for the upload (0.4 s at 1M customers).
    A connected database gets them only when a persona filter asks: writing there is slower
    and may not be wanted for a dataset only looked at."""
    from ui import connect

    if view.root != connect.ROOT:
        _persona_labels(view)


def curve_level(view: View) -> str:
    """The level the Emotions page starts along for this dataset (journeylib.emotions.curve_level):
    the whole dataset's, so a filter does not move it."""
    return _curve_level(view.root, view.dataset_id, view.saved)


@st.cache_data(max_entries=16, show_spinner=False)
def _curve_level(root: str, dataset_id: str, saved: str) -> str:
    from journeylib.emotions import curve_level as level_of

    data = dataset(root, dataset_id, saved)
    return level_of(data.survey, data.stages)


def shared_comments(view: View) -> bool:
    """Whether the dataset's comments are one per customer on every rating's row
    (journeylib.emotions.shared_comments), for the whole dataset."""
    return _shared_comments(view.root, view.dataset_id, view.saved)


@st.cache_data(max_entries=16, show_spinner=False)
def _shared_comments(root: str, dataset_id: str, saved: str) -> bool:
    from journeylib.emotions import shared_comments as shared

    data = dataset(root, dataset_id, saved)
    return data.survey is not None and shared(data.survey)


@st.cache_data(max_entries=32, show_spinner="Averaging scores…")
def _emotion_frame(view: View, level: str, by_persona: bool, min_n: int = 30) -> pd.DataFrame:
    from journeylib.emotions import emotion_curve

    data = filtered(view)
    if data.survey is None:
        return pd.DataFrame()
    pf = _persona_labels(view) if by_persona else None
    if pf is not None and view.personas:
        pf = pf.filter(pf.persona.isin(list(view.personas)))
    return emotion_curve(data.survey, data.stages, level=level, personas=pf, min_n=min_n)


@st.cache_data(max_entries=32, show_spinner=False)
def _heatmap_frame(view: View) -> pd.DataFrame:
    from journeylib.emotions import touchpoint_stage_scores

    data = filtered(view)
    return pd.DataFrame() if data.survey is None else touchpoint_stage_scores(data.survey)


@st.cache_data(max_entries=32, show_spinner=False)
def _nps_frame(view: View) -> pd.DataFrame:
    from journeylib.emotions import nps

    data = filtered(view)
    if data.survey is None or "nps" not in data.survey.columns:
        return pd.DataFrame()
    frame = nps(data.survey, personas=_persona_labels(view))
    if view.personas and not frame.empty:
        frame = frame[frame["persona"].isin(view.personas)]
    return frame


@st.cache_data(max_entries=64, show_spinner=False)
def _comments_frame(view: View, stage: str | None, persona: str | None,
                    min_score: float | None, max_score: float | None, limit: int = 200) -> pd.DataFrame:
    from journeylib.emotions import comments

    data = filtered(view)
    if data.survey is None:
        return pd.DataFrame()
    return comments(data.survey, personas=_persona_labels(view), stage=stage, persona=persona,
                    min_score=min_score, max_score=max_score, limit=limit)


def survey_view(view: View) -> View:
    """The view as survey answers see it: the channel filter keeps events only, so answers
    (and every result made from them alone) are shared by views that differ in channels."""
    return dataclasses.replace(view, channels=())


def emotion_frame(view: View, level: str, by_persona: bool, min_n: int = 30) -> pd.DataFrame:
    """Emotion curve of the view's answers (see journeylib.emotions.emotion_curve)."""
    return _emotion_frame(survey_view(view), level, by_persona, min_n)


def heatmap_frame(view: View) -> pd.DataFrame:
    """Mean score per touchpoint and stage of the view's answers."""
    return _heatmap_frame(survey_view(view))


def nps_frame(view: View) -> pd.DataFrame:
    """NPS per persona of the view's answers (empty without an nps column)."""
    return _nps_frame(survey_view(view))


def comments_frame(view: View, stage: str | None, persona: str | None,
                   min_score: float | None, max_score: float | None, limit: int = 200) -> pd.DataFrame:
    """Comments of the view's answers, lowest scores first."""
    return _comments_frame(survey_view(view), stage, persona, min_score, max_score, limit)


def names_key(names: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in names.items()))


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


@st.cache_data(max_entries=16, show_spinner=False)
def touchpoint_names(root: str, dataset_id: str, saved: str, limit: int = 500) -> list[str]:
    """Distinct touchpoints of a dataset, most frequent first (the stage-map editor's rows)."""
    from journeylib.journey import touchpoint_names as names

    return names(dataset(root, dataset_id, saved), limit=limit)


@st.cache_data(max_entries=16, show_spinner=False)
def touchpoint_stages_seen(root: str, dataset_id: str, saved: str) -> dict[str, str]:
    """Where a dataset's events put each touchpoint (the stage-map editor's starting stages)."""
    from journeylib.journey import touchpoint_stages_seen as seen

    return seen(dataset(root, dataset_id, saved))


@st.cache_data(max_entries=16, show_spinner=False)
def goal_columns(root: str, dataset_id: str, saved: str) -> dict[str, list[str]]:
    """Columns of a dataset that could hold an outcome, with their values (for a column goal)."""
    from journeylib.journey import goal_column_values

    return goal_column_values(dataset(root, dataset_id, saved))


@st.cache_data(max_entries=32, show_spinner=False)
def count_notes(view: View, subject: str, level: str, max_steps: int, start: str | None,
                collapse: bool) -> list[str]:
    """Why the Sankey and the funnel of this view differ (journeylib.flows.count_notes)."""
    from journeylib.flows import count_notes as notes

    data = filtered(view)
    filters = [subject] if (view.personas or view.start or view.end or view.channels) else []
    # The stages of the funnel drawn (a goal row that is not a stage is left out), so the note
    # speaks of the same funnel as the chart beside it.
    stages = [s for s in funnel_frame(view)[0]["stage"].astype(str) if s in data.stages]
    return notes(data.events, stages, level=level, max_steps=max_steps, start=start,
                 collapse_repeats=collapse, filters=filters)


@st.cache_resource(max_entries=48, show_spinner=False)
def figure(name: str, *args, **kwargs):
    """The figure ``journeylib.charts.<name>(*args, **kwargs)``, kept per inputs and shared, so
    a rerun with the same frames draws it without building it again. A resource, not data:
    unpickling a Plotly figure costs more than building it. Callers must not change it."""
    from journeylib import charts

    return getattr(charts, name)(*args, **kwargs)
