"""The ``backtest db`` / ``backtest data import|list`` command functions, on both backends."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cli.db_commands import cmd_data_import, cmd_data_list, cmd_db_info, cmd_db_migrate
from cli.errors import UsageError
from domain.candles import Candles
from domain.csv import write_candles_csv
from domain.demo import demo_candles
from store.errors import DatabaseUnavailable
from store.settings import get_settings
from tests.dbfixtures import MIGRATIONS


@pytest.fixture
def use_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Point DATABASE_URL (read once by store.settings) at the test's database."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def ns(**kwargs: object) -> argparse.Namespace:
    return argparse.Namespace(**kwargs)


def test_migrate_then_info(empty_url: str, use_db: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    use_db.setenv("DATABASE_URL", empty_url)
    assert cmd_db_migrate(ns()) == 0
    out = capsys.readouterr().out
    assert f"applied {len(MIGRATIONS)} migration(s): {', '.join(MIGRATIONS)}" in out
    assert cmd_db_migrate(ns(seed_demo=True)) == 0
    out = capsys.readouterr().out
    assert "up to date" in out and "seeded 20,000 demo candles (demo DEMO/USDT)" in out
    assert cmd_db_migrate(ns(seed_demo=True)) == 0
    assert "seeded" not in capsys.readouterr().out  # only when missing

    assert cmd_db_info(ns()) == 0
    out = capsys.readouterr().out
    backend = "sqlite" if empty_url.startswith("sqlite") else "postgresql"
    assert f"backend:      {backend}" in out
    if backend == "postgresql":
        assert "market data:  plain table + BRIN index" in out or "hypertable" in out
        assert "timescaledb:" in out
    else:
        assert "market data:  sqlite table" in out
    assert f"{len(MIGRATIONS)} applied, 0 pending" in out
    assert "market_data" in out and "20,000" in out


def test_info_on_an_unmigrated_database_says_to_migrate(empty_url: str, use_db: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    use_db.setenv("DATABASE_URL", empty_url)
    assert cmd_db_info(ns()) == 0
    out = capsys.readouterr().out
    assert f"0 applied, {len(MIGRATIONS)} pending (run `backtest db migrate`)" in out
    assert "missing" in out


def test_import_and_list(backend_url: str, use_db: pytest.MonkeyPatch, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    use_db.setenv("DATABASE_URL", backend_url)
    c = demo_candles(n_bars=48, timeframe="1h", start_ms=1_704_067_200_000, symbol="BTC/USDT")
    keep = np.ones(48, dtype=bool)
    keep[[5, 6, 7]] = False
    holes = Candles(c.ts[keep], c.open[keep], c.high[keep], c.low[keep], c.close[keep],
                    c.volume[keep], "BTC/USDT", "1h")
    path = tmp_path / "btc.csv"
    path.write_text(write_candles_csv(holes))

    assert cmd_data_import(ns(file=str(path), symbol="BTC/USDT", timeframe=None,
                              exchange="binance")) == 0
    out = capsys.readouterr().out
    assert "45 1h candles of binance BTC/USDT, 45 new, 0 already stored" in out
    assert cmd_data_import(ns(file=str(path), symbol="BTC/USDT", timeframe="1h")) == 0
    assert "0 new, 45 already stored" in capsys.readouterr().out  # same file again

    assert cmd_data_list(ns()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["exchange", "symbol", "timeframe", "first", "last", "count",
                                "gaps"]
    assert lines[1].split() == ["binance", "BTC/USDT", "1h", "2024-01-01T00:00:00.000Z",
                                "2024-01-02T23:00:00.000Z", "45", "1", "(3", "bars)"]

    assert cmd_data_list(ns(exchange="kraken", symbol=None, timeframe=None)) == 0
    assert "no market data stored yet" in capsys.readouterr().out


def test_import_needs_a_symbol_and_a_readable_file(backend_url: str, use_db: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    use_db.setenv("DATABASE_URL", backend_url)
    with pytest.raises(UsageError, match="--symbol is required"):
        cmd_data_import(ns(file="x.csv", symbol="", timeframe=None, exchange="binance"))
    with pytest.raises(UsageError, match="no such file"):
        cmd_data_import(ns(file=str(tmp_path / "nope.csv"), symbol="BTC/USDT", timeframe=None,
                           exchange="binance"))


def test_unreachable_database_names_the_url_without_the_password(
        use_db: pytest.MonkeyPatch) -> None:
    use_db.setenv("DATABASE_URL", "postgres://bt:s3cret@127.0.0.1:1/bt")
    with pytest.raises(DatabaseUnavailable) as err:
        cmd_db_info(ns())
    assert "postgres://bt:***@127.0.0.1:1/bt" in str(err.value)
    assert "s3cret" not in str(err.value)
    with pytest.raises(DatabaseUnavailable):
        cmd_db_migrate(ns())
