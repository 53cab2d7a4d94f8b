"""Strategy documents, each saved edit a new version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from store.models.accounts import User
    from store.models.runs import Backtest



class Strategy(Model):
    """A strategy document (the JSON of domain.strategy), each saved edit a new version."""

    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="strategies", on_delete=fields.CASCADE)
    owner_id: int
    name = fields.CharField(max_length=200)
    version = fields.IntField(default=1)
    document: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    backtests: fields.ReverseRelation[Backtest]

    class Meta:
        table = "strategies"
        unique_together = (("owner", "name", "version"),)
