"""The role x operation matrix, on SQLite and PostgreSQL: every mutation of the schema, run
over HTTP by an anonymous caller, a viewer, a trader, an admin and a trader's read-only
personal access token, is allowed or refused exactly as :data:`EXPECTED` says.

The mutations are read from the schema itself, so a new mutation missing from the table fails
:func:`test_every_mutation_has_an_expected_rule`. A refused call gets its code
(``UNAUTHENTICATED`` or ``FORBIDDEN``), changes nothing in the database, and a ``FORBIDDEN``
one is in the audit log as ``access.denied``; an allowed call is not refused by a permission
(its made-up arguments may well fail validation or name nothing: that is fine).
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)

from graph.permissions import RULES, CanRead, rules
from graph.schema import Mutation, Query, Subscription, schema
from store import tokens as store_tokens
from store.models import ALL_MODELS, AccessToken, AuditLog, AuthSession, Role, TokenScope, User
from tests.graph.conftest import Api, errors_of

pytestmark = pytest.mark.asyncio

ANON, VIEWER, TRADER, ADMIN, READ_TOKEN = "anonymous", "viewer", "trader", "admin", "read_token"
CALLERS = (ANON, VIEWER, TRADER, ADMIN, READ_TOKEN)
OK, UNAUTH, FORBID = "ok", "UNAUTHENTICATED", "FORBIDDEN"

PUBLIC_ = {ANON: OK, VIEWER: OK, TRADER: OK, ADMIN: OK, READ_TOKEN: OK}
# the account's self-service: any signed-in role, not with a read-only personal access token
# (the resolvers add their own rules, e.g. a personal access token cannot create tokens)
SELF = {ANON: UNAUTH, VIEWER: OK, TRADER: OK, ADMIN: OK, READ_TOKEN: FORBID}
TRADE = {ANON: UNAUTH, VIEWER: FORBID, TRADER: OK, ADMIN: OK, READ_TOKEN: FORBID}
ADMIN_ONLY = {ANON: UNAUTH, VIEWER: FORBID, TRADER: FORBID, ADMIN: OK, READ_TOKEN: FORBID}

EXPECTED: dict[str, dict[str, str]] = {
    "register": PUBLIC_, "login": PUBLIC_, "refreshToken": PUBLIC_, "logout": PUBLIC_,
    "changePassword": SELF, "createAccessToken": SELF, "revokeAccessToken": SELF,
    "createStrategy": TRADE, "updateStrategy": TRADE, "deleteStrategy": TRADE,
    "syncMarketData": TRADE, "cancelSyncJob": TRADE, "importCandles": TRADE,
    "runBacktest": TRADE, "cancelBacktest": TRADE, "deleteBacktest": TRADE,
    "runSweep": TRADE, "cancelSweep": TRADE,
    "importTransactions": TRADE, "deleteTransactionImport": TRADE,
    "runReplay": TRADE, "cancelReplay": TRADE, "cancelJob": TRADE,
    "setUserRole": ADMIN_ONLY, "setUserActive": ADMIN_ONLY,
    # exchange keys serve imports of one's trades: writing, so traders
    "addExchangeKey": TRADE, "testExchangeKey": TRADE, "deleteExchangeKey": TRADE,
    "importExchangeTrades": TRADE,
}

# admin-only queries, and a few reads every role has
ADMIN_QUERIES = {
    "users": "{ users { totalCount } }",
    "auditLog": "{ auditLog { totalCount } }",
    "auditActions": "{ auditActions }",
    "cacheStats": "{ cacheStats { enabled } }",
}
READ_QUERIES = ["{ me { role } }", "{ backtests { totalCount } }", "{ strategies { totalCount } }",
                "{ jobs { totalCount } }", "{ transactionImports { totalCount } }"]

SIGN_IN_FIRST = "Sign in first"


def mutations() -> dict[str, GraphQLField]:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    return dict(mutation_type.fields)


def _sample(type_: GraphQLInputType, name: str) -> Any:
    """A value of ``type_`` that passes GraphQL's coercion (required fields only)."""
    if isinstance(type_, GraphQLNonNull):
        return _sample(type_.of_type, name)
    if isinstance(type_, GraphQLList):
        return [_sample(type_.of_type, name)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {field_name: _sample(field.type, field_name)
                for field_name, field in type_.fields.items()
                if isinstance(field.type, GraphQLNonNull)}
    assert isinstance(type_, GraphQLScalarType), type_
    return {"ID": "999999", "Int": 1, "Float": 1.0, "Boolean": True,
            "DateTime": "2024-01-01T00:00:00Z", "JSON": {}, "Upload": "not-a-file",
            }.get(type_.name, "x")


def operation(name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    """A document calling mutation ``name`` with every argument, and its variables."""
    declared, passed, variables = [], [], {}
    for arg_name, arg in field.args.items():
        declared.append(f"${arg_name}: {arg.type}")
        passed.append(f"{arg_name}: ${arg_name}")
        variables[arg_name] = _sample(arg.type, arg_name)
    returned = get_named_type(field.type)
    selection = "" if isinstance(returned, GraphQLScalarType) else " { __typename }"
    head = f"({', '.join(declared)})" if declared else ""
    args = f"({', '.join(passed)})" if passed else ""
    return f"mutation{head} {{ {name}{args}{selection} }}", variables


async def snapshot() -> dict[str, Any]:
    """What a refused mutation must not change: every table's row count (but the audit
    log's), the accounts' roles and states, revoked tokens and ended sessions."""
    counts = {m.__name__: await m.all().count() for m in ALL_MODELS if m is not AuditLog}
    return {
        "counts": counts,
        "users": sorted(await User.all().values_list("id", "role", "is_active")),
        "revoked_tokens": await AccessToken.filter(revoked_at__isnull=False).count(),
        "ended_sessions": await AuthSession.filter(revoked_at__isnull=False).count(),
    }


async def callers(api: Api) -> dict[str, str | None]:
    viewer = await api.user("viewer@example.com", Role.VIEWER)
    trader = await api.user("trader@example.com", Role.TRADER)
    admin = await api.user("admin@example.com", Role.ADMIN)
    _, read_secret = await store_tokens.create_token(trader.id, "read", TokenScope.READ)
    return {ANON: None, VIEWER: viewer.token, TRADER: trader.token, ADMIN: admin.token,
            READ_TOKEN: read_secret}


def outcome(result: dict[str, Any]) -> str:
    """FORBIDDEN or UNAUTHENTICATED when a permission refused the call, else ok."""
    for code, message in errors_of(result):
        if code == FORBID:
            return FORBID
        if code == UNAUTH and message.startswith(SIGN_IN_FIRST):
            return UNAUTH
    return OK


async def test_every_mutation_has_an_expected_rule() -> None:
    assert sorted(mutations()) == sorted(EXPECTED), (
        "a mutation was added or removed: give it its row in EXPECTED (and a rule in "
        "graph.permissions.RULES unless the default, CanTrade, is right)")
    for root, name, rule in rules(Query, Mutation, Subscription):
        assert rule is not None, (root, name)
    # every root field carries a permission extension once the schema is built
    for type_ in (Query, Mutation, Subscription):
        for field in type_.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            assert field.extensions, field.python_name
    assert all(RULES.get(n, CanRead) for n in ("me", "users"))


@pytest.mark.parametrize("caller", CALLERS)
async def test_mutation_matrix(api: Api, caller: str) -> None:
    tokens = await callers(api)
    token = tokens[caller]
    for name, field in sorted(mutations().items()):
        expected = EXPECTED[name][caller]
        document, variables = operation(name, field)
        before = await snapshot()
        denied_before = await AuditLog.filter(action="access.denied", entity_id=name).count()
        result = await api.gql(document, variables, token=token)
        got = outcome(result)
        assert got == expected, (caller, name, result)
        if expected == OK:
            continue
        assert result["data"] is None or result["data"].get(name) is None, (name, result)
        assert await snapshot() == before, f"{name} refused to {caller} changed something"
        denied = await AuditLog.filter(action="access.denied", entity_id=name).count()
        assert denied == denied_before + (1 if expected == FORBID else 0), (caller, name)


async def test_denied_entry_names_the_caller(api: Api) -> None:
    tokens = await callers(api)
    result = await api.gql("mutation { deleteStrategy(id: \"1\") { __typename } }",
                           token=tokens[VIEWER])
    [(code, message)] = errors_of(result)
    assert code == FORBID and "viewer" in message and "trader" in message
    entry = await AuditLog.filter(action="access.denied").order_by("-id").first()
    assert entry is not None
    assert (entry.actor_email, entry.outcome, entry.entity_type, entry.entity_id) == (
        "viewer@example.com", "denied", "mutation", "deleteStrategy")
    assert entry.ip_address and "viewer" in entry.details["reason"]
    read = await api.gql("mutation { deleteStrategy(id: \"1\") { __typename } }",
                         token=tokens[READ_TOKEN])
    assert errors_of(read)[0][0] == FORBID and "read-only" in errors_of(read)[0][1]


@pytest.mark.parametrize("caller", CALLERS)
async def test_query_matrix(api: Api, caller: str) -> None:
    tokens = await callers(api)
    token = tokens[caller]
    for name, document in ADMIN_QUERIES.items():
        result = await api.gql(document, token=token)
        assert outcome(result) == ADMIN_ONLY[caller], (caller, name, result)
    for document in READ_QUERIES:
        result = await api.gql(document, token=token)
        assert outcome(result) == (UNAUTH if caller == ANON else OK), (caller, document, result)
    # public documentation needs no sign-in
    result = await api.gql("{ strategyTemplates { key } strategySchema }", token=token)
    assert "errors" not in result, result
