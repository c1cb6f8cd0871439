"""Errors a user can act on, one tree for every surface.

    PaperscopeError            exit code 1, HTTP 400
    ├── InputError             bad input from the user: a file, an id, an option
    │   ├── UnknownFormatError a file no importer recognises
    │   └── QueryError         a malformed search query (exit code 2)
    ├── NotFoundError          an id that is not in the store (HTTP 404)
    ├── StoreError             the database cannot be opened, migrated or written
    │   └── StoreUnavailableError  its server cannot be reached now (HTTP 503)
    └── SourceError            a remote source failed or refused (HTTP 502)

The CLI prints ``error: <message>`` and ``hint: <hint>`` and exits with `exit_code`;
the web layer answers with `http_status` and the same message.
"""

from __future__ import annotations


class PaperscopeError(Exception):
    exit_code = 1
    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InputError(PaperscopeError):
    pass


class UnknownFormatError(InputError):
    pass


class QueryError(InputError):
    exit_code = 2

    def __init__(self, message: str, *, position: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.position = position


class NotFoundError(PaperscopeError):
    http_status = 404


class StoreError(PaperscopeError):
    http_status = 500


class StoreUnavailableError(StoreError):
    """The store's server stopped answering (PostgreSQL down or cut off): try again later."""

    http_status = 503


class SourceError(PaperscopeError):
    http_status = 502
