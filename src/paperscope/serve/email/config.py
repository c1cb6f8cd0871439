"""Mail settings from one URL: ``PAPERSCOPE_SMTP_URL`` and the sender ``PAPERSCOPE_MAIL_FROM``.

    smtp://user:pass@host:port             plain SMTP (port 25 unless given)
    smtp://user:pass@host:587?starttls=true  upgrade with STARTTLS before logging in
    smtps://user:pass@host:465             implicit TLS from the first byte (port 465 unless given)

User name and password are percent-decoded (``%40`` for ``@``). Query options: ``starttls``
(true/false), ``timeout`` (seconds, default 30), ``verify`` (false skips certificate checks, for
a test server with a self-signed certificate only) and ``cafile`` (trust this CA bundle instead).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from paperscope.errors import InputError

SMTP_URL_ENV = "PAPERSCOPE_SMTP_URL"
MAIL_FROM_ENV = "PAPERSCOPE_MAIL_FROM"
DEFAULT_TIMEOUT = 30.0
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class MailConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    #: Implicit TLS (smtps://): the connection is TLS from the start.
    ssl: bool = False
    #: Plain connection upgraded with STARTTLS before authenticating.
    starttls: bool = False
    timeout: float = DEFAULT_TIMEOUT
    verify: bool = True
    cafile: str | None = None
    mail_from: str = ""

    @property
    def where(self) -> str:
        """host:port for messages (never the password)."""
        return f"{self.host}:{self.port}"

    @property
    def from_domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        address = parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "localhost"


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InputError(f"{SMTP_URL_ENV}: {name}={value!r} is not true or false")


def default_mail_from() -> str:
    return f"paperscope <paperscope@{socket.getfqdn() or 'localhost'}>"


def check_mail_from(value: str) -> str:
    name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise InputError(
            f"{MAIL_FROM_ENV}: not an email address: {value!r}",
            hint='use an address or "Name <address@example.org>"',
        )
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def parse_smtp_url(url: str, mail_from: str | None = None) -> MailConfig:
    """A `MailConfig` from an smtp:// or smtps:// URL; InputError says what is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise InputError(
            f"{SMTP_URL_ENV}: unsupported scheme {parts.scheme or '(none)'!r}",
            hint="smtp://user:pass@host:port, smtps://... or smtp://...?starttls=true",
        )
    if not parts.hostname:
        raise InputError(f"{SMTP_URL_ENV}: no host in {_redact(url)!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{SMTP_URL_ENV}: bad port in {_redact(url)!r}") from exc
    options = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(options) - {"starttls", "timeout", "verify", "cafile"}
    if unknown:
        raise InputError(
            f"{SMTP_URL_ENV}: unknown option {', '.join(sorted(unknown))}",
            hint="known: starttls, timeout, verify, cafile",
        )
    ssl = scheme == "smtps"
    starttls = _flag(options.get("starttls", "false"), "starttls")
    if ssl and starttls:
        raise InputError(f"{SMTP_URL_ENV}: smtps:// is already TLS; drop starttls=true")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError as exc:
        raise InputError(f"{SMTP_URL_ENV}: timeout must be a number of seconds") from exc
    return MailConfig(
        host=parts.hostname,
        port=port or (465 if ssl else 587 if starttls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        ssl=ssl,
        starttls=starttls,
        timeout=timeout,
        verify=_flag(options.get("verify", "true"), "verify"),
        cafile=options.get("cafile") or None,
        mail_from=check_mail_from(mail_from) if mail_from else default_mail_from(),
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def mail_config_from_env(environ: dict[str, str] | None = None) -> MailConfig:
    """The mail settings of this process; InputError when no SMTP server is configured."""
    env = os.environ if environ is None else environ
    url = env.get(SMTP_URL_ENV, "").strip()
    if not url:
        raise InputError(
            "no SMTP server configured",
            hint=f"set {SMTP_URL_ENV}=smtp://user:pass@host:port (and {MAIL_FROM_ENV})",
        )
    return parse_smtp_url(url, env.get(MAIL_FROM_ENV, "").strip() or None)


def mail_from_env(environ: dict[str, str] | None = None) -> str:
    """The sender address, even when no SMTP server is configured (for previews)."""
    env = os.environ if environ is None else environ
    value = env.get(MAIL_FROM_ENV, "").strip()
    return check_mail_from(value) if value else default_mail_from()
