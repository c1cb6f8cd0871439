"""uvicorn's HTTP protocol with Nagle's algorithm switched off on every connection.

asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP. The listening socket
uvicorn hands to its worker processes (`serve --workers N`) is rebuilt from a file descriptor
with proto 0, so accepted connections kept Nagle on; with the client's delayed ACKs every
keep-alive response then waited about 40 ms (wrk, 1 connection, /opensearch.xml: 44 ms per
request with 2 workers against 0.9 ms with 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        # a socket that is already closing has nothing to speed up
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


#: What `serve` passes to uvicorn as `http=` (an import string survives worker spawning).
PROTOCOL = "paperscope.serve.web.nodelay:NoDelayH11Protocol"
