"""The ``backtest`` command as a user runs it: outputs, files, and one clear error per bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SMA = str(EXAMPLES / "sma_crossover.json")


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "demo.csv"
    assert main(["demo-data", "--out", str(path), "--bars", "3000"]) == 0
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_data_is_deterministic(tmp_path: Path, demo_csv: Path) -> None:
    again = tmp_path / "again.csv"
    assert main(["demo-data", "--out", str(again), "--bars", "3000"]) == 0
    assert again.read_text() == demo_csv.read_text()
    header = demo_csv.read_text().splitlines()[0]
    assert header == "timestamp,open,high,low,close,volume"


def test_run_prints_metrics_table(capsys: pytest.CaptureFixture[str], demo_csv: Path) -> None:
    code, out, err = run_cli(capsys, "run", "--data", str(demo_csv), "--strategy", SMA)
    assert code == 0, err
    for label in ("Total return", "Sharpe", "Sortino", "Max drawdown", "Win rate", "Trades",
                  "Buy & hold return", "Final equity"):
        assert label in out
    assert "SMA" in out


def test_run_json_shape(capsys: pytest.CaptureFixture[str], demo_csv: Path) -> None:
    code, out, _ = run_cli(capsys, "run", "--data", str(demo_csv), "--strategy", SMA, "--json")
    assert code == 0
    obj = json.loads(out)
    assert isinstance(obj["final_equity"], float)
    for name in ("sharpe", "max_drawdown", "win_rate", "total_return", "n_trades"):
        assert name in obj["metrics"]
    assert obj["trades"], "the demo data should produce trades"
    t = obj["trades"][0]
    assert set(t) >= {"entry_time", "entry_price", "exit_time", "exit_price", "quantity", "side",
                      "pnl", "fees", "exit_reason"}
    assert t["entry_time"].endswith("Z") and t["side"] == "long"
    # trades' net PnL adds up to the equity change
    total = sum(tr["pnl"] for tr in obj["trades"])
    assert total == pytest.approx(obj["final_equity"] - obj["initial_capital"], abs=1e-6)
    assert obj["metrics"]["n_trades"] == sum(
        1 for tr in obj["trades"] if tr["exit_reason"] != "end_of_data")


def test_run_range_params_and_trades_out(capsys: pytest.CaptureFixture[str], demo_csv: Path,
                                         tmp_path: Path) -> None:
    out_csv = tmp_path / "trades.csv"
    code, out, err = run_cli(capsys, "run", "--data", str(demo_csv), "--strategy", SMA,
                             "--from", "2023-01-10", "--to", "2023-03-01T00:00:00Z",
                             "--param", "fast=5", "--trades-out", str(out_csv), "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["from"] == "2023-01-10T00:00:00.000Z"
    assert obj["to"] < "2023-03-01"
    assert obj["params"]["fast"] == 5
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert len(rows) == len(obj["trades"])


def test_run_zip_of_binance_dump(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 12-column Binance kline rows, open times in microseconds (newer spot dumps)
    lines = []
    price = 100.0
    for i in range(400):
        t_us = (1_700_006_400_000 + i * 60_000) * 1000
        o, c = price, price * (1.001 if (i // 20) % 2 == 0 else 0.999)
        lines.append(f"{t_us},{o},{max(o, c) * 1.0005},{min(o, c) * 0.9995},{c},12.5,"
                     f"{t_us + 59_999_999},1250.0,42,6.0,600.0,0")
        price = c
    zpath = tmp_path / "BTCUSDT-1m-2023-11.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("BTCUSDT-1m-2023-11.csv", "\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, "run", "--data", str(zpath), "--strategy", SMA,
                             "--symbol", "BTC/USDT", "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["timeframe"] == "1m" and obj["bars"] == 400
    assert obj["from"] == "2023-11-15T00:00:00.000Z"


def test_sweep_prints_ranked_table(capsys: pytest.CaptureFixture[str], demo_csv: Path) -> None:
    code, out, err = run_cli(capsys, "sweep", "--data", str(demo_csv), "--strategy", SMA,
                             "--grid", "fast=5:15:5", "--grid", "slow=30,60", "--top", "3",
                             "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["sets"] == 6 and len(obj["rows"]) == 3
    sharpes = [r["metrics"]["sharpe"] for r in obj["rows"]]
    finite = [s for s in sharpes if s is not None]
    assert finite == sorted(finite, reverse=True)
    code, out, _ = run_cli(capsys, "sweep", "--data", str(demo_csv), "--strategy", SMA,
                           "--grid", "fast=5,10", "--grid", "slow=30", "--rank-by", "max_drawdown")
    assert code == 0 and "ranked by max_drawdown" in out


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "schema")
    assert code == 0
    assert json.loads(out)["$schema"].startswith("https://json-schema.org/")


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda d, t: ["run", "--data", str(t / "missing.csv"), "--strategy", SMA], "no such file"),
        (lambda d, t: ["run", "--data", str(d), "--strategy", str(t / "bad.json")], "not valid JSON"),
        (lambda d, t: ["run", "--data", str(d), "--strategy", str(t / "invalid.json")],
         "entry.left.period"),
        (lambda d, t: ["run", "--data", str(t / "unsorted.csv"), "--strategy", SMA], "row 3"),
        (lambda d, t: ["run", "--data", str(t / "cols.csv"), "--strategy", SMA], "close"),
        (lambda d, t: ["run", "--data", str(d), "--strategy", SMA, "--from", "yesterday"],
         "--from"),
        (lambda d, t: ["run", "--data", str(d), "--strategy", SMA, "--param", "nope=3"],
         "no such parameter"),
        (lambda d, t: ["run", "--data", str(d), "--strategy", SMA, "--from", "2030-01-01"],
         "no candles"),
        (lambda d, t: ["sweep", "--data", str(d), "--strategy", SMA, "--grid", "fast=5:1:1"],
         "start must be <= stop"),
        (lambda d, t: ["sweep", "--data", str(d), "--strategy", SMA, "--grid", "fsat=1"],
         "--grid fsat: the strategy has no parameter 'fsat'"),
        (lambda d, t: ["sweep", "--data", str(d), "--strategy", SMA, "--grid", "fast=0.5"],
         "--grid fast: must be an integer >= 1"),
        (lambda d, t: ["sweep", "--data", str(d), "--strategy", SMA, "--rank-by", "luck"],
         "unknown metric"),
    ],
)
def test_bad_input_one_clear_message(capsys: pytest.CaptureFixture[str], demo_csv: Path,
                                     tmp_path: Path, make_args, expected: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "invalid.json").write_text(json.dumps({
        "name": "x", "side": "long",
        "entry": {"left": {"indicator": "sma", "period": -3}, "op": ">", "right": 1},
        "exit": {"left": {"price": "close"}, "op": "<", "right": 1},
    }))
    (tmp_path / "unsorted.csv").write_text(
        "timestamp,open,high,low,close,volume\n"
        "1700006460000,1,1,1,1,1\n1700006400000,1,1,1,1,1\n1700006520000,1,1,1,1,1\n")
    (tmp_path / "cols.csv").write_text("timestamp,open,high,low,volume\n1700006400000,1,1,1,1\n")
    code, out, err = run_cli(capsys, *make_args(demo_csv, tmp_path))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err


def test_console_script_exit_code_without_traceback(tmp_path: Path) -> None:
    exe = shutil.which("backtest", path=str(Path(sys.executable).parent))
    assert exe, "the backtest console script is installed into the venv"
    proc = subprocess.run([exe, "run", "--data", str(tmp_path / "nope.csv"), "--strategy", SMA],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr
