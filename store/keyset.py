"""Keyset pages of id-ordered lists, newest first, in both directions (Relay's ``first``/``after``
and ``last``/``before``).

Forward, a page is the ``limit`` rows with ``id < after_id`` by id descending; backward, the
``limit`` rows with ``id > before_id`` nearest to it: the comparison and the order reversed,
then the page reversed back to newest first. ``more`` says whether rows lie beyond the page in
the direction of travel (older ones forward, newer ones backward).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def id_desc(query: Any, *, after_id: int | None = None, before_id: int | None = None,
            backward: bool = False) -> Any:
    """``query`` restricted to the ids between the cursors, in travel order."""
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    if before_id is not None:
        query = query.filter(id__gt=before_id)
    return query.order_by("id" if backward else "-id")


def page_of(rows: Sequence[T], limit: int, backward: bool = False) -> tuple[list[T], bool]:
    """The page among ``rows`` (``limit + 1`` were asked for), newest first, and ``more``."""
    page = list(rows[:limit])
    if backward:
        page.reverse()
    return page, len(rows) > limit
