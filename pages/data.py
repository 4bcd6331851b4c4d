"""Data: upload files, map columns, check them, save and manage datasets."""

import pandas as pd
import streamlit as st

from journeylib import io as jio
from journeylib.schema import DEFAULT_STAGES
from ui import cache, connect, datasets, state, upload, widgets
from ui import stages as stage_edit

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
                                           help="CSV, TSV, gzip'd CSV, Excel or Parquet, up to 1 GB.")

    # frames: what the page shows and maps (a large file's first rows); sources: what is
    # checked and loaded (the frame, or for a large file its copy on disk).
    frames, sources, labels, mapping, problems = {}, {}, {}, {}, False
    for kind, file in uploaded.items():
        if file is None:
            continue
        try:
            frame = upload.read_upload(file.file_id, file.name, file)
        except jio.InputError as exc:
            st.error(f"{exc}", icon=":material/error:")
            problems = True
            continue
        frames[kind], labels[kind] = frame, file.name
        sources[kind] = frame
        size_of_whole = frame.attrs.get(upload.HEAD_OF)
        if size_of_whole:
            sources[kind] = file  # copied to disk only when checked or used
            shown = ("all its rows are shown" if size_of_whole <= upload.PREVIEW_BYTES else
                     f"its first {len(frame):,} rows are shown")
            title = (f"**{file.name}**: {size_of_whole / 1024 / 1024:,.1f} MB, {frame.shape[1]} columns "
                     f"(a large file, read by the engine: {shown}; the whole file is checked)")
        else:
            title = f"**{file.name}**: {len(frame):,} rows, {frame.shape[1]} columns"
        guess = upload.detected(frame, kind)
        required, optional = upload.fields_for(kind, combined=mode == "One combined file")
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
                        chosen = st.multiselect(text, options[1:], default=[default] if default else [], key=key,
                                                help="Pick several columns for a wide survey (one column per "
                                                     "touchpoint or stage).")
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
        st.subheader("Stages")
        s1, s2 = st.columns([1, 2])
        stage_text = s1.text_area("Stage order (one per line)", "\n".join(DEFAULT_STAGES), height=200, key="d_stages")
        stages = [s.strip() for s in stage_text.splitlines() if s.strip()]
        stage_map = None
        if "touchpoints" in frames:
            tp_fields = {k.split(".", 1)[1]: v for k, v in mapping.items() if k.startswith("touchpoints.")}
            loose = upload.unstaged_touchpoints(frames["touchpoints"], tp_fields)
            if loose:
                guess_map = upload.default_stage_map(loose, stages)
                table = pd.DataFrame({"touchpoint": loose, "stage": [guess_map.get(t) for t in loose]})
                with s2:
                    st.markdown("**Stage of touchpoints whose events have none**")
                    edited = st.data_editor(
                        table, hide_index=True, width="stretch", height=200, disabled=["touchpoint"],
                        key=f"d_stage_map_{labels['touchpoints']}_{len(loose)}",
                        column_config={"stage": st.column_config.SelectboxColumn("stage", options=stages)},
                    )
                    if frames["touchpoints"].attrs.get(upload.HEAD_OF):
                        st.caption("Touchpoints from the first rows of this large file. Left as suggested, "
                                   "every touchpoint in the file gets its stage from its name.")
                stage_map = {str(t): str(s) for t, s in zip(edited["touchpoint"], edited["stage"])
                             if s is not None and not pd.isna(s) and str(s)}
                if frames["touchpoints"].attrs.get(upload.HEAD_OF) and stage_map == {
                        t: s for t, s in guess_map.items() if t in loose}:
                    stage_map = None  # the suggestions, made from every name in the file by the loader
        n1, n2 = st.columns([2, 1])
        name_choice = datasets.name_input(n1, list(labels.values()))
        name = name_choice.name
        not_rated_text = n2.text_input("Score values meaning “not rated”", "", key="d_not_rated",
                                       help="For example 0 in a 1–5 survey where 0 means the question was skipped.")
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
        if check_clicked or use_clicked:
            for kind, source in list(sources.items()):
                if not isinstance(source, pd.DataFrame):
                    sources[kind] = upload.spooled(source)
                    labels[sources[kind]] = source.name
            report = upload.check(sources, labels, mapping, stages, stage_map, not_rated)
            if report.errors:
                st.error(f"{len(report.errors)} problem(s) must be fixed before this data can be used. "
                         f"The active dataset is still “{active.name}”.", icon=":material/error:")
            elif report.warnings:
                st.warning(f"{len(report.warnings)} warning(s): the data can be used; these rows were changed "
                           "or skipped.", icon=":material/warning:")
            else:
                st.success("No problems found.", icon=":material/check_circle:")
            if report.errors or report.warnings:
                st.dataframe(upload.report_frame(report), hide_index=True, width="stretch")
            if use_clicked and report.ok:
                with widgets.errors_shown("Could not use this data"):
                    info = upload.load_and_save(sources, labels, mapping, stages, stage_map, not_rated, name)
                    upload.discard_spooled(sources)
                    info = datasets.finish_save(info, name_choice)
                    st.session_state["_upload_notes"] = [
                        f"“{info.name}” is now the active dataset ({info.row_counts.get('events', 0):,} events"
                        + (f", {info.row_counts['survey']:,} survey answers" if "survey" in info.row_counts else "")
                        + f"; {len(report.warnings)} warning(s))."]
                    state.set_active(info.id)
                    st.rerun()
    else:
        st.info("Drop a file above to start. Until then, the app shows the active dataset.", icon=":material/info:")

with saved_tab:
    datasets.saved_list(active.id)

    st.subheader("Stages of a saved dataset", anchor=False)
    infos = state.datasets()
    by_id = {i.id: i for i in infos}
    shown = state.labels(infos)
    chosen_id = st.columns([1, 1])[0].selectbox("Dataset", list(by_id), format_func=lambda i: shown[i],
                             index=list(by_id).index(active.id) if active.id in by_id else 0, key="st_dataset")
    target = by_id[chosen_id]
    st.caption("Change the stage order or which stage each touchpoint belongs to. “Apply” re-derives the "
               "events' stages and saves the dataset again; every page then shows the new stages.")
    g1, g2 = st.columns([1, 2])
    order_text = g1.text_area("Stage order (one per line)", "\n".join(target.stages), height=260,
                              key=f"st_order_{target.id}_{target.saved}")
    try:
        new_stages = stage_edit.parse_stages(order_text)
    except ValueError as exc:
        g1.error(str(exc), icon=":material/error:")
        new_stages = list(target.stages)
    with g2:
        with widgets.errors_shown("Could not read the dataset's touchpoints"):
            names = cache.touchpoint_names(state.root(), target.id, target.saved)
            observed = cache.touchpoint_stages(state.root(), target.id, target.saved)
            table = stage_edit.map_table(names, target.touchpoint_stage_map, new_stages, observed)
            st.markdown("**Touchpoint → stage**", help="Filled from the saved map, else from the stage most of "
                        "the touchpoint's events have. Empty: the touchpoint's events keep their own stage.")
            edited_table = st.data_editor(
                table, hide_index=True, width="stretch", height=260, disabled=["touchpoint"],
                key=f"st_map_{target.id}_{target.saved}_{'|'.join(new_stages)}",
                column_config={"stage": st.column_config.SelectboxColumn("stage", options=new_stages)},
            )
    all_events = st.checkbox("Apply the map to every event of these touchpoints (also those whose file named a "
                             "stage)", key=f"st_all_{target.id}",
                             help="Off: only events whose stage came from the map (or had none) change.")
    if st.button("Apply", type="primary", icon=":material/check:", key=f"st_apply_{target.id}"):
        with widgets.errors_shown("Could not change the stages"):
            new_map = stage_edit.edited_map(edited_table, new_stages)
            with st.spinner("Re-deriving stages and saving…"):
                data = cache.dataset(state.root(), target.id, target.saved)
                saved = stage_edit.apply(target, data, cache.engine(), state.root(), new_stages, new_map, all_events)
            st.session_state["_upload_notes"] = [
                f"Stages of “{saved.name}” updated ({len(new_stages)} stages, {len(new_map)} touchpoints mapped)."]
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
