"""The owner-scoping rule of ``store``, checked over every module so that it cannot regress.

Every store function that reads or changes user data takes ``owner`` as a required
keyword-only argument (``store.scope``): a user id or ``ALL_OWNERS``, never a default and
never ``None``. A parameter called ``owner_id`` is what a new row belongs to (``create_*``) or
a key, so it is a plain required ``int``: an optional ``owner_id`` is the old "None means
everyone" style.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

import store
from store import backtest_list, strategies, tokens, transactions
from store.models import Strategy
from store.scope import ALL_OWNERS, owner_id_of, scoped
from store.settings import Settings

_OWNER_TYPES = {"OwnerScope", "int"}  # int: one owner's account only (e.g. its fills)


def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(store.__path__, "store."):
        yield importlib.import_module(info.name)


def _functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function defined in a store module (not imported into it), but for
    ``store.scope``'s helpers, which apply a scope rather than read data."""
    for module in _modules():
        if module.__name__ == "store.scope":
            continue
        for name, obj in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(obj)
                    and obj.__module__ == module.__name__):
                yield f"{module.__name__}.{name}", obj


def test_every_owner_argument_is_required_and_keyword_only() -> None:
    checked, wrong = 0, []
    for name, fn in _functions():
        owner = inspect.signature(fn).parameters.get("owner")
        if owner is None:
            continue
        checked += 1
        if owner.kind is not inspect.Parameter.KEYWORD_ONLY:
            wrong.append(f"{name}: owner is not keyword-only")
        if owner.default is not inspect.Parameter.empty:
            wrong.append(f"{name}: owner has a default ({owner.default!r})")
        if str(owner.annotation) not in _OWNER_TYPES:
            wrong.append(f"{name}: owner is {owner.annotation}, not OwnerScope")
    assert checked >= 20, f"only {checked} scoped store functions found: is the walk broken?"
    assert wrong == []


def test_no_optional_owner_id() -> None:
    wrong = []
    for name, fn in _functions():
        owner_id = inspect.signature(fn).parameters.get("owner_id")
        if owner_id is None:
            continue
        if owner_id.default is not inspect.Parameter.empty or "None" in str(owner_id.annotation):
            wrong.append(f"{name}: optional owner_id (take `*, owner: OwnerScope` instead)")
    assert wrong == []


@pytest.mark.parametrize("fn", [
    strategies.get_strategy, strategies.latest_version, strategies.save_version,
    strategies.delete_strategy, strategies.list_latest, strategies.strategies_by_id,
    backtest_list.list_backtests, tokens.list_tokens, tokens.revoke_token,
    transactions.get_import, transactions.get_imports, transactions.list_imports,
    transactions.delete_import, transactions.list_transactions, transactions.read_fills,
    transactions.transaction_span,
], ids=lambda fn: f"{fn.__module__}.{fn.__name__}")
def test_user_data_functions_are_scoped(fn: Callable[..., Any]) -> None:
    assert "owner" in inspect.signature(fn).parameters


def test_forgetting_the_owner_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="owner"):
        strategies.get_strategy(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="owner"):
        transactions.get_import(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):  # the old positional order
        strategies.get_strategy(None, 1)  # type: ignore[call-arg]


def test_none_is_not_a_scope() -> None:
    assert owner_id_of(ALL_OWNERS) is None
    assert owner_id_of(7) == 7
    for bad in (None, True, "7"):
        with pytest.raises(TypeError, match="ALL_OWNERS"):
            owner_id_of(bad)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_scoped_queries_refuse_none(db: Settings) -> None:
    with pytest.raises(TypeError, match="ALL_OWNERS"):
        scoped(Strategy.all(), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ALL_OWNERS"):
        await strategies.list_latest(owner=None, limit=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ALL_OWNERS"):
        await backtest_list.list_backtests(backtest_list.BacktestFilter(), owner=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one user id"):
        await transactions.read_fills("BTC/USDT", owner=ALL_OWNERS)  # type: ignore[arg-type]
