"""Injected failures and slowdowns, plus per-method call counters."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Fault", "FaultPlan"]


@dataclass
class Fault:
    """Make matching calls fail with ``status`` or, without one, only slow.

    Either the next ``count`` matching calls are hit, or, with
    ``probability``, each matching call is hit at that rate until ``until``.
    """

    method: str
    status: int | None = None
    reason: str = "backendError"
    message: str | None = None
    count: int | None = 1
    latency_ms: int = 0
    probability: float | None = None
    until: float | None = None

    def matches(self, method: str) -> bool:
        return self.method in ("*", method)


class FaultPlan:
    """The faults waiting to fire and the calls seen so far.

    Guarded by the store's lock like the rest of the state.
    """

    def __init__(self, clock: Callable[[], float], seed: int | None = None) -> None:
        self._clock = clock
        self._random = random.Random(seed)
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()

    def add(self, spec: dict[str, Any]) -> Fault:
        """Register a fault from the control API's JSON; raises ``ValueError``."""
        status = spec.get("status")
        probability = spec.get("probability")
        duration = spec.get("duration_s")
        fault = Fault(
            method=str(spec.get("method") or "*"),
            status=int(status) if status is not None else None,
            reason=str(spec.get("reason") or _default_reason(status)),
            message=spec.get("message"),
            count=None if probability is not None else int(spec.get("count", 1)),
            latency_ms=int(spec.get("latency_ms") or 0),
            probability=float(probability) if probability is not None else None,
            until=self._clock() + float(duration) if duration is not None else None,
        )
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError("status must be an HTTP error code (400-599)")
        if fault.count is not None and fault.count < 1:
            raise ValueError("count must be at least 1")
        self.faults.append(fault)
        return fault

    def record(self, method: str) -> None:
        self.calls[method] += 1

    def take(self, method: str) -> Fault | None:
        """The fault this call should suffer, if any."""
        now = self._clock()
        self.faults = [f for f in self.faults if f.until is None or f.until > now]
        for fault in self.faults:
            if not fault.matches(method):
                continue
            if fault.probability is not None:
                if self._random.random() < fault.probability:
                    return fault
                continue

            assert fault.count is not None
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
        self.calls.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.faults]


def _default_reason(status: Any) -> str:
    reasons = {
        403: "rateLimitExceeded",
        404: "notFound",
        410: "fullSyncRequired",
        429: "rateLimitExceeded",
    }
    return reasons.get(int(status), "backendError") if status else "backendError"
