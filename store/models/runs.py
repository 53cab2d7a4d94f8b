"""Backtests and sweeps: what ran, how it went, and the results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tortoise import fields
from tortoise.models import Model

from store.models.jobs import JobRow

if TYPE_CHECKING:
    from store.models.accounts import User
    from store.models.strategies import Strategy
    from store.models.transactions import ReplayExecution



class Backtest(JobRow):
    """One run of a strategy on a range of market data, with what it ran on and how it went."""

    job_kind = "backtest"

    @classmethod
    async def clear_results(cls, job_id: int) -> None:
        await cls.filter(id=job_id).update(trade_records=None, equity_curve=None)
        await PerformanceSummary.filter(backtest_id=job_id).delete()

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="backtests", on_delete=fields.CASCADE)
    owner_id: int
    strategy: fields.ForeignKeyNullableRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="backtests", null=True, on_delete=fields.SET_NULL)
    strategy_id: int | None
    strategy_snapshot: fields.JSONField[dict[str, Any]] = fields.JSONField()  # the document exactly as run
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # parameter values as run
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()  # inclusive
    range_end_ms = fields.BigIntField()  # exclusive
    initial_capital = fields.FloatField()
    data_fingerprint = fields.CharField(max_length=64, null=True)  # hash of the candles used
    engine_version = fields.CharField(max_length=32, default="")
    risk_free_rate = fields.FloatField(default=0.0)
    # The results, written in the same transaction as the status (store.backtest_results): the
    # per-bar equity curve (store.curves) and the closed trades in trade order, packed records
    # of domain.engine.records.TRADE_DTYPE, little-endian (store.trade_list reads them).
    equity_curve = fields.BinaryField(null=True)
    trade_records = fields.BinaryField(null=True)

    summary: fields.BackwardOneToOneRelation[PerformanceSummary]
    replays: fields.ReverseRelation[ReplayExecution]

    class Meta:
        table = "backtests"
        indexes = (("owner_id", "created_at"), ("owner_id", "status"))


class PerformanceSummary(Model):
    """The metrics of one backtest: a column per domain.metrics.METRIC_NAMES entry.

    NULL where a metric is undefined; columns (not JSON) so runs can be sorted and filtered by
    any metric.
    """

    id = fields.IntField(primary_key=True)
    backtest: fields.OneToOneRelation[Backtest] = fields.OneToOneField(
        "models.Backtest", related_name="summary", on_delete=fields.CASCADE)
    backtest_id: int
    final_equity = fields.FloatField()
    total_return = fields.FloatField(null=True)
    cagr = fields.FloatField(null=True)
    net_pnl = fields.FloatField(null=True)
    n_trades = fields.FloatField(null=True)
    win_rate = fields.FloatField(null=True)
    avg_win = fields.FloatField(null=True)
    avg_loss = fields.FloatField(null=True)
    profit_factor = fields.FloatField(null=True)
    expectancy = fields.FloatField(null=True)
    max_drawdown = fields.FloatField(null=True)
    max_drawdown_duration = fields.FloatField(null=True)
    sharpe = fields.FloatField(null=True)
    sortino = fields.FloatField(null=True)
    calmar = fields.FloatField(null=True)
    exposure = fields.FloatField(null=True)
    best_trade = fields.FloatField(null=True)
    worst_trade = fields.FloatField(null=True)
    sqn = fields.FloatField(null=True)
    buy_and_hold_return = fields.FloatField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "performance_summaries"


class SweepRun(JobRow):
    """A parameter sweep run as one job: the grid, the market range, and the ranked table."""

    job_kind = "sweep"
    abandoned_columns: ClassVar[dict[str, Any]] = {"result": None}

    @classmethod
    async def clear_results(cls, job_id: int) -> None:
        await SweepChunk.filter(sweep_id=job_id).delete()

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sweeps", on_delete=fields.CASCADE)
    owner_id: int
    strategy: fields.ForeignKeyNullableRelation[Strategy] = fields.ForeignKeyField(
        "models.Strategy", related_name="sweeps", null=True, on_delete=fields.SET_NULL)
    strategy_id: int | None
    strategy_snapshot: fields.JSONField[dict[str, Any]] = fields.JSONField()
    grid: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # name -> values
    rank_by = fields.CharField(max_length=32, default="sharpe")
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()
    range_end_ms = fields.BigIntField()
    n_combinations = fields.IntField(default=0)
    # [{"params": {...}, "metrics": {...}, "rank": 1}, ...] best first
    result: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)
    chunks: fields.ReverseRelation[SweepChunk]

    class Meta:
        table = "sweep_runs"
        indexes = (("owner_id", "created_at"),)


class SweepChunk(Model):
    """The best rows of one chunk of a sweep run on Celery workers, kept until the last chunk
    merges them into the sweep's table (written once per chunk: a redelivered chunk replaces
    its own row)."""

    id = fields.IntField(primary_key=True)
    sweep: fields.ForeignKeyRelation[SweepRun] = fields.ForeignKeyField(
        "models.SweepRun", related_name="chunks", on_delete=fields.CASCADE)
    sweep_id: int
    chunk_index = fields.IntField()
    # [{"index": set index in the grid, "key": rank value, "params": {...}, "metrics": {...}}]
    rows: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sweep_chunks"
        unique_together = (("sweep_id", "chunk_index"),)
