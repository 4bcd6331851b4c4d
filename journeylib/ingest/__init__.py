"""Every input, one path: bytes or tables in, checked engine tables and a report out.

(Being rebuilt: for now this re-exports the loader of :mod:`journeylib.io` under the names
the finished package keeps.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from journeylib.io import (  # noqa: F401 - the public names of the package
    InputError,
    Issue,
    ValidationReport,
    detect_mapping,
    read_table,
)
from journeylib.io import load_journey as _io_load
from journeylib.io import validate as _io_validate
from journeylib.journey import JourneyModel


def _journey_kwargs(journey: JourneyModel | None, kw: dict[str, Any]) -> dict[str, Any]:
    if journey is not None:
        kw.setdefault("stages", journey.stages)
        if journey.stage_map:
            kw.setdefault("touchpoint_stage_map", dict(journey.stage_map))
    return kw


def load_journey(touchpoints: Any = None, survey: Any = None, customers: Any = None, *,
                 journey: JourneyModel | None = None, **kw: Any):
    """Read, map, check and register the inputs (see the package docstring)."""
    data = _io_load(touchpoints, survey, customers, **_journey_kwargs(journey, kw))
    if journey is not None:
        data = dataclasses.replace(data, journey=journey)
    return data


def validate(touchpoints: Any = None, survey: Any = None, customers: Any = None, *,
             journey: JourneyModel | None = None, **kw: Any) -> ValidationReport:
    """Check the inputs as :func:`load_journey` would and report every error and warning."""
    return _io_validate(touchpoints, survey, customers, **_journey_kwargs(journey, kw))
