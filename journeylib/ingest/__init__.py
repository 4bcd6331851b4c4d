"""Every input, one path: bytes or tables in, checked engine tables and a report out.

- :mod:`~journeylib.ingest.read`: a file (or a database table) into one engine table;
- :mod:`~journeylib.ingest.mapping`: which column holds which field;
- :mod:`~journeylib.ingest.parse`: timestamps and scores;
- :mod:`~journeylib.ingest.rules`: every check, once, as an Ibis expression with its text;
- :mod:`~journeylib.ingest.load`: all of it together (:func:`check`, :func:`load_journey`).
"""

from journeylib.ingest.errors import InputError, Issue, ValidationReport
from journeylib.ingest.load import (Checked, SurveyPreview, check, load_journey, load_tables, parse_where,
                                    preview_survey, release, validate)
from journeylib.ingest.mapping import detect_mapping, missing_field
from journeylib.ingest.parse import detect_score_scale, parse_timestamps
from journeylib.ingest.read import MAX_UPLOAD_ENV, RawTable, max_upload_bytes, read_source, source_table
from journeylib.ingest.preview import read_table

__all__ = [
    "InputError", "Issue", "ValidationReport", "Checked", "check", "load_journey", "load_tables", "validate",
    "release", "parse_where", "SurveyPreview", "preview_survey", "detect_mapping", "missing_field", "detect_score_scale", "parse_timestamps", "MAX_UPLOAD_ENV",
    "RawTable", "max_upload_bytes", "read_source", "source_table", "read_table",
]
