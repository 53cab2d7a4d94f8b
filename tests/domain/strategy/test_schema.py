"""The generated JSON Schema: valid Draft 2020-12, accepts every example, rejects what the
validator rejects (where a schema can say it), and the committed copy is up to date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from domain.indicators.api import INDICATORS
from domain.strategy import parse_strategy, strategy_json_schema, validate_strategy
from domain.strategy.fields import STRATEGY_FIELDS
from tests.domain.strategy.helpers import EXAMPLES, ROOT, SCHEMA_FILE, doc, load

REGENERATE = "python -m domain.strategy.schema > docs/strategy.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = strategy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_up_to_date() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == strategy_json_schema(), (
        f"docs/strategy.schema.json is stale: regenerate it with `{REGENERATE}` (or make schema)")


def test_module_prints_the_schema() -> None:
    out = subprocess.run([sys.executable, "-W", "error", "-m", "domain.strategy.schema"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stderr == ""
    assert json.loads(out.stdout) == strategy_json_schema()
    assert out.stdout == SCHEMA_FILE.read_text(), f"regenerate with `{REGENERATE}`"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: Path(p).name)
def test_examples_and_their_normalized_form_validate(
        validator: jsonschema.Draft202012Validator, path: Path) -> None:
    d = load(path)
    assert [e.message for e in validator.iter_errors(d)] == []
    assert [e.message for e in validator.iter_errors(parse_strategy(d).document)] == []


def test_base_document_validates(validator: jsonschema.Draft202012Validator) -> None:
    assert validator.is_valid(doc())
    assert validator.is_valid(doc(exit=None, risk={"stop_loss_pct": 2}))
    assert validator.is_valid(doc(risk={"stop_loss_pct": "$fast",
                                        "sizing": {"mode": "risk_pct", "value": 100}}))


def _with(path: str, value: Any, **top: Any) -> dict[str, Any]:
    d = doc(**top)
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k] if not k.isdigit() else node[int(k)]  # type: ignore[index]
    node[keys[-1]] = value
    return d


INVALID = {
    "unknown key": doc(extra=1),
    "negative period": _with("exit.left.period", -3),
    "fractional period": _with("exit.left.period", 2.5),
    "unknown indicator": _with("exit.left.indicator", "smaa"),
    "unknown output": _with("exit.left.output", "upper"),
    "unknown indicator key": _with("exit.left.perod", 3),
    "bad price": _with("exit.right", {"price": "closee"}),
    "bad op": _with("exit.op", "=>"),
    "empty all": doc(entry={"all": []}),
    "fraction > 1": doc(risk={"sizing": {"value": 1.5}}),
    "risk_pct > 100": doc(risk={"stop_loss_pct": 2, "sizing": {"mode": "risk_pct", "value": 101}}),
    "risk_pct without stop": doc(risk={"sizing": {"mode": "risk_pct", "value": 1}}),
    "risk_pct with null stop": doc(risk={"stop_loss_pct": None,
                                         "sizing": {"mode": "risk_pct", "value": 1}}),
    "never closes": doc(exit=None),
    "short target 100": doc(side="short", risk={"take_profit_pct": 100}),
    "bool number": doc(costs={"fee_bps": True}),
    "number as text": doc(costs={"fee_bps": "10"}),
    "bad param ref": _with("exit.left.period", "$9"),
    "range and values": _with("parameters.slow.range", {"start": 1, "stop": 2, "step": 1}),
    "step 0": _with("parameters.fast.range.step", 0),
    "bad parameter name": doc(parameters={"9x": 1}),
    "long name": doc(name="x" * 201),
    "blank name": doc(name=" "),
    "no entry": doc(entry=None),
    "mixed condition": doc(entry={"all": [doc()["exit"]], "left": 1, "op": ">", "right": 2}),
    "bars_ago negative": _with("exit.left.bars_ago", -1),
    "constant with bars_ago": _with("exit.right", {"value": 1, "bars_ago": 1}),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_schema_rejects_what_the_validator_rejects(validator: jsonschema.Draft202012Validator,
                                                   name: str) -> None:
    d = INVALID[name]
    assert validate_strategy(d), "the validator must reject it too"
    assert not validator.is_valid(d)


def test_schema_is_built_from_the_tables_and_the_registry() -> None:
    schema = strategy_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == [f.name for f in STRATEGY_FIELDS]
    assert schema["required"] == ["name", "entry"]
    assert schema["$defs"]["indicator"]["properties"]["indicator"]["enum"] == list(INDICATORS)
    for name, spec in INDICATORS.items():
        one = schema["$defs"][f"indicator_{name}"]
        assert one["description"] == spec.description
        assert one["properties"]["output"]["enum"] == list(spec.outputs)
        for p in spec.params:
            assert one["properties"][p.name]["default"] == p.default
    for props in (schema["properties"], schema["properties"]["risk"]["properties"]):
        for key, sub in props.items():
            assert sub["description"], key
