"""Strategy templates: every examples/*.json, valid, served without a sign-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.strategy.naming import document_problems
from graph.templates import EXAMPLES_DIR, load_templates
from tests.graph.conftest import Api

TEMPLATES = "{ strategyTemplates { key name description document } }"


def test_every_example_is_a_template_and_valid() -> None:
    found = load_templates()
    assert [stem for stem, _ in found] == sorted(p.stem for p in EXAMPLES_DIR.glob("*.json"))
    assert found, "examples/ holds no strategy"
    for stem, document in found:
        assert document_problems(document, len(json.dumps(document))) == [], stem


def test_a_missing_directory_has_no_templates(tmp_path: Path) -> None:
    assert load_templates(tmp_path / "nowhere") == ()


@pytest.mark.asyncio
async def test_templates_are_public_and_carry_the_documents(api: Api) -> None:
    result = await api.gql(TEMPLATES)
    assert "errors" not in result, result
    got = result["data"]["strategyTemplates"]
    by_id = {t["key"]: t for t in got}
    sma = json.loads((EXAMPLES_DIR / "sma_crossover.json").read_text())
    assert by_id["sma_crossover"]["document"] == sma
    assert by_id["sma_crossover"]["name"] == sma["name"]
    assert by_id["sma_crossover"]["description"] == sma["description"]
