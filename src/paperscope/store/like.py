"""LIKE patterns built from user text, the same on SQLite and PostgreSQL."""

from __future__ import annotations

#: The escape character (`ESCAPE '!'`): not a backslash, whose reading in string literals
#: differs between SQL dialects and settings.
LIKE_ESCAPE = "!"


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with `ESCAPE '!'`: its `%` and `_` are characters, not
    wildcards."""
    for ch in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(ch, LIKE_ESCAPE + ch)
    return text
