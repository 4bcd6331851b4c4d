"""XES event logs (the IEEE process-mining standard) as a table: one row per event.

Read with the standard library's streaming XML parser (``xml.etree.ElementTree.iterparse``):
the format is plain XML, and a process-mining package would bring dozens of dependencies
for this one job. As pm4py flattens a log, a trace's attributes become columns prefixed
``case:`` (``case:concept:name`` is the case id) next to each event's own attributes
(``concept:name``, ``time:timestamp``, ``lifecycle:transition``, ``org:resource``...);
nested attributes are named ``parent.child``. Every value is kept as text and typed later
by the loader like any other file.
"""

from __future__ import annotations

import io as _io
import xml.etree.ElementTree as ET
from typing import Any

import pyarrow as pa

from journeylib.ingest.errors import InputError

__all__ = ["read_xes", "CASE_PREFIX"]

CASE_PREFIX = "case:"
_ATTRIBUTES = {"string", "date", "int", "float", "boolean", "id"}
_NESTING = {"list", "container"}


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _attributes(element: ET.Element, prefix: str = "") -> dict[str, str]:
    """The attribute children of an element (trace or event), nested ones flattened."""
    out: dict[str, str] = {}
    for child in element:
        tag = _tag(child)
        if tag not in _ATTRIBUTES and tag not in _NESTING:
            continue
        key = child.get("key")
        if key is None:
            continue
        name = f"{prefix}{key}"
        if tag in _ATTRIBUTES and child.get("value") is not None:
            out[name] = child.get("value")
        out.update(_attributes(child, f"{name}."))
    return out


def read_xes(label: str, data: bytes, engine: Any):
    """An XES log (bytes) as a raw engine table; InputError when it is no readable XES."""
    from journeylib.ingest.read import from_arrow

    rows: list[dict[str, str]] = []
    traces = 0
    case: dict[str, str] = {}
    stack: list[str] = []
    try:
        for event, element in ET.iterparse(_io.BytesIO(data), events=("start", "end")):
            tag = _tag(element)
            if event == "start":
                stack.append(tag)
                if tag == "trace":
                    case = {}
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            if parent == "trace" and (tag in _ATTRIBUTES or tag in _NESTING) and element.get("key") is not None:
                name = f"{CASE_PREFIX}{element.get('key')}"
                if tag in _ATTRIBUTES and element.get("value") is not None:
                    case[name] = element.get("value")
                case.update(_attributes(element, f"{name}."))
            elif tag == "event":
                rows.append({**case, **_attributes(element)})
                element.clear()
            elif tag == "trace":
                traces += 1
                element.clear()
    except ET.ParseError as exc:
        raise InputError(label, f"cannot read as an XES event log (XML error: {exc})") from None
    if not rows:
        raise InputError(label, "the XES log has no events")
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table({c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in columns})
    return from_arrow(label, table, engine, [], kind="xes")
