"""schemathesis hooks for ``st run`` against the API (loaded with ``SCHEMATHESIS_HOOKS``).

The API's own scalars get the strategies of ``tests/fuzz/scalars.py`` (``DateTime`` around
the instants of ``FUZZ_INSTANTS``, a JSON list set by the test).

Checks (``st run -c``), each about one response:

- ``no_server_error_status``: no HTTP 5xx;
- ``graphql_error_codes``: the body is a GraphQL response (a JSON object with ``data`` or
  ``errors``), and every error carries ``extensions.code``, never ``INTERNAL``;
- ``no_foreign_data``: the text of ``FUZZ_FOREIGN_TEXT`` (another user's strategy name, set
  by the test for a non-admin run) appears in no answer.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

from tests.fuzz.scalars import custom_scalars

for _name, _strategy in custom_scalars(
        json.loads(os.environ.get("FUZZ_INSTANTS") or "[]")).items():
    schemathesis.graphql.scalar(_name, _strategy)


@schemathesis.check
def no_server_error_status(ctx: Any, response: schemathesis.Response,
                           case: schemathesis.Case) -> None:
    """No HTTP 5xx."""
    assert response.status_code < 500, f"HTTP {response.status_code}: {response.text[:2000]}"


@schemathesis.check
def graphql_error_codes(ctx: Any, response: schemathesis.Response,
                        case: schemathesis.Case) -> None:
    """A GraphQL response whose every error has a code, never ``INTERNAL``."""
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"HTTP {response.status_code}, not JSON: "
                             f"{response.text[:500]!r}") from None
    assert isinstance(body, dict) and ("data" in body or "errors" in body), \
        f"not a GraphQL response: {response.text[:500]}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        assert code is not None, f"an error without extensions.code: {error}"
        assert code != "INTERNAL", f"INTERNAL (see the server's log): {error}"


@schemathesis.check
def no_foreign_data(ctx: Any, response: schemathesis.Response,
                    case: schemathesis.Case) -> None:
    """Another user's data never appears (``FUZZ_FOREIGN_TEXT``)."""
    foreign = os.environ.get("FUZZ_FOREIGN_TEXT")
    if foreign:
        assert foreign not in response.text, f"another user's data in the answer: {foreign}"
