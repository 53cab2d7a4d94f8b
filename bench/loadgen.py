"""A lean HTTP/1.1 load generator for ``bench/api.py``: raw asyncio sockets (uvloop when
installed), keep-alive connections, one POST body, latencies in milliseconds.

It runs in its own process so that the server's processes and it share the machine's CPUs
without sharing an interpreter, and it does as little as it can per request (no HTTP library:
a request is one prepared byte string, a response is read up to its ``Content-Length``), so
that most of the CPU goes to the server.

Modes:

* ``closed`` (the figures the issue asks for): ``--clients`` connections, each sending its next
  request as soon as the previous answer has arrived, ``--requests`` in all (after
  ``--warmup`` per connection that are not counted). Latency is send -> last byte received.
* ``open`` (extra): requests start at a fixed rate (``--rate`` per second) whatever the
  answers, each on an idle connection (a new one when none is idle, up to ``--clients``);
  latency counts from when the request was due, so a server falling behind shows up as
  growing latency rather than as a slower arrival rate (no coordinated omission).

Every answer must be ``200`` and contain no ``"errors"``; the first answer of each connection
is also parsed as JSON and must hold ``data``.

Usage: ``python bench/loadgen.py --url http://127.0.0.1:8000/graphql --token T --body FILE
[--mode closed|open] [--clients 50] [--requests 5000] [--rate 1000] [--warmup 20]``;
prints one JSON object: ``{"latencies_ms": [...], "wall_s": ..., "cpu_s": ..., "errors": 0}``
(``cpu_s``: this process's CPU time during the measured requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Coroutine
from typing import Any, cast
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    """One keep-alive connection: :meth:`request` sends the prepared bytes and resolves with
    the answer's status and body."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._need = -1  # bytes of the answer (headers included), once its headers are in
        self._head = 0
        self._status = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).split(b"\r\n")
            self._status = int(head[0].split(b" ", 2)[1])
            length = None
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                raise RuntimeError("an answer without Content-Length")
            self._head = end + 4
            self._need = self._head + length
        if len(self._buffer) >= self._need:
            body = bytes(self._buffer[self._head:self._need])
            del self._buffer[:self._need]
            self._need = -1
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result((self._status, body))

    def request(self, payload: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self._waiter


def prepare(url: str, token: str, body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return host, port, head + body


async def _connect(host: str, port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, host, port)
    return protocol


def _check(status: int, body: bytes, first: bool) -> bool:
    if status != 200 or b'"errors"' in body:
        return False
    return not first or "data" in json.loads(body)


async def closed_loop(host: str, port: int, payload: bytes, clients: int, requests: int,
                      warmup: int) -> dict[str, Any]:
    connections = [await _connect(host, port) for _ in range(clients)]
    errors = 0

    async def warm(c: _Connection) -> None:  # not counted (first answers checked in full)
        nonlocal errors
        for i in range(warmup):
            status, body = await c.request(payload)
            errors += not _check(status, body, i == 0)

    await asyncio.gather(*(warm(c) for c in connections))  # together: none idles meanwhile
    latencies: list[float] = []
    share = [requests // clients + (i < requests % clients) for i in range(clients)]
    clock = time.perf_counter

    async def client(c: _Connection, n: int) -> None:
        nonlocal errors
        for _ in range(n):
            t0 = clock()
            status, body = await c.request(payload)
            latencies.append((clock() - t0) * 1000)
            if status != 200 or b'"errors"' in body:
                errors += 1

    t0, cpu0 = clock(), time.process_time()
    await asyncio.gather(*(client(c, n) for c, n in zip(connections, share, strict=True)))
    wall, cpu = clock() - t0, time.process_time() - cpu0
    for c in connections:
        assert c.transport is not None
        c.transport.close()
    return {"latencies_ms": latencies, "wall_s": wall, "cpu_s": cpu, "errors": errors}


async def open_loop(host: str, port: int, payload: bytes, clients: int, requests: int,
                    rate: float, warmup: int) -> dict[str, Any]:
    idle = [await _connect(host, port) for _ in range(min(clients, 8))]
    errors = 0
    for c in idle:
        for i in range(warmup):
            status, body = await c.request(payload)
            errors += not _check(status, body, i == 0)
    opened = len(idle)
    latencies: list[float] = []
    clock = time.perf_counter
    pending: set[asyncio.Task[None]] = set()
    dropped = 0

    async def one(due: float) -> None:
        nonlocal errors, opened
        c = idle.pop() if idle else None
        if c is None:
            opened += 1
            c = await _connect(host, port)
        status, body = await c.request(payload)
        latencies.append((clock() - due) * 1000)
        if status != 200 or b'"errors"' in body:
            errors += 1
        idle.append(c)

    start, cpu0 = clock(), time.process_time()
    for i in range(requests):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(pending) >= clients:  # every connection busy: the request is dropped
            dropped += 1
            continue
        task = asyncio.create_task(one(due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    wall, cpu = clock() - start, time.process_time() - cpu0
    for c in idle:
        assert c.transport is not None
        c.transport.close()
    return {"latencies_ms": latencies, "wall_s": wall, "cpu_s": cpu, "errors": errors,
            "dropped": dropped, "connections": opened}


def _run(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    result: dict[str, Any] = uvloop.run(main)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--body", required=True, help="file with the POST body (JSON)")
    parser.add_argument("--mode", choices=("closed", "open"), default="closed")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0, help="open loop: requests/s")
    parser.add_argument("--warmup", type=int, default=20, help="uncounted requests per "
                                                              "connection first")
    args = parser.parse_args()
    with open(args.body, "rb") as f:
        host, port, payload = prepare(args.url, args.token, f.read())
    if args.mode == "closed":
        out = _run(closed_loop(host, port, payload, args.clients, args.requests, args.warmup))
    else:
        out = _run(open_loop(host, port, payload, args.clients, args.requests, args.rate,
                             args.warmup))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
