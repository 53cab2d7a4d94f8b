"""Naming and versioning rules of saved strategies (domain.strategy.naming)."""

from __future__ import annotations

from typing import Any

from domain.errors import Problem
from domain.strategy.naming import (
    FIRST_VERSION,
    MAX_DOCUMENT_BYTES,
    NAME_MAX_LEN,
    check_name,
    document_problems,
    named_document,
    next_version,
    unstorable,
    update_problems,
    updated_version,
)

DOC: dict[str, Any] = {
    "name": "sma", "side": "long",
    "entry": {"left": {"price": "close"}, "op": ">", "right": {"indicator": "sma", "period": 3}},
    "exit": {"left": {"price": "close"}, "op": "<", "right": {"indicator": "sma", "period": 3}}}


def test_names_are_trimmed_and_bounded() -> None:
    assert check_name("  trend follower ") == ("trend follower", [])
    assert check_name("x" * NAME_MAX_LEN) == ("x" * NAME_MAX_LEN, [])
    message = f"give a name of 1 to {NAME_MAX_LEN} characters"
    assert check_name("   ") == ("", [Problem("name", message)])
    assert check_name("x" * (NAME_MAX_LEN + 1))[1] == [Problem("name", message)]


def test_the_name_is_written_into_the_document() -> None:
    assert named_document(DOC, "renamed") == {**DOC, "name": "renamed"}
    assert DOC["name"] == "sma"  # a copy
    assert named_document(DOC, None) is DOC
    assert named_document(["not", "an", "object"], "x") == ["not", "an", "object"]


def test_document_problems_are_located_under_document() -> None:
    assert document_problems(DOC, 100) == []
    bad = {**DOC, "entry": {**DOC["entry"], "right": {"indicator": "sma", "period": -3}}}
    problems = document_problems(bad, 100)
    assert [p.path for p in problems] == ["document.entry.right.period"]
    empty = document_problems({}, 2)
    assert empty and all(p.path.startswith("document.") for p in empty)
    assert [p.path for p in document_problems("text", 6)] == ["document"]  # the whole of it
    assert document_problems(DOC, MAX_DOCUMENT_BYTES) == []
    assert document_problems(DOC, MAX_DOCUMENT_BYTES + 1) == [
        Problem("document", "the document is larger than 256 KB")]
    assert unstorable("too big an integer") == Problem("document",
                                                       "cannot be stored: too big an integer")


def test_an_update_changes_something_and_keeps_the_rest() -> None:
    assert update_problems(None, None) == [Problem("", "give a new name, a new document, or both")]
    assert update_problems("x", None) == update_problems(None, DOC) == []
    assert updated_version("sma", DOC, None, None) == ("sma", DOC)
    assert updated_version("sma", DOC, " fast ", None) == ("fast", DOC)
    assert updated_version("sma", DOC, None, {"name": "y"}) == ("sma", {"name": "y"})


def test_versions_count_from_one() -> None:
    assert next_version(None) == FIRST_VERSION == 1
    assert next_version(1) == 2 and next_version(41) == 42
