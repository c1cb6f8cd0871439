"""Local user accounts: argon2id password hashes, enable/disable, delete with all their data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperscope.errors import InputError, NotFoundError
from paperscope.store.sqlite import SQLiteStore

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Shorter passwords are refused; longer ones are capped so hashing cannot be made slow.
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
_hasher = PasswordHasher()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(slots=True, frozen=True)
class User:
    id: int
    email: str
    display_name: str
    is_admin: bool
    disabled: bool
    created_at: str
    digest: str
    last_digest_at: str | None


def _user(row) -> User:
    return User(
        row["id"],
        row["email"],
        row["display_name"],
        bool(row["is_admin"]),
        bool(row["disabled"]),
        row["created_at"],
        row["digest"],
        row["last_digest_at"],
    )


def check_email(email: str) -> str:
    email = email.strip()
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise InputError(f"not an email address: {email!r}")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password must have at most {MAX_PASSWORD} characters")


class Accounts:
    """User rows of one store. Every method is one statement or one transaction."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.conn = store.conn

    def add(
        self,
        email: str,
        password: str | None = None,
        *,
        display_name: str = "",
        is_admin: bool = False,
    ) -> User:
        email = check_email(email)
        if password is not None:
            check_password(password)
        if self.find(email) is not None:
            raise InputError(f"a user {email} already exists")
        digest = _hasher.hash(password) if password is not None else None
        cur = self.conn.execute(
            "INSERT INTO users (email, password_hash, display_name, is_admin, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (email, digest, display_name, int(is_admin), now_iso()),
        )
        return self.get(cur.lastrowid)

    def find(self, email: str) -> User | None:
        row = self.conn.execute("SELECT * FROM users WHERE email = ?", (email.strip(),)).fetchone()
        return _user(row) if row else None

    def by_email(self, email: str) -> User:
        user = self.find(email)
        if user is None:
            raise NotFoundError(f"no user {email}", hint="`paperscope users list` shows them")
        return user

    def get(self, user_id: int) -> User:
        row = self.conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        return _user(row)

    def list(self) -> list[User]:
        return [_user(r) for r in self.conn.execute("SELECT * FROM users ORDER BY id")]

    def verify(self, email: str, password: str) -> User | None:
        """The user if the password is theirs and the account is enabled, else None."""
        row = self.conn.execute("SELECT * FROM users WHERE email = ?", (email.strip(),)).fetchone()
        if row is None or row["password_hash"] is None or len(password) > MAX_PASSWORD:
            # hash anyway so a missing account takes as long as a wrong password
            _hasher.hash("x" * MIN_PASSWORD)
            return None
        try:
            _hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(row["password_hash"]):
            self.set_password(row["id"], password)
        user = _user(row)
        return None if user.disabled else user

    def set_password(self, user_id: int, password: str) -> None:
        check_password(password)
        self.conn.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?", (_hasher.hash(password), user_id)
        )

    def set_disabled(self, user_id: int, disabled: bool = True) -> None:
        self.conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))

    def set_digest(self, user_id: int, digest: str) -> None:
        if digest not in ("daily", "weekly", "off"):
            raise InputError(f"unknown digest frequency {digest!r}", hint="daily, weekly or off")
        self.conn.execute("UPDATE users SET digest = ? WHERE id = ?", (digest, user_id))

    def delete(self, user_id: int) -> None:
        """The user and everything of theirs (foreign keys cascade)."""
        self.get(user_id)
        self.conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
