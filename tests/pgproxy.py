"""A TCP proxy on 127.0.0.1 in front of PostgreSQL's unix socket that can cut chosen sessions.

It reads the client side of the wire protocol only as far as it must: the start-up message
(to know the session's `application_name`) and the type byte of each message after it. A
session whose application name starts with `cut_prefix` is closed on both sides when it sends
its first query, as when the server stops between a client's connecting and its asking.
Every other session is passed through untouched.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from urllib.parse import parse_qs, urlsplit

_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104
_QUERIES = {b"Q", b"P"}  # a simple query; Parse, the first message of an extended query


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class CuttingProxy:
    def __init__(self, url: str, cut_prefix: str) -> None:
        parts = urlsplit(url)
        host = parse_qs(parts.query)["host"][0]
        self.socket_path = f"{host}/.s.PGSQL.{parts.port or 5432}"
        self.cut_prefix = cut_prefix
        self.cut = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = (
            f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{self.port}{parts.path}"
            "?sslmode=disable&gssencmode=disable"
        )
        threading.Thread(target=self._accept, name="pg-cutting-proxy", daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client: socket.socket) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.connect(self.socket_path)
        threading.Thread(target=_pump, args=(server, client), daemon=True).start()
        try:
            while True:  # start-up: SSL/GSS requests (answered by the server), then start-up
                head = _read_exact(client, 8)
                length, code = struct.unpack("!ii", head)
                body = _read_exact(client, length - 8)
                server.sendall(head + body)
                if code not in (_SSL_REQUEST, _GSS_REQUEST):
                    break
            fields = body.split(b"\0")
            params = dict(zip(fields[0::2], fields[1::2], strict=False))
            cutting = params.get(b"application_name", b"").startswith(self.cut_prefix.encode())
            while True:
                kind = _read_exact(client, 1)
                (length,) = struct.unpack("!i", _read_exact(client, 4))
                rest = _read_exact(client, length - 4)
                if cutting and kind in _QUERIES:
                    self.cut += 1
                    break
                server.sendall(kind + struct.pack("!i", length) + rest)
        except (ConnectionError, OSError):
            pass
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
