"""Datasets that stay in a database: connect by URL, name the tables, analyse in place.

A connected dataset is not copied into the workspace. Its description (URL, table names,
order column, stages, name) is a :class:`Connection`; the session keeps the ones it made
(``st.session_state``), and the cache keys carry the description as JSON in the view's
``saved`` field, so cached results follow it like a save stamp. One
:class:`journeylib.engine.Engine` per URL is shared (``st.cache_resource``). Passwords
never reach the screen: every URL or error text shown goes through :func:`mask_url` /
:func:`clean_error`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from journeylib import workspace
from journeylib.engine import BACKEND_URL_ENV, Engine
from journeylib.journey import JourneyModel
from journeylib.ingest import InputError
from journeylib.schema import DEFAULT_STAGES, JourneyData

ROOT = "(connected)"  # View.root of a connected dataset (it has no workspace folder)
SESSION_KEY = "_connected"


@dataclass(frozen=True)
class Connection:
    """Where a connected dataset's tables are and how to read them."""

    url: str
    touchpoints: str
    survey: str = ""
    customers: str = ""
    order_column: str = ""
    name: str = ""
    stages: tuple[str, ...] = tuple(DEFAULT_STAGES)
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        key = json.dumps([self.url, self.touchpoints, self.survey, self.customers, self.order_column,
                          list(self.stages)])
        return "db-" + hashlib.sha1(key.encode()).hexdigest()[:16]

    def key(self) -> str:
        """The description as JSON (the cache key; holds the URL, never shown)."""
        d = dataclasses.asdict(self)
        d.pop("settings")
        d["stages"] = list(self.stages)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_key(cls, text: str) -> "Connection":
        d = json.loads(text)
        d["stages"] = tuple(d.get("stages") or DEFAULT_STAGES)
        return cls(**d)

    def label(self) -> str:
        """Name for lists: the chosen name, else table @ masked URL."""
        return self.name or f"{self.touchpoints or self.survey} @ {mask_url(self.url)}"


def default_url() -> str:
    return os.environ.get(BACKEND_URL_ENV, "")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unreadable URL)"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def clean_error(exc: BaseException, url: str) -> str:
    """An error's text without the password (drivers like to repeat the URL)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "***")
    text = text.replace(url, mask_url(url))
    return re.sub(r"(://[^:/@\s]*:)[^@\s]+@", r"\1***@", text)[:400]


@st.cache_resource(max_entries=4, show_spinner="Connecting…")
def engine(url: str) -> Engine:
    """One engine per backend URL, shared by all sessions."""
    return Engine(url)


class ConnectError(ValueError):
    """The database could not be reached or read; the message is safe to show."""


def open_connection(conn: Connection) -> JourneyData:
    """The connection's tables as JourneyData (Ibis expressions on the database)."""
    from journeylib.ingest import load_tables

    if not conn.url.strip():
        raise ConnectError("give the database URL (for example duckdb:///path/to/file.ddb)")
    if not conn.touchpoints.strip() and not conn.survey.strip():
        raise ConnectError("name the touchpoints table (or at least a survey table)")
    try:
        eng = engine(conn.url)
    except Exception as exc:  # noqa: BLE001 - drivers raise anything; show it as one line
        hint = ""
        if isinstance(exc, ImportError) or "missing dependencies" in str(exc):
            hint = " Install this database's driver (docs/warehouses.md lists the pip command for each)."
        raise ConnectError(f"could not connect to {mask_url(conn.url)}: {clean_error(exc, conn.url)}"
                           f"{hint}") from None
    try:
        return load_tables(eng, touchpoints=conn.touchpoints.strip() or None, survey=conn.survey.strip() or None,
                           customers=conn.customers.strip() or None, journey=JourneyModel.default(conn.stages),
                           order_column=conn.order_column.strip() or None)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ConnectError(f"could not read the tables at {mask_url(conn.url)}: {clean_error(exc, conn.url)}") from None


# ----------------------------------------------------------------------------- session


def connections() -> dict[str, Connection]:
    """This session's connected datasets by id."""
    return st.session_state.setdefault(SESSION_KEY, {})


def add(conn: Connection) -> None:
    connections()[conn.id] = conn


def is_connected(dataset_id: str) -> bool:
    return str(dataset_id).startswith("db-")


def update_settings(dataset_id: str, **settings) -> None:
    conn = connections().get(dataset_id)
    if conn is not None:
        conn.settings.update(settings)


def info(conn: Connection) -> workspace.DatasetInfo:
    """A DatasetInfo for a connected dataset (so pages treat it like a saved one)."""
    return workspace.DatasetInfo(
        id=conn.id, name=conn.label(), created="", journey=JourneyModel.default(conn.stages),
        persona_names=dict(conn.settings.get("persona_names", {})),
        source_names={k: v for k, v in (("touchpoints", conn.touchpoints), ("survey", conn.survey),
                                        ("customers", conn.customers)) if v},
        settings={k: v for k, v in conn.settings.items() if k != "persona_names"},
        saved=conn.key(),
    )
