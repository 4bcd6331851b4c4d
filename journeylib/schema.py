"""Canonical fields, stage order and synonyms, and the JourneyData container.

Every loader produces, and every analysis consumes, the canonical column names below.
Tables inside :class:`JourneyData` are Ibis expressions, so analysis runs on whatever
backend holds them (an embedded DuckDB by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import ibis
import pandas as pd

if TYPE_CHECKING:
    from journeylib.journey import JourneyModel

# Canonical fields per input kind: (required, optional).
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "touchpoints": (("customer_id", "timestamp", "touchpoint"), ("stage", "channel")),
    "survey": (("customer_id", "score"), ("stage", "touchpoint", "comment", "timestamp", "nps")),
    "customers": (("customer_id",), ()),
}
INPUT_KINDS = tuple(FIELDS)

# Columns of the canonical events table. `seq` is the row's position in its file, used to
# break timestamp ties so that equal timestamps keep file order.
EVENT_COLUMNS = ("customer_id", "timestamp", "seq", "touchpoint", "stage", "channel")
SURVEY_COLUMNS = ("customer_id", "stage", "touchpoint", "score", "comment", "timestamp", "nps")

DEFAULT_STAGES: tuple[str, ...] = (
    "Awareness",
    "Consideration",
    "Intent",
    "Purchase",
    "Retention",
    "Advocacy",
)
PURCHASE_STAGE = "Purchase"

# Lower-cased synonym -> default stage name.
STAGE_SYNONYMS: dict[str, str] = {
    "discover": "Awareness",
    "discovery": "Awareness",
    "attention": "Awareness",
    "reach": "Awareness",
    "research": "Consideration",
    "evaluation": "Consideration",
    "evaluate": "Consideration",
    "interest": "Consideration",
    "compare": "Consideration",
    "comparison": "Consideration",
    "decision": "Intent",
    "desire": "Intent",
    "preference": "Intent",
    "conversion": "Purchase",
    "buy": "Purchase",
    "checkout": "Purchase",
    "transaction": "Purchase",
    "order": "Purchase",
    "action": "Purchase",
    "onboarding": "Retention",
    "use": "Retention",
    "usage": "Retention",
    "service": "Retention",
    "support": "Retention",
    "loyalty": "Retention",
    "engagement": "Retention",
    "repurchase": "Retention",
    "advocate": "Advocacy",
    "referral": "Advocacy",
    "recommend": "Advocacy",
    "recommendation": "Advocacy",
    "review": "Advocacy",
}

END_NODE = "(end)"
OTHER_NODE = "(other)"
ALL_PERSONAS = "all"
UNASSIGNED = "(unassigned)"  # customers with no persona (no events, or not in the fit)


def _stage_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def normalize_stage(name: object, stages: Sequence[str] = DEFAULT_STAGES) -> str | None:
    """Map a stage label to its name in ``stages`` (case, spacing and synonyms ignored).

    Returns None for blanks; an unknown label is returned stripped, unchanged, so the
    caller can report it rather than lose it.
    """
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return None
    text = str(name).strip()
    if not text:
        return None
    key = _stage_key(text)
    by_key = {_stage_key(s): s for s in stages}
    if key in by_key:
        return by_key[key]
    synonym = STAGE_SYNONYMS.get(key)
    if synonym is not None and synonym in stages:
        return synonym
    # Numbered stages such as "1. Awareness" or "stage_3_purchase".
    stripped = re.sub(r"^(stage)?[0-9]+", "", key)
    if stripped in by_key:
        return by_key[stripped]
    return text


@dataclass(frozen=True)
class ScoreScale:
    """The scale survey scores were given on, as detected (never rescaled)."""

    low: float
    high: float

    @property
    def midpoint(self) -> float:
        return (self.low + self.high) / 2

    @property
    def label(self) -> str:
        return f"{self.low:g} to {self.high:g}"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _default_journey():
    from journeylib.journey import JourneyModel

    return JourneyModel.default()


@dataclass
class JourneyData:
    """One dataset ready for analysis.

    ``events`` has the columns of :data:`EVENT_COLUMNS` (plus any extra attribute columns),
    ``survey`` those of :data:`SURVEY_COLUMNS` where present, ``customers`` has
    ``customer_id`` plus attributes. ``journey`` is the journey model (stage order,
    touchpoint -> stage rules, the goal) used everywhere; ``touchpoint_stage_map`` is where
    its rules placed each touchpoint of these files when they were loaded.
    """

    events: ibis.Table
    survey: ibis.Table | None = None
    customers: ibis.Table | None = None
    journey: "JourneyModel" = field(default_factory=lambda: _default_journey())
    score_scale: ScoreScale | None = None
    touchpoint_stage_map: Mapping[str, str] = field(default_factory=dict)
    source_names: Mapping[str, str] = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    # ("table" | "view", name) of the engine objects the loader made for these tables.
    owned: tuple = field(default=(), repr=False, compare=False)
    _has_events: bool | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def stages(self) -> tuple[str, ...]:
        """The stage order (of :attr:`journey`)."""
        return self.journey.stages

    @property
    def goal(self):
        """The journey's goal (:class:`journeylib.journey.Goal`), or None when none is named."""
        return self.journey.goal

    @property
    def has_survey(self) -> bool:
        return self.survey is not None

    @property
    def has_events(self) -> bool:
        """Whether there is any touchpoint event (a survey-only dataset has none)."""
        if self._has_events is None:
            from journeylib.engine import execute

            self._has_events = bool(execute(self.events.count()) > 0)
        return self._has_events

    @property
    def has_nps(self) -> bool:
        if self.survey is None or "nps" not in self.survey.columns:
            return False
        from journeylib.engine import execute

        return bool(execute(self.survey.nps.notnull().any()))

    def filter(
        self,
        customer_ids: Iterable[str] | pd.Series | ibis.Table | None = None,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        channels: Sequence[str] | None = None,
    ) -> "JourneyData":
        """Restrict to some customers, a date range (inclusive days) and channels.

        ``customer_ids`` is a list or Series of ids, or an Ibis table with a ``customer_id``
        column on the same backend as the events.

        Survey answers and customer rows follow the customer restriction; the date range
        applies to events and to dated survey answers, and keeps the customer rows of those
        with an event or a survey answer left (undated answers are kept).
        """
        events, survey, customers = self.events, self.survey, self.customers
        if customer_ids is not None:
            if isinstance(customer_ids, ibis.Table):
                # Already on the backend (e.g. a segment's ids): joined where it lies.
                keep = customer_ids.select(customer_id=customer_ids.customer_id.cast("string"))
            else:
                ids = pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="string")})
                keep = ibis.memtable(ids)
            events = events.semi_join(keep, "customer_id")
            if survey is not None:
                survey = survey.semi_join(keep, "customer_id")
            if customers is not None:
                customers = customers.semi_join(keep, "customer_id")
        if start is not None:
            lo = pd.Timestamp(start).normalize()
            events = events.filter(events.timestamp >= lo)
            if survey is not None and "timestamp" in survey.columns:
                survey = survey.filter(survey.timestamp.isnull() | (survey.timestamp >= lo))
        if end is not None:
            hi = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
            events = events.filter(events.timestamp < hi)
            if survey is not None and "timestamp" in survey.columns:
                survey = survey.filter(survey.timestamp.isnull() | (survey.timestamp < hi))
        if customers is not None and (start is not None or end is not None):
            # A period holds the customers active in it: without this a goal read from the
            # customers table (a survey's "Recommended") counted everyone in every period.
            active = events.select(customer_id=events.customer_id.cast("string"))
            if survey is not None:
                active = active.union(survey.select(customer_id=survey.customer_id.cast("string")))
            customers = customers.semi_join(active, customers.customer_id.cast("string") == active.customer_id)
        if channels:
            events = events.filter(events.channel.isin(list(channels)))
        return replace(self, events=events, survey=survey, customers=customers)
