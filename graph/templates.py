"""Strategy templates: the example documents of ``examples/*.json``, for "New from template".

``strategyTemplates`` lists them (sorted by file name) with the document each file holds; the
web client opens one in the editor as a new, unsaved strategy. The files are read once per
process. Public documentation like ``strategySchema``: no sign-in needed.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.context import Context

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


@strawberry.type(description="An example strategy document to start from (examples/*.json).")
class StrategyTemplate:
    key: str = strawberry.field(description="The file's stem, e.g. \"sma_crossover\" (the name to open it by).")
    name: str
    description: str
    document: JSON


@functools.cache
def load_templates(directory: Path = EXAMPLES_DIR) -> tuple[tuple[str, dict[str, Any]], ...]:
    """``(stem, document)`` of every ``*.json`` object in ``directory``, by file name (none when
    the directory is missing, e.g. an install without the examples)."""
    if not directory.is_dir():
        return ()
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict):
            found.append((path.stem, document))
    return tuple(found)


def strategy_templates(info: Info[Context, None]) -> list[StrategyTemplate]:
    return [StrategyTemplate(key=stem, name=str(doc.get("name", stem)),
                             description=str(doc.get("description", "")),
                             document=JSON(json.loads(json.dumps(doc))))
            for stem, doc in load_templates()]


@strawberry.type
class TemplateQueries:
    strategy_templates: list[StrategyTemplate] = strawberry.field(
        resolver=strategy_templates,
        description="Example strategies to start from (public: no sign-in needed).")
