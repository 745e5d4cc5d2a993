"""Results: one row per figure, printed as a table and saved as JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_FILE = Path(__file__).resolve().parent / "results.json"


@dataclass
class Row:
    """One figure of a metric, with its baseline and target when it has them.

    ``met`` is None when there is nothing to compare (a side-by-side figure,
    or a metric that could not run); ``note`` then says why.
    """

    metric: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        for key in ("value", "baseline"):
            if data[key] is not None:
                data[key] = round(data[key], 4)
        return data


def unavailable(metric: str, reason: str) -> Row:
    return Row(metric, "-", None, "", note=f"not available: {reason}")


def within(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: list[Row]) -> str:
    header = ("metric", "figure", "value", "unit", "baseline", "ratio", "target", "ok")
    lines = [header]
    for row in rows:
        ok = {True: "yes", False: "NO", None: ""}[row.met]
        lines.append(
            (
                row.metric,
                row.figure,
                _cell(row.value),
                row.unit,
                _cell(row.baseline),
                _cell(row.ratio),
                row.target,
                ok,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {row.metric} {row.figure}: {row.note}" for row in rows if row.note]
    return "\n".join(text + ([""] + notes if notes else []))


def save(rows: list[Row], runs: int, seconds: float, path: Path = RESULTS_FILE) -> None:
    """Merge these rows into the results file, keeping other metrics' rows.

    A partial run (``BENCH_ONLY``) refreshes only what it measured.
    """
    previous: dict[str, Any] = {}
    if path.exists():
        previous = json.loads(path.read_text()).get("metrics", {})
    measured = {row.metric for row in rows}
    metrics = {name: v for name, v in previous.items() if name not in measured}
    for row in rows:
        metrics.setdefault(row.metric, []).append(row.to_json())
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "runs": runs,
        "seconds": round(seconds, 1),
        "metrics": dict(sorted(metrics.items())),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "memory": _proc_field("/proc/meminfo", "MemTotal"),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _proc_field(path: str, name: str) -> str:
    try:
        with open(path) as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return "unknown"
