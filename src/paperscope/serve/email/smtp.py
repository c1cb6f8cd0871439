"""Send one message through the configured SMTP server (plain, STARTTLS or implicit TLS).

    send_message(msg)            # settings from PAPERSCOPE_SMTP_URL / PAPERSCOPE_MAIL_FROM
    send_message(msg, config)    # or explicit ones

The message counts as delivered only when `send_message` returns: the server accepted it for
every recipient. Anything else raises `MailError` naming the server, the stage that failed and
the server's reply, never the password.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from paperscope.errors import PaperscopeError
from paperscope.serve.email.config import MailConfig, mail_config_from_env


class MailError(PaperscopeError):
    """The SMTP server could not be reached or did not accept the message."""

    http_status = 502

    def __init__(self, message: str, *, hint: str | None = None, permanent: bool = False):
        super().__init__(message, hint=hint)
        #: A 5xx reply (the server says retrying will not help); 4xx and dropped
        #: connections are temporary. Callers retry both, permanent ones give up sooner.
        self.permanent = permanent


def tls_context(config: MailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.cafile)
    if not config.verify:
        # verify=false in the URL: a local test server with a self-signed certificate
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _open(config: MailConfig) -> smtplib.SMTP:
    if config.ssl:
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=tls_context(config)
        )
    return smtplib.SMTP(config.host, config.port, timeout=config.timeout)


def _login(client: smtplib.SMTP, config: MailConfig) -> None:
    if config.starttls:
        client.ehlo()
        if not client.has_extn("starttls"):
            raise MailError(
                f"SMTP server {config.where} does not offer STARTTLS",
                hint="drop ?starttls=true, or use smtps:// if it speaks implicit TLS",
                permanent=True,
            )
        client.starttls(context=tls_context(config))
        client.ehlo()
    if config.username is not None:
        client.login(config.username, config.password or "")


def prepare(msg: EmailMessage, config: MailConfig) -> EmailMessage:
    """Fill From, Date and Message-ID when the caller left them out."""
    if msg["From"] is None:
        msg["From"] = config.mail_from
    if msg["Date"] is None:
        msg["Date"] = formatdate(usegmt=True)
    if msg["Message-ID"] is None:
        msg["Message-ID"] = make_msgid(domain=config.from_domain)
    return msg


def send_message(msg: EmailMessage, config: MailConfig | None = None) -> None:
    """Deliver `msg` to the SMTP server; returns only when it accepted every recipient."""
    config = config or mail_config_from_env()
    prepare(msg, config)
    if msg["To"] is None:
        raise MailError("the message has no To: header", permanent=True)
    try:
        with _open(config) as client:
            _login(client, config)
            refused = client.send_message(msg)
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"SMTP server {config.where} refused the login: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}",
            hint="check the user name and password in PAPERSCOPE_SMTP_URL",
            permanent=True,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        replies = "; ".join(f"{rcpt}: {_reply(*reply)}" for rcpt, reply in exc.recipients.items())
        codes = [reply[0] for reply in exc.recipients.values()]
        raise MailError(
            f"SMTP server {config.where} refused the recipient: {replies}",
            permanent=all(code >= 500 for code in codes),
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"SMTP server {config.where} refused the sender {exc.sender}: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}",
            hint="check PAPERSCOPE_MAIL_FROM",
            permanent=exc.smtp_code >= 500,
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(
            f"SMTP server {config.where} did not accept the message: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}",
            permanent=exc.smtp_code >= 500,
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise MailError(
            f"SMTP server {config.where} closed the connection: {exc or 'no reason given'}"
        ) from None
    except ssl.SSLError as exc:
        raise MailError(
            f"TLS with SMTP server {config.where} failed: {exc.reason or exc}",
            hint="smtps:// needs a server speaking implicit TLS (usually port 465); "
            "?starttls=true one that offers STARTTLS (usually 587)",
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"cannot send through SMTP server {config.where}: {exc or type(exc).__name__}",
            hint="is the server running, and PAPERSCOPE_SMTP_URL right?",
        ) from None
    if refused:
        replies = "; ".join(f"{rcpt}: {_reply(*reply)}" for rcpt, reply in refused.items())
        raise MailError(f"SMTP server {config.where} refused a recipient: {replies}")
