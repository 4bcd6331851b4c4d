"""Why the Sankey and the funnel differ (journeylib.flows.count_notes), on hand-counted journeys."""

from __future__ import annotations

import pandas as pd

from journeylib.engine import default_engine
from journeylib.flows import count_notes

FUNNEL = ["Awareness", "Consideration", "Intent", "Purchase"]


def events():
    # a: x y z w (stages A C A P: back at Awareness, 4 touchpoints); b: x w (A P); c: q (no stage).
    rows = [("a", "x", "Awareness"), ("a", "y", "Consideration"), ("a", "z", "Awareness"), ("a", "w", "Purchase"),
            ("b", "x", "Awareness"), ("b", "w", "Purchase"), ("c", "q", None)]
    frame = pd.DataFrame(rows, columns=["customer_id", "touchpoint", "stage"])
    frame["seq"] = range(len(frame))
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["seq"], unit="h")
    frame["stage"] = frame["stage"].astype("string")
    frame["channel"] = pd.Series(["web"] * len(frame), dtype="string")
    return default_engine().table(frame)


def test_notes_give_the_hand_counts():
    notes = count_notes(events(), FUNNEL, level="touchpoint", max_steps=3, start="x", filters=["channels: web"])
    assert notes[0].startswith("The Sankey counts each customer once at every step")
    assert "1 of 3 journeys (33%) has more than 3 touchpoints" in notes[1]
    assert notes[2] == "The Sankey shows only the 2 journeys that start at x; the funnel counts all 3 customers."
    assert notes[3].startswith("1 customer comes back to a stage they had left")
    # Intent: a and b reached Purchase, so the funnel counts both there; neither has an Intent
    # event (Consideration is skipped by b only: 1, fewer).
    assert notes[4] == ("The funnel counts 2 customers at Intent with no Intent event, because they reached a "
                        "later stage.")
    assert notes[5].startswith("1 of 3 customers has no event at any funnel stage")
    assert notes[6] == "Both count only this view: channels: web."


def test_facts_that_do_not_hold_are_left_out():
    ev = events()
    ev = ev.filter(ev.customer_id == "b")
    notes = count_notes(ev, ["Awareness", "Purchase"], level="stage", max_steps=5)
    # One journey of two stages, no return, no stage skipped, everyone in the funnel, no filter.
    assert notes == ["The Sankey counts each customer once at every step of their journey; the funnel counts each "
                     "customer once per stage, at a stage once they reached it or any later stage."]
    assert count_notes(ev.filter(ev.customer_id == "nobody"), FUNNEL) == []
