"""The journey model: stage rules, goals and who converts, on hand-made journeys."""

import re

import pandas as pd
import pytest

from journeylib.engine import Engine, execute
from journeylib.journey import (
    Goal,
    GoalError,
    JourneyModel,
    apply_journey,
    default_goal,
    goal_outcomes,
    is_outcome_column,
    parse_goal,
)
from journeylib.schema import JourneyData


@pytest.fixture()
def engine():
    return Engine()


def test_parse_goal_forms():
    assert parse_goal("stage:Purchase") == Goal("stage", "Purchase")
    assert parse_goal("touchpoint:A_APPROVED", "Loan approved").label == "Loan approved"
    goal = parse_goal("column:satisfaction=satisfied")
    assert (goal.kind, goal.target, goal.value) == ("column", "satisfaction", "satisfied")
    assert goal.label == "satisfaction = satisfied" and goal.spec == "column:satisfaction=satisfied"
    for bad in ("Purchase", "place:X", "column:satisfaction", "stage:", "column:=x"):
        with pytest.raises(GoalError):
            parse_goal(bad)


def test_default_goal_only_with_the_purchase_stage():
    assert default_goal(("Awareness", "Purchase")) == Goal("stage", "Purchase")
    assert default_goal(("Application", "Offer")) is None
    assert JourneyModel.default(("Application", "Offer")).goal is None


def test_stage_rules_table_then_prefix_then_guess():
    model = JourneyModel(stages=("Application", "Offer", "Work"),
                         stage_map={"A_SPECIAL": "Work"},
                         stage_prefixes=(("A_", "Application"), ("O_", "Offer"), ("W_", "Work")))
    assert model.stage_of("A_SUBMITTED") == "Application"
    assert model.stage_of("A_SPECIAL") == "Work"  # the table beats the prefix
    assert model.stage_of("O_SENT") == "Offer"
    assert model.stage_of("Offer letter") == "Offer"  # the guess from a stage name in the touchpoint
    assert model.stage_of("X_OTHER") is None
    assert model.stage_name("W_Completeren aanvraag") == "Work"  # a stage label read by the prefixes
    assert model.stage_name("offer") == "Offer"


def test_longest_prefix_wins():
    model = JourneyModel(stages=("A", "B"), stage_prefixes=(("A_", "A"), ("A_B", "B")))
    assert model.stage_of("A_BX") == "B" and model.stage_of("A_C") == "A"


def test_model_round_trips_through_a_dict():
    model = JourneyModel(stages=("Opened", "Closed"), stage_map={"close": "Closed"},
                         stage_prefixes=(("O", "Opened"),), goal=Goal("stage", "Closed", name="Ticket closed"))
    assert JourneyModel.from_dict(model.to_dict()) == model


def test_model_rejects_an_empty_or_repeated_order():
    with pytest.raises(GoalError):
        JourneyModel(stages=())
    with pytest.raises(GoalError):
        JourneyModel(stages=("A", "B", "A"))


def test_funnel_stages_stop_at_a_stage_goal():
    model = JourneyModel(stages=("A", "B", "C", "D"), goal=Goal("stage", "C"))
    assert model.funnel_stages() == ("A", "B", "C")
    assert model.with_goal(Goal("touchpoint", "x")).funnel_stages() == ("A", "B", "C", "D")


def _data(engine, goal, customers=None):
    events = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", "2024-01-03"]),
        "seq": range(5),
        "touchpoint": ["Visit", "Pay", "Visit", "Visit", "Help"],
        "stage": ["A", "C", "A", "A", "D"],
        "channel": pd.Series([None] * 5, dtype="str"),
    })
    model = JourneyModel(stages=("A", "B", "C", "D"), goal=goal)
    return JourneyData(events=engine.table(events), journey=model,
                       customers=engine.table(customers) if customers is not None else None)


def _converted(data, goal=None):
    got = execute(goal_outcomes(data, goal))
    return dict(zip(got["customer_id"], got["converted"].astype(bool)))


def test_stage_goal_counts_the_goal_stage_or_a_later_one(engine):
    data = _data(engine, Goal("stage", "C"))
    # c never reached C but reached the later D: converted by the funnel rule.
    assert _converted(data) == {"a": True, "b": False, "c": True}


def test_touchpoint_goal(engine):
    data = _data(engine, Goal("touchpoint", "Pay"))
    assert _converted(data) == {"a": True, "b": False, "c": False}


def test_column_goal_judges_only_customers_with_a_value(engine):
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "satisfaction": [" Satisfied", "neutral", None]})
    data = _data(engine, Goal("column", "satisfaction", "satisfied"), customers)
    assert _converted(data) == {"a": True, "b": False}


def test_goal_errors_say_what_to_set(engine):
    data = _data(engine, None)
    with pytest.raises(GoalError, match="--goal"):
        goal_outcomes(data)
    with pytest.raises(GoalError, match="not in the stage order"):
        goal_outcomes(data, Goal("stage", "Z"))
    with pytest.raises(GoalError, match="in none of the files"):
        goal_outcomes(data, Goal("column", "recommended", "yes"))


def test_outcome_columns():
    for name in ("satisfaction", "Recommended", "NPS", "Overall rating", "likelihood_to_recommend"):
        assert is_outcome_column(name)
    for name in ("Seat comfort", "Inflight wifi service", "Age", "Class"):
        assert not is_outcome_column(name)
    assert is_outcome_column("loan_status", Goal("column", "loan_status", "approved"))


def test_apply_journey_reads_own_labels_then_the_new_rules(engine):
    from journeylib.ingest import load_journey

    events = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"],
        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03", "2024-01-04"],
        "touchpoint": ["Ad", "Checkout", "Ad", "Blog", "Checkout"],
        "stage": ["Consideration", None, "Decision", None, "Retention"],
    })
    data = load_journey(touchpoints=events, journey=JourneyModel.default(stage_map={"Checkout": "Purchase"}),
                        engine=engine)
    new_model = JourneyModel(stages=("Awareness", "Consideration", "Intent", "Purchase"),  # no Retention
                             stage_map={"Checkout": "Intent", "Blog": "Awareness"}, guess_stages=False,
                             goal=Goal("stage", "Purchase"))
    new = apply_journey(data, new_model)
    got = engine.execute(new.events.order_by(["customer_id", "timestamp"]))["stage"].tolist()
    # a/Checkout has no label -> the table's Intent; b/Ad "Decision" is Intent by synonym; b/Blog none ->
    # Awareness; c/Checkout's own "Retention" is not in the new order -> its touchpoint's rule, Intent.
    assert [None if pd.isna(s) else s for s in got] == ["Consideration", "Intent", "Intent", "Awareness", "Intent"]
    assert new.stages == new_model.stages and new.journey == new_model
    assert new.touchpoint_stage_map == {"Checkout": "Intent", "Blog": "Awareness"}
    ruled = engine.execute(apply_journey(data, new_model, all_rows=True).events.order_by(["customer_id", "timestamp"]))
    assert [None if pd.isna(s) else s for s in ruled["stage"]] == ["Consideration", "Intent", "Intent", "Awareness",
                                                                   "Intent"]


def test_apply_journey_drops_a_goal_whose_stage_left_the_order(engine):
    data = _data(engine, Goal("stage", "D"))
    new = apply_journey(data, JourneyModel(stages=("A", "B", "C"), goal=Goal("stage", "D")))
    assert new.goal is None


def test_the_editor_starts_from_the_stage_the_events_gave_each_touchpoint(engine):
    from journeylib.journey import touchpoint_stages_seen

    events = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "c"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"] * 3),
        "seq": range(6),
        # Help sits at B twice and at D once; Visit at A and C once each (tie: the earlier stage).
        "touchpoint": ["Help", "Visit", "Help", "Visit", "Help", None],
        "stage": ["B", "C", "D", "A", "B", "A"],
        "channel": pd.Series([None] * 6, dtype="str"),
    })
    data = JourneyData(events=engine.table(events), journey=JourneyModel(stages=("A", "B", "C", "D")))
    seen = touchpoint_stages_seen(data)
    assert seen == {"Help": "B", "Visit": "A"}
    assert list(seen) == ["Help", "Visit"]  # most frequent first
    assert touchpoint_stages_seen(data, limit=1) == {"Help": "B"}


def test_default_goal_left_unset_when_no_event_is_at_a_stage(engine):
    """A process log whose activities carry no stage word cannot reach the default stage
    goal: it is left unset with a note saying why and how to set one; a log with stage
    words, a stage column or a goal of the user's own keeps its goal."""
    from journeylib.ingest import load_journey

    def events(touchpoints, **extra):
        return pd.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"],
                             "touchpoint": touchpoints, **extra})

    plain = load_journey(touchpoints=events(["Alpha", "Beta", "Alpha"]), engine=engine)
    assert plain.goal is None
    notes = [w for w in plain.warnings if w.message.startswith("no default goal")]
    assert len(notes) == 1 and notes[0].severity == "note"
    assert "'Purchase' cannot be reached" in notes[0].message and "--stage-map" in notes[0].message
    hinted = re.search(r"--goal (\S+?)\)", notes[0].message).group(1)  # the example the note gives parses
    assert parse_goal(hinted.replace("NAME", "Beta")) == Goal("touchpoint", "Beta")
    staged = load_journey(touchpoints=events(["Ad", "Checkout", "Ad"]), engine=engine)
    assert staged.goal == Goal("stage", "Purchase")
    labelled = load_journey(touchpoints=events(["Alpha", "Beta", "Alpha"], stage=["Awareness", "Purchase", None]),
                            engine=engine)
    assert labelled.goal == Goal("stage", "Purchase")
    own = load_journey(touchpoints=events(["Alpha", "Beta", "Alpha"]),
                       journey=JourneyModel.default(goal=Goal("touchpoint", "Beta")), engine=engine)
    assert own.goal == Goal("touchpoint", "Beta")
    assert not [w for w in staged.warnings + labelled.warnings + own.warnings if w.message.startswith("no default")]
