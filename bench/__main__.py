"""``python -m bench``: start the services, run the metrics, report.

Environment: ``DATABASE_URL`` and ``REDIS_URL`` (defaults in
``bench.services``; the bench database is dropped and made anew),
``BENCH_RUNS`` (measured runs per figure, after one warm-up),
``BENCH_ONLY`` (comma-separated metric names) and ``BENCH_IDLE_STREAMS``.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import traceback

import redis

from bench.context import Bench, configure_django
from bench.report import RESULTS_FILE, Row, save, table, unavailable
from bench.services import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    PROJECT_DIR,
    Services,
    recreate_database,
    running,
)

# In this order: hydration reuses full_sync's calendars, and the stream
# metrics run last, when no sync is left running.
METRICS = (
    "full_sync",
    "hydration",
    "week_page",
    "webhook_latency",
    "webhook_storm",
    "fanout",
    "idle_streams",
)


def selected_metrics() -> list[str]:
    only = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",")]
    chosen = [name for name in only if name]
    if unknown := sorted(set(chosen) - set(METRICS)):
        raise SystemExit(
            f"Unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}."
        )
    return [name for name in METRICS if not chosen or name in chosen]


def prepare(services: Services) -> None:
    recreate_database(services.database_url)
    redis.Redis.from_url(services.redis_url).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=PROJECT_DIR,
        env=services.environment(),
        check=True,
    )


def progress(text: str) -> None:
    # Django's logging setup replaces the root handlers, so progress is
    # printed rather than logged.
    print(time.strftime("%H:%M:%S"), text, file=sys.stderr, flush=True)


def run_metric(bench: Bench, name: str) -> list[Row]:
    module = importlib.import_module(f"bench.metrics.{name}")
    started = time.monotonic()
    progress(f"{name}: running")
    try:
        rows: list[Row] = module.run(bench)
    except Exception as error:
        traceback.print_exc()
        rows = [unavailable(name, f"failed: {error}")]
    progress(f"{name}: done in {time.monotonic() - started:.0f} s")
    return rows


def main() -> None:
    names = selected_metrics()
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    services = Services(
        database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
    )
    started = time.monotonic()
    rows: list[Row] = []
    with running(services):
        prepare(services)
        configure_django(services)
        services.start_emulator()
        services.start_web()
        services.start_workers(2)
        bench = Bench(services, runs)
        for name in names:
            rows.extend(run_metric(bench, name))
    seconds = time.monotonic() - started
    save(rows, runs, seconds)
    print()
    print(table(rows))
    print(f"\n{len(names)} metric(s) in {seconds:.0f} s; saved to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
