"""Naming and versioning rules of saved strategies.

A strategy is named per owner; each save is a new version (:data:`FIRST_VERSION`, then
:func:`next_version`). A name is the trimmed text given, of 1 to :data:`NAME_MAX_LEN`
characters (:func:`check_name`); it is written into the document's ``"name"``
(:func:`named_document`), and a new strategy given no name takes its document's. A document is
stored when it is valid (``domain.strategy.validate_strategy``) and its JSON takes at most
:data:`MAX_DOCUMENT_BYTES` (:func:`document_problems`). An update gives a new name, a new
document or both (:func:`update_problems`); what it leaves out stays as in the latest version
(:func:`updated_version`).

Problems are located by domain paths: ``name``, ``document`` and ``document.<path in the
document>`` (``document.entry.all[1].left.period``), ``""`` for the request as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.errors import Problem
from domain.strategy.document import validate_strategy

NAME_MAX_LEN = 200
"""Characters of a strategy's name (``store.strategies`` keeps as many)."""
MAX_DOCUMENT_BYTES = 256 * 1024
"""Bytes of a stored document's JSON."""
FIRST_VERSION = 1


def check_name(name: str) -> tuple[str, list[Problem]]:
    """The name to save (``name`` trimmed) and its problems."""
    clean = name.strip()
    if not 1 <= len(clean) <= NAME_MAX_LEN:
        return clean, [Problem("name", f"give a name of 1 to {NAME_MAX_LEN} characters")]
    return clean, []


def named_document(document: object, name: str | None) -> object:
    """``document`` with ``name`` written into its ``"name"`` (unchanged when ``name`` is
    None or the document is not an object)."""
    if isinstance(document, Mapping) and name is not None:
        return {**document, "name": name}
    return document


def unstorable(reason: str) -> Problem:
    """The problem of a document that cannot be encoded for storage (e.g. an integer beyond
    64 bits)."""
    return Problem("document", f"cannot be stored: {reason}")


def document_problems(document: object, size: int) -> list[Problem]:
    """What keeps ``document``, whose JSON takes ``size`` bytes, from being stored: its size,
    else every problem of its validation (located under ``document``)."""
    if size > MAX_DOCUMENT_BYTES:
        return [Problem("document", f"the document is larger than "
                                    f"{MAX_DOCUMENT_BYTES // 1024} KB")]
    return [Problem(f"document.{p.path}" if p.path else "document", p.message)
            for p in validate_strategy(document)]


def update_problems(name: str | None, document: object | None) -> list[Problem]:
    """An update must change something: a new name, a new document, or both."""
    if name is None and document is None:
        return [Problem("", "give a new name, a new document, or both")]
    return []


def updated_version(latest_name: str, latest_document: object, name: str | None,
                    document: object | None) -> tuple[str, object]:
    """The name and document of the version an update saves (before :func:`named_document`):
    each the update's (the name trimmed), else the latest version's."""
    return (latest_name if name is None else name.strip(),
            latest_document if document is None else document)


def next_version(latest: int | None) -> int:
    """The version number of the next save: :data:`FIRST_VERSION` for a new strategy, else one
    more than the latest."""
    return FIRST_VERSION if latest is None else latest + 1


__all__ = [
    "FIRST_VERSION",
    "MAX_DOCUMENT_BYTES",
    "NAME_MAX_LEN",
    "check_name",
    "document_problems",
    "named_document",
    "next_version",
    "unstorable",
    "update_problems",
    "updated_version",
]
