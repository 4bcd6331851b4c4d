"""journeylib: customer journey analytics without a UI (flows, personas, emotion curves)."""

__version__ = "0.1.0"


def import_in_background(*modules: str) -> None:
    """Import ``modules`` on another thread, so a later import of them finds them loaded:
    scikit-learn and scipy.stats take 1-2 s to import, time a command reading files or an
    app showing its first page leaves free. A failed import is left for the caller's own
    import to report."""
    import importlib
    import threading

    def run() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the caller's own import reports it
                pass

    threading.Thread(target=run, name=f"import {', '.join(modules)}", daemon=True).start()
