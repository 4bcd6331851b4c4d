"""The journey model: the stage order, touchpoint -> stage rules, and the goal.

A team's journey is theirs: a bank's stages are Application, Offer and Approval, a help
desk's Opened, Assigned and Closed. :class:`JourneyModel` holds the stage order, the rules
that place a touchpoint at a stage (a table of touchpoints, then name prefixes such as
``A_`` -> Application, then a guess from stage names and synonyms in the touchpoint's name)
and the :class:`Goal`: the customer outcome the team cares about. It is saved with a
dataset (``to_dict`` / ``from_dict``) and given on the command line as ``--stages``,
``--stage-map``, ``--stage-prefix``, ``--goal`` and ``--goal-name``.

The only stage names written here are the defaults; no other module names a stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

import ibis

from journeylib.schema import DEFAULT_STAGES, STAGE_SYNONYMS, normalize_stage

__all__ = [
    "GOAL_KINDS",
    "DEFAULT_GOAL_STAGE",
    "Goal",
    "GoalError",
    "JourneyModel",
    "parse_goal",
    "default_goal",
    "goal_outcomes",
    "goal_event",
    "goal_columns",
    "OUTCOME_WORDS",
    "is_outcome_column",
    "guess_stage_map",
    "apply_journey",
    "goal_column_values",
    "touchpoint_names",
    "value_matches",
    "RatingPlaces",
    "place_ratings",
    "survey_stage_name",
    "PLACE_STAGES",
    "unreachable_default_goal",
]

GOAL_KINDS = ("stage", "touchpoint", "column")
# The default goal, when the stage order has it: the one place a stage name is a default.
DEFAULT_GOAL_STAGE = "Purchase"


class GoalError(ValueError):
    """A goal that cannot be used with this data; the message says what to set instead."""


@dataclass(frozen=True)
class Goal:
    """The outcome the team cares about.

    ``kind`` is ``stage`` (the customer reached ``target`` or a later stage), ``touchpoint``
    (the customer had an event at ``target``) or ``column`` (the customer has ``value`` in
    the outcome column ``target``, compared as trimmed text, case ignored). ``name`` is what
    every view calls it ("Loan approved"); it defaults to a name built from the rule.
    """

    kind: str
    target: str
    value: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in GOAL_KINDS:
            raise GoalError(f"goal kind must be one of {', '.join(GOAL_KINDS)}, not {self.kind!r}")
        if not str(self.target).strip():
            raise GoalError(f"a {self.kind} goal needs a name after '{self.kind}:'")
        if self.kind == "column" and (self.value is None or not str(self.value).strip()):
            raise GoalError(f"a column goal needs a value: column:{self.target}=VALUE")

    @property
    def label(self) -> str:
        """The display name: ``name`` when given, else the rule in words."""
        if self.name.strip():
            return self.name.strip()
        if self.kind == "column":
            return f"{self.target} = {self.value}"
        return str(self.target)

    @property
    def spec(self) -> str:
        """The rule as the command line writes it: ``stage:NAME``, ``column:NAME=VALUE``."""
        if self.kind == "column":
            return f"column:{self.target}={self.value}"
        return f"{self.kind}:{self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "value": self.value, "name": self.name}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Goal":
        value = raw.get("value")
        return cls(str(raw["kind"]), str(raw["target"]), None if value is None else str(value),
                   str(raw.get("name") or ""))


def parse_goal(text: str, name: str | None = None) -> Goal:
    """A goal from its command-line form: ``stage:NAME``, ``touchpoint:NAME`` or
    ``column:NAME=VALUE`` (GoalError says what is wrong)."""
    kind, sep, rest = str(text).partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in GOAL_KINDS:
        raise GoalError(f"goal {text!r}: expected stage:NAME, touchpoint:NAME or column:NAME=VALUE")
    rest = rest.strip()
    value = None
    if kind == "column":
        target, eq, value = rest.partition("=")
        if not eq:
            raise GoalError(f"goal {text!r}: a column goal is column:NAME=VALUE (e.g. column:satisfaction=satisfied)")
        rest, value = target.strip(), value.strip()
    return Goal(kind, rest, value, (name or "").strip())


def default_goal(stages: Sequence[str]) -> Goal | None:
    """The Purchase stage when the stage order has one; otherwise no goal until one is named."""
    return Goal("stage", DEFAULT_GOAL_STAGE) if DEFAULT_GOAL_STAGE in stages else None


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(text).lower())


def guess_stage_map(touchpoints: Iterable[Any], stages: Sequence[str] = DEFAULT_STAGES) -> dict[str, str]:
    """Touchpoints whose name (or a word of it) is a stage name or synonym, e.g.
    "Checkout page" -> Purchase. Names with no such word are left out (no stage)."""
    words = {k: v for k, v in STAGE_SYNONYMS.items() if v in stages}
    words.update({_key(s): s for s in stages})
    out: dict[str, str] = {}
    for tp in touchpoints:
        if tp is None or (isinstance(tp, float) and tp != tp):
            continue
        got = normalize_stage(tp, stages)
        stage = got if got in stages else None
        if stage is None:
            for word in re.split(r"[^a-z0-9]+", str(tp).lower()):
                if word in words:
                    stage = words[word]
                    break
        if stage is not None:
            out[str(tp)] = stage
    return out


@dataclass(frozen=True)
class JourneyModel:
    """Stage order, touchpoint -> stage rules and the goal of one dataset.

    ``stage_map`` is the table of touchpoints placed by hand; ``stage_prefixes`` are
    ``(prefix, stage)`` rules tried longest prefix first; touchpoints neither places are
    guessed from stage names in their own name (:func:`guess_stage_map`) when
    ``guess_stages`` is on. ``goal`` is None when the team has not named one.
    """

    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_map: Mapping[str, str] = field(default_factory=dict)
    stage_prefixes: tuple[tuple[str, str], ...] = ()
    goal: Goal | None = None
    guess_stages: bool = True

    def __post_init__(self) -> None:
        stages = tuple(str(s).strip() for s in self.stages if str(s).strip())
        if not stages:
            raise GoalError("the stage order needs at least one stage")
        repeated = sorted({s for s in stages if stages.count(s) > 1})
        if repeated:
            raise GoalError(f"stages listed more than once: {', '.join(repeated)}")
        object.__setattr__(self, "stages", stages)

        def named(stage: Any) -> str:  # "buy" in a table means the Purchase stage
            got = normalize_stage(stage, stages)
            return got if got is not None else str(stage)

        object.__setattr__(self, "stage_map", {str(k): named(v) for k, v in dict(self.stage_map).items()
                                               if v is not None and str(v).strip()})
        object.__setattr__(self, "stage_prefixes", tuple((str(p), named(s)) for p, s in self.stage_prefixes))

    @classmethod
    def default(cls, stages: Sequence[str] = DEFAULT_STAGES, **kw: Any) -> "JourneyModel":
        """A model over ``stages`` with the default goal (see :func:`default_goal`)."""
        kw.setdefault("goal", default_goal(tuple(stages)))
        return cls(stages=tuple(stages), **kw)

    def stage_name(self, label: Any) -> str | None:
        """A stage label as a stage of this order (case, spacing, synonyms and numbering
        ignored, then the prefix rules), or None when it names none of them."""
        got = normalize_stage(label, self.stages)
        if got is None:
            return None
        if got in self.stages:
            return got
        return self._by_prefix(str(label).strip())

    @property
    def is_default(self) -> bool:
        """Whether this is the journey nobody has set: the default stages and no rules of
        the team's own (no touchpoint table, no prefixes)."""
        return self.stages == tuple(DEFAULT_STAGES) and not self.stage_map and not self.stage_prefixes

    def rating_stage(self, column: Any, label: Any) -> str | None:
        """The stage of a wide survey's rating column: the column named as a stage, else its
        touchpoint ``label`` (then the column name) placed by the rules."""
        return self.stage_name(column) or self.stage_of(label) or self.stage_of(column)

    def _by_prefix(self, name: str) -> str | None:
        for prefix, stage in sorted(self.stage_prefixes, key=lambda r: -len(r[0])):
            if name.startswith(prefix) and stage in self.stages:
                return stage
        return None

    def stage_of(self, touchpoint: Any) -> str | None:
        """The stage a touchpoint sits at: the table, then the prefixes, then the guess."""
        if touchpoint is None:
            return None
        name = str(touchpoint)
        stage = self.stage_map.get(name)
        if stage in self.stages:
            return stage
        stage = self._by_prefix(name)
        if stage is None and self.guess_stages:
            stage = guess_stage_map([name], self.stages).get(name)
        return stage

    def touchpoint_stages(self, touchpoints: Iterable[Any]) -> dict[str, str]:
        """Touchpoint -> stage for every name the rules place (others are left out)."""
        out = {}
        for tp in touchpoints:
            stage = self.stage_of(tp)
            if stage is not None:
                out[str(tp)] = stage
        return out

    def unknown_rule_stages(self) -> list[str]:
        """Stages named by the rules but missing from the stage order (a mistake to report)."""
        named = list(self.stage_map.values()) + [s for _, s in self.stage_prefixes]
        if self.goal is not None and self.goal.kind == "stage":
            named.append(self.goal.target)
        return sorted({s for s in named if s not in self.stages})

    def with_goal(self, goal: Goal | None) -> "JourneyModel":
        return replace(self, goal=goal)

    def goal_stage_index(self) -> int | None:
        """Position of a stage goal in the stage order (None for other goals or none)."""
        if self.goal is None or self.goal.kind != "stage":
            return None
        return self.stages.index(self.goal.target) if self.goal.target in self.stages else None

    def funnel_stages(self) -> tuple[str, ...]:
        """The stages a funnel runs over: up to and including a stage goal, else all."""
        i = self.goal_stage_index()
        return self.stages if i is None else self.stages[: i + 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.stages),
            "stage_map": dict(self.stage_map),
            "stage_prefixes": [list(r) for r in self.stage_prefixes],
            "goal": self.goal.to_dict() if self.goal else None,
            "guess_stages": self.guess_stages,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "JourneyModel":
        goal = raw.get("goal")
        return cls(
            stages=tuple(raw.get("stages") or DEFAULT_STAGES),
            stage_map=dict(raw.get("stage_map") or {}),
            stage_prefixes=tuple(tuple(r) for r in raw.get("stage_prefixes") or ()),
            goal=Goal.from_dict(goal) if goal else None,
            guess_stages=bool(raw.get("guess_stages", True)),
        )


_FILE_SUFFIXES = re.compile(r"(\.(csv|tsv|tab|txt|gz|zip|xlsx|xls|parquet|json))+$", re.IGNORECASE)


def survey_stage_name(source: Any) -> str:
    """The stage named for a survey file ("airline_survey.csv.gz" -> "Airline survey"),
    "Survey" when its name has no word in it."""
    from journeylib.words import label

    stem = _FILE_SUFFIXES.sub("", str(source or "").strip().rsplit("/", 1)[-1])
    text = re.sub(r"[_\-.]+", " ", stem).strip()
    if not any(w.isalpha() and len(w) >= 3 for w in text.split()):
        return "Survey"
    text = label(text)
    return text[:60].strip()


@dataclass(frozen=True)
class RatingPlaces:
    """Where a wide survey's ratings sit: the journey to load them with (``model``), each
    touchpoint label's stage (None: no stage), the labels put in the survey's own stage
    (``grouped``, in ``survey_stage``) and those left at no stage (``unplaced``)."""

    model: JourneyModel
    stages: Mapping[str, str | None]
    grouped: tuple[str, ...] = ()
    unplaced: tuple[str, ...] = ()
    survey_stage: str | None = None
    named_few: int = 0  # ratings a default stage word named, grouped with the rest as too few

    def note(self) -> str | None:
        """What a user is told about the placement, with how to change it (None: every
        rating sits at a stage the team's rules chose)."""
        how = f"place them at your own stages: {PLACE_STAGES}"
        if self.grouped:
            ruled = [s for s in self.model.stages if s != self.survey_stage]
            n = len(self.stages) - len(self.grouped)
            named = (f"the default stages name {n} of the {len(self.stages)} ratings (at {', '.join(ruled)}, by a "
                     "stage word in their names); the other" if n else
                     f"the default stages name none of the {len(self.stages)} ratings; all" if not self.named_few else
                     f"the default stages name only {self.named_few} of the {len(self.stages)} ratings by a stage "
                     f"word, too few to be the journey; all")
            return (f"no stage map: {named} {len(self.grouped)} ({_listed(self.grouped)}) are in one stage "
                    f"{self.survey_stage!r}. To {how}")
        if self.unplaced:
            return (f"{len(self.unplaced)} of {len(self.stages)} ratings sit at no stage: {_listed(self.unplaced)}; "
                    f"they count per touchpoint but in no stage lane. To {how}")
        return None


# How a user places touchpoints at stages, in the app and on the command line.
PLACE_STAGES = ("set the stage order and Touchpoint \u2192 stage in the Journey section of the Data page, or give "
                "--stages and --stage-map FILE.csv (touchpoint,stage rows)")


def unreachable_default_goal(model: JourneyModel, stage_map: Mapping[str, str], stage_column: bool) -> str | None:
    """Why the default goal is left unset for events none of which is at a stage (their
    touchpoints carry no stage word and no stage column is mapped): a stage nobody can
    reach would make every conversion read 0%. None when the goal stands."""
    goal = model.goal
    if stage_column or stage_map or goal is None or goal != default_goal(model.stages):
        return None
    return (f"no default goal: no touchpoint is at a stage of the stage order ({', '.join(model.stages)}), as no "
            f"stage rule places one and none has a stage word in its name, so {goal.target!r} cannot be reached. To follow the journey by stage, "
            f"{PLACE_STAGES}; to count conversions, name a goal (on the Data page, or e.g. --goal touchpoint:NAME)")


def _listed(names: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def place_ratings(model: JourneyModel, ratings: Mapping[str, str], survey: Any = "",
                  has_events: bool = False) -> RatingPlaces:
    """Where a wide survey's ratings (score column -> touchpoint label) sit: by the rules
    (:meth:`JourneyModel.rating_stage`). When nobody set the journey (the default stages,
    no rules of the team's own) and the survey is the only input, the ratings the default
    stages do not name go to one stage named for the survey (:func:`survey_stage_name`),
    and the stage order becomes the stages that hold a rating: a survey alone has no
    events to fill the others; when the default stages name fewer than half the ratings,
    all but those named after a stage itself go to that one stage. Otherwise ratings the rules do not place stay at no stage
    (``unplaced``); :meth:`RatingPlaces.note` says which and how to place them."""
    stages = {str(label): model.rating_stage(col, label) for col, label in ratings.items()}
    loose = tuple(label for label, stage in stages.items() if stage is None)
    if not loose or has_events or not model.is_default:
        return RatingPlaces(model, stages, unplaced=loose)
    placed = {label: stage for label, stage in stages.items() if stage is not None}
    if 2 * len(placed) < len(stages):
        # A stage word in a minority of the names is a coincidence more often than a
        # journey ("Inflight service" is no Retention rating): those stay with the rest.
        # A rating named after a stage itself ("Awareness") keeps it.
        own = {label for label, stage in placed.items() if _key(label) == _key(stage)}
        stages = {label: stage if label in own else None for label, stage in stages.items()}
        loose = tuple(label for label, stage in stages.items() if stage is None)
        few = len(placed) - len(own)
    else:
        few = 0
    name = survey_stage_name(survey)
    held = [s for s in model.stages if s in set(stages.values())]
    if name in held:
        name = f"{name} (other ratings)"
    order = (*held, name)
    goal = model.goal
    if goal is not None and goal.kind == "stage" and goal.target not in order:
        goal = default_goal(order)
    table = {label: name for label in loose}
    placed = replace(model, stages=order, stage_map=table, goal=goal)
    return RatingPlaces(placed, {label: stage or name for label, stage in stages.items()}, grouped=loose,
                        survey_stage=name, named_few=few)


# Words that name an outcome rather than a touchpoint rating: what personas are compared
# by (never clustered on) and what key drivers explain.
OUTCOME_WORDS = (
    "satisfaction", "satisfied", "overall", "overallrating", "overallscore", "recommend",
    "recommended", "wouldrecommend", "nps", "npsscore", "likelihoodtorecommend", "ltr",
    "loyalty", "churn", "churned", "converted", "conversion", "outcome", "csat", "ces",
)


def is_outcome_column(name: str, goal: Goal | None = None) -> bool:
    """Whether a column is an outcome (the goal's own column, or an outcome word such as
    satisfaction, recommended, NPS, overall) rather than something that explains one."""
    if goal is not None and goal.kind == "column" and str(name) == goal.target:
        return True
    key = _key(name)
    return key in OUTCOME_WORDS or any(key.startswith(w) and len(w) >= 5 for w in OUTCOME_WORDS)


def goal_columns(goal: Goal | None) -> tuple[str, ...]:
    """Columns the goal's definition reads (its outcome column), never features of it."""
    return (goal.target,) if goal is not None and goal.kind == "column" else ()


def value_matches(col: ibis.Value, value: str) -> ibis.Value:
    """Whether a column holds ``value``, compared as trimmed text with case ignored (how a
    column goal and an ``attribute:COLUMN=VALUE`` view read a value)."""
    text = col.cast("string").strip().lower()
    return text == str(value).strip().lower()


def goal_event(events: ibis.Table, model: JourneyModel, goal: Goal | None = None) -> ibis.Value | None:
    """Whether an event reaches a stage or touchpoint goal (a boolean column of ``events``,
    never null: its stage is the goal stage or a later one, or it is at the goal
    touchpoint), so that a query already grouping events per customer can tell who
    converted (``hit.any()``) in the same pass; None for a column goal or no goal. The rule
    :func:`goal_outcomes` applies to events."""
    goal = goal if goal is not None else model.goal
    if goal is None or goal.kind == "column":
        return None
    if goal.kind == "stage":
        if goal.target not in model.stages:
            raise GoalError(f"goal stage {goal.target!r} is not in the stage order ({', '.join(model.stages)})")
        later = list(model.stages[model.stages.index(goal.target):])
        return events.stage.isin(later).fill_null(False)
    return (events.touchpoint == goal.target).fill_null(False)


def goal_outcomes(data: Any, goal: Goal | None = None) -> ibis.Table:
    """One row per customer the goal can be judged for: ``customer_id``, ``converted``.

    A stage goal: every customer with events, converted when any event's stage is the
    goal stage or a later one. A touchpoint goal: every customer with events, converted
    when one of their events is at that touchpoint. A column goal: every customer with a
    value in the outcome column (the customers table first, then the survey, then the
    events), converted when any of their values equals the goal's value. Raises
    GoalError when there is no goal or the data cannot judge it.
    """
    model: JourneyModel = data.journey
    goal = goal if goal is not None else model.goal
    if goal is None:
        raise GoalError("no goal is set: name one, e.g. --goal stage:NAME, --goal touchpoint:NAME or "
                        "--goal column:NAME=VALUE")
    events = data.events
    if goal.kind in ("stage", "touchpoint"):
        if not data.has_events:
            raise GoalError(f"the goal {goal.label!r} is a {goal.kind} reached, which needs touchpoint events; "
                            "this dataset has survey answers only (use a column goal, e.g. "
                            "column:satisfaction=satisfied)")
        hit = goal_event(events, model, goal)
        return events.group_by("customer_id").aggregate(converted=hit.any())
    for table in (data.customers, data.survey, events if data.has_events else None):
        if table is not None and goal.target in table.columns:
            t = table.filter(table[goal.target].notnull() & (table[goal.target].cast("string").strip() != ""))
            return t.group_by("customer_id").aggregate(
                converted=value_matches(t[goal.target], goal.value).any())
    raise GoalError(f"the goal column {goal.target!r} is in none of the files; columns that could hold an "
                    "outcome: " + (", ".join(_outcome_candidates(data)) or "none found"))


def _outcome_candidates(data: Any) -> list[str]:
    out: list[str] = []
    for table in (data.customers, data.survey, data.events):
        if table is None:
            continue
        out += [c for c in table.columns if is_outcome_column(c) and c not in out]
    return out


# --------------------------------------------------------------------------- re-staging data


def _distinct(table: ibis.Table, column: str) -> list[str]:
    from journeylib.engine import execute

    got = execute(table.select(column).distinct())[column]
    return [str(v) for v in got.dropna()]


def _restage(table: ibis.Table, model: JourneyModel, old_map: Mapping[str, str], all_rows: bool) -> ibis.Table:
    """A table's stages under ``model``; see :func:`apply_journey`."""
    from journeylib.engine import map_values

    if "stage" not in table.columns:
        return table
    own = "stage_label" if "stage_label" in table.columns else "stage"
    t = map_values(table, own, {v: model.stage_name(v) for v in _distinct(table, own)}, "_jl_own_stage")
    if "touchpoint" not in table.columns:
        return t.mutate(stage=t._jl_own_stage.cast("string")).drop("_jl_own_stage")
    t = map_values(t, "touchpoint", model.touchpoint_stages(_distinct(table, "touchpoint")), "_jl_rule_stage")
    if all_rows:
        stage = ibis.coalesce(t._jl_rule_stage, t._jl_own_stage)
    elif own == "stage_label":
        stage = ibis.coalesce(t._jl_own_stage, t._jl_rule_stage)
    else:
        # Saved before the file's own label was kept: an event counts as staged by the
        # rules when it has no stage, or its stage is the one the old map gave it.
        t = map_values(t, "touchpoint", dict(old_map), "_jl_old_stage")
        by_rule = t.stage.isnull() | (t._jl_old_stage.notnull() & (t.stage == t._jl_old_stage))
        t = t.mutate(stage=ibis.ifelse(by_rule, t._jl_rule_stage, t._jl_own_stage).cast("string"))
        return t.drop("_jl_own_stage", "_jl_rule_stage", "_jl_old_stage")
    return t.mutate(stage=stage.cast("string")).drop("_jl_own_stage", "_jl_rule_stage")


def apply_journey(data: Any, model: JourneyModel, all_rows: bool = False) -> Any:
    """``data`` under another journey model (lazy Ibis over the same tables).

    Each event and survey answer takes its stage from the file's own stage label read
    against the new order, else from its touchpoint by the new rules; with ``all_rows``
    the rules win wherever they place the touchpoint. A goal whose stage left the order is
    dropped (the default goal applies when the new order has one).
    """

    goal = model.goal
    if goal is not None and goal.kind == "stage" and goal.target not in model.stages:
        model = model.with_goal(default_goal(model.stages))
    old_map = dict(getattr(data, "touchpoint_stage_map", {}) or {})
    events = _restage(data.events, model, old_map, all_rows)
    survey = None if data.survey is None else _restage(data.survey, model, old_map, all_rows)
    names = _distinct(data.events, "touchpoint") if "touchpoint" in data.events.columns else []
    if survey is not None and "touchpoint" in survey.columns:
        names += [n for n in _distinct(data.survey, "touchpoint") if n not in names]
    return replace(data, events=events, survey=survey, journey=model,
                    touchpoint_stage_map=model.touchpoint_stages(names))


def goal_column_values(data: Any = None, tables: Sequence[ibis.Table] = (), exclude: Sequence[str] = (),
                       max_values: int = 20) -> dict[str, list[str]]:
    """Columns that could hold an outcome, with their values (most common first): every
    text, whole-number or true/false column with 2 to ``max_values`` distinct values, of
    the dataset's customers, survey and events (``data``) or of other ``tables`` (e.g. an
    upload's first rows), outcome-like names first. For picking a column goal."""
    from journeylib.engine import execute

    fixed = {"customer_id", "timestamp", "seq", "touchpoint", "stage", "stage_label", "channel", "score",
             "comment", "nps", *exclude}
    if data is not None:
        tables = [t for t in (data.customers, data.survey, data.events if data.has_events else None)
                  if t is not None]
    out: dict[str, list[str]] = {}
    for table in tables:
        names = [name for name in table.columns
                 if name not in fixed and name not in out
                 and (table[name].type().is_string() or table[name].type().is_integer()
                      or table[name].type().is_boolean())]
        if not names:
            continue
        # One query for every column (a wide survey has hundreds): each column's values
        # counted, the most common max_values + 1 kept per column.
        long = table.select(*[table[n].cast("string").name(n) for n in names]).pivot_longer(
            names, names_to="_column", values_to="_value")
        long = long.filter(long._value.notnull())
        counts = long.group_by(["_column", "_value"]).aggregate(_n=long.count())
        rank = ibis.row_number().over(group_by=counts._column, order_by=[ibis.desc(counts._n), counts._value])
        got = execute(counts.mutate(_rank=rank).filter(lambda t: t._rank <= max_values + 1)
                      .order_by(["_column", "_rank"]))
        per_column = {str(k): [str(v) for v in rows["_value"]] for k, rows in got.groupby("_column")}
        for name in names:
            values = per_column.get(name, [])
            if 1 < len(values) <= max_values:
                out[name] = values
    return dict(sorted(out.items(), key=lambda kv: not is_outcome_column(kv[0])))


def touchpoint_names(data: Any, limit: int = 500) -> list[str]:
    """Distinct touchpoints of the events (or, with none, of the survey), most frequent first."""
    from journeylib.engine import execute

    table = data.events if data.has_events or data.survey is None else data.survey
    got = execute(table.group_by("touchpoint").aggregate(n=table.count())
                  .order_by([ibis.desc("n"), "touchpoint"]).limit(limit))
    return [str(t) for t in got["touchpoint"].dropna()]


def touchpoint_stages_seen(data: Any, limit: int = 500) -> dict[str, str]:
    """Where the events put each touchpoint: its most common stage (ties: the earlier stage
    in the order), for the ``limit`` most frequent touchpoints. What the stage-map editor
    starts from, so a file that named its stages shows them."""
    from journeylib.engine import execute

    table = data.events if data.has_events or data.survey is None else data.survey
    if "stage" not in table.columns or "touchpoint" not in table.columns:
        return {}
    t = table.filter(table.touchpoint.notnull() & table.stage.notnull())
    got = execute(t.group_by(["touchpoint", "stage"]).aggregate(n=t.count()))
    if got.empty:
        return {}
    order = {s: i for i, s in enumerate(data.stages)}
    got["_pos"] = got["stage"].map(order).fillna(len(order))
    got["_total"] = got.groupby("touchpoint")["n"].transform("sum")
    got = got.sort_values(["_total", "touchpoint", "n", "_pos"], ascending=[False, True, False, True])
    first = got.drop_duplicates("touchpoint").head(limit)
    return {str(tp): str(st) for tp, st in zip(first["touchpoint"], first["stage"])}

