"""The ``googleemulator`` management command, run as operators run it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

# Configured inline so the command runs without the project's settings.
_RUN_COMMAND = """
import sys
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["emulator"], USE_TZ=True)
django.setup()
from django.core.management import call_command
call_command("googleemulator", *sys.argv[1:])
"""


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_COMMAND, "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "listening on" in line:
            return process, line.rsplit(" ", 1)[-1].strip()
    raise AssertionError("the emulator exited without printing its URL")


def post(url: str, payload: dict[str, str]) -> dict[str, str]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST"
    )
    return dict(json.loads(urllib.request.urlopen(request, timeout=5).read()))


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_command_prints_url_and_keeps_state_across_restarts(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    process, url = start("--state", str(state_file))
    try:
        post(url + "_emulator/accounts", {"email": "carol@example.com"})
    finally:
        stop(process)

    process, url = start("--state", str(state_file))
    try:
        with urllib.request.urlopen(url + "_emulator/accounts", timeout=5) as answer:
            accounts = json.loads(answer.read())["accounts"]
    finally:
        stop(process)

    assert url.startswith("http://127.0.0.1:")
    assert [a["email"] for a in accounts] == ["carol@example.com"]


def test_demo_seed_prints_a_stable_refresh_token() -> None:
    process, url = start("--seed", "demo")
    try:
        token = "1//emu-demo-refresh-token"
        answer = post(
            url + "token",
            {"grant_type": "refresh_token", "refresh_token": token},
        )
    finally:
        stop(process)

    assert answer["access_token"]
