"""The fuzzers against a real server (``make fuzz``): schemathesis over HTTP, and a websocket
fuzz of the subscriptions, each on SQLite and on PostgreSQL.

Every test here carries the ``fuzz`` marker (``pytestmark``) and runs only when it is selected with ``-m fuzz``
(``make fuzz`` runs ``pytest -m fuzz tests/fuzz``): the plain ``pytest`` run of ``make unit``
leaves them out (deselected), so ``make test`` runs them once.

``served`` is one server per backend for the whole session (``tests/fuzz/server.py``): the
PostgreSQL one on a database of its own, created for it and dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbfixtures import PgServer, require_pg
from tests.fuzz.server import Served, serve

MARKER = "fuzz"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a fuzzer against a real server; runs only "
                                       f"with -m {MARKER} (make fuzz)")


# schemathesis deletes, disables and demotes what it finds (as a trader, as an admin): it runs
# last on each server, after the websocket fuzz that needs the seeded data and accounts
ORDER = ("test_subscriptions.py", "test_schemathesis.py")


def _server_of(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("served") if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the fuzzers out unless ``-m`` names them; else run them in :data:`ORDER` on
    each server (pytest has grouped them by server already)."""
    here = Path(__file__).parent
    places = [n for n, item in enumerate(items) if item.path.is_relative_to(here)]
    if not places:
        return
    if MARKER not in (config.getoption("markexpr", "") or ""):
        config.hook.pytest_deselected(items=[items[n] for n in places])
        items[:] = [i for i in items if not i.path.is_relative_to(here)]
        return
    servers: list[object] = []
    for n in places:  # the servers in the order pytest grouped the tests by
        server = _server_of(items[n])
        if server not in servers:
            servers.append(server)
    mine = sorted((items[n] for n in places), key=lambda i: (
        servers.index(_server_of(i)),
        ORDER.index(i.path.name) if i.path.name in ORDER else len(ORDER)))
    for n, item in zip(places, mine, strict=True):
        items[n] = item


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           pg_server: PgServer) -> Iterator[Served]:
    """A seeded ``backtest serve`` on each backend in turn."""
    data_dir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        with serve("sqlite", f"sqlite://{data_dir / 'fuzz.sqlite3'}", data_dir) as s:
            yield s
        return
    require_pg(pg_server)
    url = pg_server.create("_fuzz")
    try:
        with serve("postgresql", url, data_dir) as s:
            yield s
    finally:
        pg_server.drop(url)
