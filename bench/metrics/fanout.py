"""fanout: one batch to many live streams, until the last one has it.

Chronos against the raw ASGI relay on the production server, uvicorn (the
target), and both on daphne side by side. The client processes' CPU time is
kept in the details, to show they are not what limits the figure.
"""

from __future__ import annotations

import statistics

from bench.context import Bench
from bench.metrics.streams import (
    FALLBACK_STREAMS,
    HeldConnections,
    Server,
    check_streams_scale,
    fan_out,
    open_streams,
    serving,
)
from bench.report import Row, within
from bench.services import PRODUCTION_SERVER
from bench.sse_client import close_pools

TARGET_RATIO = 1.3
# (streams, batch bytes)
CASES = ((4000, 200), (1000, 32 * 1024))
FALLBACK_CASES = tuple((FALLBACK_STREAMS, size) for _, size in CASES)

Case = tuple[int, int]
Figures = dict[Case, dict[str, float]]


def measure_case(bench: Bench, server: Server, case: Case) -> dict[str, float]:
    """Median seconds and client CPU of one case, after one warm-up."""
    streams, size = case
    pools = open_streams(bench, server, streams)
    try:
        fan_out(bench, pools, size)
        samples = [fan_out(bench, pools, size) for _ in range(bench.runs)]
    finally:
        close_pools(pools)
    return {
        "seconds": statistics.median(s["seconds"] for s in samples),
        "client_cpu": statistics.median(s["client_cpu"] for s in samples),
    }


def measure_chronos(bench: Bench, kind: str) -> tuple[Figures, str]:
    with serving(bench, "chronos", kind) as server:
        try:
            check_streams_scale(bench, server)
        except HeldConnections as error:
            cases = FALLBACK_CASES
            reason = str(error)
        else:
            cases, reason = CASES, ""
        return {case: measure_case(bench, server, case) for case in cases}, reason


def rows_for(kind: str, chronos: Figures, raw: Figures, reason: str) -> list[Row]:
    rows = []
    targeted = kind == PRODUCTION_SERVER
    for case in (*CASES, *FALLBACK_CASES):
        if case not in raw:
            continue
        streams, size = case
        figure = f"{streams} streams x {size} B ({kind})"
        mine = chronos.get(case)
        value = mine["seconds"] if mine else None
        ratio = None if value is None else value / raw[case]["seconds"]
        on_target = targeted and case in CASES
        rows.append(
            Row(
                "fanout",
                figure,
                value,
                "s",
                raw[case]["seconds"],
                target=f"ratio <= {TARGET_RATIO}" if on_target else "",
                met=within(ratio, TARGET_RATIO) if on_target else None,
                note=f"not available: {reason}" if mine is None else "",
                details={
                    "client_cpu_seconds": mine["client_cpu"] if mine else None,
                    "baseline_client_cpu_seconds": raw[case]["client_cpu"],
                },
            )
        )
    return rows


def run(bench: Bench) -> list[Row]:
    rows = []
    for kind in ("daphne", "uvicorn"):
        chronos, reason = measure_chronos(bench, kind)
        wanted = CASES + (FALLBACK_CASES if reason else ())
        with serving(bench, "raw", kind) as server:
            raw = {case: measure_case(bench, server, case) for case in wanted}
        rows.extend(rows_for(kind, chronos, raw, reason))
    return rows
