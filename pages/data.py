"""Data: upload files, map columns, check them, save and manage datasets."""

import pandas as pd
import streamlit as st

from journeylib import ingest as jio
from journeylib import workspace
from journeylib.journey import JourneyModel, apply_journey, place_ratings
from ui import cache, connect, datasets, journey_edit, state, upload, widgets

st.title("Data")
active = state.active_info()
st.caption(f"Active dataset: **{active.name}**. Upload new files below, or open a saved dataset.")

for note in st.session_state.pop("_upload_notes", []):
    st.success(note, icon=":material/check_circle:")

add_tab, saved_tab, db_tab = st.tabs(["Add data", "Saved datasets", "Connect to a database"])

with add_tab:
    mode = st.radio("How is your data split?", ["One combined file", "Separate files"], horizontal=True,
                    key="d_mode", help="A combined file has one row per event, and may carry survey score columns.")
    specs = ([("touchpoints", "Events file (one row per touchpoint; score columns optional)")]
             if mode == "One combined file" else
             [("touchpoints", "Touchpoints (events)"), ("survey", "Survey answers"), ("customers", "Customers")])
    uploaded = {}
    cols = st.columns(len(specs))
    for col, (kind, label) in zip(cols, specs):
        uploaded[kind] = col.file_uploader(label, type=upload.ACCEPTED, key=f"up_{kind}_{mode[:3]}",
                                           help="CSV, TSV, gzip'd CSV, Excel, Parquet or an XES event log, up to 1 GB.")

    # frames: what the page shows and maps (a large file's first rows); the whole files are
    # read and checked once, on "Check data" or "Use this data".
    frames, labels, mapping, problems, sources = {}, {}, {}, False, {}
    for kind, file in uploaded.items():
        if file is None:
            continue
        try:
            frame = upload.read_upload(file.file_id, file.name, file)
        except jio.InputError as exc:
            st.error(f"{exc}", icon=":material/error:")
            problems = True
            continue
        read_as = upload.kind_of(file, frame, kind, combined=mode == "One combined file")
        if read_as != kind:
            lacks = " and no ".join({"timestamp": "time", "touchpoint": "touchpoint"}[c]
                                    for c in upload.missing_event_columns(frame))
            st.info(f"**{file.name}** has one rating column per question and no {lacks} column: it is read as a "
                    "survey alone (one row per respondent), as under **Separate files** → Survey answers.",
                    icon=":material/info:")
            kind = read_as
        frames[kind], labels[kind], sources[kind] = frame, file.name, file
        size_of_whole = frame.attrs.get(upload.HEAD_OF)
        if size_of_whole:
            shown = ("all its rows are shown" if size_of_whole <= upload.PREVIEW_BYTES else
                     f"its first {len(frame):,} rows are shown")
            title = (f"**{file.name}**: {size_of_whole / 1024 / 1024:,.1f} MB, {frame.shape[1]} columns "
                     f"(a large file: {shown}; the whole file is checked)")
        else:
            title = f"**{file.name}**: {len(frame):,} rows, {frame.shape[1]} columns"
        guess = upload.detected(frame, kind)
        found = upload.survey_preview(file, frame, {}) if kind == "survey" else None
        required, optional = upload.fields_for(kind, combined=mode == "One combined file" and kind == "touchpoints")
        with st.expander(title, expanded=True):
            left, right = st.columns([1, 2])
            with left:
                st.markdown("**Columns** (detected; change if wrong)")
                options = [upload.NONE] + [str(c) for c in frame.columns]
                for field in required + optional:
                    key = f"map_{kind}_{field}_{file.file_id}"
                    text = field.replace("_", " ") + (" *" if field in required else "")
                    if field == "score":
                        default = guess.get(field)
                        # A wide survey's rating columns, as the check finds them, are the default.
                        start = list(found.ratings) if found is not None else [default] if default else []
                        chosen = st.multiselect(text, options[1:], default=start, key=key,
                                                help="Pick several columns for a wide survey (one column per "
                                                     "touchpoint or stage)." + (" Filled with the columns that "
                                                     "hold ratings." if found is not None else ""))
                        if len(chosen) > 1:  # the box shows the first few only
                            st.caption(f"{len(chosen)} rating columns, one touchpoint each: "
                                       + ", ".join(chosen[:4]) + (" …" if len(chosen) > 4 else ""))
                        if chosen:
                            mapping[f"{kind}.score"] = chosen[0] if len(chosen) == 1 else chosen
                    else:
                        default = guess.get(field)
                        chosen = st.selectbox(text, options, key=key,
                                              index=options.index(default) if default in options else 0)
                        if chosen != upload.NONE:
                            mapping[f"{kind}.{field}"] = chosen
            with right:
                st.markdown("**First rows**")
                preview = frame.head(10)
                preview.attrs = {}  # the read's notes are for the check, not for the table widget
                st.dataframe(preview, hide_index=True, width="stretch")

    if frames:
        st.subheader("Journey", anchor=False,
                     help="Your own stages, where each touchpoint sits, and the goal: saved with the dataset and "
                          "editable later under Saved datasets.")
        tp_fields = {k.split(".", 1)[1]: v for k, v in mapping.items() if k.startswith("touchpoints.")}
        loose = upload.unstaged_touchpoints(frames["touchpoints"], tp_fields) if "touchpoints" in frames else []
        used = {str(v) for v in mapping.values() if isinstance(v, str)}
        outcome_values = journey_edit.outcome_columns(sources, frames, used)
        sv_fields = {k.split(".", 1)[1]: v for k, v in mapping.items() if k.startswith("survey.")}
        preview = (upload.survey_preview(sources["survey"], frames["survey"], sv_fields, "touchpoints" in frames)
                   if "survey" in frames else None)
        start, journey_key = JourneyModel.default(), "d_journey"
        if preview is not None:
            # The survey's ratings in the stage table, where the check would place them.
            loose += [t for t in preview.ratings.values() if t not in loose]
            if preview.places.grouped:  # a stage named for the survey: the editor starts from it
                start, journey_key = preview.places.model, f"d_journey_{sources['survey'].file_id}"
        journey = journey_edit.controls(journey_key, start, loose, outcome_values)
        if preview is not None and journey is not None:
            # What the stages hold now: the survey's own stage as proposed, or the user's rules.
            said = preview.places.note() if journey == start else \
                place_ratings(journey, preview.ratings, sources["survey"].name, "touchpoints" in frames).note()
            if said:
                st.caption(said[:1].upper() + said[1:] + ".")
        if journey is None:
            problems = True
        if "touchpoints" in frames and frames["touchpoints"].attrs.get(upload.HEAD_OF):
            st.caption("Touchpoints and values from the first rows of this large file; every touchpoint in the "
                       "file is placed by the same rules.")

        st.subheader("Rows", anchor=False)
        r1, r2, r3 = st.columns([1, 1, 1])
        keep_dups = r1.checkbox("Keep exact duplicate rows", key="d_keep_dups",
                                help="Off (the default): rows that repeat an earlier row in every column are "
                                     "dropped and counted. On: every row is kept, as retentioneering and pm4py do.")
        where_options = [upload.NONE] + sorted({str(c) for f in frames.values() for c in f.columns})
        where_col = r2.selectbox("Keep only rows where column", where_options, key="d_where_col",
                                 help="For example lifecycle:transition = COMPLETE, so the START and COMPLETE rows "
                                      "of one activity are not two steps.")
        where = None
        if where_col != upload.NONE:
            seen = sorted({str(v) for f in frames.values() if where_col in f.columns
                           for v in f[where_col].dropna().unique()[:200]})
            chosen_values = r3.multiselect("is one of", seen, key=f"d_where_vals_{where_col}")
            where = {where_col: chosen_values} if chosen_values else None
        n1, n2 = st.columns([2, 1])
        name_choice = datasets.name_input(n1, list(labels.values()))
        name = name_choice.name
        proposed = ", ".join(f"{v:g}" for v in preview.proposed) if preview is not None else ""
        not_rated_text = n2.text_input("Score values meaning “not rated”", proposed,
                                       key=f"d_not_rated_{sources['survey'].file_id}" if proposed else "d_not_rated",
                                       help="For example 0 in a 1–5 survey where 0 means the question was skipped.")
        if proposed:
            n2.caption(f"{proposed} proposed: {preview.not_rated_why}. Clear the box to count "
                       f"{'it' if len(preview.proposed) == 1 else 'them'} as a score.")
        try:
            not_rated = tuple(float(v) for v in not_rated_text.replace(";", ",").split(",") if v.strip())
        except ValueError:
            st.error(f"“not rated” values must be numbers separated by commas, got “{not_rated_text}”.")
            problems = True
            not_rated = ()

        b1, b2, _ = st.columns([1, 1, 3])
        check_clicked = b1.button("Check data", icon=":material/fact_check:", key="d_check", disabled=problems)
        use_clicked = b2.button("Use this data", type="primary", icon=":material/check:", key="d_use",
                                disabled=problems)
        if (check_clicked or use_clicked) and journey is not None:
            chosen = {kind: f for kind, f in sources.items() if kind in frames}
            with st.spinner("Reading and checking the files…"):
                checked = upload.check(chosen, mapping, journey, not_rated, keep_dups, where,
                                       st.session_state.get("d_labels"))
            report = checked.report
            upload.show_recognised(checked, labels)
            if report.errors:
                st.error(f"{len(report.errors)} problem(s) must be fixed before this data can be used. "
                         f"The active dataset is still “{active.name}”.", icon=":material/error:")
                why = upload.combined_problem(labels.get("touchpoints", ""), report) \
                    if mode == "One combined file" else None
                if why:
                    st.error(why, icon=":material/help:")
            elif any(w.severity == "warning" for w in report.warnings):
                st.warning(f"{sum(w.severity == 'warning' for w in report.warnings)} warning(s): the data can be "
                           "used; these rows were changed or skipped.", icon=":material/warning:")
            else:
                st.success("No problems found.", icon=":material/check_circle:")
            if report.errors or report.warnings:
                st.dataframe(upload.report_frame(report), hide_index=True, width="stretch",
                             column_config=upload.REPORT_COLUMNS)
            if use_clicked and report.ok:
                with widgets.errors_shown("Could not use this data"):
                    info = upload.save(checked, name, {"keep_duplicates": keep_dups, "where": where or {},
                                                       "not_rated": list(not_rated)})
                    info = datasets.finish_save(info, name_choice)
                    st.session_state["_upload_notes"] = [
                        f"“{info.name}” is now the active dataset ({info.row_counts.get('events', 0):,} events"
                        + (f", {info.row_counts['survey']:,} survey answers" if "survey" in info.row_counts else "")
                        + f"; {sum(w.severity == 'warning' for w in report.warnings)} warning(s))."]
                    state.set_active(info.id)
                    st.rerun()
    else:
        st.info("Drop a file above to start. Until then, the app shows the active dataset.", icon=":material/info:")

with saved_tab:
    datasets.saved_list(active.id)

    st.subheader("Journey of a saved dataset", anchor=False)
    infos = state.datasets()
    by_id = {i.id: i for i in infos}
    shown = state.labels(infos)
    chosen_id = st.columns([1, 1])[0].selectbox("Dataset", list(by_id), format_func=lambda i: shown[i],
                             index=list(by_id).index(active.id) if active.id in by_id else 0, key="st_dataset")
    target = by_id[chosen_id]
    st.caption("Change the stage order, the rules that place each touchpoint, or the goal. “Apply” re-derives "
               "the stages and saves the dataset again; every page then shows the new journey.")
    with widgets.errors_shown("Could not read the dataset"):
        names = cache.touchpoint_names(state.root(), target.id, target.saved)
        outcomes = cache.goal_columns(state.root(), target.id, target.saved)
        seen = cache.touchpoint_stages_seen(state.root(), target.id, target.saved)
        new_journey = journey_edit.controls(f"st_{target.id}_{target.saved}", target.journey, names, outcomes,
                                            height=260, seen=seen)
        all_events = st.checkbox("Let the rules win over the stage a file gave an event",
                                 key=f"st_all_{target.id}",
                                 help="Off: an event keeps the stage its file named, when that stage is in the "
                                      "order; the rules place the rest.")
        if st.button("Apply", type="primary", icon=":material/check:", key=f"st_apply_{target.id}",
                     disabled=new_journey is None):
            with st.spinner("Re-deriving stages and saving…"):
                data = cache.dataset(state.root(), target.id, target.saved)
                saved = workspace.save_dataset(apply_journey(data, new_journey, all_events), target.name,
                                               root=state.root(), dataset_id=target.id, engine=cache.engine())
            goal = f", goal “{new_journey.goal.label}”" if new_journey.goal else ", no goal"
            st.session_state["_upload_notes"] = [
                f"Journey of “{saved.name}” updated ({len(new_journey.stages)} stages{goal})."]
            st.rerun()

with db_tab:
    st.caption("Analyse tables where they live: the queries run in the database and only small results come "
               "back. Nothing is copied into the workspace; the connection lasts for this browser session. "
               "See docs/warehouses.md for the URL of each database and the drivers to install.")
    env_url = connect.default_url()
    with st.form("db_form", border=True):
        url_text = st.text_input("Database URL", value=connect.mask_url(env_url), key="db_url",
                                 placeholder="duckdb:///path/to/file.ddb or postgres://user@host:5432/db",
                                 help="Any Ibis backend URL. The default comes from $JOURNEY_BACKEND_URL. "
                                      "Prefer the database's own credential store to a password in the URL.")
        t1, t2, t3 = st.columns(3)
        tp_name = t1.text_input("Touchpoints table or view *", key="db_touchpoints",
                                placeholder="analytics.web_events")
        sv_name = t2.text_input("Survey table (optional)", key="db_survey")
        cu_name = t3.text_input("Customers table (optional)", key="db_customers")
        o1, o2 = st.columns(2)
        order_col = o1.text_input("Order column (optional)", key="db_order",
                                  help="An event id or load sequence that orders events with the same timestamp.")
        db_name = o2.text_input("Name (optional)", key="db_name", max_chars=200)
        connect_clicked = st.form_submit_button("Connect", type="primary", icon=":material/database:")
    if connect_clicked:
        # The masked default stands for the real URL from the environment.
        url = env_url if env_url and url_text.strip() == connect.mask_url(env_url) else url_text.strip()
        conn = connect.Connection(url=url, touchpoints=tp_name.strip(), survey=sv_name.strip(),
                                  customers=cu_name.strip(), order_column=order_col.strip(), name=db_name.strip())
        try:
            data = cache.dataset(connect.ROOT, conn.id, conn.key())
        except (jio.InputError, connect.ConnectError) as exc:
            st.error(f"Could not use these tables: {connect.clean_error(exc, url)}", icon=":material/error:")
        else:
            connect.add(conn)
            st.session_state["_upload_notes"] = [f"Connected to “{conn.label()}”; it is now the active dataset."] + [
                f"{w}" for w in data.warnings[:5]]
            state.set_active(conn.id)
            st.rerun()
    live = connect.connections()
    if live:
        st.markdown("**Connected in this session**")
    for conn_id, conn in list(live.items()):
        with st.container(border=True):
            k1, k2 = st.columns([5, 1], vertical_alignment="center")
            tables = ", ".join(t for t in (conn.touchpoints, conn.survey, conn.customers) if t)
            k1.markdown(f"**{conn.label()}**" + ("  ·  *active*" if conn_id == active.id else "")
                        + f"\n\n{connect.mask_url(conn.url)} · {tables}")
            if k2.button("Disconnect", key=f"db_drop_{conn_id}"):
                live.pop(conn_id, None)
                if conn_id == active.id:
                    state.set_active(state.datasets()[0].id)
                st.rerun()
