"""Errors raised at the boundary of the pure core.

Every error carries a message meant for a person: it says what is wrong, where (a row number,
a field path) and, where it helps, what to do. The CLI prints ``str(err)``; the API maps the
class to a typed result. ``assert`` is only for internal invariants.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base class of every expected failure of the core."""


class DataError(DomainError):
    """Market data is malformed: unsorted rows, bad numbers, wrong columns, a bad timeframe.

    ``row`` is the 1-based row number in the user's file (or index + 1 in an array) when known.
    """

    def __init__(self, message: str, row: int | None = None) -> None:
        self.row = row
        super().__init__(f"row {row}: {message}" if row is not None else message)


@dataclass(frozen=True)
class Problem:
    """One validation problem: a dotted/indexed path (``entry.all[1].left.period``) and a message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class StrategyError(DomainError):
    """A strategy document is invalid. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid strategy ({len(self.problems)} problem(s)):\n{lines}")


class Cancelled(DomainError):
    """A run was cancelled between chunks by its caller."""

    def __init__(self) -> None:
        super().__init__("cancelled")
