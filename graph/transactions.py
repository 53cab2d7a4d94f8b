"""Imported trade history: ``importTransactions`` (a multipart upload), ``transactions``,
``transactionImports``, ``transactionImport`` and ``deleteTransactionImport``.

An import parses the whole file first (``tasks.imports.transactions``): a file with any bad row
comes back as ``TransactionFileProblems`` listing every bad row (row number, column, reason;
the first ``graph.transaction_types.MAX_PROBLEMS``) and stores nothing; a bad request (format,
name, exchange) as ``ValidationError``. A good file is stored as one named batch, skipping what is
already stored. Uploads follow the GraphQL multipart request spec
(``operations``/``map``/file parts). Everything is the caller's own: another user's batch or
transaction is NOT_FOUND (or absent from lists); an admin sees all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.transactions.model import ImportProblems
from graph.audit import audit
from graph.context import Context
from graph.errors import NotFound
from graph.transaction_types import (
    Transaction,
    TransactionConnection,
    TransactionEdge,
    TransactionFileProblems,
    TransactionFilterInput,
    TransactionFormat,
    TransactionImport,
    TransactionImportConnection,
    TransactionImportEdge,
)
from graph.types_common import (
    NotFoundError,
    ValidationError,
    Window,
    cursor_id,
    cursor_int,
    decode_cursor,
    encode_cursor,
    parse_id,
    register_node,
)
from store import transactions as store
from tasks.imports.transactions import (
    MAX_FILE_BYTES,
    ImportRequest,
    InvalidImport,
    import_transactions,
)

ImportTransactionsResult = Annotated[
    TransactionImport | TransactionFileProblems | ValidationError,
    strawberry.union("ImportTransactionsResult")]
DeleteTransactionImportResult = Annotated[
    TransactionImport | NotFoundError, strawberry.union("DeleteTransactionImportResult")]


async def _read(file: Any) -> tuple[bytes | None, str | None]:
    """The uploaded file's bytes and name (Starlette's ``UploadFile``); None when it is larger
    than allowed, or not an upload at all."""
    if not hasattr(file, "read"):
        return None, None
    filename = getattr(file, "filename", None)
    size = getattr(file, "size", None)
    try:
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            return None, filename
        return bytes(await file.read()), filename
    finally:
        await file.close()  # the spooled temporary file (nothing else closes it)


async def import_transactions_resolver(
        info: Info[Context, None], file: Upload, format: TransactionFormat,
        name: str | None = None, exchange: str = "binance") -> ImportTransactionsResult:
    ctx = info.context
    data, filename = await _read(file)  # first: it closes the upload whatever happens next
    viewer = ctx.require_write()
    if data is None:
        return ValidationError.single("file", (
            f"the file is larger than {MAX_FILE_BYTES:,} bytes: split it into several imports"
            if hasattr(file, "read") else "send the file as a GraphQL multipart request "
            "(parts operations, map and the file)"))
    try:
        record = await import_transactions(ImportRequest(
            viewer.user_id, data, format.value, name, filename, exchange), ctx.services.settings)
    except InvalidImport as err:
        return ValidationError.of(err.problems)
    except ImportProblems as err:
        await audit(ctx, "import.create", target_type="TransactionImport", outcome="failed",
                    details={"kind": "transactions", "filename": filename or ""})
        return TransactionFileProblems.of(err)
    await audit(ctx, "import.create", target_type="TransactionImport", target_id=record.id,
                details={"kind": "transactions", "filename": filename or ""})
    return TransactionImport.from_record(record)


async def delete_transaction_import(info: Info[Context, None],
                                    id: strawberry.ID) -> DeleteTransactionImportResult:
    ctx = info.context
    ctx.require_write()
    key = parse_id(id, "TransactionImport")
    deleted = await store.delete_import(key, owner=ctx.scope())
    if deleted is None:
        return NotFoundError(message=f"import {id} not found")
    return TransactionImport.from_record(deleted)


async def transaction_import(info: Info[Context, None], id: strawberry.ID) -> TransactionImport:
    found = await store.get_import(parse_id(id, "TransactionImport"), owner=info.context.scope())
    if found is None:
        raise NotFound("import", id)
    return TransactionImport.from_record(found)


async def transaction_imports(info: Info[Context, None], first: int | None = None,
                              after: str | None = None, last: int | None = None,
                              before: str | None = None) -> TransactionImportConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    rows, more = await store.list_imports(owner=owner, **window.id_args())
    edges = [TransactionImportEdge(cursor=encode_cursor((r.id,)),
                                   node=TransactionImport.from_record(r)) for r in rows]
    return TransactionImportConnection(
        edges=edges, owner=owner, page_info=window.page_info([e.cursor for e in edges], more))


def _key(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    ts, last_id = decode_cursor(cursor, 2)
    return cursor_int(ts, cursor), cursor_id(last_id, cursor)


async def transactions(info: Info[Context, None], filter: TransactionFilterInput | None = None,
                       first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None
                       ) -> TransactionConnection:
    owner = info.context.scope()
    window = Window(first, after, last, before)
    where = (filter or TransactionFilterInput()).to_store()
    rows, more = await store.list_transactions(where, owner=owner, after=_key(after),
                                               before=_key(before), limit=window.size,
                                               backward=window.backward)
    edges = [TransactionEdge(cursor=encode_cursor((r.time_ms, r.id)), node=Transaction.from_row(r))
             for r in rows]
    return TransactionConnection(edges=edges, where=where, owner=owner,
                                 page_info=window.page_info([e.cursor for e in edges], more))


async def _load_imports(info: Info[Context, None], ids: Sequence[int]
                        ) -> list[TransactionImport]:
    return [TransactionImport.from_record(r)
            for r in await store.get_imports(ids, owner=info.context.scope())]


async def _load_transactions(info: Info[Context, None], ids: Sequence[int]
                             ) -> list[Transaction]:
    return [Transaction.from_row(r)
            for r in await store.get_transactions(ids, owner=info.context.scope())]


register_node("TransactionImport", _load_imports)
register_node("Transaction", _load_transactions)


@strawberry.type
class TransactionQueries:
    transactions: TransactionConnection = strawberry.field(
        resolver=transactions, description="Your imported fills, oldest first (Relay "
                                           "connection).")
    transaction_imports: TransactionImportConnection = strawberry.field(
        resolver=transaction_imports, description="Your import batches, newest first.")
    transaction_import: TransactionImport = strawberry.field(
        resolver=transaction_import, description="One import batch (NOT_FOUND if not yours).")


@strawberry.type
class TransactionMutations:
    import_transactions: ImportTransactionsResult = strawberry.mutation(
        resolver=import_transactions_resolver,
        description="Import a trade history file (multipart upload) as one named batch: all "
                    "rows or none, skipping fills already stored.")
    delete_transaction_import: DeleteTransactionImportResult = strawberry.mutation(
        resolver=delete_transaction_import,
        description="Delete an import batch and its transactions.")
