"""The emulator's HTTP server: routing, authentication, faults, responses.

Plain ``http.server`` speaking HTTP/1.1 with keep-alive, because httplib2
(under google-api-python-client) reuses its connections.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulator.errors import ApiError, OAuthError, api_error_body
from emulator.notify import Notifier
from emulator.state import Store

__all__ = ["EmulatorServer", "Request", "Response", "Route", "json_response"]

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    base_url: str
    args: tuple[str, ...] = ()
    email: str = ""

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "parseError", "Parse Error") from None
        if not isinstance(data, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return data

    def form(self) -> dict[str, str]:
        """Query and urlencoded body merged, the body winning."""
        merged = {k: v[-1] for k, v in self.query.items()}
        content_type = self.headers.get("Content-Type", "")
        if self.body and ("json" in content_type or self.body.startswith(b"{")):
            merged.update({k: str(v) for k, v in self.json().items()})
        elif self.body:
            fields = parse_qs(self.body.decode(), keep_blank_values=True)
            merged.update({k: v[-1] for k, v in fields.items()})
        return merged

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode())


Handler = Callable[[Store, Request], Response]


@dataclass(frozen=True)
class Route:
    """A path pattern; ``api_method`` marks a Google API call.

    API calls need a bearer token, are counted, and can be faulted.
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    api_method: str | None = None


def route(method: str, path: str, handler: Handler, api: str | None = None) -> Route:
    regex = "^" + re.sub(r"\{\w+\}", "([^/]+)", path) + "$"
    return Route(method, re.compile(regex), handler, api)


def _routes() -> list[Route]:
    from emulator import api, control, oauth

    return [*api.ROUTES, *oauth.ROUTES, *control.ROUTES]


def dispatch(store: Store, routes: list[Route], request: Request) -> Response:
    """Run one request, mapping domain errors to Google's answers."""
    try:
        found = _match(routes, request)
        if found.api_method is None:
            with store.lock:
                return found.handler(store, request)
        return _call_api(store, found, request)
    except ApiError as error:
        return Response(error.code, error.body())
    except OAuthError as error:
        return Response(error.code, error.body())
    except Exception:
        logger.exception("Emulator failed on %s %s", request.method, request.path)
        return Response(500, api_error_body(500, "backendError", "Backend Error"))


def _match(routes: list[Route], request: Request) -> Route:
    path_matched = False
    for candidate in routes:
        match = candidate.pattern.match(request.path)
        if match is None:
            continue
        path_matched = True
        if candidate.method == request.method:
            request.args = tuple(unquote(g) for g in match.groups())
            return candidate
    if path_matched:
        raise ApiError(405, "httpMethodNotAllowed", "Method Not Allowed")
    raise ApiError(404, "notFound", f"Not Found: {request.path}")


def _call_api(store: Store, found: Route, request: Request) -> Response:
    assert found.api_method is not None
    with store.lock:
        store.faults.record(found.api_method)
        request.email = _authenticate(store, request)
        fault = store.faults.take(found.api_method)

    if fault is not None and fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)
    if fault is not None and fault.status is not None:
        raise ApiError(fault.status, fault.reason, fault.message)

    with store.lock:
        return found.handler(store, request)


def _authenticate(store: Store, request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "required",
            "Login Required.",
            extra={"location": "Authorization", "locationType": "header"},
        )

    grant = store.auth.authenticate(token.strip())
    if grant is None or grant.email not in store.accounts:
        raise ApiError(
            401,
            "authError",
            "Invalid Credentials",
            extra={"location": "Authorization", "locationType": "header"},
        )
    return grant.email


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorServer


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    # Headers and body go out in separate writes; without this, Nagle's
    # algorithm and delayed ACKs stall every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True
    timeout = 120
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Emulator request: " + format, *args)

    def _handle(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        method = self.command
        query = parse_qs(parts.query, keep_blank_values=True)
        override = self.headers.get("X-HTTP-Method-Override")
        if override:
            # The client library turns very long GETs into POSTs that carry
            # the query string as the body.
            method = override.upper()
            if method == "GET" and body:
                query.update(parse_qs(body.decode(), keep_blank_values=True))
                body = b""
        request = Request(method, parts.path, query, self.headers, body, emulator.url)
        self._write(dispatch(emulator.store, emulator.routes, request))

    def _write(self, response: Response) -> None:
        body = b"" if response.status in (204, 304) else response.body
        self.send_response(response.status)
        if body:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


class EmulatorServer:
    """The emulator on a real port, for tests, benchmarks and the demo.

    ``EmulatorServer(port=0).start()`` serves on a free port in a background
    thread; ``url`` is its base URL and ``store`` its state (take
    ``store.lock`` before touching it directly).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        store: Store | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.notifier = notifier or Notifier()
        self.store = store or Store(self.notifier)
        self.store.notifier = self.notifier
        self.routes = _routes()
        self._httpd = _HTTPServer((host, port), _RequestHandler)
        self._httpd.emulator = self
        self._thread: threading.Thread | None = None
        self._closers: list[Callable[[], None]] = []
        bound_host, bound_port = self._httpd.server_address[:2]
        shown_host = "127.0.0.1" if bound_host == "0.0.0.0" else str(bound_host)
        self.host = str(bound_host)
        self.port = int(bound_port)
        self.url = f"http://{shown_host}:{self.port}/"

    def start(self) -> EmulatorServer:
        self.notifier.start()
        # A short poll interval makes stop() quick, which keeps tests fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("Google emulator serving at %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``shutdown`` (from another one)."""
        self.notifier.start()
        logger.info("Google emulator serving at %s", self.url)
        self._httpd.serve_forever(poll_interval=0.05)

    def shutdown(self) -> None:
        self._httpd.shutdown()

    def on_stop(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def stop(self) -> None:
        for closer in self._closers:
            closer()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self.notifier.stop()
        logger.info("Google emulator at %s stopped", self.url)

    def create_account(self, email: str) -> str:
        """Create (or reuse) an account and return a fresh refresh token."""
        with self.store.lock:
            account = self.store.ensure_account(email)
            return self.store.auth.issue_grant(account.email).refresh_token

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
