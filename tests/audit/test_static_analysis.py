"""Bandit finds nothing of high severity in the product's code."""

from __future__ import annotations

import pytest

from tests.audit.support import json_report, run_python

pytestmark = pytest.mark.reliability

PRODUCT_PACKAGES = ["chronos", "calendars", "syncengine", "webhooks", "emulator"]


def test_bandit_finds_no_high_severity_issue() -> None:
    result = run_python(
        "-m",
        "bandit",
        "--recursive",
        "--severity-level",
        "high",
        "--format",
        "json",
        "--quiet",
        *PRODUCT_PACKAGES,
        timeout=180,
    )
    report = json_report(result, "bandit")

    issues = [
        f"{issue['filename']}:{issue['line_number']} {issue['test_id']} "
        f"{issue['issue_text']}"
        for issue in report["results"]
    ]
    # A file bandit could not parse was not checked at all.
    assert not report["errors"], report["errors"]
    assert report["metrics"]["_totals"]["loc"] > 1000
    assert not issues, "\n".join(issues)
