"""journeylib: customer journey analytics without a UI (flows, personas, emotion curves)."""

__version__ = "0.1.0"
