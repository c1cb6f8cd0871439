"""`serve`'s HTTP protocol turns Nagle off even on sockets asyncio leaves alone."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from paperscope.serve.web.nodelay import set_nodelay


class _Probe(asyncio.Protocol):
    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        set_nodelay(transport)
        after = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        self.seen.extend((before, after))
        transport.close()


def test_nodelay_on_a_listener_rebuilt_from_a_file_descriptor():
    async def scenario() -> list[int]:
        original = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        original.bind(("127.0.0.1", 0))
        # what uvicorn's worker processes get: the listener rebuilt from its descriptor
        listener = socket.fromfd(original.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        original.close()
        seen: list[int] = []
        server = await asyncio.get_running_loop().create_server(lambda: _Probe(seen), sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        # until the server side has seen the connection (a busy machine may take a while)
        async with asyncio.timeout(60):
            while not seen:
                await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()
        return seen

    # a thread of its own: the session's playwright browser keeps a loop running in this one
    with ThreadPoolExecutor(1) as pool:
        before, after = pool.submit(asyncio.run, scenario()).result(timeout=120)
    assert before == 0  # asyncio did not set it: the bug this module works around
    assert after != 0
