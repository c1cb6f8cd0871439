"""axe-core (vendored from npm into tests/axe/, with its licence) run in a real page.

    violations = axe_violations(page)   # [{"id", "impact", "help", "nodes": [...]}, ...]

The script is evaluated through the browser's debugging protocol, not added as a <script>, so
the page keeps its Content-Security-Policy as served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "axe" / "axe.min.js"
#: Impacts that fail a page.
BLOCKING = ("serious", "critical")


@cache
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(
                    n => n.target.join(" ") + " :: " + n.failureSummary)}));
        }"""
    )
    return result


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]
