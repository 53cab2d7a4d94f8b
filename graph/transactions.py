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

from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.transactions.model import ImportProblems
from graph.context import Context
from graph.errors import BadUserInput, NotFound
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
    PageInfo,
    ValidationError,
    decode_cursor,
    encode_cursor,
    page_size,
    parse_id,
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
        return TransactionFileProblems.of(err)
    return TransactionImport.from_record(record)


async def delete_transaction_import(info: Info[Context, None],
                                    id: strawberry.ID) -> DeleteTransactionImportResult:
    ctx = info.context
    ctx.require_write()
    try:
        key = parse_id(id, "import")
    except NotFound:
        return NotFoundError(message=f"import {id} not found")
    deleted = await store.delete_import(key, owner=ctx.scope())
    if deleted is None:
        return NotFoundError(message=f"import {id} not found")
    return TransactionImport.from_record(deleted)


async def transaction_import(info: Info[Context, None], id: strawberry.ID) -> TransactionImport:
    found = await store.get_import(parse_id(id, "import"), owner=info.context.scope())
    if found is None:
        raise NotFound("import", id)
    return TransactionImport.from_record(found)


async def transaction_imports(info: Info[Context, None], first: int | None = None,
                              after: str | None = None) -> TransactionImportConnection:
    owner = info.context.scope()
    size = page_size(first)
    after_id = None
    if after is not None:
        (after_id,) = decode_cursor(after, 1)
        if not isinstance(after_id, int):
            raise BadUserInput("invalid cursor: pass an endCursor of transactionImports")
    rows, more = await store.list_imports(owner=owner, after_id=after_id, limit=size)
    edges = [TransactionImportEdge(cursor=encode_cursor((r.id,)),
                                   node=TransactionImport.from_record(r)) for r in rows]
    return TransactionImportConnection(edges=edges, page_info=PageInfo(
        has_next_page=more, end_cursor=edges[-1].cursor if edges else None))


async def transactions(info: Info[Context, None], filter: TransactionFilterInput | None = None,
                       first: int | None = None, after: str | None = None
                       ) -> TransactionConnection:
    owner = info.context.scope()
    size = page_size(first)
    key = None
    if after is not None:
        ts, last_id = decode_cursor(after, 2)
        if not isinstance(ts, int) or not isinstance(last_id, int):
            raise BadUserInput("invalid cursor: pass an endCursor of transactions")
        key = (ts, last_id)
    try:
        where = (filter or TransactionFilterInput()).to_store()
    except NotFound:  # an import id that is not a number matches nothing
        return TransactionConnection(edges=[], page_info=PageInfo(has_next_page=False,
                                                                  end_cursor=None))
    rows, more = await store.list_transactions(where, owner=owner, after=key, limit=size)
    edges = [TransactionEdge(cursor=encode_cursor((r.time_ms, r.id)), node=Transaction.from_row(r))
             for r in rows]
    return TransactionConnection(edges=edges, page_info=PageInfo(
        has_next_page=more, end_cursor=edges[-1].cursor if edges else None))


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
