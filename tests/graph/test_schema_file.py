"""``schema.graphql`` at the repository root is the schema the code builds."""

from __future__ import annotations

import difflib

import pytest

from graph.schema_export import SCHEMA_FILE, schema_text


def test_schema_graphql_is_up_to_date() -> None:
    expected = schema_text()
    assert SCHEMA_FILE.exists(), "schema.graphql is missing: run `make schema` and commit it"
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    if committed != expected:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), expected.splitlines(keepends=True),
            "schema.graphql (committed)", "schema.graphql (from the code)", n=1))
        pytest.fail("schema.graphql differs from the schema the code builds: run `make schema` "
                    f"and commit the result.\n{diff[:4000]}", pytrace=False)
