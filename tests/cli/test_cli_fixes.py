"""Issue 12's CLI fixes: the --data file's name in the table, `users create` checks the email
before the password, `replay run` refuses a market with no candles up front, `demo-data --out`
never creates directories, and `backtest warm`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from domain.csv import write_candles_csv
from domain.demo import demo_candles
from tests.cli.test_replay_cli import database, history_csv
from tests.cli.test_replay_cli import run as replay
from tests.cli.test_serve import env, run_cli, use_db

__all__ = ["database", "env", "use_db"]  # fixtures
ROOT = Path(__file__).resolve().parents[2]
STRATEGY = str(ROOT / "examples" / "sma_crossover.json")


def test_run_names_the_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = write_candles_csv(demo_candles(600, "1h"))
    for name, shown in (("demo.csv", "demo.csv 1h"), ("BTCUSDT-1h-2024-01.csv", "BTCUSDT 1h")):
        (tmp_path / name).write_text(text)
        code, out, err = run_cli(capsys, "run", "--data", str(tmp_path / name), "--strategy",
                                 STRATEGY, "--no-progress")
        assert code == 0, err
        market = next(line for line in out.splitlines() if line.startswith("Market"))
        assert market.split(None, 1)[1] == shown and "?" not in market


def test_demo_data_does_not_create_directories(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing" / "dir" / "demo.csv"
    code, _, err = run_cli(capsys, "demo-data", "--out", str(target), "--bars", "10")
    assert code == 2 and "no directory" in err and "mkdir -p" in err
    assert not (tmp_path / "missing").exists()
    code, _, err = run_cli(capsys, "demo-data", "--out", str(tmp_path / "demo.csv"),
                           "--bars", "10")
    assert code == 0 and (tmp_path / "demo.csv").exists(), err


def test_users_create_checks_the_email_before_the_password(
        use_db: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use_db.setattr(sys, "stdin", io.StringIO("a long password\n"))
    assert run_cli(capsys, "users", "create", "taken@example.com", "--password-stdin")[0] == 0
    asked: list[str] = []
    use_db.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or "x" * 12)
    use_db.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run_cli(capsys, "users", "create", "Taken@example.com")
    assert code == 2 and "exists already" in err and not asked, err


def test_replay_run_refuses_a_market_without_candles(
        database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.csv"
    history.write_text(history_csv())
    assert replay(capsys, "import", str(history), "--format", "plain_csv", "--user",
                  "trader@x.io")[0] == 0
    code, _, err = replay(capsys, "run", "--symbol", "DEMO/USDT", "--timeframe", "4h",
                          "--exchange", "demo", "--user", "trader@x.io", "--no-progress")
    assert code == 2 and "no demo DEMO/USDT 4h candles are stored" in err, err
    # nothing was stored: the next replay on stored candles is the first one
    code, out, err = replay(capsys, "run", "--symbol", "DEMO/USDT", "--timeframe", "1h",
                            "--exchange", "demo", "--user", "trader@x.io", "--no-progress",
                            "--json")
    assert code == 0, err
    assert '"id": 1,' in out or '"id": 1\n' in out, out


def test_warm_builds_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "warm")
    assert code == 0, err
    assert ("numba cache ready" in out and "13 indicators" in out) or "indicators (" in out


def test_data_sync_checks_the_request_as_the_api_does(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code, _, err = run_cli(capsys, "data", "sync", "DEMO/USDT", "1h", "--since", "2024-01-01",
                           "--exchange", "demo")
    assert code == 2 and "--exchange: demo candles are synthetic" in err
    code, _, err = run_cli(capsys, "data", "sync", "BTC/USDT", "7x", "--since", "2024-01-01",
                           "--exchange", "nosuchexchange")
    assert code == 2 and "--exchange: unknown exchange 'nosuchexchange'" in err
    assert "--timeframe: " in err
