"""Exchange API keys and imports of fills with them.

- ``exchangeKeys``, ``addExchangeKey``, ``testExchangeKey``, ``deleteExchangeKey``: a user's
  keys (``store.exchange_keys``), encrypted at rest (``store.key_vault``). The API returns a
  key's mask (``••••abcd``), never the key or the secret. A key is its owner's alone: another
  user's key is ``NotFoundError`` everywhere, admins included.
- ``importExchangeTrades`` starts an ``ExchangeImport`` job (``tasks.jobs.kinds.
  exchange_import``): the account's fills of some symbols over ``[start, end)`` fetched into a
  transaction import; ``exchangeImport`` reads one, and it is a job like the others (``jobs``,
  ``jobEvents``, ``cancelJob``, ``node``).

Adding, deleting and using a key (test, import) are written to the audit log (``key.create``,
``key.delete``, ``key.use``), without the key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from graph.audit import audit
from graph.context import Context
from graph.jobs import Job, job_fields, parse_id, register_job_type
from graph.sync_jobs import from_ms, to_ms
from graph.transaction_types import TransactionImport
from graph.types_common import (
    Node,
    NotFoundError,
    ValidationError,
    global_id,
    register_node,
)
from graph.types_common import parse_id as parse_node_id
from store import exchange_imports as store_imports
from store import exchange_keys as store_keys
from store import transactions as store_transactions
from store.exchange_imports import ExchangeImportRecord
from store.exchange_keys import LABEL_MAX_LEN, ExchangeKeyRecord
from store.key_vault import vault_for
from store.scope import OwnerScope
from tasks.jobs.control import check_quota, start_job
from tasks.market.account import SUPPORTED_EXCHANGES, signed_client, test_connection

KEY_MAX_LEN = 256
SECRET_MAX_LEN = 512
MAX_SYMBOLS = 20
MAX_KEYS_PER_USER = 20  # so exchangeKeys stays a short plain list
MAX_RANGE_DAYS = 3 * 366
NAME_MAX_LEN = 200
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
_SYMBOL = re.compile(r"[A-Z0-9]{1,15}/[A-Z0-9]{1,15}")


@strawberry.type(description="A stored exchange API key: only its mask is ever shown, never the "
                             "key or the secret.")
class ExchangeKey(Node):
    id: strawberry.ID
    exchange: str
    label: str
    key_mask: str = strawberry.field(description="The key's last 4 characters: ••••abcd.")
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(
        description="When a connection test or an import last used it.")

    @classmethod
    def from_record(cls, r: ExchangeKeyRecord) -> ExchangeKey:
        return cls(id=global_id("ExchangeKey", r.id), exchange=r.exchange, label=r.label,
                   key_mask=r.key_mask, created_at=r.created_at, last_used_at=r.last_used_at)


async def _load_keys(info: Info, pks: Sequence[int]) -> list[Node]:
    viewer = info.context.require_viewer()
    found = [await store_keys.get_key(pk, viewer.user_id) for pk in pks]
    return [ExchangeKey.from_record(r) for r in found if r is not None]


register_node("ExchangeKey", _load_keys)


@strawberry.type(description="An import of your fills from an exchange with a stored key: a job "
                             "whose result is a transaction import.")
class ExchangeImport(Job):
    exchange: str
    name: str = strawberry.field(description="The name of the transaction import it makes.")
    symbols: list[str]
    start: datetime
    end: datetime
    n_fetched: int = strawberry.field(description="Fills received from the exchange so far.")
    key_pk: strawberry.Private[int | None]
    batch_pk: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, r: ExchangeImportRecord) -> ExchangeImport:
        return cls(**job_fields("exchange_import", r), exchange=r.exchange, name=r.name,
                   symbols=list(r.symbols), start=from_ms(r.start_ms), end=from_ms(r.end_ms),
                   n_fetched=r.n_fetched, key_pk=r.credential_id,
                   batch_pk=r.transaction_import_id)

    @strawberry.field(description="The key it uses (null once the key is deleted).")
    async def key(self, info: Info[Context, None]) -> ExchangeKey | None:
        if self.key_pk is None:
            return None
        found = await store_keys.get_key(self.key_pk, self.owner_pk)
        return None if found is None else ExchangeKey.from_record(found)

    @strawberry.field(description="The transaction import of the fills (set once it succeeded).")
    async def transaction_import(self, info: Info[Context, None]) -> TransactionImport | None:
        if self.batch_pk is None:
            return None
        found = await store_transactions.get_import(self.batch_pk, owner=info.context.scope())
        return None if found is None else TransactionImport.from_record(found)


async def _load_imports(ids: Sequence[int], owner: OwnerScope) -> list[ExchangeImport]:
    return [ExchangeImport.from_record(r)
            for r in await store_imports.get_imports(list(ids), owner=owner)]


register_job_type("exchange_import", ExchangeImport, _load_imports, label="exchange import")


@strawberry.input
class AddExchangeKeyInput:
    exchange: str = strawberry.field(default="binance",
                                     description=f"One of: {', '.join(SUPPORTED_EXCHANGES)}.")
    label: str = strawberry.field(description=f"Your name for it (1 to {LABEL_MAX_LEN} "
                                              "characters, unique per exchange).")
    api_key: str
    api_secret: str


@strawberry.input
class ImportExchangeTradesInput:
    key_id: strawberry.ID = strawberry.field(description="An ExchangeKey's id.")
    symbols: list[str] = strawberry.field(description=f"BASE/QUOTE symbols (1 to {MAX_SYMBOLS}).")
    start: datetime = strawberry.field(description="First fill time to import (inclusive).")
    end: datetime = strawberry.field(description="End of the range (exclusive).")
    name: str | None = strawberry.field(default=None, description="The transaction import's "
                                                                  "name (default: generated).")


@strawberry.type(description="The outcome of a connection test: ok, or why not.")
class ExchangeKeyTest:
    ok: bool
    message: str
    key: ExchangeKey


@strawberry.type(description="The key was deleted (its secret is gone from the server).")
class DeletedExchangeKey:
    deleted_id: strawberry.ID = strawberry.field(description="The global id it had.")


AddExchangeKeyResult = Annotated[ExchangeKey | ValidationError,
                                 strawberry.union("AddExchangeKeyResult")]
TestExchangeKeyResult = Annotated[ExchangeKeyTest | NotFoundError,
                                  strawberry.union("TestExchangeKeyResult")]
DeleteExchangeKeyResult = Annotated[DeletedExchangeKey | NotFoundError,
                                    strawberry.union("DeleteExchangeKeyResult")]
ImportExchangeTradesResult = Annotated[ExchangeImport | ValidationError | NotFoundError,
                                       strawberry.union("ImportExchangeTradesResult")]


def _token_problem(value: str, what: str, most: int) -> str | None:
    if not value:
        return f"give the {what}"
    if len(value) > most:
        return f"the {what} is longer than {most} characters: paste it again"
    if not _TOKEN.fullmatch(value):
        return f"the {what} holds spaces or characters an exchange key never has: paste it again"
    return None


async def add_exchange_key(info: Info[Context, None],
                           input: AddExchangeKeyInput) -> AddExchangeKeyResult:
    ctx = info.context
    viewer = ctx.require_write()
    exchange, label = input.exchange.strip().lower(), input.label.strip()
    api_key, api_secret = input.api_key.strip(), input.api_secret.strip()
    problems: list[tuple[str, str]] = []
    if exchange not in SUPPORTED_EXCHANGES:
        problems.append(("input.exchange", f"unknown exchange {exchange[:40]!r}: keys can be "
                                           f"stored for {', '.join(SUPPORTED_EXCHANGES)}"))
    if not label:
        problems.append(("input.label", f"give a label (1 to {LABEL_MAX_LEN} characters)"))
    elif len(label) > LABEL_MAX_LEN:
        problems.append(("input.label", f"the label is longer than {LABEL_MAX_LEN} characters"))
    elif not problems and await store_keys.label_taken(viewer.user_id, exchange, label):
        problems.append(("input.label", f"you already have a {exchange} key labelled "
                                        f"{label!r}: choose another label"))
    for path, value, what, most in (("input.apiKey", api_key, "API key", KEY_MAX_LEN),
                                    ("input.apiSecret", api_secret, "API secret",
                                     SECRET_MAX_LEN)):
        if (problem := _token_problem(value, what, most)) is not None:
            problems.append((path, problem))
    if not problems and len(await store_keys.list_keys(viewer.user_id)) >= MAX_KEYS_PER_USER:
        problems.append(("input", f"you have {MAX_KEYS_PER_USER} exchange keys, the most one "
                                  "account may store: delete one first"))
    if problems:
        return ValidationError.of(problems)
    try:
        record = await store_keys.create_key(viewer.user_id, exchange, label, api_key,
                                             api_secret, vault_for(ctx.services.settings))
    except store_keys.DuplicateLabel:
        return ValidationError.single("input.label", f"you already have a {exchange} key "
                                                     f"labelled {label!r}: choose another label")
    await audit(ctx, "key.create", target_type="ExchangeKey", target_id=record.id,
                details={"exchange": exchange, "label": label, "mask": record.key_mask})
    return ExchangeKey.from_record(record)


def _key_pk(ident: strawberry.ID) -> int:
    return parse_node_id(ident, "ExchangeKey")


async def test_exchange_key(info: Info[Context, None], id: strawberry.ID) -> TestExchangeKeyResult:
    ctx = info.context
    viewer = ctx.require_write()
    settings = ctx.services.settings
    key = await store_keys.get_key(_key_pk(id), viewer.user_id)
    if key is None:
        return NotFoundError(message=f"exchange key {id} not found")
    ok, message = False, ""
    try:
        opened = await store_keys.open_key(key.id, viewer.user_id, vault_for(settings))
        if opened is None:
            return NotFoundError(message=f"exchange key {id} not found")
        client = signed_client(key.exchange, opened[0], opened[1], settings)
        del opened
        try:
            message, ok = await test_connection(client, key.exchange), True
        finally:
            await client.close()
    except DomainError as err:
        message = str(err)
    await audit(ctx, "key.use", target_type="ExchangeKey", target_id=key.id,
                outcome="ok" if ok else "failed",
                details={"purpose": "test", **({} if ok else {"error": message[:300]})})
    if ok:  # "last used" is when it last worked
        await store_keys.touch(key.id)
    found = await store_keys.get_key(key.id, viewer.user_id)
    return ExchangeKeyTest(ok=ok, message=message,
                           key=ExchangeKey.from_record(found or key))


async def delete_exchange_key(info: Info[Context, None],
                              id: strawberry.ID) -> DeleteExchangeKeyResult:
    ctx = info.context
    viewer = ctx.require_write()
    deleted = await store_keys.delete_key(_key_pk(id), viewer.user_id)
    if deleted is None:
        return NotFoundError(message=f"exchange key {id} not found")
    await audit(ctx, "key.delete", target_type="ExchangeKey", target_id=deleted.id,
                details={"exchange": deleted.exchange, "label": deleted.label,
                         "mask": deleted.key_mask})
    return DeletedExchangeKey(deleted_id=global_id("ExchangeKey", deleted.id))


def _import_problems(symbols: list[str], start_ms: int, end_ms: int,
                     name: str | None) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not symbols:
        problems.append(("input.symbols", "give at least one symbol (BASE/QUOTE, e.g. BTC/USDT)"))
    elif len(symbols) > MAX_SYMBOLS:
        problems.append(("input.symbols", f"at most {MAX_SYMBOLS} symbols per import"))
    for n, symbol in enumerate(symbols[:MAX_SYMBOLS]):
        if not _SYMBOL.fullmatch(symbol):
            problems.append((f"input.symbols.{n}", f"{symbol[:40]!r} is not a BASE/QUOTE "
                                                   "symbol such as BTC/USDT"))
    if len(set(symbols)) < len(symbols):
        problems.append(("input.symbols", "a symbol is given twice"))
    if end_ms <= start_ms:
        problems.append(("input.end", "must be after start"))
    elif end_ms - start_ms > MAX_RANGE_DAYS * 86_400_000:
        problems.append(("input.end", f"the range is longer than {MAX_RANGE_DAYS} days: split "
                                      "it into several imports"))
    if start_ms < 0:
        problems.append(("input.start", "must be after 1970-01-01"))
    if name is not None and not 0 < len(name.strip()) <= NAME_MAX_LEN:
        problems.append(("input.name", f"give 1 to {NAME_MAX_LEN} characters"))
    return problems


async def import_exchange_trades(info: Info[Context, None], input: ImportExchangeTradesInput
                                 ) -> ImportExchangeTradesResult:
    ctx = info.context
    viewer = ctx.require_write()
    key = await store_keys.get_key(_key_pk(input.key_id), viewer.user_id)
    if key is None:
        return NotFoundError(message=f"exchange key {input.key_id} not found")
    symbols = [s.strip().upper() for s in input.symbols]
    start_ms, end_ms = to_ms(input.start), to_ms(input.end)
    problems = _import_problems(symbols, start_ms, end_ms, input.name)
    problems += await check_quota(viewer.user_id, ctx.services.settings)
    if problems:
        return ValidationError.of(problems)
    name = (input.name or "").strip() or (
        f"{key.exchange} {', '.join(symbols)} {from_ms(start_ms):%Y-%m-%d} to "
        f"{from_ms(end_ms - 1):%Y-%m-%d}")[:NAME_MAX_LEN]  # the last day fetched (end excluded)
    job = await store_imports.create_import(viewer.user_id, key.id, key.exchange, symbols,
                                            start_ms, end_ms, name)
    await start_job("exchange_import", job.id, viewer.user_id, ctx.services.executor,
                    ctx.services.broadcaster)
    return ExchangeImport.from_record(job)


async def exchange_keys(info: Info[Context, None]) -> list[ExchangeKey]:
    viewer = info.context.require_viewer()
    return [ExchangeKey.from_record(r) for r in await store_keys.list_keys(viewer.user_id)]


async def exchange_import(info: Info[Context, None], id: strawberry.ID) -> ExchangeImport | None:
    found = await store_imports.get_import(parse_id(id, "exchange_import"),
                                           owner=info.context.scope())
    return None if found is None else ExchangeImport.from_record(found)


@strawberry.type
class ExchangeKeyQueries:
    exchange_keys: list[ExchangeKey] = strawberry.field(
        resolver=exchange_keys, description="Your stored exchange keys, newest first.")
    exchange_import: ExchangeImport | None = strawberry.field(
        resolver=exchange_import, description="An import of fills from an exchange (null when "
                                              "it does not exist or is not yours).")


@strawberry.type
class ExchangeKeyMutations:
    add_exchange_key: AddExchangeKeyResult = strawberry.mutation(
        resolver=add_exchange_key, description="Store an exchange API key, encrypted; only its "
                                               "mask is ever returned.")
    test_exchange_key: TestExchangeKeyResult = strawberry.mutation(
        resolver=test_exchange_key, description="Try the key with a signed request reading the "
                                                "account: ok, or why not.")
    delete_exchange_key: DeleteExchangeKeyResult = strawberry.mutation(
        resolver=delete_exchange_key, description="Delete a stored key (imports made with it "
                                                  "keep their fills).")
    import_exchange_trades: ImportExchangeTradesResult = strawberry.mutation(
        resolver=import_exchange_trades,
        description="Start importing your fills of some symbols over [start, end) from the "
                    "exchange with a stored key, into a transaction import (follow it with "
                    "jobEvents; cancel it with cancelJob).")

