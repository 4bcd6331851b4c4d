"""Journey dashboard: page config, the shared sidebar, and the page router."""

from pathlib import Path

import streamlit as st

from ui import cache, filters, widgets

HERE = Path(__file__).resolve().parent
ABOUT = ("**Customer journeys**: flows, funnels towards your goal, emotions per stage, personas and a "
         "journey map from your own events and surveys. Everything runs on this machine. How each number "
         "is defined: docs/design.md in the project.")
# A file of our own: a ":material/..." page icon makes the browser fetch it from a font host.
# The menu item makes the minimal toolbar appear, and with it Streamlit's running indicator.
st.set_page_config(page_title="Customer journeys", page_icon=str(HERE / "assets" / "icon.svg"), layout="wide",
                   menu_items={"About": ABOUT})
cache.warm_imports()
pages = [
    st.Page("pages/journeys.py", title="Journeys", icon=":material/account_tree:", default=True),
    st.Page("pages/emotions.py", title="Emotions", icon=":material/mood:"),
    st.Page("pages/personas.py", title="Personas", icon=":material/groups:"),
]
if (HERE / "pages" / "journey_map.py").exists():
    pages.append(st.Page("pages/journey_map.py", title="Journey map", icon=":material/map:"))
pages.append(st.Page("pages/data.py", title="Data", icon=":material/upload_file:"))

# .streamlit/config.toml turns the sidebar navigation off, so a first paint never lists the
# raw pages/ folder ("app, data, emotions ...") before this script has run; on again here.
st.set_option("client.showSidebarNavigation", True)
page = st.navigation(pages)
# Streamlit leaves 6rem above a page's title; at 1280x800 that pushed the first chart below
# the fold. The header's menu sits at the right, so 3.5rem clears it.
st.html("<style>[data-testid='stMainBlockContainer'] {padding-top: 3.5rem !important;}</style>")
finish_sidebar = None
with widgets.errors_shown("Could not open the dataset"):
    finish_sidebar = filters.sidebar()
page.run()
if finish_sidebar is not None:
    # The Data page filters nothing by persona: it does not wait for a new dataset's personas.
    finish_sidebar(page.url_path != "data")
