"""Candle files and an exchange's markets: ``importCandles`` and ``exchangeMarkets``
(``graph.schema`` puts them in the schema next to ``graph.market``).

- ``importCandles`` stores a candle file sent as a GraphQL multipart upload (like
  ``importTransactions``): a Binance kline dump (data.binance.vision, the ``.csv`` or its
  ``.zip``) or a plain CSV with a header (``domain.csv``), under one exchange, symbol and
  timeframe, as ``backtest data import`` does. Rows already stored are kept (``new`` counts the
  others). A file that cannot be read comes back as ``CandleFileProblems`` naming the row and
  column at fault (nothing is stored); a bad request (symbol, timeframe, exchange) as
  ``ValidationError``. Market data is shared by every user: like ``syncMarketData``, any
  signed-in caller allowed to change things may add to it (``FORBIDDEN`` for read-only tokens).
- ``exchangeMarkets`` lists an exchange's spot markets whose symbol contains ``search``
  (``tasks.market.catalog``: loaded through the configured REST URL and kept for an hour), to
  pick what to sync; ``null`` when the exchange cannot be reached now. The synthetic ``demo``
  exchange lists its stored symbols.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from datetime import datetime
from typing import Annotated, Any

import ccxt
import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.candles import Candles
from domain.csv import read_candles_csv
from domain.errors import DataError, DomainError
from domain.timeframes import parse_timeframe
from graph.audit import audit
from graph.context import Context
from graph.errors import BadUserInput
from graph.sync_jobs import from_ms
from graph.transaction_types import RowProblem
from graph.types_common import ValidationError
from store.candles import KEY_MAX_LEN
from store.seed import DEMO_EXCHANGE
from tasks.cache.candles import write_candles_and_invalidate
from tasks.imports.transactions import MAX_FILE_BYTES
from tasks.market.catalog import market_catalog

MAX_CANDLE_FILE_BYTES = MAX_FILE_BYTES
"""The largest upload, as for trade history files (``graph.app`` caps multipart bodies at it); a
month of 1m Binance klines is about 5 MB unzipped."""
MAX_MARKETS = 100
"""The most markets ``exchangeMarkets`` returns at once."""

_SYMBOL = re.compile(r"[A-Z0-9]{1,20}/[A-Z0-9]{1,20}")
_COLUMN = re.compile(r"^(?:column '([^']+)'|(timestamp|open|high|low|close|volume)\b)")
_ROW = re.compile(r"^row \d+: ")


@strawberry.type(description="A candle file stored: which series, how many rows, how many new.")
class CandleImport:
    exchange: str
    symbol: str
    timeframe: str
    filename: str | None
    count: int = strawberry.field(description="Candles in the file.")
    new: int = strawberry.field(description="Of them, not stored before.")
    first: datetime = strawberry.field(description="Open time of the file's first candle.")
    last: datetime = strawberry.field(description="Open time of the file's last candle.")


@strawberry.type(description="The candle file was refused, nothing was stored: the problem, "
                             "with its row and column where known.")
class CandleFileProblems:
    message: str
    problems: list[RowProblem]

    @classmethod
    def of(cls, err: DataError) -> CandleFileProblems:
        text = _ROW.sub("", str(err))
        found = _COLUMN.match(text)
        column = (found.group(1) or found.group(2)) if found else ""
        problem = RowProblem(row=err.row or 0, unit="row", column=column, message=text)
        where = f" (row {err.row})" if err.row else ""
        return cls(message=f"The file cannot be imported{where}: nothing was stored.",
                   problems=[problem])


ImportCandlesResult = Annotated[CandleImport | CandleFileProblems | ValidationError,
                                strawberry.union("ImportCandlesResult")]


@strawberry.type(description="Markets of an exchange matching a search, to choose one to sync.")
class ExchangeMarkets:
    exchange: str
    source: str = strawberry.field(description="exchange (its market list) or stored candles "
                                               "(an exchange without one, such as demo).")
    total_count: int = strawberry.field(description="How many markets match, on every page.")
    symbols: list[str] = strawberry.field(description="BASE/QUOTE, best matches first.")


async def _read(file: Any) -> tuple[bytes | None, str | None]:
    """The upload's bytes and name; None when it is too large or not an upload."""
    if not hasattr(file, "read"):
        return None, None
    filename = getattr(file, "filename", None)
    size = getattr(file, "size", None)
    try:
        if isinstance(size, int) and size > MAX_CANDLE_FILE_BYTES:
            return None, filename
        data = bytes(await file.read(MAX_CANDLE_FILE_BYTES + 1))
        return (None if len(data) > MAX_CANDLE_FILE_BYTES else data), filename
    finally:
        await file.close()


def _unzipped(data: bytes) -> bytes:
    """The CSV inside a zip (a Binance dump's ``.zip`` holds one); other bytes as they are."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            csvs = [n for n in names if n.lower().endswith(".csv")] or names
            if len(csvs) != 1:
                raise DataError(f"the zip holds {len(csvs)} files: it must hold one CSV")
            info = z.getinfo(csvs[0])
            if info.file_size > MAX_CANDLE_FILE_BYTES:
                raise DataError(f"the CSV in the zip is larger than {MAX_CANDLE_FILE_BYTES:,} "
                                "bytes: split it")
            return z.read(info)
    except zipfile.BadZipFile as err:
        raise DataError(f"not a readable zip file ({err})") from None


def _parse(data: bytes, symbol: str, timeframe: str | None) -> Candles:
    candles = read_candles_csv(_unzipped(data), symbol=symbol, timeframe=timeframe)
    if len(candles) == 0:
        raise DataError("the file holds no candles")
    return candles


def _request_problems(exchange: str, symbol: str, timeframe: str | None
                      ) -> tuple[list[tuple[str, str]], str | None]:
    problems: list[tuple[str, str]] = []
    if exchange == DEMO_EXCHANGE:
        problems.append(("exchange", "demo candles are synthetic (generated, not imported): "
                                     "import under a real exchange such as binance"))
    elif exchange not in ccxt.exchanges:
        problems.append(("exchange", f"unknown exchange {exchange!r}: use a ccxt exchange id "
                                     "such as binance"))
    if len(symbol) > KEY_MAX_LEN or not _SYMBOL.fullmatch(symbol):
        problems.append(("symbol", "write the symbol BASE/QUOTE, e.g. BTC/USDT"))
    tf = None
    if timeframe:
        try:
            tf = parse_timeframe(timeframe)
        except DomainError as err:
            problems.append(("timeframe", str(err)))
    return problems, tf


async def import_candles(
        info: Info[Context, None], file: Upload, symbol: str,
        timeframe: Annotated[str | None, strawberry.argument(
            description="The candles' timeframe, e.g. 1m (default: inferred from the file's "
                        "times).")] = None,
        exchange: str = "binance") -> ImportCandlesResult:
    ctx = info.context
    data, filename = await _read(file)  # first: it closes the upload whatever happens next
    ctx.require_write()
    if data is None:
        return ValidationError.single("file", (
            f"the file is larger than {MAX_CANDLE_FILE_BYTES:,} bytes: split it into several "
            "imports" if hasattr(file, "read") else "send the file as a GraphQL multipart "
            "request (parts operations, map and the file)"))
    exchange, symbol = exchange.strip().lower(), symbol.strip().upper()
    problems, tf = _request_problems(exchange, symbol, (timeframe or "").strip() or None)
    if problems:
        return ValidationError.of(problems)
    try:
        candles = await asyncio.to_thread(_parse, data, symbol, tf)
    except DataError as err:
        await audit(ctx, "import.create", target_type="Candles", outcome="failed",
                    target_id=f"{exchange}:{symbol}", details={"kind": "candles",
                                                              "filename": filename or ""})
        return CandleFileProblems.of(err)
    new = await write_candles_and_invalidate(ctx.services.cache, exchange, symbol,
                                             candles.timeframe, candles)
    await audit(ctx, "import.create", target_type="Candles",
                target_id=f"{exchange}:{symbol}:{candles.timeframe}",
                details={"kind": "candles", "filename": filename or "", "count": len(candles),
                         "new": new})
    return CandleImport(exchange=exchange, symbol=symbol, timeframe=candles.timeframe,
                        filename=filename, count=len(candles), new=new,
                        first=from_ms(int(candles.ts[0])), last=from_ms(int(candles.ts[-1])))


def rank_symbols(symbols: frozenset[str] | set[str], search: str) -> list[str]:
    """The symbols containing ``search`` (case and ``/`` ignored): exact matches first, then
    those starting with it, then the rest, each group in alphabetical order."""
    wanted = search.strip().upper().replace("/", "")

    def key(s: str) -> tuple[int, str]:
        flat = s.replace("/", "")
        return (0 if flat == wanted else 1 if flat.startswith(wanted) else 2), s

    return sorted((s for s in symbols if wanted in s.upper().replace("/", "")), key=key)


async def exchange_markets(
        info: Info[Context, None], exchange: str = "binance",
        search: Annotated[str | None, strawberry.argument(
            description="Part of the symbol, e.g. btc or ETH/U (case and / ignored).")] = None,
        first: Annotated[int, strawberry.argument(
            description=f"At most this many symbols (1 to {MAX_MARKETS}).")] = 20,
) -> ExchangeMarkets | None:
    ctx = info.context
    ctx.require_viewer()
    if not 1 <= first <= MAX_MARKETS:
        raise BadUserInput(f"first must be 1 to {MAX_MARKETS}")
    catalog = await market_catalog(exchange.strip().lower(), ctx.services.settings)
    if catalog is None:
        return None
    found = rank_symbols(catalog.symbols, search or "")
    return ExchangeMarkets(exchange=catalog.exchange, source=catalog.source,
                           total_count=len(found), symbols=found[:first])


@strawberry.type
class MarketFileQueries:
    exchange_markets: ExchangeMarkets | None = strawberry.field(
        resolver=exchange_markets,
        description="An exchange's spot markets whose symbol contains 'search', best matches "
                    "first (null when the exchange cannot be reached now).")


@strawberry.type
class MarketFileMutations:
    import_candles: ImportCandlesResult = strawberry.mutation(
        resolver=import_candles,
        description="Import a candle file (multipart upload): a Binance kline dump (.csv or "
                    ".zip) or a CSV with the header timestamp,open,high,low,close,volume. "
                    "Rows already stored are kept.")
