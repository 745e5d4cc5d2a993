"""``manage.py googleemulator``: serve the Google Calendar emulator."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from emulator.churn import Churner
from emulator.seed import DEMO_EMAIL, DEMO_REFRESH_TOKEN, seed_demo
from emulator.server import EmulatorServer


class Command(BaseCommand):
    help = "Serve an emulation of Google's Calendar API, OAuth and push channels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=8765, help="0 picks a free port"
        )
        parser.add_argument("--seed", choices=["demo", "empty"], default="empty")
        parser.add_argument(
            "--state", type=Path, help="JSON file loaded at start and saved on exit"
        )
        parser.add_argument(
            "--churn",
            type=float,
            default=0,
            metavar="SECONDS",
            help="make a random change every SECONDS (0: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        server = EmulatorServer(options["host"], options["port"])
        state_file: Path | None = options["state"]
        if state_file is not None and state_file.exists():
            server.store.load(state_file)
        if options["seed"] == "demo":
            with server.store.lock:
                seed_demo(server.store)
            self.stdout.write(
                f"Demo account {DEMO_EMAIL}, refresh token {DEMO_REFRESH_TOKEN}"
            )

        churner = None
        if options["churn"] > 0:
            churner = Churner(server.store, options["churn"])
            churner.start()
        self._stop_on_sigterm(server)
        self.stdout.write(f"Google emulator listening on {server.url}")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            if churner is not None:
                churner.stop()
            server.stop()
            if state_file is not None:
                with server.store.lock:
                    server.store.save(state_file)

    def _stop_on_sigterm(self, server: EmulatorServer) -> None:
        # shutdown() blocks until serve_forever returns, so it cannot run on
        # the thread that is serving; hand it to a helper thread.
        def handler(signum: int, frame: FrameType | None) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, handler)
