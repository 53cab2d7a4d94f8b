"""The documentation stays true to the code: quoted examples are the files themselves, every
setting is documented, every link and image exists, and the guide's screenshots are the
browser test's (``client/e2e/guide.e2e.ts``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domain.indicators.catalog import INDICATORS
from domain.strategy import validate_strategy
from store.settings import Settings
from tests.docs.settings_table import BEGIN, END, docstring_entries, field_variables

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GRAPHQL = DOCS / "graphql.md"
OPERATIONS = DOCS / "operations.md"
GUIDE = DOCS / "guide.md"
EXAMPLES = ROOT / "examples" / "graphql"
GUIDE_TEST = ROOT / "client" / "e2e" / "guide.e2e.ts"

# ```python file=examples/graphql/x.py ... ``` : a code block naming the file it quotes
FILE_BLOCK = re.compile(r"^```\w* file=(?P<path>\S+)\n(?P<body>.*?)^```$", re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def _file_blocks(doc: Path) -> list[tuple[str, str]]:
    return [(m["path"], m["body"]) for m in FILE_BLOCK.finditer(doc.read_text())]


def test_every_quoted_example_is_the_file_itself() -> None:
    blocks = _file_blocks(GRAPHQL)
    assert blocks, "docs/graphql.md quotes no example file"
    for path, body in blocks:
        file = ROOT / path
        assert file.is_file(), f"docs/graphql.md quotes {path}, which does not exist"
        assert body == file.read_text(), (
            f"docs/graphql.md's copy of {path} differs from the file: paste the file again")


def test_every_example_file_is_in_the_doc() -> None:
    quoted = {path for path, _ in _file_blocks(GRAPHQL)}
    files = {f"examples/graphql/{f.name}" for f in EXAMPLES.iterdir() if f.suffix in (".py", ".sh")}
    assert files, "no example files"
    assert files == quoted, f"examples not quoted in docs/graphql.md: {sorted(files - quoted)}"


def test_every_setting_is_in_operations_md() -> None:
    text = OPERATIONS.read_text()
    variables = field_variables()
    for field in Settings.__dataclass_fields__:
        assert variables[field], f"Settings.{field}: no environment variable found in from_env"
        for name in variables[field]:
            assert f"`{name}`" in text, (
                f"Settings.{field} ({name}) is not in docs/operations.md: run "
                "`.venv/bin/python -m tests.docs.settings_table --write`")


def test_every_documented_variable_is_in_the_settings_table() -> None:
    text = OPERATIONS.read_text()
    table = text[text.index(BEGIN):text.index(END)]
    for names, _ in docstring_entries():
        for name in names:
            assert f"`{name}`" in table, f"{name} (store/settings.py) is not in the table"


@pytest.mark.parametrize("doc", [*sorted(DOCS.glob("*.md")), ROOT / "README.md"],
                         ids=lambda p: p.name)
def test_relative_links_and_images_exist(doc: Path) -> None:
    for match in LINK.finditer(doc.read_text()):
        target = match["target"]
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{doc.name} links to {target}, which does not exist"


def test_the_guide_shows_every_screenshot_the_browser_test_takes() -> None:
    taken = set(re.findall(r"shot\(page, '([\w-]+)'", GUIDE_TEST.read_text()))
    shown = set(re.findall(r"\(images/guide/([\w-]+)\.png\)", GUIDE.read_text()))
    assert taken, "client/e2e/guide.e2e.ts takes no screenshot"
    assert shown == taken, (f"taken but not shown: {sorted(taken - shown)}; shown but not "
                            f"taken: {sorted(shown - taken)}")
    for name in taken:
        png = DOCS / "images" / "guide" / f"{name}.png"
        assert png.is_file(), f"{png} is missing: run the guide's browser test"
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
        assert len(data) < 400_000, f"{png} is {len(data)} bytes: too big for the repository"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (1280, 800), f"{png} is {width}x{height}, not 1280x800"


# --- docs/strategy.md -----------------------------------------------------------------------------

STRATEGY = DOCS / "strategy.md"
KIND_BLOCK = re.compile(r"^```json (?P<kind>strategy|condition|risk|costs)\n(?P<body>.*?)^```$",
                        re.M | re.S)
BASE = {"name": "docs example", "parameters": {"fast": 10, "slow": 50, "level": 30},
        "entry": {"left": {"price": "close"}, "op": ">", "right": 0},
        "exit": {"left": {"price": "close"}, "op": "<", "right": 0}}


def _strategy_examples() -> list[tuple[str, object]]:
    return [(m["kind"], json.loads(m["body"])) for m in KIND_BLOCK.finditer(STRATEGY.read_text())]


def test_every_strategy_md_example_is_valid() -> None:
    examples = _strategy_examples()
    kinds = {kind for kind, _ in examples}
    assert kinds == {"strategy", "condition", "risk", "costs"}, kinds
    for kind, example in examples:
        doc: object = example if kind == "strategy" else (
            {**BASE, "entry": example} if kind == "condition" else {**BASE, kind: example})
        problems = validate_strategy(doc)
        assert not problems, f"docs/strategy.md {kind} example {example}: {problems}"


def test_strategy_md_covers_every_indicator_operator_and_setting() -> None:
    text = STRATEGY.read_text()
    used = json.dumps([e for _, e in _strategy_examples()])
    for spec in INDICATORS.values():
        assert f"### `{spec.name}`: {spec.title}" in text, f"no section for {spec.name}"
        assert f'"indicator": "{spec.name}"' in used, f"no example uses {spec.name}"
        for param in spec.params:
            assert f"`{param.name}` ({param.default})" in text, f"{spec.name}.{param.name}"
        for output in spec.outputs:
            assert f"`{output}`" in text, f"{spec.name} output {output}"
    for op in (">", "<", ">=", "<=", "crosses_above", "crosses_below"):
        assert f'"op": "{op}"' in used, f"no example uses the operator {op}"
    for key in ('"all"', '"any"', '"not"', '"bars_ago"', '"value"', '"price"', '"range"',
                '"values"', '"stop_loss_pct"', '"take_profit_pct"', '"trailing_stop_pct"',
                '"fraction_of_equity"', '"fixed_quote"', '"risk_pct"', '"fee_bps"',
                '"slippage_bps"', '"initial_capital"', '"side": "short"'):
        assert key in used, f"no example of {key}"
