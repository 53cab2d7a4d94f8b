"""How replay results and import batches look on the terminal and in ``--json``."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from cli.inputs import iso
from cli.output import METRIC_FORMATS, fmt_value
from store.replay_results import FillRow
from store.replays import ReplayRecord
from store.transactions import ImportRecord

SHOWN = ("final_equity", "net_pnl", "total_return", "cagr", "max_drawdown", "sharpe", "sortino",
         "n_trades", "win_rate", "profit_factor", "exposure")
FILL_COLUMNS = ("row", "time", "side", "quantity", "price", "fee", "replay_time",
                "replay_price", "replay_fee", "slippage", "fee_attribution", "realized_pnl")


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def model_text(r: ReplayRecord) -> str:
    p = r.parameters
    fee = p.get("fee_rate")
    fees = "actual fees" if fee is None else f"fee {float(fee) * 10_000:g} bps"
    return (f"fill {p.get('fill', 'actual')}, {fees}, slippage "
            f"{float(p.get('slippage_rate', 0.0)) * 10_000:g} bps, delay "
            f"{int(p.get('delay_bars', 0))} bar(s)")


def import_line(b: ImportRecord) -> str:
    span = ("" if b.first_ts is None or b.last_ts is None
            else f", {iso(b.first_ts)} .. {iso(b.last_ts)}")
    return (f"import {b.id} {b.name!r} ({b.format}, {b.exchange}): {b.n_rows:,} transaction(s), "
            f"{b.n_stored:,} new, {b.n_duplicates:,} already stored; "
            f"{', '.join(b.symbols) or 'no symbol'}{span}")


def import_dict(b: ImportRecord) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "format": b.format, "exchange": b.exchange,
            "filename": b.filename, "n_rows": b.n_rows, "n_stored": b.n_stored,
            "n_duplicates": b.n_duplicates, "symbols": b.symbols,
            "first_time": None if b.first_ts is None else iso(b.first_ts),
            "last_time": None if b.last_ts is None else iso(b.last_ts),
            "created_at": b.created_at.isoformat()}


def replay_dict(r: ReplayRecord) -> dict[str, Any]:
    result = r.result or {}
    return {"id": r.id, "status": r.status.value, "error": r.error, "source": r.source,
            "backtest_id": r.backtest_id, "import_ids": r.import_ids, "exchange": r.exchange,
            "symbol": r.symbol, "timeframe": r.timeframe, "from": iso(r.start_ms),
            "to": iso(r.end_ms), "initial_capital": r.initial_capital,
            "model": {k: v for k, v in r.parameters.items() if k != "import_ids"},
            "summary": result.get("summary"), "actual_summary": result.get("actual_summary"),
            "totals": result.get("totals")}


def _money(x: Any) -> str:
    return fmt_value(_num(x), "money")


def replay_table(r: ReplayRecord) -> str:
    """The actual account next to the replayed one, then the attribution."""
    result = r.result or {}
    replayed, actual = result.get("summary") or {}, result.get("actual_summary") or {}
    totals = result.get("totals") or {}
    source = (f"backtest {r.backtest_id}'s trades" if r.source == "backtest"
              else f"{totals.get('n_fills', 0):,} transaction(s)")
    lines = [f"Replay {r.id}: {source} of {r.symbol} on {r.exchange} {r.timeframe} candles, "
             f"{iso(r.start_ms)} .. {iso(r.end_ms)}",
             f"Model: {model_text(r)}; initial capital {r.initial_capital:,.2f}", ""]
    rows = [("", "actual", "replayed", "difference")]
    for name in SHOWN:
        label, kind = ("Final equity", "money") if name == "final_equity" else METRIC_FORMATS[name]
        a, b = _num(actual.get(name)), _num(replayed.get(name))
        rows.append((label, fmt_value(a, kind), fmt_value(b, kind), fmt_value(b - a, kind)))
    rows.append(("Fees", _money(totals.get("actual_fees")), _money(totals.get("replayed_fees")),
                 _money(_num(totals.get("replayed_fees")) - _num(totals.get("actual_fees")))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True)))
              for row in rows]
    lines += ["",
              f"PnL difference (replayed - actual): {_money(totals.get('pnl_difference'))} = "
              f"slippage {_money(totals.get('slippage'))} + fee attribution "
              f"{_money(totals.get('fee_attribution'))} + dropped fills "
              f"{_money(totals.get('dropped_pnl'))}",
              "(slippage and fee attribution: what the actual fills cost more than the "
              "replayed ones)",
              f"Round trips: {totals.get('n_round_trips', 0):,}; fills dropped by the delay: "
              f"{totals.get('n_dropped', 0):,}"
              + ("; a position is still open (marked to the last close)"
                 if totals.get("open_position") else "")]
    return "\n".join(lines)


def fills_csv(rows: list[FillRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FILL_COLUMNS)
    for f in rows:
        dropped = f.replay_bar < 0
        writer.writerow([f.file_row, iso(f.time), "buy" if f.side > 0 else "sell", f.quantity,
                         f.price, f.fee, "" if dropped else iso(f.replay_time),
                         *("" if v is None else v for v in (
                             f.replay_price, f.replay_fee, f.slippage, f.fee_attribution,
                             f.realized_pnl))])
    return buf.getvalue()
