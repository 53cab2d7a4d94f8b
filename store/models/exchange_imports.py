"""Imports of a user's fills from an exchange's API, run as jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tortoise import fields

from store.models.jobs import JobRow

if TYPE_CHECKING:
    from store.models.accounts import ExchangeCredential, User


class ExchangeImport(JobRow):
    """An import of a user's fills from an exchange (``tasks.jobs.kinds.exchange_import``).

    ``cursor`` is where it got to (the symbol, the window and the trade id to continue from),
    written in the same transaction as the fills of each page, so a retried job continues
    where it stopped. ``transaction_import_id`` is the batch its fills go to (a plain column:
    the batch may be deleted on its own). A failed or cancelled import removes its batch.
    """

    job_kind = "exchange_import"
    abandoned_columns: ClassVar[dict[str, Any]] = {"transaction_import_id": None}

    @classmethod
    async def clear_results(cls, job_id: int) -> None:
        from store.models.transactions import TransactionImport, TransactionRecord

        row = await cls.filter(id=job_id).values("owner_id", "cursor")
        if not row:
            return
        batch = (row[0]["cursor"] or {}).get("batch_id")
        if batch is not None:
            owner = row[0]["owner_id"]
            await TransactionRecord.filter(owner_id=owner, batch_id=batch).delete()
            await TransactionImport.filter(owner_id=owner, id=batch).delete()

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="exchange_imports", on_delete=fields.CASCADE)
    owner_id: int
    credential: fields.ForeignKeyNullableRelation[ExchangeCredential] = fields.ForeignKeyField(
        "models.ExchangeCredential", related_name="imports", null=True,
        on_delete=fields.SET_NULL)
    credential_id: int | None
    exchange = fields.CharField(max_length=32)
    symbols: fields.JSONField[list[str]] = fields.JSONField(default=list)
    start_ms = fields.BigIntField()
    end_ms = fields.BigIntField()
    name = fields.CharField(max_length=200)
    n_fetched = fields.BigIntField(default=0)  # fills received from the exchange so far
    cursor: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    transaction_import_id = fields.IntField(null=True)  # set when it succeeded

    class Meta:
        table = "exchange_imports"
        indexes = (("owner_id", "created_at"),)
