"""Personas: how many, who they are, renaming, a map of customers, download."""

import html

import pandas as pd
import streamlit as st

from journeylib import charts
from ui import cache, compare, state, widgets


def _card_lines(card: dict, scale) -> list[str]:
    """Share, conversion to the goal, mean score and stability of one persona card."""
    lines = [f"**{widgets.pct(card['share'])}** of customers ({card['customers']:,})"]
    if card["goal"] is None:
        lines.append("Conversion: no goal set (see above)")
    elif card["judged"]:
        lines.append(f"{card['goal']}: **{widgets.pct(card['converted'])}** of {card['judged']:,}")
    else:
        lines.append(f"{card['goal']}: cannot be judged (see above)")
    if card["answers"]:
        lines.append(f"Mean score **{card['mean_score']:.2f}**" + (f" (of {scale.label})" if scale else ""))
    else:
        lines.append("Mean score: no survey answers")
    stability = card["stability"]
    if not pd.isna(stability):
        lines.append(f"Stability **{stability:.2f}**" + (" (comes back in few refits: read with care)"
                                                         if stability < 0.6 else ""))
    return lines


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
                     format_func=lambda v: "Automatic" if v == "auto" else v,
                     key="p_k")
    if k != current_k:
        state.update_settings(info, n_personas=k)
        st.rerun()

with widgets.errors_shown("Personas cannot be found for this dataset"):
    result = state.current_personas()
    model = result.model
    colors = state.persona_colors()
    sampled, total = getattr(result, "sampled", None), getattr(result, "total", None)
    if sampled and total and sampled < total:
        st.info(f"Personas were fitted on a sample of {int(sampled):,} of {int(total):,} customers; every customer "
                "was then assigned to the nearest persona.", icon=":material/info:")
    summary = cache.persona_summary(base)
    with c2:
        curve = getattr(model, "silhouette_curve_", None) or {}
        if len(curve) > 1:
            widgets.chart(charts.silhouette_curve(curve, chosen=int(model.n_personas_), height=300),
                          key="silhouette")
        st.caption(summary["criterion"] + ".")
    st.markdown(f"**How far to trust them.** {summary['stability']}")
    if summary["goal_note"]:
        st.warning(summary["goal_note"], icon=":material/flag:")

    cards = cache.persona_cards(base)
    scale = state.current_data().score_scale
    for row_start in range(0, len(cards), 3):
        cols = st.columns(3)
        for col, card in zip(cols, cards[row_start:row_start + 3]):
            with col.container(border=True):
                color = colors.get(card["name"], "#555555")
                st.markdown(
                    f"<div style='border-left:8px solid {color};padding-left:10px'>"
                    f"<h3 style='margin:0;padding:0'>{html.escape(card['name'])}</h3></div>",
                    unsafe_allow_html=True)
                st.markdown("  \n".join(_card_lines(card, scale)))
                if card["outcomes"]:
                    st.markdown("**Outcomes:** " + "; ".join(card["outcomes"]))
                if card["top_channels"]:
                    st.markdown("**Top channels:** " + ", ".join(card["top_channels"]))
                if card["traits"]:
                    st.markdown("**Stands out by:**\n" + "\n".join(f"- {t}" for t in card["traits"]))

    st.subheader("Compare two views")
    view = state.current_view()
    with widgets.errors_shown("Cannot compare these views"):
        pair = compare.controls(view)
        if pair is not None:
            compare.explain(pair, view)
            if st.session_state.get("cmp") == "persona":
                st.info("Each side is one persona, so its share is 100% there: compare periods, channels or "
                        "datasets to see how the mix of personas moved.", icon=":material/info:")
            shares = compare.persona_share_frame(view, pair)
            widgets.chart(charts.persona_share_compare(shares, label_a=pair.label_a, label_b=pair.label_b),
                          key="persona_shares", frame=shares, file_name="persona_shares_compared")
            moved = shares[shares["significant"]]
            st.caption(("Significant (two-proportion z-test, p < 0.05): " + "; ".join(
                f"{r.persona} {100 * r.a:.0f}% → {100 * r.b:.0f}% ({100 * r.difference:+.1f} points, "
                f"95% CI {100 * r.ci_low:+.1f} to {100 * r.ci_high:+.1f})" for r in moved.itertuples())
                        if not moved.empty else "No persona's share differs significantly between the two views "
                        "(two-proportion z-test, p < 0.05).")
                       + " Customers are those with events in each view (with survey answers, for answers alone).")

    widgets.chart(charts.persona_map(result.embedding, subject=info.name, colors=colors), key="persona_map")
    widgets.csv_download(result.assignments[["customer_id", "persona"]], "Download customer → persona (CSV)",
                         f"personas_{info.name}", key="personas_csv")

    with st.expander("Rename personas", icon=":material/edit:"):
        with st.form("rename_personas", border=False):
            edited = {}
            grid = st.columns(3)
            for i, card in enumerate(cards):
                edited[card["auto_name"]] = grid[i % 3].text_input(
                    f"“{card['auto_name']}”", value=card["name"], max_chars=80, key=f"p_name_{card['auto_name']}")
            if st.form_submit_button("Save names", icon=":material/save:"):
                names = [v.strip() for v in edited.values()]
                if len(set(names)) < len(names) or not all(names):
                    st.error("Each persona needs its own, non-empty name.")
                else:
                    state.set_persona_names(info, edited)
                    st.session_state.pop("flt_personas", None)
                    st.rerun()
