"""Candles, and the sync jobs that fetch them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from store.models.jobs import JobRow

if TYPE_CHECKING:
    from store.models.accounts import User



class MarketData(Model):
    """One OHLCV candle, ts being the bar's open time in UTC milliseconds.

    On PostgreSQL the table gets a BRIN index on ``ts`` or becomes a TimescaleDB hypertable
    (see ``store/pg_extras.py``).
    """

    id = fields.BigIntField(primary_key=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    ts = fields.BigIntField()
    open = fields.FloatField()
    high = fields.FloatField()
    low = fields.FloatField()
    close = fields.FloatField()
    volume = fields.FloatField()

    class Meta:
        table = "market_data"
        unique_together = (("exchange", "symbol", "timeframe", "ts"),)


class CandleBlock(Model):
    """The candles of one series over one fixed span of time, as columns in one blob.

    A copy of ``market_data`` laid out for reading a run's range in a few rows instead of one
    row per bar, kept equal to it by ``store.candles`` (see that module).
    """

    id = fields.BigIntField(primary_key=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    block = fields.BigIntField()  # ts // the span of a block (store.candle_blocks.block_span_ms)
    n = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "candle_blocks"
        unique_together = (("exchange", "symbol", "timeframe", "block"),)


class CandleSeriesVersion(Model):
    """A number that grows in the same transaction as any change to a series' candles (a write
    of new candles, a delete): ``store.series_versions``. In-memory copies of candles
    (``tasks.cache.memory``) are valid while it stays."""

    id = fields.BigIntField(primary_key=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "candle_series_versions"
        unique_together = (("exchange", "symbol", "timeframe"),)


class SyncJob(JobRow):
    """A market data sync started through the API: what to fetch, how far it got, how it ended."""

    job_kind = "sync"

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sync_jobs", on_delete=fields.CASCADE)
    owner_id: int
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    since_ms = fields.BigIntField()
    until_ms = fields.BigIntField(null=True)
    stored = fields.BigIntField(default=0)  # candles written

    class Meta:
        table = "sync_jobs"
        indexes = (("owner_id", "created_at"),)
