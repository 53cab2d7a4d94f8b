"""Writers of each format (from the formats' documented columns), for fixtures and round trips."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from domain.transactions.model import Transaction

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT_HEADER = ("Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee")
PLAIN_HEADER = ("timestamp", "symbol", "side", "price", "quantity", "fee", "fee_asset", "trade_id")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ms(text: str) -> int:
    """UTC milliseconds of an ISO date-time (naive = UTC)."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def unrowed(txs: Iterable[Transaction]) -> list[Transaction]:
    """The transactions without where they came from (to compare what they are)."""
    return [dataclasses.replace(t, row=0) for t in txs]


def grouped(x: float) -> str:
    """``repr(x)`` with thousands separators in the integer part (as in Binance's exports)."""
    text = repr(x)
    if "e" in text or "n" in text:
        return text
    whole, dot, frac = text.partition(".")
    return f"{int(whole):,}{dot}{frac}"


def export_row(t: Transaction) -> list[str]:
    date = datetime.fromtimestamp(t.time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [date, t.base + t.quote, t.side.upper(), grouped(t.price),
            grouped(t.quantity) + t.base, grouped(t.price * t.quantity) + t.quote,
            grouped(t.fee) + t.fee_asset]


def export_csv(txs: Sequence[Transaction], newest_first: bool = True) -> bytes:
    """A Binance export CSV, every field quoted, newest first by default."""
    rows = list(reversed(txs)) if newest_first else list(txs)
    lines = [",".join(f'"{f}"' for f in EXPORT_HEADER)]
    lines += [",".join(f'"{f}"' for f in export_row(t)) for t in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def plain_csv(txs: Sequence[Transaction], iso: bool = False) -> bytes:
    lines = [",".join(PLAIN_HEADER)]
    for t in txs:
        when = (datetime.fromtimestamp(t.time_ms / 1000, UTC).isoformat(timespec="milliseconds")
                if iso else str(t.time_ms))
        lines.append(",".join((when, t.symbol, t.side, repr(t.price), repr(t.quantity),
                               repr(t.fee), t.fee_asset, t.trade_id or "")))
    return ("\n".join(lines) + "\n").encode()


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook whose first sheet holds ``rows`` (cells as given: text, numbers, dates)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(list(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
