"""Which stages an emotion curve has no answers for (the chart leaves a gap there)."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from journeylib.schema import ALL_PERSONAS


def missing_stages(curve: pd.DataFrame, stages: Sequence[str]) -> dict[str, list[str]]:
    """persona -> stages (in stage order) without a mean score; personas without gaps are left out.

    A stage nobody answered for is listed under every persona on the chart.
    """
    if curve is None or curve.empty or "stage" not in curve.columns:
        return {}
    out: dict[str, list[str]] = {}
    answered = curve[curve["mean"].notna() & (curve["n"].fillna(0) > 0)]
    for persona in dict.fromkeys(curve["persona"].astype(str)):
        have = set(answered.loc[answered["persona"].astype(str) == persona, "stage"].astype(str))
        gaps = [str(s) for s in stages if str(s) not in have]
        if gaps:
            out[persona] = gaps
    return out


def sentence(gaps: dict[str, list[str]]) -> str:
    """The gaps in words, e.g. "No answers at Intent for Bargain hunters; at Advocacy for everyone"."""
    if not gaps:
        return ""
    everyone = set.intersection(*(set(v) for v in gaps.values())) if len(gaps) > 1 else set()
    parts = []
    if everyone:
        ordered = [s for s in next(iter(gaps.values())) if s in everyone]
        parts.append(f"at {', '.join(ordered)} for everyone shown")
    for persona, stages in gaps.items():
        rest = [s for s in stages if s not in everyone]
        if rest:
            parts.append(f"at {', '.join(rest)}" + ("" if persona == ALL_PERSONAS else f" for {persona}"))
    return "No survey answers " + "; ".join(parts) + ". The line and its band break there."


def with_gaps(curve: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    """The curve with an empty row (mean NaN, n 0) for each persona at every stage between the
    first and last answered stage that it has no answers for, in stage order; so the chart keeps
    that stage on its axis and its line and band break there instead of joining across it."""
    if curve is None or curve.empty or "stage" not in curve.columns:
        return curve
    names = [str(s) for s in stages]
    have = [s for s in names if s in set(curve["stage"].astype(str))]
    if not have:
        return curve
    inner = names[names.index(have[0]):names.index(have[-1]) + 1]
    rows = []
    for persona in dict.fromkeys(curve["persona"].astype(str)):
        present = set(curve.loc[curve["persona"].astype(str) == persona, "stage"].astype(str))
        rows += [{"stage": s, "persona": persona, "n": 0, "low_n": False} for s in inner if s not in present]
    if not rows:
        return curve
    out = pd.concat([curve, pd.DataFrame(rows)], ignore_index=True)
    rank = {s: i for i, s in enumerate(names)}
    return out.sort_values("stage", key=lambda s: s.astype(str).map(rank), kind="stable").reset_index(drop=True)
