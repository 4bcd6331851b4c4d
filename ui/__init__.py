"""Streamlit glue between the pages and journeylib (caching, state, filters, widgets).

Streamlit treats an app that has a ``pages/`` folder as an old-style multipage app until
``st.navigation`` has run once in the process; a first request straight to a sub-page
(``/emotions`` after a restart) would then run that page without ``app.py``, so without
the sidebar. Importing ``ui`` (every page does) switches that off and reruns once.
"""

from __future__ import annotations


def _use_navigation() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # a Streamlit without these internals has no such fallback either
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if get_script_run_ctx() is not None:
            import streamlit as st

            st.rerun()


_use_navigation()
