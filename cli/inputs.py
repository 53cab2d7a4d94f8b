"""Reading the user's files and option values, with messages that say what and where."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from cli.errors import UsageError
from domain.candles import Candles
from domain.csv import read_candles_csv
from domain.errors import DomainError, StrategyError
from domain.strategy import Strategy, parse_strategy
from domain.strategy.grid import grid_axis


def read_bytes(path: str) -> bytes:
    """The file's bytes; a ``.zip`` (as Binance's dumps come) must hold exactly one file."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".zip":
            with zipfile.ZipFile(p) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise UsageError(f"{path}: the zip archive must hold exactly one CSV file, "
                                     f"it holds {len(names)}")
                return z.read(names[0])
        return p.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except zipfile.BadZipFile:
        raise UsageError(f"{path}: not a valid zip archive") from None


_BINANCE_DUMP = re.compile(r"^([A-Z0-9]{2,30})-\d+[smhdwM]-")
"""A Binance kline dump's file name: ``BTCUSDT-1m-2024-01.zip`` (its symbol first)."""


def data_name(path: str) -> str:
    """What to call the candles of file ``path``: the symbol of a Binance dump's name
    (``BTCUSDT-1m-2024-01.zip``: ``BTCUSDT``), else the file's name (``demo.csv``)."""
    name = Path(path).name
    found = _BINANCE_DUMP.match(name)
    return found.group(1) if found else name


def load_candles(path: str, symbol: str = "", timeframe: str | None = None) -> Candles:
    """The candles of file ``path``, called ``symbol`` (default: :func:`data_name`)."""
    symbol = symbol or data_name(path)
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})") from None
    try:
        return read_candles_csv(text, symbol=symbol, timeframe=timeframe)
    except DomainError as err:  # it names the row and column; add the file
        raise UsageError(f"{path}: {err}") from None


def load_strategy(path: str) -> Strategy:
    raw = read_bytes(path)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as err:
        raise UsageError(f"{path}: not valid JSON: {err.msg} at line {err.lineno}, "
                         f"column {err.colno}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None
    return parse_strategy(doc)


def parse_time(value: str, option: str) -> int:
    """ISO-8601 date or date-time (naive means UTC) -> UTC milliseconds."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: not an ISO-8601 date or time: {value!r} "
                         "(e.g. 2024-01-01 or 2024-01-01T12:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def iso(ms: int) -> str:
    """UTC milliseconds -> ISO-8601 with a Z."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_assignments(items: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def parse_number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: not a number: {text!r}") from None


def parse_grid_spec(name: str, spec: str) -> list[float]:
    """``start:stop:step`` (inclusive of stop) or ``v1,v2,...``; the values are checked by
    ``domain.strategy.grid.grid_axis``, as the API's grids are."""
    where = f"--grid {name}"
    parsed: object
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise UsageError(f"{where}: expected start:stop:step, got {spec!r}")
        start, stop, step = (parse_number(p, where) for p in parts)
        parsed = {"start": start, "stop": stop, "step": step}
    else:
        parsed = [parse_number(v, where) for v in spec.split(",") if v.strip()]
    try:
        return grid_axis(parsed, where)
    except StrategyError as err:
        raise UsageError(str(err.problems[0])) from None
