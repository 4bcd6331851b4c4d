"""Personas: how many, who they are, renaming, a map of customers, download."""

import pandas as pd
import streamlit as st

from journeylib import charts, workspace
from ui import cache, state, widgets

st.title("Personas")
st.caption("Customers grouped by how they behave and feel. Personas are found on the whole dataset; "
           "the sidebar filters do not change them.")

info = state.active_info()
base = state.base_view(info)
current_k = base.n_personas

with st.container(border=True):
    c1, c2 = st.columns([1, 2])
    choices = ["auto"] + [str(k) for k in range(2, 9)]
    k = c1.selectbox("Number of personas", choices, index=choices.index(current_k) if current_k in choices else 0,
                     format_func=lambda v: "Automatic (best separated)" if v == "auto" else v, key="p_k")
    if k != current_k:
        workspace.update_settings(info.id, root=base.root, n_personas=k)
        st.rerun()

with widgets.errors_shown("Personas cannot be found for this dataset"):
    result = state.current_personas()
    model = result.model
    colors = state.persona_colors()
    with c2:
        curve = getattr(model, "silhouette_curve_", None) or {}
        if curve:
            widgets.chart(charts.silhouette_curve(curve, chosen=int(model.n_personas_), height=260),
                          key="silhouette")
        else:
            st.caption(f"{model.n_personas_} personas chosen by hand.")

    cards = cache.persona_cards(base)
    for row_start in range(0, len(cards), 3):
        cols = st.columns(3)
        for col, card in zip(cols, cards[row_start:row_start + 3]):
            with col.container(border=True):
                color = colors.get(card["name"], "#555555")
                st.markdown(f"<div style='border-left:8px solid {color};padding-left:10px'>"
                            f"<h3 style='margin:0'>{card['name']}</h3></div>", unsafe_allow_html=True)
                m1, m2, m3 = st.columns(3)
                m1.metric("Share", widgets.pct(card["share"]), help=f"{card['customers']:,} customers")
                m2.metric("Purchased", widgets.pct(card["purchase_rate"]))
                m3.metric("Mean score", "–" if card["mean_score"] is None or pd.isna(card["mean_score"])
                          else f"{card['mean_score']:.2f}")
                if card["top_channels"]:
                    st.markdown("**Top channels:** " + ", ".join(card["top_channels"]))
                if card["traits"]:
                    st.markdown("**Stands out by:**\n" + "\n".join(f"- {t}" for t in card["traits"]))

    st.subheader("Rename personas")
    with st.form("rename_personas"):
        edited = {}
        for card in cards:
            edited[card["auto_name"]] = st.text_input(f"Name for “{card['auto_name']}”", value=card["name"],
                                                      max_chars=80, key=f"p_name_{card['auto_name']}")
        if st.form_submit_button("Save names", icon=":material/save:"):
            names = [v.strip() for v in edited.values()]
            if len(set(names)) < len(names) or not all(names):
                st.error("Each persona needs its own, non-empty name.")
            else:
                workspace.set_persona_names(info.id, edited, root=base.root)
                st.session_state.pop("flt_personas", None)
                st.rerun()

    view = state.current_view()
    widgets.chart(charts.persona_map(result.embedding, subject=info.name, colors=colors), key="persona_map")
    widgets.csv_download(result.assignments[["customer_id", "persona"]], "Download customer → persona (CSV)",
                         f"personas_{info.name}", key="personas_csv")
