"""Journey dashboard: page config, the shared sidebar, and the page router."""

from pathlib import Path

import streamlit as st

from ui import filters, widgets

st.set_page_config(page_title="Customer journeys", page_icon=":material/route:", layout="wide")

HERE = Path(__file__).resolve().parent
pages = [
    st.Page("pages/journeys.py", title="Journeys", icon=":material/account_tree:", default=True),
    st.Page("pages/emotions.py", title="Emotions", icon=":material/mood:"),
    st.Page("pages/personas.py", title="Personas", icon=":material/groups:"),
]
if (HERE / "pages" / "journey_map.py").exists():
    pages.append(st.Page("pages/journey_map.py", title="Journey map", icon=":material/map:"))
pages.append(st.Page("pages/data.py", title="Data", icon=":material/upload_file:"))

page = st.navigation(pages)
with widgets.errors_shown("Could not open the dataset"):
    filters.sidebar()
page.run()
