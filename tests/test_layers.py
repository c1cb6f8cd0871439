"""The layers import downward only: serve -> rank -> index -> store, and ingest -> store.

The shared modules at the top of the package (model, normalize, errors, dates, config) are
below every layer. The index's lexical compiler imported the query language from rank, one
layer up; the syntax tree it compiles now lives in the index (`index/query_tree.py`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import paperscope

PACKAGE = Path(paperscope.__file__).parent
#: What each layer may import from the other layers.
ALLOWED = {
    "store": set(),
    "index": {"store"},
    "rank": {"index", "store"},
    "ingest": {"store"},
    "serve": {"rank", "index", "store", "ingest"},
}


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """The paperscope layers a module imports, each with the line it is imported on."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "paperscope" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add((parts[1], node.lineno))
    return found


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for other, line in sorted(imported_layers(path)):
                if other != layer and other not in allowed:
                    upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {other}")
    assert upward == []


def test_the_shared_modules_import_no_layer():
    """model, normalize, errors, dates, config: below every layer. The package's own entry
    points (`paperscope.search`, `python -m paperscope`) are above them all."""
    shared = [
        p for p in sorted(PACKAGE.glob("*.py")) if p.name not in ("__init__.py", "__main__.py")
    ]
    assert len(shared) >= 5
    assert {p.name: imported_layers(p) for p in shared if imported_layers(p)} == {}


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from paperscope.rank import query as q\nimport paperscope.serve.cli\n")
    assert imported_layers(module) == {("rank", 1), ("serve", 2)}
