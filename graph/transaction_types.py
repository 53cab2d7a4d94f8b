"""GraphQL types of imported trade history: batches, fills, the rows a file was refused for.

Thin over ``store.transactions`` records (``graph.transactions`` has the resolvers).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, get_args

import strawberry

from domain.transactions.model import ImportProblems
from domain.transactions.model import Side as DomainSide
from graph.accounts import User
from graph.errors import BadUserInput
from graph.owners import owner_field
from graph.sync_jobs import from_ms, to_ms
from graph.types_common import Node, PageInfo, domain_enum, global_id, optional_id, parse_id
from store import transactions as store
from store.scope import OwnerScope
from store.transactions import ImportRecord, TransactionFilter, TransactionRow

MAX_PROBLEMS = 1_000
MAX_SYMBOL_LENGTH = 32  # the symbol columns

@strawberry.enum(description="A trade history file's format: BINANCE_EXPORT is Binance's spot "
                             "trade history export (CSV or XLSX), BINANCE_MY_TRADES the JSON "
                             "body of Binance's GET /api/v3/myTrades, PLAIN_CSV a CSV with the "
                             "columns timestamp,symbol,side,price,quantity,fee,fee_asset"
                             "[,trade_id].")
class TransactionFormat(Enum):
    BINANCE_EXPORT = "binance_export"
    BINANCE_MY_TRADES = "binance_my_trades"
    PLAIN_CSV = "plain_csv"


if TYPE_CHECKING:
    class Side(Enum):
        BUY = "buy"
        SELL = "sell"
else:
    Side = domain_enum("Side", get_args(DomainSide),
                       "A fill's side: BUY receives base and pays quote, SELL the reverse "
                       "(domain.transactions.model.Side).")


@strawberry.type(description="A named batch of imported transactions (one file).")
class TransactionImport(Node):
    id: strawberry.ID
    name: str
    format: TransactionFormat
    exchange: str
    filename: str | None
    n_rows: int = strawberry.field(description="Transactions in the file.")
    n_stored: int = strawberry.field(description="New ones, stored with this batch.")
    n_duplicates: int = strawberry.field(description="Stored already by an earlier import: "
                                                     "skipped.")
    first_time: datetime | None
    last_time: datetime | None
    symbols: list[str]
    created_at: datetime
    owner_pk: strawberry.Private[int]
    owner: User | None = owner_field()

    @classmethod
    def from_record(cls, r: ImportRecord) -> TransactionImport:
        return cls(id=global_id("TransactionImport", r.id), name=r.name, format=TransactionFormat(r.format),
                   exchange=r.exchange, filename=r.filename, n_rows=r.n_rows,
                   n_stored=r.n_stored, n_duplicates=r.n_duplicates,
                   first_time=None if r.first_ts is None else from_ms(r.first_ts),
                   last_time=None if r.last_ts is None else from_ms(r.last_ts),
                   symbols=list(r.symbols), created_at=r.created_at, owner_pk=r.owner_id)


@strawberry.type(description="One bad row of a file.")
class RowProblem:
    row: int = strawberry.field(description="1-based, the header being row 1 (CSV, XLSX), or "
                                            "the item of the JSON array; 0: the whole file.")
    unit: str = strawberry.field(description="row or item.")
    column: str = strawberry.field(description="The file's column (or JSON key); empty for the "
                                               "whole row.")
    message: str


@strawberry.type(description="The file was refused, nothing was stored: every bad row (the "
                             "first 1,000; totalCount has them all).")
class TransactionFileProblems:
    message: str
    total_count: int
    problems: list[RowProblem]

    @classmethod
    def of(cls, err: ImportProblems) -> TransactionFileProblems:
        shown = err.problems[:MAX_PROBLEMS]
        return cls(message=f"the file has {len(err.problems)} problem(s); nothing was imported",
                   total_count=len(err.problems),
                   problems=[RowProblem(row=p.row, unit=p.unit, column=p.column,
                                        message=p.message) for p in shown])


@strawberry.type(description="An imported fill.")
class Transaction(Node):
    id: strawberry.ID
    import_id: strawberry.ID | None
    exchange: str
    symbol: str
    side: Side
    time: datetime
    price: float
    quantity: float = strawberry.field(description="Executed base quantity.")
    fee: float
    fee_asset: str
    trade_id: str | None = strawberry.field(description="The exchange's, when the file had it.")
    row: int = strawberry.field(description="Its row (or JSON item) in its file.")

    @classmethod
    def from_row(cls, r: TransactionRow) -> Transaction:
        return cls(id=global_id("Transaction", r.id),
                   import_id=optional_id("TransactionImport", r.import_id),
                   exchange=r.exchange, symbol=r.symbol, side=Side(r.side), time=from_ms(r.time_ms),
                   price=r.price, quantity=r.quantity, fee=r.fee, fee_asset=r.fee_asset,
                   trade_id=r.trade_id, row=r.file_row)


@strawberry.type
class TransactionEdge:
    cursor: str
    node: Transaction


@strawberry.type
class TransactionConnection:
    edges: list[TransactionEdge]
    page_info: PageInfo
    where: strawberry.Private[TransactionFilter | None]
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many transactions match the filter, on every page.")
    async def total_count(self) -> int:
        if self.where is None:
            return 0
        return await store.count_transactions(self.where, owner=self.owner)


@strawberry.type
class TransactionImportEdge:
    cursor: str
    node: TransactionImport


@strawberry.type
class TransactionImportConnection:
    edges: list[TransactionImportEdge]
    page_info: PageInfo
    owner: strawberry.Private[OwnerScope]

    @strawberry.field(description="How many import batches there are, on every page.")
    async def total_count(self) -> int:
        return await store.count_imports(owner=self.owner)


@strawberry.input(description="Conditions on listed transactions (all must hold).")
class TransactionFilterInput:
    symbol: str | None = None
    import_id: strawberry.ID | None = None
    side: Side | None = None
    from_: datetime | None = strawberry.field(default=None, name="from",
                                              description="Inclusive.")
    to: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_store(self) -> TransactionFilter:
        if self.symbol is not None and len(self.symbol.strip()) > MAX_SYMBOL_LENGTH:
            raise BadUserInput(f"'filter.symbol' is at most {MAX_SYMBOL_LENGTH} characters "
                               "(BASE/QUOTE, e.g. BTC/USDT)")
        return TransactionFilter(
            symbol=self.symbol,
            import_id=None if self.import_id is None else parse_id(self.import_id, "TransactionImport"),
            side=None if self.side is None else self.side.value,
            start_ms=None if self.from_ is None else to_ms(self.from_),
            end_ms=None if self.to is None else to_ms(self.to))
