"""Regenerate the generated parts of the docs: docs/scenario.md (the file reference), the
KPI table of docs/outputs.md and the import table of docs/architecture.md.

    .venv/bin/python scripts/refresh_docs.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectsim.experiments.schema_doc import render  # noqa: E402
from collectsim.results.catalogue import markdown_table  # noqa: E402
from tests.test_architecture import import_table  # noqa: E402


def _splice(path: Path, start: str, table: str) -> None:
    text = path.read_text()
    i = text.index(start) + len(start)
    j = i
    lines = text[i:].splitlines(keepends=True)
    k = 0
    while k < len(lines) and not lines[k].startswith("|"):
        j += len(lines[k])
        k += 1
    head = text[:j]
    while k < len(lines) and lines[k].startswith("|"):
        k += 1
    path.write_text(head + table + "".join(lines[k:]))


def main() -> None:
    (ROOT / "docs" / "scenario.md").write_text(render())
    _splice(ROOT / "docs" / "outputs.md", "<!-- kpi table:", markdown_table())
    _splice(ROOT / "docs" / "architecture.md", "Which part imports which", import_table())
    print("docs refreshed")


if __name__ == "__main__":
    main()
