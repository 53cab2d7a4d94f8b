"""Strategy documents per owner, each saved edit a new version.

A *strategy* is the set of rows of one owner sharing a name; each row is a *version* (1, 2, ...)
holding the document as it was saved. Versions are never changed in place (a rename is the one
exception: it renames every version), so a backtest keeps pointing at the document it ran.
The *latest* version of a strategy is its row with the highest version, which is also its row
with the highest id: a version is always inserted after the rows it succeeds.

Every function reading or changing existing rows takes ``owner`` (``store.scope``): the
caller's user id, or ``ALL_OWNERS`` in an explicit admin call. Rows of other owners are
invisible: a lookup returns ``None`` as for a missing id, so ids of other users' strategies do
not leak. Version numbers follow ``domain.strategy.naming`` (:func:`next_version`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.functions import Max
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.strategy.naming import next_version
from store.errors import StoreError
from store.models import Strategy
from store.scope import OwnerScope, scoped

NAME_MAX_LEN = 200
_SAVE_ATTEMPTS = 3  # concurrent saves of one strategy race for the next version number


class StrategyNameTaken(StoreError):
    """The owner has a strategy with that name already."""


@dataclass(frozen=True)
class StrategyRecord:
    """One version of a strategy."""

    id: int
    owner_id: int
    name: str
    version: int
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _record(row: Strategy) -> StrategyRecord:
    return StrategyRecord(row.id, row.owner_id, row.name, row.version, row.document,
                          row.created_at, row.updated_at)


def _scoped(owner: OwnerScope) -> QuerySet[Strategy]:
    return scoped(Strategy.all(), owner)


def _taken(name: str) -> StrategyNameTaken:
    return StrategyNameTaken(f"a strategy named {name!r} exists already: update it (a new "
                             "version) or choose another name")


async def create_strategy(owner_id: int, name: str, document: dict[str, Any]) -> StrategyRecord:
    """Version 1 of a new strategy; raises :class:`StrategyNameTaken` when ``owner_id`` has a
    strategy called ``name`` already. The document is stored as given (validate it first)."""
    if await Strategy.filter(owner_id=owner_id, name=name).exists():
        raise _taken(name)
    try:
        row = await Strategy.create(owner_id=owner_id, name=name, version=next_version(None),
                                    document=document)
    except IntegrityError as err:
        raise _taken(name) from err
    return _record(row)


async def get_strategy(strategy_id: int, *, owner: OwnerScope) -> StrategyRecord | None:
    """The version with id ``strategy_id`` (None when missing or not visible to ``owner``)."""
    row = await _scoped(owner).filter(id=strategy_id).first()
    return None if row is None else _record(row)


async def latest_version(strategy_id: int, *, owner: OwnerScope) -> StrategyRecord | None:
    """The latest version of the strategy that version ``strategy_id`` belongs to."""
    row = await _scoped(owner).filter(id=strategy_id).first()
    if row is None:
        return None
    latest = await Strategy.filter(owner_id=row.owner_id, name=row.name).order_by("-version").first()
    return None if latest is None else _record(latest)


async def save_version(strategy_id: int, *, owner: OwnerScope, name: str | None = None,
                       document: dict[str, Any] | None = None) -> StrategyRecord | None:
    """Save a new version of the strategy that version ``strategy_id`` belongs to: version
    ``latest + 1`` with ``document`` (default: the latest version's). A new ``name`` renames
    every version first (:class:`StrategyNameTaken` when the owner uses that name already).
    Returns the new version, or None when the strategy is not found."""
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            return await _save_version(strategy_id, name, document, owner=owner)
        except IntegrityError:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _save_version(strategy_id: int, name: str | None, document: dict[str, Any] | None,
                        *, owner: OwnerScope) -> StrategyRecord | None:
    async with in_transaction():
        row = await _scoped(owner).filter(id=strategy_id).first()
        if row is None:
            return None
        versions = Strategy.filter(owner_id=row.owner_id, name=row.name)
        latest = await versions.order_by("-version").first()
        assert latest is not None  # the row itself is one
        new_name = row.name
        if name is not None and name != row.name:
            if await Strategy.filter(owner_id=row.owner_id, name=name).exists():
                raise _taken(name)
            await versions.update(name=name)
            new_name = name
        created = await Strategy.create(
            owner_id=row.owner_id, name=new_name, version=next_version(latest.version),
            document=latest.document if document is None else document)
    return _record(created)


async def delete_strategy(strategy_id: int, *, owner: OwnerScope) -> list[int] | None:
    """Delete every version of the strategy that version ``strategy_id`` belongs to; returns
    the ids deleted (None when not found). Backtests of it keep their document snapshot."""
    async with in_transaction():
        row = await _scoped(owner).filter(id=strategy_id).first()
        if row is None:
            return None
        versions = Strategy.filter(owner_id=row.owner_id, name=row.name)
        ids: list[int] = list(await versions.values_list("id", flat=True))  # type: ignore[arg-type]
        await versions.delete()
    return sorted(ids)


async def list_latest(*, owner: OwnerScope, limit: int,
                      after: tuple[datetime, int] | None = None,
                      before: tuple[datetime, int] | None = None,
                      backward: bool = False, search: str | None = None
                      ) -> list[StrategyRecord]:
    """The latest version of each strategy, newest first by ``(created_at, id)`` (so a strategy
    moves to the top when a version is saved): at most ``limit`` rows, those strictly after the
    keyset ``after`` (the ``(created_at, id)`` of the previous page's last row). ``backward``:
    the ``limit`` rows nearest before the keyset ``before`` (the comparison and the order
    reversed), still returned newest first. ``search``: only names containing it (case
    ignored)."""
    query = _latest(owner, search)
    if after is not None:
        at, last_id = after
        query = query.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=last_id))
    if before is not None:
        at, first_id = before
        query = query.filter(Q(created_at__gt=at) | Q(created_at=at, id__gt=first_id))
    order = ("created_at", "id") if backward else ("-created_at", "-id")
    rows = await query.order_by(*order).limit(limit)
    if backward:
        rows.reverse()
    return [_record(r) for r in rows]


async def versions_of(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], list[StrategyRecord]]:
    """Every version of each ``(owner_id, name)`` strategy, oldest first, in one query (for a
    DataLoader). Keys without rows map to empty lists."""
    wanted = set(keys)
    out: dict[tuple[int, str], list[StrategyRecord]] = defaultdict(list)
    if not wanted:
        return out
    owners = {owner for owner, _ in wanted}
    names = {name for _, name in wanted}
    rows = await Strategy.filter(owner_id__in=owners, name__in=names).order_by("version")
    for row in rows:
        key = (row.owner_id, row.name)
        if key in wanted:
            out[key].append(_record(row))
    return out


async def strategies_by_id(ids: Iterable[int], *, owner: OwnerScope) -> dict[int, StrategyRecord]:
    """The versions with the given ids that ``owner`` may see, in one query (for a
    DataLoader); ids not found are absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await _scoped(owner).filter(id__in=wanted)
    return {row.id: _record(row) for row in rows}


def _latest(owner: OwnerScope, search: str | None) -> QuerySet[Strategy]:
    latest_ids = (_scoped(owner).group_by("owner_id", "name")
                  .annotate(latest_id=Max("id")).values("latest_id"))
    query = Strategy.filter(id__in=Subquery(latest_ids))
    return query.filter(name__icontains=search) if search else query


async def count_latest(*, owner: OwnerScope, search: str | None = None) -> int:
    """How many strategies (not versions) ``owner`` may see (whose names contain ``search``)."""
    return int(await _latest(owner, search).count())
