"""idle_streams: server memory per open, idle live stream.

The RSS of the server process is read before and after opening the
streams; a few streams are opened first so that one-time costs (the hub,
its Redis subscription, imported code) are not counted per stream.
"""

from __future__ import annotations

import os
import time

from bench.context import Bench
from bench.metrics.streams import (
    FALLBACK_STREAMS,
    HeldConnections,
    Server,
    check_streams_scale,
    open_streams,
    serving,
)
from bench.report import Row, within
from bench.services import rss_kib
from bench.sse_client import close_pools

TARGET_KIB = 40.0
WARM_STREAMS = 20
SETTLE_SECONDS = 3.0


def stream_count() -> int:
    return int(os.environ.get("BENCH_IDLE_STREAMS", "4000"))


def per_stream_kib(bench: Bench, server: Server, count: int) -> float:
    warm = open_streams(bench, server, WARM_STREAMS)
    try:
        time.sleep(SETTLE_SECONDS)
        before = rss_kib(server.process.pid)
        pools = open_streams(bench, server, count)
        try:
            time.sleep(SETTLE_SECONDS)
            after = rss_kib(server.process.pid)
        finally:
            close_pools(pools)
    finally:
        close_pools(warm)
    return (after - before) / count


def chronos_kib(bench: Bench, kind: str, count: int) -> tuple[float, int, str]:
    with serving(bench, "chronos", kind, fresh=True) as server:
        try:
            check_streams_scale(bench, server)
        except HeldConnections as error:
            count, reason = FALLBACK_STREAMS, str(error)
        else:
            reason = ""
        return per_stream_kib(bench, server, count), count, reason


def run(bench: Bench) -> list[Row]:
    rows = []
    for kind in ("daphne", "uvicorn"):
        chronos, count, reason = chronos_kib(bench, kind, stream_count())
        with serving(bench, "raw", kind) as server:
            raw = per_stream_kib(bench, server, stream_count())
        note = f"measured at {count} streams only: {reason}" if reason else ""
        rows.append(
            Row(
                "idle_streams",
                f"{count} streams ({kind})",
                chronos,
                "KiB/stream",
                raw,
                target=f"<= {TARGET_KIB:.0f} KiB each",
                met=within(chronos, TARGET_KIB),
                note=note,
                details={"baseline_streams": stream_count()},
            )
        )
    return rows
