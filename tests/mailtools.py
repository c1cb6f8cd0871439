"""A real SMTP server on 127.0.0.1 for the email tests (aiosmtpd in a thread).

    with smtp_server() as server:          # server.url for PAPERSCOPE_SMTP_URL
        ...
        server.messages                    # email.message.EmailMessage, as received
        server.envelopes                   # (mail_from, rcpt_tos) per accepted message

`script` makes the server misbehave on the first calls of DATA: each entry is a reply such as
"451 try again later", or "drop" to close the connection without a reply; once the script is
used up every message is accepted.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import errno
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

#: Seconds aiosmtpd may take to start and answer its own first connection (its default, 5 s,
#: is too short on a busy machine: "SMTP server failed to start within allotted time").
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_controller(handler, **kwargs) -> Controller:
    """An aiosmtpd Controller started on a free 127.0.0.1 port (`.port`).

    aiosmtpd binds the port itself, so it can only be given one looked up as free; should
    another process take it meanwhile, the server is started again on another."""
    for attempt in range(5):
        controller = Controller(
            handler, hostname="127.0.0.1", port=free_port(), ready_timeout=READY_TIMEOUT, **kwargs
        )
        try:
            controller.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or attempt == 4:
                raise
            controller.loop.close()
        else:
            return controller
    raise AssertionError("unreachable")


@dataclass
class Recorder:
    script: list[str] = field(default_factory=list)
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the messages' bytes as received
    attempts: int = 0
    url: str = ""

    async def handle_DATA(self, server, session, envelope) -> str:
        self.attempts += 1
        if self.script:
            action = self.script.pop(0)
            if action == "drop":
                server.transport.close()
                return "421 closing"  # never reaches the client: the connection is gone
            return action
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content)
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 OK accepted"


def _authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    return check


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 made with openssl (valid one day)."""
    import subprocess

    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def smtp_server(
    script: list[str] | None = None,
    *,
    user: str | None = None,
    password: str | None = None,
    tls: str | None = None,
    cert: tuple[Path, Path] | None = None,
    smtputf8: bool = False,
) -> Iterator[Recorder]:
    """tls: None (plain), "ssl" (implicit TLS) or "starttls"; needs `cert` (certificate, key).
    smtputf8: offer SMTPUTF8 (RFC 6531), which addresses with non-ASCII letters need."""
    recorder = Recorder(script=list(script or []))
    kwargs: dict = {"enable_SMTPUTF8": smtputf8}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        if tls == "ssl":
            kwargs["ssl_context"] = context
        else:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
    if user is not None:
        kwargs["authenticator"] = _authenticator(user, password or "")
        # aiosmtpd only sees STARTTLS as TLS; an implicit-TLS connection is encrypted anyway
        kwargs["auth_require_tls"] = tls == "starttls"
        kwargs["auth_required"] = True
    controller = start_controller(recorder, **kwargs)
    port = controller.port
    scheme = "smtps" if tls == "ssl" else "smtp"
    creds = f"{user}:{password}@" if user is not None else ""
    query = "?starttls=true" if tls == "starttls" else ""
    recorder.url = f"{scheme}://{creds}127.0.0.1:{port}{query}"
    try:
        yield recorder
    finally:
        controller.stop()
