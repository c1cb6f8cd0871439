"""Local user accounts: argon2id password hashes, enable/disable, delete with all their data;
server-side sessions, API tokens, password-reset tokens and login throttling.

Every secret handed out (session id, API token, reset token) is random and stored only as its
SHA-256: a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperscope.dates import iso_utc
from paperscope.errors import InputError, NotFoundError
from paperscope.normalize import find_control, strip_controls
from paperscope.store.sqlite import SQLiteStore

#: One bare address, local@domain.tld: no display name, no second address, none of the
#: characters that make a mail header read another address out of it ("a@b.c<x>" is mailed
#: to a@b.c), no space or control character.
_ADDRESS_CHAR = r"[^@\s<>()\[\]\\,;:\"\x00-\x1f\x7f]"
_EMAIL_RE = re.compile(rf"^{_ADDRESS_CHAR}+@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+$")
MAX_DISPLAY_NAME = 100
#: Shorter passwords are refused; longer ones are capped so hashing cannot be made slow.
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
_hasher = PasswordHasher()


#: The one account of single-user mode (not a deliverable address: it never gets mail).
LOCAL_EMAIL = "local@localhost"
SESSION_DAYS = 30
RESET_MINUTES = 60
#: Login throttling: this many failures per key (email or client address) within the window.
MAX_FAILURES, FAILURE_WINDOW = 5, timedelta(minutes=15)
TOKEN_PREFIX = "ps_"


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True, frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: str
    last_used_at: str | None


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
        raise InputError(
            f"not an email address: {email!r}", hint="one bare address, as in ada@example.org"
        )
    return email


def check_display_name(name: str) -> str:
    """`name` without its outer spaces; an error when it is too long or holds a control
    character (a line break, a tab, an escape) or a bidi override."""
    name = name.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InputError(f"the display name must have at most {MAX_DISPLAY_NAME} characters")
    # a display name goes into email headers (where a line break ends the header) and onto
    # pages: no control character or bidi override belongs in it
    bad = find_control(name)
    if bad:
        raise InputError(
            f"the display name holds a control character ({bad.group()!r} at position "
            f"{bad.start()}): line breaks, tabs and escapes are not allowed in a name"
        )
    return name


def safe_display_name(name: str) -> str:
    """`name` with control characters and bidi overrides taken out: for names stored before
    `check_display_name` existed."""
    return strip_controls(name)


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
        display_name = check_display_name(display_name)
        if password is not None:
            check_password(password)
        if self.find(email) is not None:
            raise InputError(f"a user {email} already exists")
        digest = _hasher.hash(password) if password is not None else None
        cur = self.conn.execute(
            "INSERT INTO users (email, password_hash, display_name, is_admin, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (email, digest, display_name, int(is_admin), iso_utc()),
        )
        return self.get(cur.fetchone()[0])

    def find(self, email: str) -> User | None:
        row = self.conn.execute(
            "SELECT * FROM users WHERE lower(email) = lower(?)", (email.strip(),)
        ).fetchone()
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
        row = self.conn.execute(
            "SELECT * FROM users WHERE lower(email) = lower(?)", (email.strip(),)
        ).fetchone()
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

    def set_display_name(self, user_id: int, name: str) -> None:
        name = check_display_name(name)
        self.conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (name, user_id))

    def local_user(self) -> User:
        """The single-user mode's account, created (as an admin) on first use."""
        user = self.find(LOCAL_EMAIL)
        if user is None:
            self.conn.execute(
                "INSERT INTO users (email, display_name, is_admin, created_at) "
                "VALUES (?, 'local', 1, ?) ON CONFLICT DO NOTHING",
                (LOCAL_EMAIL, iso_utc()),
            )
            user = self.by_email(LOCAL_EMAIL)
        return user

    # ------------------------------------------------------------------ sessions

    def create_session(self, user_id: int, days: int = SESSION_DAYS) -> str:
        """A new session id for the cookie; only its hash is kept."""
        raw = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.conn.execute("DELETE FROM sessions WHERE expires_at < ?", (iso_utc(now),))
        self.conn.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (_digest(raw), user_id, iso_utc(now), iso_utc(now + timedelta(days=days))),
        )
        return raw

    def session_user(self, raw: str) -> User | None:
        """The enabled user of a live session, else None."""
        row = self.conn.execute(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND s.expires_at > ?",
            (_digest(raw), iso_utc()),
        ).fetchone()
        if row is None:
            return None
        user = _user(row)
        return None if user.disabled else user

    def end_session(self, raw: str) -> None:
        self.conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(raw),))

    def end_sessions(self, user_id: int) -> None:
        """Log the user out everywhere (password changed or reset, account disabled)."""
        self.conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    # ------------------------------------------------------------------ API tokens

    def create_token(self, user_id: int, name: str = "") -> str:
        """A new API token, returned once; only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.conn.execute(
            "INSERT INTO api_tokens (user_id, token_hash, name, created_at) VALUES (?, ?, ?, ?)",
            (user_id, _digest(token), name.strip()[:100], iso_utc()),
        )
        return token

    def token_user(self, token: str) -> User | None:
        row = self.conn.execute(
            "SELECT u.*, t.id AS token_id FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = ?",
            (_digest(token),),
        ).fetchone()
        if row is None or row["disabled"]:
            return None
        self.conn.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (iso_utc(), row["token_id"])
        )
        return _user(row)

    def tokens(self, user_id: int) -> list[ApiToken]:
        rows = self.conn.execute(
            "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ? "
            "ORDER BY id",
            (user_id,),
        )
        return [ApiToken(r["id"], r["name"], r["created_at"], r["last_used_at"]) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> None:
        """Revoke one of the user's own tokens (another user's id matches nothing)."""
        cur = self.conn.execute(
            "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no API token {token_id}")

    # ------------------------------------------------------------------ password reset

    def create_reset(self, email: str, minutes: int = RESET_MINUTES) -> tuple[User, str] | None:
        """A one-time reset token for an enabled user with that email, else None."""
        user = self.find(email)
        if user is None or user.disabled or user.email == LOCAL_EMAIL:
            return None
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.conn.execute(
            "DELETE FROM password_resets WHERE expires_at < ? OR used_at IS NOT NULL",
            (iso_utc(now),),
        )
        self.conn.execute(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
            (_digest(token), user.id, iso_utc(now + timedelta(minutes=minutes))),
        )
        return user, token

    def reset_valid(self, token: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM password_resets WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at > ?",
            (_digest(token), iso_utc()),
        ).fetchone()
        return row is not None

    def use_reset(self, token: str, password: str) -> User:
        """Set the password with a reset token: once, before it expires; ends all sessions."""
        check_password(password)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            cur = self.conn.execute(
                "UPDATE password_resets SET used_at = ? WHERE token_hash = ? "
                "AND used_at IS NULL AND expires_at > ? RETURNING user_id",
                (iso_utc(), _digest(token), iso_utc()),
            )
            row = cur.fetchone()
            if row is None:
                raise InputError(
                    "this password reset link is invalid, used or expired",
                    hint="ask for a new one on the password reset page",
                )
            user_id = row[0]
            self.conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?",
                (_hasher.hash(password), user_id),
            )
            self.conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return self.get(user_id)

    # ------------------------------------------------------------------ login throttling

    def login_wait(self, keys: list[str]) -> int:
        """Seconds until a login may be tried again for any of `keys` (0 = now)."""
        now = datetime.now(UTC)
        wait = 0
        for key in keys:
            rows = self.conn.execute(
                "SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at",
                (key, iso_utc(now - FAILURE_WINDOW)),
            ).fetchall()
            if len(rows) >= MAX_FAILURES:
                # free again when the oldest failure that still counts leaves the window
                oldest = _parse(rows[len(rows) - MAX_FAILURES][0])
                wait = max(wait, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1)
        return wait

    def record_failure(self, keys: list[str]) -> None:
        now = datetime.now(UTC)
        self.conn.execute(
            "DELETE FROM login_failures WHERE at < ?", (iso_utc(now - FAILURE_WINDOW),)
        )
        self.conn.executemany(
            "INSERT INTO login_failures (key, at) VALUES (?, ?)",
            [(key, iso_utc(now)) for key in keys],
        )

    def clear_failures(self, keys: list[str]) -> None:
        self.conn.executemany("DELETE FROM login_failures WHERE key = ?", [(k,) for k in keys])
