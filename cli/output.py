"""How results look: the metrics table, trade rows and the ``--json`` object."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from cli.inputs import iso
from domain.engine.rules import EXIT_REASONS
from domain.engine.run import BacktestResult

# how each metric is shown in the table: (label, kind)
METRIC_FORMATS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "net_pnl": ("Net PnL", "money"),
    "n_trades": ("Trades", "int"),
    "win_rate": ("Win rate", "pct"),
    "avg_win": ("Average win", "money"),
    "avg_loss": ("Average loss", "money"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy", "money"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_duration": ("Max drawdown duration (days)", "ratio"),
    "sharpe": ("Sharpe", "ratio"),
    "sortino": ("Sortino", "ratio"),
    "calmar": ("Calmar", "ratio"),
    "exposure": ("Exposure", "pct"),
    "best_trade": ("Best trade", "pct"),
    "worst_trade": ("Worst trade", "pct"),
    "sqn": ("SQN", "ratio"),
    "buy_and_hold_return": ("Buy & hold return", "pct"),
}


def fmt_value(value: float, kind: str) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value)}"
    return f"{value:.3f}"


def json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: they become null."""
    return value if math.isfinite(value) else None


def trade_dicts(trades: npt.NDArray[np.void]) -> list[dict[str, Any]]:
    rows = []
    for t in trades:
        rows.append({
            "entry_time": iso(int(t["entry_time"])),
            "entry_price": float(t["entry_price"]),
            "exit_time": iso(int(t["exit_time"])),
            "exit_price": float(t["exit_price"]),
            "quantity": float(t["quantity"]),
            "side": "long" if int(t["direction"]) > 0 else "short",
            "pnl": float(t["pnl"]),
            "gross_pnl": float(t["gross_pnl"]),
            "fees": float(t["fees"]),
            "return": float(t["return"]),
            "exit_reason": EXIT_REASONS[int(t["exit_reason"])],
        })
    return rows


def trades_csv(trades: npt.NDArray[np.void]) -> str:
    rows = trade_dicts(trades)
    buf = io.StringIO()
    fields = ["entry_time", "entry_price", "exit_time", "exit_price", "quantity", "side",
              "pnl", "gross_pnl", "fees", "return", "exit_reason"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def result_json(result: BacktestResult, strategy_name: str) -> str:
    c = result.candles
    obj = {
        "strategy": strategy_name,
        "symbol": c.symbol,
        "timeframe": c.timeframe,
        "from": iso(int(c.ts[0])),
        "to": iso(int(c.ts[-1])),
        "bars": len(c),
        "params": result.params,
        "initial_capital": result.config.initial_capital,
        "final_equity": result.final_equity,
        "open_position": result.sim.has_open_position,
        "metrics": {k: json_number(v) for k, v in result.metrics.items()},
        "trades": trade_dicts(result.trades),
    }
    return json.dumps(obj, indent=2)


def metrics_table(result: BacktestResult, strategy_name: str) -> str:
    c = result.candles
    head = [
        ("Strategy", strategy_name),
        ("Market", f"{c.symbol or '?'} {c.timeframe}"),
        ("Range", f"{iso(int(c.ts[0]))} .. {iso(int(c.ts[-1]))} ({len(c):,} bars)"),
        ("Initial capital", f"{result.config.initial_capital:,.2f}"),
        ("Final equity", f"{result.final_equity:,.2f}"),
    ]
    if result.params:
        head.append(("Parameters", ", ".join(f"{k}={v:g}" for k, v in result.params.items())))
    if result.sim.has_open_position:
        head.append(("Open position", "yes: marked to market at the last close (end_of_data)"))
    rows = head + [(label, fmt_value(result.metrics[name], kind))
                   for name, (label, kind) in METRIC_FORMATS.items()]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
