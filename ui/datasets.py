"""The Data page's dataset names and its list of saved datasets.

A new upload is named after its file (no ".csv"); when that name is taken the user chooses
to keep both (the new copy gets the workspace's numbered, dated suffix) or to replace the
old copy. Every action in the list works on a dataset's id, and the list shows file names,
never a path on the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from journeylib import workspace
from ui import state, widgets

KEEP_BOTH = "Keep both"
_ROWS = {"events": "events", "survey": "survey answers", "customers": "customers"}
REPLACE = "Replace it"


@dataclass(frozen=True)
class NameChoice:
    """The name typed for a new dataset and, when the user chose so, the copy it replaces."""

    name: str
    replaces: workspace.DatasetInfo | None = None


def name_input(container, file_names: list[str], key: str = "d_name") -> NameChoice:
    """The "Dataset name" box (default: the first file's name without its ending) and, when a
    saved dataset already has that name, the choice between keeping both and replacing it."""
    default = workspace.default_name(file_names[0]) if file_names else ""
    # Keyed on the files: a different upload gets its own default instead of the last one's.
    name = container.text_input("Dataset name", value=default, max_chars=workspace.MAX_NAME_LENGTH,
                                key=f"{key}_{'|'.join(file_names)}")
    try:
        clash = workspace.find_by_name(name, root=state.root()) if name.strip() else None
    except workspace.WorkspaceError:
        clash = None
    if clash is None:
        return NameChoice(name)
    counts = rows_text(clash)
    kept_as = workspace.unique_name(name, [i.name for i in state.datasets()])
    choice = container.radio(
        f"A dataset called “{clash.name}” already exists (saved {clash.created[:10]}, {counts}).",
        [KEEP_BOTH, REPLACE], key=f"{key}_clash_{clash.id}", horizontal=True,
        captions=[f"This one is saved as “{kept_as}”.",
                  f"“{clash.name}” is deleted; this one takes its name."],
    )
    return NameChoice(name, clash if choice == REPLACE else None)


def finish_save(info: workspace.DatasetInfo, choice: NameChoice) -> workspace.DatasetInfo:
    """After a new dataset is saved: delete the copy it replaces and give it that name."""
    if choice.replaces is None:
        return info
    return workspace.replace_dataset(choice.replaces.id, info.id, root=state.root())


def rows_text(info: workspace.DatasetInfo) -> str:
    """What a dataset holds, in words: "3,211 events, 479 survey answers, 300 customers"."""
    return ", ".join(f"{n:,} {_ROWS.get(table, table)}" for table, n in info.row_counts.items())


def _saved_when(info: workspace.DatasetInfo) -> str:
    try:
        when = dt.datetime.fromisoformat(info.created).astimezone()
    except ValueError:
        return info.created[:10]
    return when.strftime("%Y-%m-%d %H:%M")


def saved_list(active_id: str) -> None:
    """One row per saved dataset: name, what it holds, Open, Rename, Delete (all by id)."""
    infos = state.datasets()
    shown = state.labels(infos)
    for info in infos:
        with st.container(border=True):
            c1, c2, c3, c4 = st.columns([4, 1, 1, 1], vertical_alignment="center")
            counts = rows_text(info)
            files = ", ".join(dict.fromkeys(info.source_files.values()))
            c1.markdown(f"**{widgets.md_escape(shown[info.id])}**" + ("  ·  *active*" if info.id == active_id else "")
                        + f"\n\n{counts} · saved {_saved_when(info)}"
                        + (f" · from {widgets.md_escape(files)}" if files else ""))
            if c2.button("Open", key=f"open_{info.id}", disabled=info.id == active_id):
                state.set_active(info.id)
                st.rerun()
            with c3.popover("Rename"):
                new_name = st.text_input("New name", value=info.name, max_chars=workspace.MAX_NAME_LENGTH,
                                         key=f"rn_{info.id}")
                if st.button("Save", key=f"rn_save_{info.id}"):
                    with widgets.errors_shown("Could not rename"):
                        workspace.rename_dataset(info.id, new_name, root=state.root())
                        state.keep_active(active_id)  # its label may have changed
                        st.rerun()
            with c4.popover("Delete"):
                st.markdown(f"Delete **{widgets.md_escape(shown[info.id])}** for good?")
                if st.button("Delete", type="primary", key=f"del_{info.id}"):
                    with widgets.errors_shown("Could not delete"):
                        workspace.delete_dataset(info.id, root=state.root())
                        rest = [i for i in state.datasets() if i.id != info.id]
                        if info.id == active_id and rest:
                            state.set_active(rest[0].id)
                        else:
                            state.keep_active(active_id)  # labels of older copies may have changed
                        st.rerun()
