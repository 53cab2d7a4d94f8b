from __future__ import annotations

from pathlib import Path

import pytest

from store.db import tortoise_config
from store.errors import UnsupportedDatabase
from store.settings import Settings, redact_url


def test_defaults_to_a_sqlite_file_under_the_data_dir() -> None:
    s = Settings.from_env({})
    assert s.database_url == "sqlite://data/backtest.sqlite3"
    assert s.data_dir == Path("data")
    assert s.redis_url is None
    assert s.binance_rest_url is None and s.binance_ws_url is None
    assert s.backend == "sqlite"


def test_reads_the_environment_mapping() -> None:
    s = Settings.from_env({"DATABASE_URL": "postgres://u:pw@db:5432/bt", "DATA_DIR": "/srv/d",
                           "REDIS_URL": "redis://r:6379/0",
                           "BINANCE_REST_URL": "http://127.0.0.1:9/api",
                           "BINANCE_WS_URL": "ws://127.0.0.1:9/ws"})
    assert s.backend == "postgresql"
    assert s.data_dir == Path("/srv/d")
    assert s.redis_url == "redis://r:6379/0"
    assert (s.binance_rest_url, s.binance_ws_url) == ("http://127.0.0.1:9/api", "ws://127.0.0.1:9/ws")
    assert s.safe_database_url == "postgres://u:***@db:5432/bt"


def test_data_dir_moves_the_default_database() -> None:
    assert Settings.from_env({"DATA_DIR": "/tmp/x"}).database_url == "sqlite:///tmp/x/backtest.sqlite3"


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.database_url = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("url", "safe"), [
    ("postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db"),
    ("postgres://u@h/db", "postgres://u@h/db"),
    ("sqlite://data/x.sqlite3", "sqlite://data/x.sqlite3"),
])
def test_redact_url(url: str, safe: str) -> None:
    assert redact_url(url) == safe


def test_unsupported_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(UnsupportedDatabase, match="sqlite://PATH or postgres://"):
        tortoise_config(Settings(database_url="mysql://u:pw@h/db"))
