"""SMTP settings and sending through a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest

from mailtools import self_signed, smtp_server, start_controller
from paperscope.errors import InputError
from paperscope.serve.email.config import mail_config_from_env, parse_smtp_url
from paperscope.serve.email.smtp import MailError, send_message


def message(to: str = "ada@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = "Grüße: a test"
    msg.set_content("plain body ü\n")
    return msg


# --- URL parsing ------------------------------------------------------------------------


def test_plain_url_with_credentials_and_default_port():
    config = parse_smtp_url("smtp://ada%40lab:p%3Ass@mail.example.org", "Lab <lab@example.org>")
    assert (config.host, config.port) == ("mail.example.org", 25)
    assert (config.username, config.password) == ("ada@lab", "p:ss")
    assert not config.ssl and not config.starttls
    assert config.mail_from == "Lab <lab@example.org>"
    assert config.from_domain == "example.org"


def test_smtps_is_implicit_tls_on_465():
    config = parse_smtp_url("smtps://u:p@mail.example.org")
    assert config.ssl and not config.starttls and config.port == 465


def test_starttls_option_and_explicit_port():
    config = parse_smtp_url("smtp://u:p@mail.example.org:2587?starttls=true&timeout=5")
    assert config.starttls and not config.ssl
    assert (config.port, config.timeout) == (2587, 5.0)
    assert parse_smtp_url("smtp://mail.example.org?starttls=true").port == 587


def test_url_without_credentials():
    config = parse_smtp_url("smtp://127.0.0.1:2525")
    assert config.username is None and config.password is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.org", "unsupported scheme"),
        ("mail.example.org:25", "unsupported scheme"),
        ("smtp://", "no host"),
        ("smtp://host:notaport", "bad port"),
        ("smtp://host?starttls=maybe", "not true or false"),
        ("smtps://host?starttls=true", "already TLS"),
        ("smtp://host?tls=1", "unknown option"),
    ],
)
def test_bad_urls_say_what_is_wrong(url, words):
    with pytest.raises(InputError, match=words):
        parse_smtp_url(url)


def test_bad_url_message_hides_the_password():
    with pytest.raises(InputError) as caught:
        parse_smtp_url("smtp://u:secret@host:nope")
    assert "secret" not in str(caught.value)


def test_env_settings_and_missing_url():
    env = {"PAPERSCOPE_SMTP_URL": "smtp://h:26", "PAPERSCOPE_MAIL_FROM": "x@example.com"}
    config = mail_config_from_env(env)
    assert (config.host, config.port, config.mail_from) == ("h", 26, "x@example.com")
    with pytest.raises(InputError, match="no SMTP server configured") as caught:
        mail_config_from_env({})
    assert "PAPERSCOPE_SMTP_URL" in caught.value.hint
    with pytest.raises(InputError, match="PAPERSCOPE_MAIL_FROM"):
        mail_config_from_env({"PAPERSCOPE_SMTP_URL": "smtp://h", "PAPERSCOPE_MAIL_FROM": "nope"})


# --- sending ----------------------------------------------------------------------------


def test_send_fills_from_date_and_message_id():
    with smtp_server() as server:
        config = parse_smtp_url(server.url, "Paperscope <digest@example.net>")
        send_message(message(), config)
    assert len(server.messages) == 1
    got = server.messages[0]
    assert got["From"] == "Paperscope <digest@example.net>"
    assert got["To"] == "ada@example.org"
    assert got["Subject"] == "Grüße: a test"
    assert got["Date"] and got["Message-ID"].endswith("@example.net>")
    assert got.get_content().replace("\r\n", "\n") == "plain body ü\n"
    assert server.envelopes == [("digest@example.net", ["ada@example.org"])]


def test_send_reads_the_environment(monkeypatch):
    with smtp_server() as server:
        monkeypatch.setenv("PAPERSCOPE_SMTP_URL", server.url)
        monkeypatch.setenv("PAPERSCOPE_MAIL_FROM", "env@example.com")
        send_message(message())
    assert server.messages[0]["From"] == "env@example.com"


def test_login_over_starttls(tmp_path):
    cert = self_signed(tmp_path)
    with smtp_server(user="ada", password="s3cret", tls="starttls", cert=cert) as server:
        send_message(message(), parse_smtp_url(f"{server.url}&cafile={cert[0]}"))
        assert len(server.messages) == 1
        with pytest.raises(MailError, match="refused the login") as caught:
            bad = server.url.replace("s3cret", "wrong")
            send_message(message(), parse_smtp_url(f"{bad}&cafile={cert[0]}"))
        assert caught.value.permanent and "wrong" not in str(caught.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_self_signed_certificate(tmp_path):
    cert = self_signed(tmp_path)
    with smtp_server(user="ada", password="pw", tls="ssl", cert=cert) as server:
        send_message(message(), parse_smtp_url(f"{server.url}?cafile={cert[0]}"))
        assert len(server.messages) == 1
        # without trusting the certificate the TLS handshake fails, clearly
        with pytest.raises(MailError, match="TLS with SMTP server"):
            send_message(message(), parse_smtp_url(server.url))
    assert len(server.messages) == 1


def test_starttls_against_a_server_without_it():
    with smtp_server() as server, pytest.raises(MailError, match="does not offer STARTTLS"):
        send_message(message(), parse_smtp_url(server.url + "?starttls=true"))
    assert server.messages == []


@pytest.mark.parametrize(
    ("reply", "permanent"), [("451 4.3.0 try again later", False), ("554 5.7.1 no", True)]
)
def test_refused_data_is_an_error_with_the_reply(reply, permanent):
    with smtp_server([reply]) as server:
        with pytest.raises(MailError, match=reply.split()[0]) as caught:
            send_message(message(), parse_smtp_url(server.url))
        assert caught.value.permanent is permanent
        send_message(message(), parse_smtp_url(server.url))  # the script is used up
    assert len(server.messages) == 1


def test_refused_recipient():
    class Picky:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 no such user"

    controller = start_controller(Picky())
    try:
        with pytest.raises(MailError, match=r"refused the recipient.*550"):
            send_message(message(), parse_smtp_url(f"smtp://127.0.0.1:{controller.port}"))
    finally:
        controller.stop()


def test_dropped_connection_is_an_error():
    with smtp_server(["drop"]) as server, pytest.raises(MailError, match=r"closed the connection"):
        send_message(message(), parse_smtp_url(server.url))
    assert server.messages == []


def test_no_server_listening():
    # a port held (bound, never listening) for the test: refused, and no other process can
    # start listening on it meanwhile
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(MailError, match=r"127\.0\.0\.1") as caught:
            send_message(message(), parse_smtp_url(f"smtp://127.0.0.1:{port}?timeout=5"))
    assert caught.value.hint
