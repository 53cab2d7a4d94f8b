"""``schema.graphql``: the schema in SDL, as Strawberry's exporter prints it.

``python -m graph.schema_export`` (``make schema``) rewrites the file at the repository root;
``tests/graph/test_schema_file.py`` fails when the committed file differs from the code, so a
change to the API is always visible in review. The text is exactly what
``strawberry export-schema graph.schema:schema --output schema.graphql`` writes (that command
needs Strawberry's ``cli`` extra, which this project does not install).
"""

from __future__ import annotations

import sys
from pathlib import Path

from strawberry.printer import print_schema

from graph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def schema_text() -> str:
    """The SDL of :data:`graph.schema.schema`, with a final newline."""
    return print_schema(schema) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write :func:`schema_text` to ``argv[0]`` (default: :data:`SCHEMA_FILE`)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else SCHEMA_FILE
    path.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
