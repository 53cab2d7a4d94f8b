"""Market data: candles with indicators for charts, what is stored, syncs, live candles.

- ``candles`` returns one market's candles as parallel arrays (``times`` in UTC milliseconds,
  ``open`` ... ``volume``) with the requested indicator series computed by the engine's
  indicators on the same bars (``tasks.market.candle_series``: warm-up bars are read before the range,
  so values are defined from the first bar wherever stored data allows; ``null`` where not).
  ``limit`` defaults to 1,000 and may be at most 200,000; more is ``BAD_USER_INPUT``, as are an
  unknown timeframe or indicator and bad indicator parameters (the message says which).
- ``marketDataCoverage`` and ``symbols`` describe what is stored.
- Without ``exchange``, a market is looked up where it is stored
  (``tasks.market.resolve``): ``BAD_USER_INPUT`` when no exchange or several hold it. An
  unknown market is ``BAD_USER_INPUT`` in ``candles`` too (not an empty series).
- ``syncMarketData``, ``syncJob``, ``marketDataSyncProgress``: see ``graph.sync_jobs``.
- ``candleUpdates``: see ``graph.live_candles``.

Market data is shared by every user, but reading it needs a signed-in caller.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.context import Context
from graph.live_candles import CandleUpdate, candle_updates
from graph.series import FloatColumn, float_column
from graph.sync_jobs import (
    EXCHANGE_ARG,
    CancelSyncJobResult,
    SyncJob,
    SyncJobConnection,
    SyncJobEvent,
    SyncMarketDataResult,
    cancel_sync_job_resolver,
    from_ms,
    market_data_sync_progress,
    sync_job,
    sync_jobs,
    sync_market_data,
    to_ms,
)
from graph.types_common import PageInfo, offset_cursor, offset_window
from store import candles as store_candles
from store.candles import Coverage
from tasks.market import candle_series as series
from tasks.market.candle_series import IndicatorRequest
from tasks.market.resolve import exchange_or_resolved


@strawberry.input(description="An indicator to compute along the candles.")
class IndicatorInput:
    name: str = strawberry.field(description="Its registry name: sma, ema, rsi, macd, ...")
    params: JSON | None = strawberry.field(
        default=None, description='Its parameters, e.g. {"period": 20}; missing ones take '
                                  "their defaults.")
    as_: str | None = strawberry.field(
        default=None, name="as", description="The name its series get (default: its name); "
                                             "needed to ask for one indicator twice.")


def _values(root: IndicatorSeries) -> FloatColumn:
    return float_column(root.data.values, nullable=True)


@strawberry.type(description="One output of an indicator, aligned with the candles' times.")
class IndicatorSeries:
    name: str = strawberry.field(description="The alias given with 'as', or the indicator.")
    indicator: str
    output: str = strawberry.field(description="Which output: e.g. macd, signal or hist.")
    params: JSON = strawberry.field(description="Every parameter, defaults filled in.")
    data: strawberry.Private[series.IndicatorSeries]
    values: list[float | None] = strawberry.field(
        resolver=_values, description="One value per candle; null during warm-up.")


def _column(name: str) -> Any:
    def resolve(root: CandleSeries) -> FloatColumn:
        c = root.data.candles
        values = c.ts.astype("float64") if name == "ts" else getattr(c, name)
        return float_column(values, nullable=False)

    return resolve


@strawberry.type(description="Candles of one market as parallel arrays, oldest first.")
class CandleSeries:
    exchange: str
    symbol: str
    timeframe: str
    count: int
    indicators: list[IndicatorSeries]
    data: strawberry.Private[series.CandleSeries]
    times: list[float] = strawberry.field(resolver=_column("ts"),
                                          description="Open times, UTC milliseconds.")
    open: list[float] = strawberry.field(resolver=_column("open"))
    high: list[float] = strawberry.field(resolver=_column("high"))
    low: list[float] = strawberry.field(resolver=_column("low"))
    close: list[float] = strawberry.field(resolver=_column("close"))
    volume: list[float] = strawberry.field(resolver=_column("volume"))

    @classmethod
    def from_domain(cls, s: series.CandleSeries) -> CandleSeries:
        return cls(exchange=s.exchange, symbol=s.symbol, timeframe=s.timeframe,
                   count=len(s.candles), data=s, indicators=[
                       IndicatorSeries(name=i.name, indicator=i.indicator, output=i.output,
                                       params=JSON(i.params), data=i) for i in s.indicators])


@strawberry.type(description="Bars absent between the first and last stored ones (inclusive "
                             "open times).")
class MissingRange:
    first: datetime
    last: datetime
    bars: int


@strawberry.type(description="A stored series: one exchange, symbol and timeframe.")
class MarketSeries:
    exchange: str
    symbol: str
    timeframe: str
    count: int
    first: datetime = strawberry.field(description="Open time of the first stored candle.")
    last: datetime = strawberry.field(description="Open time of the last stored candle.")
    missing_bars: int


@strawberry.type(description="What is stored of one series, with its gaps.")
class MarketDataCoverage(MarketSeries):
    missing: list[MissingRange]


def _series(c: Coverage) -> dict[str, Any]:
    return {"exchange": c.exchange, "symbol": c.symbol, "timeframe": c.timeframe,
            "count": c.count, "first": from_ms(c.first_ts), "last": from_ms(c.last_ts),
            "missing_bars": c.missing_bars}


async def candles(
    info: Info[Context, None], symbol: str, timeframe: str,
    exchange: Annotated[str | None, strawberry.argument(description=EXCHANGE_ARG)] = None,
    from_: Annotated[datetime | None, strawberry.argument(
        name="from", description="First bar (inclusive); without it, the last bars before "
                                 "'to' are returned.")] = None,
    to: Annotated[datetime | None, strawberry.argument(
        description="End of the range (exclusive; default: after the newest bar).")] = None,
    limit: Annotated[int | None, strawberry.argument(
        description=f"At most this many candles (default {series.DEFAULT_LIMIT:,}, at most "
                    f"{series.MAX_LIMIT:,}).")] = None,
    indicators: list[IndicatorInput] | None = None,
) -> CandleSeries:
    info.context.require_viewer()
    requests = [IndicatorRequest(i.name.strip(), {} if i.params is None else i.params, i.as_)
                for i in indicators or []]
    found = await series.candle_series(
        await exchange_or_resolved(exchange, symbol, timeframe), symbol.strip(), timeframe,
        limit=limit, indicators=requests,
        start_ms=None if from_ is None else to_ms(from_), end_ms=None if to is None else to_ms(to),
        cache=info.context.services.cache)
    return CandleSeries.from_domain(found)


async def market_data_coverage(
    info: Info[Context, None], symbol: str, timeframe: str,
    exchange: Annotated[str | None, strawberry.argument(description=EXCHANGE_ARG)] = None,
) -> MarketDataCoverage | None:
    info.context.require_viewer()
    found = await store_candles.coverage(await exchange_or_resolved(exchange, symbol, timeframe),
                                         symbol.strip(), timeframe)
    if not found:
        return None
    c = found[0]
    return MarketDataCoverage(**_series(c), missing=[
        MissingRange(first=from_ms(a), last=from_ms(b),
                     bars=Coverage(c.exchange, c.symbol, c.timeframe, a, b, 0,
                                   [(a, b)]).missing_bars)
        for a, b in c.missing])


@strawberry.type
class MarketSeriesEdge:
    cursor: str
    node: MarketSeries


@strawberry.type(description="A page of the stored series, by exchange, symbol and timeframe.")
class MarketSeriesConnection:
    edges: list[MarketSeriesEdge]
    page_info: PageInfo
    total_count: int


async def symbols(info: Info[Context, None], exchange: str | None = None,
                  first: int | None = None, after: str | None = None,
                  last: int | None = None, before: str | None = None) -> MarketSeriesConnection:
    info.context.require_viewer()
    found = await store_candles.coverage(None if exchange is None else exchange.strip().lower())
    start, end, page = offset_window(len(found), first, after, last, before)
    return MarketSeriesConnection(
        edges=[MarketSeriesEdge(cursor=offset_cursor(i), node=MarketSeries(**_series(found[i])))
               for i in range(start, end)], page_info=page, total_count=len(found))


@strawberry.type
class MarketQueries:
    candles: CandleSeries = strawberry.field(
        resolver=candles, description="Stored candles of one market with indicator series, as "
                                      "parallel arrays for charts.")
    market_data_coverage: MarketDataCoverage | None = strawberry.field(
        resolver=market_data_coverage,
        description="First and last stored candle, count and gaps of one series (null when "
                    "nothing is stored).")
    symbols: MarketSeriesConnection = strawberry.field(
        resolver=symbols, description="Every stored series (optionally of one exchange), a "
                                      "page at a time (Relay connection).")
    sync_job: SyncJob = strawberry.field(
        resolver=sync_job, description="A market data sync job (NOT_FOUND if it is not yours).")
    sync_jobs: SyncJobConnection = strawberry.field(
        resolver=sync_jobs, description="Your market data sync jobs, newest first (Relay "
                                        "connection).")


@strawberry.type
class MarketMutations:
    sync_market_data: SyncMarketDataResult = strawberry.mutation(
        resolver=sync_market_data,
        description="Start fetching an exchange's candles into the store; returns the queued "
                    "job (follow it with marketDataSyncProgress).")
    cancel_sync_job: CancelSyncJobResult = strawberry.mutation(
        resolver=cancel_sync_job_resolver,
        description="Stop a sync job (the candles written so far are kept); returns the job.")


@strawberry.type
class MarketSubscriptions:
    market_data_sync_progress: AsyncGenerator[SyncJobEvent, None] = strawberry.subscription(
        resolver=market_data_sync_progress,
        description="A sync job's events: its current state first, then each change; ends "
                    "when the job ends.")
    candle_updates: AsyncGenerator[CandleUpdate, None] = strawberry.subscription(
        resolver=candle_updates,
        description="Live candles of one market from the exchange's stream: each closed bar, "
                    "and with includeForming the forming one (closed false).")
