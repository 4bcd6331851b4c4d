"""Datasets saved on disk, atomically; list, reopen, rename, delete.

The workspace is a folder (``$JOURNEY_WORKSPACE`` or ``./workspace``). Each dataset is a
sub-folder named by a generated id (32 hex digits) holding the canonical tables as Parquet
(``events.parquet``, ``survey.parquet``, ``customers.parquet``) and ``meta.json``. The id is
the dataset's identity; the name is display text stored in the metadata only, never a
path, and unique in the workspace: a new save under a name already taken is stored as
``name (2, YYYY-MM-DD)``, and a rename to a taken name is refused. Selection widgets send
the label a user sees, so two datasets showing the same name could not be told apart.

A save is written to a temporary folder inside the workspace, flushed to disk, then moved
into place with a rename, so a crash leaves either the old or the new version complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PureWindowsPath
from typing import Any, Iterable, Mapping

import ibis

from journeylib.engine import Engine, default_engine
from journeylib.journey import JourneyModel
from journeylib.schema import DEFAULT_STAGES, JourneyData, ScoreScale

WORKSPACE_ENV = "JOURNEY_WORKSPACE"
FORMAT_VERSION = 1
TABLES = ("events", "survey", "customers")
ELEMENTS_FILE = "elements_{level}.parquet"  # per flows level; derived from the events
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_STALE_SECONDS = 24 * 3600
MAX_NAME_LENGTH = 200


class WorkspaceError(Exception):
    """A dataset cannot be found, saved or changed (the message says which and why)."""


@dataclass
class DatasetInfo:
    """What ``meta.json`` says about one saved dataset."""

    id: str
    name: str
    created: str
    journey: JourneyModel = field(default_factory=JourneyModel.default)
    touchpoint_stage_map: dict[str, str] = field(default_factory=dict)  # where the rules placed each touchpoint
    persona_names: dict[str, str] = field(default_factory=dict)
    source_names: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    score_scale: tuple[float, float] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    updated: str = ""
    saved: str = ""  # when the tables were last written (metadata edits leave it alone)
    path: Path | None = None

    @property
    def stages(self) -> list[str]:
        return list(self.journey.stages)

    @property
    def source_files(self) -> dict[str, str]:
        """The source file of each table by its name only (datasets saved before names
        were stripped may hold a path on the server, which is not for display)."""
        return {kind: file_name(value) for kind, value in self.source_names.items()}

    def to_meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "updated": self.updated,
            "saved": self.saved,
            "journey": self.journey.to_dict(),
            "touchpoint_stage_map": dict(self.touchpoint_stage_map),
            "persona_names": dict(self.persona_names),
            "source_names": dict(self.source_names),
            "row_counts": dict(self.row_counts),
            "score_scale": list(self.score_scale) if self.score_scale else None,
            "settings": dict(self.settings),
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], path: Path | None = None) -> "DatasetInfo":
        scale = meta.get("score_scale")
        return cls(
            id=str(meta["id"]),
            name=str(meta.get("name", "")),
            created=str(meta.get("created", "")),
            updated=str(meta.get("updated", "")),
            saved=str(meta.get("saved", "") or meta.get("updated", "")),
            journey=_journey_of(meta),
            touchpoint_stage_map={str(k): str(v) for k, v in dict(meta.get("touchpoint_stage_map") or {}).items()},
            persona_names={str(k): str(v) for k, v in dict(meta.get("persona_names") or {}).items()},
            source_names={str(k): str(v) for k, v in dict(meta.get("source_names") or {}).items()},
            row_counts={str(k): int(v) for k, v in dict(meta.get("row_counts") or {}).items()},
            score_scale=(float(scale[0]), float(scale[1])) if scale else None,
            settings=dict(meta.get("settings") or {}),
            path=path,
        )


def _journey_of(meta: Mapping[str, Any]) -> JourneyModel:
    """The saved journey model; a dataset saved before there was one gets the defaults
    over its stage order and map."""
    if meta.get("journey"):
        return JourneyModel.from_dict(meta["journey"])
    return JourneyModel.default([str(s) for s in meta.get("stages", DEFAULT_STAGES)])


def workspace_root(root: str | os.PathLike | None = None) -> Path:
    """The workspace folder: ``root``, else ``$JOURNEY_WORKSPACE``, else ``./workspace``."""
    path = Path(root) if root is not None else Path(os.environ.get(WORKSPACE_ENV) or "workspace")
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_id() -> str:
    """A fresh dataset id (uuid4 as 32 hex digits)."""
    return uuid.uuid4().hex


def _check_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not _ID_RE.match(dataset_id):
        raise WorkspaceError(f"not a dataset id: {dataset_id!r}")
    return dataset_id


def clean_name(name: str) -> str:
    """Validate a display name: stripped, 1..200 printable characters."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", str(name or "")).strip()
    if not text:
        raise WorkspaceError("a dataset needs a name")
    if len(text) > MAX_NAME_LENGTH:
        raise WorkspaceError(f"dataset names are at most {MAX_NAME_LENGTH} characters, got {len(text)}")
    return text


# Endings of the files the loaders read; a default dataset name drops all of them.
_FILE_ENDINGS = re.compile(r"(\.(csv|tsv|tab|txt|xlsx|xls|parquet|pq|xes|json))?(\.(gz|gzip|zip|bz2|xz|zst))?$",
                           re.IGNORECASE)


def file_name(path: str) -> str:
    """The last part of a path (POSIX or Windows), the whole text when it is a plain name."""
    return PureWindowsPath(str(path)).name or str(path)


def default_name(file: str) -> str:
    """A dataset name from an uploaded file's name: no folder, no ``.csv``/``.csv.gz``/
    ``.xlsx``... ending (``exports/BPIC_2012.csv.gz`` -> ``BPIC_2012``)."""
    base = file_name(file)
    stem = _FILE_ENDINGS.sub("", base).strip()
    return stem or base.strip() or "Dataset"


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def unique_name(name: str, taken: Iterable[str], day: str | None = None) -> str:
    """``name`` when no name in ``taken`` equals it (ignoring case and repeated spaces),
    else ``name (N, day)``: N counts the copies (the smallest N >= 2 no copy of ``name``
    carries, whatever its day), ``day`` is YYYY-MM-DD, today by default."""
    name = clean_name(name)
    used = {_name_key(t) for t in taken}
    if _name_key(name) not in used:
        return name
    day = day or datetime.now().date().isoformat()
    copy = re.compile(re.escape(_name_key(name)) + r" \((\d+), ")
    numbers = {int(m.group(1)) for t in used if (m := copy.match(t))}
    n = 2
    while True:
        suffix = f" ({n}, {day})"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
        if n not in numbers and _name_key(candidate) not in used:
            return candidate
        n += 1


def distinct_names(infos: Iterable["DatasetInfo"]) -> dict[str, str]:
    """Dataset id -> a name no other dataset shows. Saves keep names unique; a workspace
    written before that may hold duplicates, and then the older copy keeps its name and
    each later one gets :func:`unique_name`'s suffix with the day it was created."""
    out: dict[str, str] = {}
    for info in sorted(infos, key=lambda i: (i.created, i.id)):
        out[info.id] = unique_name(info.name, out.values(), info.created[:10] or None)
    return out


def find_by_name(name: str, root: str | os.PathLike | None = None) -> DatasetInfo | None:
    """The saved dataset called ``name`` (ignoring case and repeated spaces), if any."""
    key = _name_key(str(name))
    return next((i for i in list_datasets(root) if _name_key(i.name) == key), None)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


def _write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def _engine_lock(engine: Engine):
    # Engine serialises its connection with a lock; writing Parquet must hold it too.
    return getattr(engine, "_lock", None) or contextlib.nullcontext()


def _row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


def save_dataset(
    data: JourneyData,
    name: str,
    *,
    root: str | os.PathLike | None = None,
    dataset_id: str | None = None,
    engine: Engine | None = None,
    persona_names: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> DatasetInfo:
    """Write ``data`` as a dataset (new id, or replace ``dataset_id``) and return its info.

    The Parquet files are written by the backend holding the tables (nothing is pulled
    into pandas); the folder appears under its id only once it is complete.
    """
    name = clean_name(name)
    engine = engine or default_engine()
    base = workspace_root(root)
    existing: DatasetInfo | None = None
    if dataset_id is not None:
        _check_id(dataset_id)
        if (base / dataset_id / "meta.json").exists():
            existing = get_info(dataset_id, root=base)
    others = [i.name for i in list_datasets(base) if i.id != dataset_id]
    name = unique_name(name, others)
    dataset_id = dataset_id or new_id()
    # The pid in the name lets a later listing tell a crashed save from one in progress.
    tmp = base / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        counts: dict[str, int] = {}
        for table_name in TABLES:
            table = getattr(data, table_name)
            if table is None:
                continue
            target = tmp / f"{table_name}.parquet"
            if table_name == "events":
                # Stored in journey order: each customer's events lie together, so the
                # per-customer distinct counts, group-bys and windows of every later query
                # hash and sort data that is already clustered (1.3-4x faster at 10M events).
                table = table.order_by(["customer_id", "timestamp", "seq"])
            with _engine_lock(engine):
                table.to_parquet(target)
            _fsync_path(target)
            counts[table_name] = _row_count(target)
        _write_elements(tmp, engine)
        scale = data.score_scale
        info = DatasetInfo(
            id=dataset_id,
            name=name,
            created=existing.created if existing else _now(),
            updated=_now(),
            saved=f"{_now()}/{uuid.uuid4().hex[:8]}",
            journey=data.journey,
            touchpoint_stage_map={str(k): str(v) for k, v in dict(data.touchpoint_stage_map or {}).items()},
            persona_names=dict(persona_names if persona_names is not None else (existing.persona_names if existing else {})),
            source_names={str(k): file_name(v) for k, v in dict(data.source_names or {}).items()},
            row_counts=counts,
            score_scale=(float(scale.low), float(scale.high)) if scale else None,
            settings=dict(settings if settings is not None else (existing.settings if existing else {})),
        )
        _write_json_atomic(tmp / "meta.json", info.to_meta())
        _fsync_path(tmp)
        final = base / dataset_id
        if final.exists():
            # Move the old version aside first: the rename of a folder cannot replace a
            # non-empty folder. A crash between the two renames leaves the old version
            # complete under .old-*, which list_datasets() puts back.
            old = base / f".old-{dataset_id}-{uuid.uuid4().hex}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_path(base)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    info.path = base / dataset_id
    return info


def _write_elements(folder: Path, engine: Engine) -> None:
    """Store each journey's elements per level beside the events (flows.stored_elements),
    read from the events just written: they are in journey order, so this is quick."""
    from journeylib.flows import LEVELS, stored_elements

    with _engine_lock(engine):
        events = engine.read_parquet(str(folder / "events.parquet"))
        try:
            for level in LEVELS:
                target = folder / ELEMENTS_FILE.format(level=level)
                stored_elements(events, level).to_parquet(target)
                _fsync_path(target)
        finally:
            engine.con.drop_view(events.op().name, force=True)


def open_elements(dataset_id: str, level: str, root: str | os.PathLike | None = None,
                  engine: Engine | None = None) -> ibis.Table | None:
    """The stored journey elements of a saved dataset at ``level`` (see
    :func:`journeylib.flows.stored_elements`), or None for a dataset saved before they were."""
    info = get_info(dataset_id, root=root)
    assert info.path is not None
    path = info.path / ELEMENTS_FILE.format(level=level)
    return (engine or default_engine()).read_parquet(str(path)) if path.exists() else None


def _recover(base: Path) -> None:
    """Finish or undo interrupted saves and deletes."""
    now = time.time()
    for entry in base.iterdir():
        if entry.name.startswith(".old-") and entry.is_dir():
            dataset_id = entry.name[5:37]
            final = base / dataset_id
            if _ID_RE.match(dataset_id) and not final.exists():
                with contextlib.suppress(OSError):
                    os.replace(entry, final)
                    continue
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith((".tmp-", ".trash-")) and entry.is_dir():
            # A .tmp folder may belong to a save in progress in another process.
            if (
                entry.name.startswith(".trash-")
                or _saver_is_gone(entry.name)
                or now - entry.stat().st_mtime > _STALE_SECONDS
            ):
                shutil.rmtree(entry, ignore_errors=True)


def _saver_is_gone(tmp_name: str) -> bool:
    """True when the process named in a ``.tmp-<pid>-<hex>`` folder no longer runs."""
    pid_text = tmp_name[len(".tmp-"):].split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else
        return False
    return False


def list_datasets(root: str | os.PathLike | None = None) -> list[DatasetInfo]:
    """All complete datasets in the workspace, newest first."""
    base = workspace_root(root)
    _recover(base)
    out = []
    for entry in base.iterdir():
        if not (entry.is_dir() and _ID_RE.match(entry.name)):
            continue
        try:
            out.append(get_info(entry.name, root=base))
        except WorkspaceError:
            continue  # a folder without readable metadata is not a dataset
    return sorted(out, key=lambda i: (i.created, i.id), reverse=True)


def get_info(dataset_id: str, root: str | os.PathLike | None = None) -> DatasetInfo:
    """The metadata of one dataset."""
    folder = workspace_root(root) / _check_id(dataset_id)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(f"no saved dataset with id {dataset_id}") from None
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"dataset {dataset_id}: meta.json is unreadable ({exc})") from None
    return DatasetInfo.from_meta(meta, path=folder)


def open_dataset(
    dataset_id: str, root: str | os.PathLike | None = None, engine: Engine | None = None
) -> JourneyData:
    """Reopen a saved dataset: tables are read from its Parquet files by the engine."""
    engine = engine or default_engine()
    info = get_info(dataset_id, root=root)
    assert info.path is not None
    tables = {}
    for table_name in TABLES:
        path = info.path / f"{table_name}.parquet"
        tables[table_name] = engine.read_parquet(str(path)) if path.exists() else None
    if tables["events"] is None:
        raise WorkspaceError(f"dataset {info.name!r} ({dataset_id}) has no events table")
    return JourneyData(
        events=tables["events"],
        survey=tables["survey"],
        customers=tables["customers"],
        journey=info.journey,
        score_scale=ScoreScale(*info.score_scale) if info.score_scale else None,
        touchpoint_stage_map=dict(info.touchpoint_stage_map),
        source_names=dict(info.source_names),
        warnings=[],
    )


def update_meta(dataset_id: str, root: str | os.PathLike | None = None, **changes: Any) -> DatasetInfo:
    """Change metadata fields (name, persona_names, settings, ...) atomically."""
    info = get_info(dataset_id, root=root)
    meta = info.to_meta()
    unknown = set(changes) - set(meta) - {"path"}
    if unknown or {"id", "format", "created"} & set(changes):
        raise WorkspaceError(f"cannot change {sorted(unknown | ({'id', 'format', 'created'} & set(changes)))}")
    if "name" in changes:
        changes["name"] = clean_name(changes["name"])
        clash = find_by_name(changes["name"], root=root)
        if clash is not None and clash.id != dataset_id:
            raise WorkspaceError(f"another dataset is already called “{clash.name}”; choose another name")
    meta.update(changes)
    meta["updated"] = _now()
    assert info.path is not None
    _write_json_atomic(info.path / "meta.json", meta)
    return DatasetInfo.from_meta(meta, path=info.path)


def rename_dataset(dataset_id: str, name: str, root: str | os.PathLike | None = None) -> DatasetInfo:
    """Change the display name (the folder keeps its id)."""
    return update_meta(dataset_id, root=root, name=name)


def set_persona_names(
    dataset_id: str, names: Mapping[str, str], root: str | os.PathLike | None = None
) -> DatasetInfo:
    """Store persona renames (automatic name -> chosen name) with the dataset."""
    clean = {}
    for auto, chosen in names.items():
        text = re.sub(r"[\x00-\x1f\x7f]", " ", str(chosen)).strip()
        if text and text != auto:
            clean[str(auto)] = text[:80]
    return update_meta(dataset_id, root=root, persona_names=clean)


def update_settings(dataset_id: str, root: str | os.PathLike | None = None, **settings: Any) -> DatasetInfo:
    """Merge JSON-serialisable view settings into the dataset's metadata."""
    info = get_info(dataset_id, root=root)
    merged = {**info.settings, **settings}
    json.dumps(merged)  # fail here, not half-way through a write
    return update_meta(dataset_id, root=root, settings=merged)


def replace_dataset(old_id: str, new_id: str, root: str | os.PathLike | None = None) -> DatasetInfo:
    """Delete ``old_id`` and give ``new_id`` its name: a new copy of a file takes the old
    one's place (the new copy keeps its own id, so no cached result of the old one applies)."""
    old = get_info(old_id, root=root)
    if old_id == new_id:
        return old
    get_info(new_id, root=root)  # fail before deleting anything
    delete_dataset(old_id, root=root)
    return rename_dataset(new_id, old.name, root=root)


def delete_dataset(dataset_id: str, root: str | os.PathLike | None = None) -> None:
    """Remove a dataset; it disappears at once (renamed aside, then deleted)."""
    base = workspace_root(root)
    folder = base / _check_id(dataset_id)
    if not folder.exists():
        raise WorkspaceError(f"no saved dataset with id {dataset_id}")
    trash = base / f".trash-{uuid.uuid4().hex}"
    os.replace(folder, trash)
    _fsync_path(base)
    shutil.rmtree(trash, ignore_errors=True)
