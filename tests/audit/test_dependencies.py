"""No installed package has a published vulnerability (pip-audit)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.audit.support import json_report, run_python

pytestmark = [pytest.mark.reliability, pytest.mark.online]

# Chronos itself, installed in editable mode; PyPI knows nothing about it.
PROJECT = "chronos"

Package = dict[str, Any]


def audit_installed_packages() -> list[Package]:
    """pip-audit's verdict on this virtualenv, asked of PyPI's advisories."""
    result = run_python(
        "-m",
        "pip_audit",
        "--skip-editable",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--desc",
        "off",
    )
    packages: list[Package] = json_report(result, "pip-audit")["dependencies"]
    return packages


def known_vulnerabilities(packages: list[Package]) -> dict[str, list[str]]:
    return {
        f"{package['name']} {package['version']}": [
            f"{vulnerability['id']} (fixed in {vulnerability['fix_versions']})"
            for vulnerability in package["vulns"]
        ]
        for package in packages
        if package.get("vulns")
    }


def unaudited(packages: list[Package]) -> dict[str, str]:
    return {
        package["name"]: package["skip_reason"]
        for package in packages
        if "skip_reason" in package and package["name"] != PROJECT
    }


def test_no_installed_package_has_a_known_vulnerability() -> None:
    packages = audit_installed_packages()

    vulnerable = known_vulnerabilities(packages)
    unchecked = unaudited(packages)

    if vulnerable:
        pytest.fail(f"Raise the minimum version in pyproject.toml: {vulnerable}")
    # pip-audit says "no known vulnerabilities" even when it could check
    # nothing, for instance when PyPI did not answer: that is no pass.
    if unchecked:
        example = next(iter(unchecked.values()))
        pytest.fail(
            f"pip-audit could not check {len(unchecked)} of {len(packages)} "
            f"packages against PyPI ({', '.join(sorted(unchecked))}). It said, "
            f"for one: {example}. Is https://pypi.org/pypi/NAME/VERSION/json "
            "reachable from here?"
        )
