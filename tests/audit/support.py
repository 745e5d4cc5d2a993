"""Running the audit tools the way an operator would, from the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]


def run_python(
    *arguments: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGUMENTS`` with this virtualenv's interpreter."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_report(result: subprocess.CompletedProcess[str], tool: str) -> Any:
    """The tool's JSON report; a tool that crashed fails with its own words."""
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"{tool} wrote no report (exit {result.returncode}):\n"
            f"{result.stderr[-3000:]}"
        ) from None
