"""Clients of Server-Sent Event streams.

``StreamPool`` drives a child process (``python -m bench.sse_client``) that
holds many streams open on raw sockets, one asyncio protocol each, so that
thousands of them cost the client little. The parent talks to it in JSON
lines: ``arm`` a marker, publish, then ``wait`` until every stream has seen
it. Times are ``time.monotonic()``, which on Linux is one clock for every
process on the machine, so the parent can compare them with its own.

``read_events`` is the single-stream client of the sync stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

CONNECT_CONCURRENCY = 100
OPEN_TIMEOUT_SECONDS = 120.0


@dataclass
class SseMessage:
    event: str
    data: str


async def read_events(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """The messages of an SSE response; comments and ids are skipped."""
    # A batch can span megabytes and many chunks: only the bytes that came
    # since the last search are searched again, so reading stays linear.
    buffer = bytearray()
    searched = 0
    async for chunk in response.aiter_bytes():
        buffer += chunk
        while (end := buffer.find(b"\n\n", searched)) >= 0:
            block = bytes(buffer[:end])
            del buffer[: end + 2]
            searched = 0
            message = _parse_block(block)
            if message is not None:
                yield message
        searched = max(len(buffer) - 1, 0)


def _parse_block(block: bytes) -> SseMessage | None:
    event, data = "message", []
    for line in block.decode().split("\n"):
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
    if not data:
        return None
    return SseMessage(event, "\n".join(data))


class StreamProtocol(asyncio.Protocol):
    """One open stream that remembers when it first saw the armed marker."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.opened = asyncio.get_running_loop().create_future()
        self.head = b""
        self.tail = b""
        self.seen_at: float | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.pool.request)

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.head += data
            # The first body bytes (the retry line) mean the stream is
            # subscribed on the server, not just accepted.
            if b"\r\n\r\n" not in self.head:
                return
            if not self.head.startswith(b"HTTP/1.1 200"):
                self.opened.set_result(False)
                self.transport.close()  # type: ignore[union-attr]
            elif b"retry:" in self.head:
                self.opened.set_result(True)
            return
        self.pool.received_bytes += len(data)
        marker = self.pool.marker
        if marker is None or self.seen_at is not None:
            return
        window = self.tail + data
        if marker in window:
            self.seen_at = time.monotonic()
            self.pool.seen(self)
        self.tail = window[-len(marker) :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_result(False)


class Pool:
    """The streams of one client process."""

    def __init__(self, host: str, port: int, path: str, token: str) -> None:
        self.host, self.port = host, port
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self.streams: list[StreamProtocol] = []
        self.marker: bytes | None = None
        self.waiting = 0
        self.all_seen = asyncio.Event()
        self.received_bytes = 0
        self.armed_cpu = 0.0

    async def open(self, count: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
        started = time.monotonic()

        async def one() -> bool:
            async with limit:
                try:
                    _, protocol = await loop.create_connection(
                        lambda: StreamProtocol(self), self.host, self.port
                    )
                except OSError:
                    return False
                self.streams.append(protocol)
                return await asyncio.wait_for(protocol.opened, OPEN_TIMEOUT_SECONDS)

        results = await asyncio.gather(
            *(one() for _ in range(count)), return_exceptions=True
        )
        opened = sum(1 for result in results if result is True)
        return {
            "opened": opened,
            "failed": count - opened,
            "seconds": time.monotonic() - started,
        }

    def arm(self, marker: str) -> dict[str, Any]:
        self.marker = marker.encode()
        self.armed_cpu = time.process_time()
        self.all_seen.clear()
        live = [stream for stream in self.streams if not stream.closed]
        for stream in live:
            stream.seen_at = None
            stream.tail = b""
        self.waiting = len(live)
        return {"armed": len(live)}

    def seen(self, stream: StreamProtocol) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self.all_seen.set()

    async def wait(self, timeout: float) -> dict[str, Any]:
        try:
            await asyncio.wait_for(self.all_seen.wait(), timeout)
        except TimeoutError:
            pass
        times = [s.seen_at for s in self.streams if s.seen_at is not None]
        return {
            "seen": len(times),
            "first": min(times, default=None),
            "last": max(times, default=None),
            "closed": sum(1 for s in self.streams if s.closed),
            "cpu_seconds": time.process_time() - self.armed_cpu,
            "received_bytes": self.received_bytes,
        }

    def close(self) -> None:
        for stream in self.streams:
            if stream.transport is not None:
                stream.transport.close()


async def _serve(arguments: argparse.Namespace) -> None:
    pool = Pool(arguments.host, arguments.port, arguments.path, arguments.token)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    _reply(await pool.open(arguments.count))
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "arm":
            _reply(pool.arm(command["marker"]))
        elif command["op"] == "wait":
            _reply(await pool.wait(command["timeout"]))
        elif command["op"] == "close":
            break
    pool.close()
    await asyncio.sleep(0.2)


def _reply(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


class StreamPool:
    """The parent's handle on one client process holding ``count`` streams."""

    def __init__(self, url: str, path: str, token: str, count: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sse_client",
                "--host",
                host,
                "--port",
                port,
                "--path",
                path,
                "--token",
                token,
                "--count",
                str(count),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.count = count
        self.opened: dict[str, Any] | None = None

    def wait_open(self) -> dict[str, Any]:
        self.opened = self._read()
        return self.opened

    def arm(self, marker: str) -> dict[str, Any]:
        return self._ask({"op": "arm", "marker": marker})

    def wait(self, timeout: float) -> dict[str, Any]:
        return self._ask({"op": "wait", "timeout": timeout})

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self._send({"op": "close"})
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        self._send(command)
        return self._read()

    def _send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a stream client process exited early")
        reply: dict[str, Any] = json.loads(line)
        return reply


def open_pools(
    url: str, path: str, token: str, total: int, per_process: int
) -> list[StreamPool]:
    """``total`` streams over as many client processes as needed."""
    sizes = [per_process] * (total // per_process)
    if total % per_process:
        sizes.append(total % per_process)
    pools = [StreamPool(url, path, token, size) for size in sizes]
    try:
        for pool in pools:
            pool.wait_open()
    except BaseException:
        close_pools(pools)
        raise
    return pools


def close_pools(pools: list[StreamPool]) -> None:
    for pool in pools:
        pool.close()


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Hold many SSE streams open.")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--count", type=int, required=True)
    _raise_file_limit()
    asyncio.run(_serve(parser.parse_args()))
