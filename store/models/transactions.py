"""Imported transactions and the replays of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tortoise import fields
from tortoise.models import Model

from store.models.jobs import JobRow

if TYPE_CHECKING:
    from store.models.accounts import User
    from store.models.runs import Backtest



class TransactionImport(Model):
    """A named batch of imported transactions: one file, stored all or nothing.

    ``n_rows`` transactions were in the file: ``n_stored`` were new, ``n_duplicates`` were
    stored already (by an earlier import) and skipped. Deleting the batch deletes its
    transactions (``store.transactions``).
    """

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="transaction_imports", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=200)
    format = fields.CharField(max_length=32)  # domain.transactions.importers.FORMATS
    exchange = fields.CharField(max_length=32)
    filename = fields.CharField(max_length=255, null=True)
    n_rows = fields.IntField(default=0)
    n_stored = fields.IntField(default=0)
    n_duplicates = fields.IntField(default=0)
    first_ts = fields.BigIntField(null=True)  # UTC ms of the oldest transaction in the file
    last_ts = fields.BigIntField(null=True)
    symbols: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transaction_imports"
        indexes = (("owner_id", "created_at"),)


class TransactionRecord(Model):
    """A user's real exchange transaction (fill, deposit, withdrawal, fee), kept for replay.

    Written in bulk by ``store.transaction_imports`` (never row by row). Re-imports store
    nothing twice, under any exchange label and in any format (the rules are in
    ``store.transaction_imports``): a fill with the exchange's trade id (``external_id``)
    matches on (owner, symbol, trade id), the unique key below backing it up per exchange;
    otherwise fills match on a fingerprint of their normalised fields
    (``domain.transactions.model.fill_fingerprint``), counting occurrences, since identical
    partial fills are legitimate.
    """

    id = fields.BigIntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="transactions", on_delete=fields.CASCADE)
    owner_id: int
    # the TransactionImport it came with: a plain column, not a foreign key, since the key's
    # check per row made an import of 100,000 rows ~20 % slower (store.transactions deletes a
    # batch's rows with the batch; a user's rows go with the user through owner_id)
    batch_id = fields.IntField(null=True)
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32, null=True)
    kind = fields.CharField(max_length=16)  # trade | deposit | withdrawal | fee
    side = fields.CharField(max_length=4, null=True)  # buy | sell (trades only)
    ts = fields.BigIntField()  # UTC ms
    price = fields.FloatField(null=True)
    quantity = fields.FloatField()
    fee = fields.FloatField(default=0.0)
    fee_asset = fields.CharField(max_length=16, null=True)
    external_id = fields.CharField(max_length=64, null=True)
    fingerprint = fields.CharField(max_length=32, null=True)  # set when external_id is NULL
    file_row = fields.IntField(default=0)  # row (CSV, XLSX) or item (JSON) in its file
    payload: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)  # the exchange's record as received
    imported_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transaction_histories"
        unique_together = (("owner", "exchange", "symbol", "external_id"),)
        indexes = (("owner_id", "ts"), ("owner_id", "symbol", "ts"))


class ReplayExecution(JobRow):
    """A replay of a user's transactions against market data, with its status and result.

    ``source`` is ``transactions`` (the owner's stored fills of ``symbol``, optionally only
    some imports: ``parameters.import_ids``) or ``backtest`` (the trades of ``backtest``).
    ``parameters`` holds the what-if model (``fill``, ``fee_rate``, ``slippage_rate``,
    ``delay_bars``); ``result`` the summaries and totals; ``curves``, ``fill_records`` and
    ``trade_records`` the per-bar curves, the per-fill table and the round trips as packed
    little-endian arrays (``store.replay_results``: read a page at a time by byte range).
    """

    job_kind = "replay"
    abandoned_columns: ClassVar[dict[str, Any]] = {
        "result": None, "curves": None, "fill_records": None, "trade_records": None}

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="replays", on_delete=fields.CASCADE)
    owner_id: int
    source = fields.CharField(max_length=16, default="transactions")
    backtest: fields.ForeignKeyNullableRelation[Backtest] = fields.ForeignKeyField(
        "models.Backtest", related_name="replays", null=True, on_delete=fields.SET_NULL)
    backtest_id: int | None
    exchange = fields.CharField(max_length=32)
    symbol = fields.CharField(max_length=32, null=True)
    timeframe = fields.CharField(max_length=8)
    range_start_ms = fields.BigIntField()
    range_end_ms = fields.BigIntField()
    initial_capital = fields.FloatField(default=10_000.0)
    risk_free_rate = fields.FloatField(default=0.0)
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # what-if settings
    result: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    curves = fields.BinaryField(null=True)
    fill_records = fields.BinaryField(null=True)
    trade_records = fields.BinaryField(null=True)

    class Meta:
        table = "replay_executions"
        indexes = (("owner_id", "created_at"),)
