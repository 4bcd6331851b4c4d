"""What the ingest says about a file: errors (it cannot be used) and warnings (rows changed).

Row numbers in messages are 1-based data rows of the file (the header is not counted).
A database table has no rows a user could look up, so its messages give counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd

MAX_EXAMPLES = 5


class InputError(Exception):
    """A file that cannot be used; ``str(e)`` is ``"<file>: <what is wrong>"``."""

    def __init__(self, file: str, message: str, column: str | None = None, rows: Sequence[int] = ()):
        self.file = str(file)
        self.message = message
        self.column = column
        self.rows = list(rows)
        super().__init__(f"{self.file}: {message}")


@dataclass
class Issue:
    """One finding about an input file: what, where (column, example rows) and how often."""

    file: str
    column: str | None
    message: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    severity: str = "warning"

    def __str__(self) -> str:
        where = f" (column {self.column!r})" if self.column else ""
        return f"{self.severity}: {self.file}{where}: {self.message}"

    @classmethod
    def of(cls, exc: InputError) -> "Issue":
        """An error issue from an InputError."""
        return cls(exc.file, exc.column, exc.message, len(exc.rows), list(exc.rows), "error")


@dataclass
class ValidationReport:
    """Errors (the data cannot be loaded) and warnings (loaded, but something was changed)."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """One row per issue: severity, file, column, message, count, rows."""
        rows = [
            {
                "severity": i.severity,
                "file": i.file,
                "column": i.column,
                "message": i.message,
                "count": i.count,
                "rows": ", ".join(str(r) for r in i.rows),
            }
            for i in [*self.errors, *self.warnings]
        ]
        return pd.DataFrame(rows, columns=["severity", "file", "column", "message", "count", "rows"])

    def lines(self) -> list[str]:
        """Human-readable lines, errors first."""
        return [str(i) for i in [*self.errors, *self.warnings]]


def rows_text(rows: Sequence[int], count: int) -> str:
    """``rows 2, 4, 6 and 3 more`` (the first few example rows of ``count``); ``row 7``
    for one."""
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:MAX_EXAMPLES])
    more = count - min(len(rows), MAX_EXAMPLES)
    if len(rows) == 1 and more <= 0:
        return f"row {shown}"
    return f"rows {shown}" + (f" and {more:,} more" if more > 0 else "")


def examples(values: Iterable[Any], n: int = 3) -> str:
    """``'a', 'b', 'c'``: the first few values, quoted."""
    return ", ".join(repr(str(v)) for v in list(values)[:n])


class Findings:
    """Collects the warnings of one load, in the order they are found."""

    def __init__(self) -> None:
        self.warnings: list[Issue] = []

    def warn(self, file: str, column: str | None, message: str, count: int = 0, rows: Sequence[int] = ()) -> None:
        self.warnings.append(Issue(file, column, message, int(count), list(rows)))
