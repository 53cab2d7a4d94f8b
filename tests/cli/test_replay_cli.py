"""``backtest replay ...`` on both backends: import a file, list and delete imports, run a
what-if replay (table, JSON, per-fill CSV), and one clear message per bad input."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from domain.demo import demo_candles
from domain.replay import ReplayModel, what_if
from domain.transactions.importers import parse_transactions
from store.candles import write_candles
from store.db import close_db, init_db
from store.settings import Settings, get_settings
from store.users import create_user

CANDLES = demo_candles(500, "1h")
SYMBOL = "DEMO/USDT"


def history_csv() -> str:
    lines = ["timestamp,symbol,side,price,quantity,fee,fee_asset,trade_id"]
    for i, j in enumerate(range(10, 480, 7)):
        side = "buy" if i % 3 != 2 else "sell"
        lines.append(f"{int(CANDLES.ts[j]) + 90_000},{SYMBOL},{side},{CANDLES.close[j]:.4f},"
                     f"{0.5 + i % 3},0.02,USDT,{i}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def database(backend_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL (read once by store.settings) at a migrated database with a user and the
    demo candles under the exchange "demo"."""

    async def seed() -> None:
        await init_db(Settings(database_url=backend_url))
        try:
            await create_user("trader@x.io", None)
            await write_candles("demo", SYMBOL, "1h", CANDLES)
        finally:
            await close_db()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", backend_url)
    get_settings.cache_clear()
    yield backend_url
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_run_list_delete(database: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.csv"
    path.write_text(history_csv())
    user = ("--user", "trader@x.io")
    code, out, err = run(capsys, "import", str(path), "--format", "plain_csv", "--exchange",
                         "demo", "--name", "my fills", *user)
    assert code == 0, err
    n = len(history_csv().splitlines()) - 1
    assert f"'my fills' (plain_csv, demo): {n:,} transaction(s), {n:,} new, 0 already" in out
    code, out, _ = run(capsys, "import", str(path), "--format", "plain_csv", "--exchange",
                       "demo", "--json", *user)
    again = json.loads(out)
    assert (again["n_stored"], again["n_duplicates"], again["name"]) == (0, n, "history.csv")

    fills_out = tmp_path / "fills.csv"
    code, out, err = run(capsys, "run", "--symbol", SYMBOL, "--timeframe", "1h", "--exchange",
                         "demo", "--fill", "close", "--fee-bps", "10", "--slippage-bps", "5",
                         "--fills-out", str(fills_out), "--json", *user)
    assert code == 0, err
    result = json.loads(out)
    txs = parse_transactions(history_csv().encode(), "plain_csv")
    start, end = txs[0].time_ms - 90_000, txs[-1].time_ms - 90_000 + 3_600_000
    want = what_if(txs, CANDLES.slice_time(start, end), 10_000.0,
                   ReplayModel("close", 0.001, 0.0005))
    assert result["status"] == "succeeded" and result["model"]["fill"] == "close"
    assert result["summary"]["final_equity"] == pytest.approx(want.replayed.final_equity,
                                                              abs=1e-6)
    assert result["totals"]["slippage"] == pytest.approx(want.slippage, abs=1e-6)
    rows = list(csv.DictReader(io.StringIO(fills_out.read_text())))
    assert len(rows) == n and rows[0]["row"] == "2"

    code, out, err = run(capsys, "run", "--symbol", SYMBOL, "--timeframe", "1h", "--exchange",
                         "demo", "--no-progress", *user)
    assert code == 0, err
    for label in ("actual", "replayed", "Final equity", "Sharpe", "PnL difference", "Fees"):
        assert label in out

    code, out, _ = run(capsys, "imports", *user)
    assert code == 0 and "my fills" in out and "history.csv" in out
    listed = json.loads(run(capsys, "imports", "--json", *user)[1])
    first = min(b["id"] for b in listed)
    code, out, _ = run(capsys, "delete-import", str(first), *user)
    assert code == 0 and f"deleted import {first} 'my fills' and its {n} transaction(s)" in out
    code, _, err = run(capsys, "delete-import", str(first), *user)
    assert code == 2 and f"no import {first} of yours" in err


def test_bad_input_is_one_clear_message(database: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    lines = history_csv().splitlines()
    lines[5] = lines[5].replace(SYMBOL + ",buy,", SYMBOL + ",buy,x")  # row 6: bad price
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    user = ("--user", "trader@x.io")
    code, _, err = run(capsys, "import", str(bad), "--format", "plain_csv", "--exchange",
                       "demo", *user)
    assert code == 2
    assert "nothing was imported" in err and "row 6, column price" in err
    code, out, _ = run(capsys, "imports", *user)
    assert code == 0 and "no imports yet" in out
    code, _, err = run(capsys, "run", "--symbol", SYMBOL, "--timeframe", "1h", "--exchange",
                       "demo", "--fee-bps", "-3", *user)
    assert code == 2 and "--fee-bps: must be a number of basis points" in err
    code, _, err = run(capsys, "imports", "--user", "nobody@x.io")
    assert code == 2 and "--user nobody@x.io: no such account" in err
    code, _, err = run(capsys, "import", str(tmp_path / "missing.csv"), "--format",
                       "plain_csv", *user)
    assert code == 2 and "missing.csv" in err
