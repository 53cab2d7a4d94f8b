"""The settings table of docs/operations.md, generated from ``store.settings``.

``store/settings.py`` is the one reader of the environment: its module docstring describes each
variable (an entry ``NAME`` or ``NAME1``, ``NAME2`` followed by an indented description), and
``Settings.from_env`` names the variable each field is read from. This module reads both:

- :func:`field_variables`: each ``Settings`` field and the environment variables it is read
  from (from the source of ``from_env``, following its local variables: ``production`` is read
  from ``ENV``...);
- :func:`markdown_table`: one row per docstring entry (variables, their defaults, what they do);
- ``python -m tests.docs.settings_table``: prints the table;
  ``python -m tests.docs.settings_table --write`` replaces it in docs/operations.md (between
  ``<!-- settings:begin -->`` and ``<!-- settings:end -->``).

``tests/docs/test_docs.py`` checks that every field's variables appear in docs/operations.md.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import textwrap
from pathlib import Path

from store import settings as settings_module
from store.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"
_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _strings(node: ast.AST) -> set[str]:
    """Upper-case string constants (environment variable names) anywhere in ``node``."""
    return {n.value for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and _NAME.match(n.value)}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def field_variables() -> dict[str, set[str]]:
    """Each ``Settings`` field -> the environment variables ``from_env`` reads it from."""
    source = textwrap.dedent(inspect.getsource(Settings.from_env))
    func = ast.parse(source).body[0]
    assert isinstance(func, ast.FunctionDef)
    local: dict[str, set[str]] = {}  # local variable -> its variables (and locals it uses)

    def resolve(node: ast.AST, seen: frozenset[str] = frozenset()) -> set[str]:
        found = _strings(node)
        for name in _names(node) - seen:
            if name in local_nodes:
                found |= resolve(local_nodes[name], seen | {name})
        return found

    local_nodes: dict[str, ast.AST] = {}
    call: ast.Call | None = None
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], ast.Name):
            local_nodes[stmt.targets[0].id] = stmt.value
        if (isinstance(stmt, ast.Call) and isinstance(stmt.func, ast.Name)
                and stmt.func.id == "cls"):
            call = stmt
    assert call is not None, "Settings.from_env no longer calls cls(...)"
    for name, node in local_nodes.items():
        local[name] = resolve(node, frozenset({name}))
    out = {kw.arg: resolve(kw.value) for kw in call.keywords if kw.arg}
    for f in dataclasses.fields(Settings):
        out.setdefault(f.name, set())
    return out


def docstring_entries() -> list[tuple[list[str], str]]:
    """The module docstring's entries: ``([variables], description)`` in their order."""
    doc = settings_module.__doc__ or ""
    entries: list[tuple[list[str], str]] = []
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        names = re.findall(r"``([A-Z][A-Z0-9_]+)``", line)
        if names and re.fullmatch(r"(``[A-Z][A-Z0-9_]+``(, )?)+", line.strip()):
            body: list[str] = []
            i += 1
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if not lines[i].strip() and (i + 1 >= len(lines)
                                             or not lines[i + 1].startswith("    ")):
                    break
                body.append(lines[i].strip())
                i += 1
            entries.append((names, " ".join(b for b in body if b)))
            continue
        i += 1
    return entries


def _evaluate(node: ast.expr) -> str:
    """``node`` (a default in ``from_env``) as Markdown, evaluated with ``store.settings``'
    constants; "see *what*" when it depends on another variable."""
    try:
        value = eval(compile(ast.Expression(node), "<from_env>", "eval"),  # our own source
                     dict(vars(settings_module)))
    except NameError:
        return "see *what*"
    if isinstance(value, tuple):
        value = value[0] if value else None
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        value = 1 if value else 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def variable_defaults() -> dict[str, str]:
    """Each variable ``from_env`` reads -> its default as Markdown, from the code that reads it:
    ``_int(source, NAME, 20)`` -> `20`, ``_choice(source, NAME, (a, b))`` -> `a`,
    ``source.get(NAME) or X`` -> X, ``source.get(NAME)`` -> unset; a default computed from
    another variable -> "see *what*"."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Settings.from_env)))
    fallback: dict[int, ast.expr] = {}  # id(a source.get call) -> what `or` gives without it
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            fallback[id(node.values[0])] = node.values[1]
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        names = [a.value for a in node.args if isinstance(a, ast.Constant)
                 and isinstance(a.value, str) and _NAME.match(a.value)]
        if not names or names[0] in out:
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if func == "get":
            other = fallback.get(id(node))
            out[names[0]] = "unset" if other is None or (
                isinstance(other, ast.Constant) and other.value is None) else _evaluate(other)
        elif func.startswith("_") and len(node.args) >= 3:
            out[names[0]] = _evaluate(node.args[2])
        else:
            out[names[0]] = "unset"
    return out


def _markdown(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|")


def markdown_table() -> str:
    """The settings table (Markdown), one row per variable documented in ``store.settings``."""
    defaults = variable_defaults()
    rows = ["| variable | default | what |", "|---|---|---|"]
    for names, text in docstring_entries():
        # a variable from_env does not read (uvicorn's, prometheus-client's): its entry says
        values = [defaults.get(n, "see *what*") for n in names]
        default = ", ".join(values) if len(set(values)) > 1 else values[0]
        rows.append(f"| {', '.join(f'`{n}`' for n in names)} | {default} | {_markdown(text)} |")
    return "\n".join(rows)


def write(doc: Path = DOC) -> None:
    """Replace the table between the markers of ``doc``."""
    text = doc.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + markdown_table() + "\n" + text[end:])


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        print(markdown_table())
