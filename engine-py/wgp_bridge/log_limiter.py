"""Bounds the `log` lines of one job: a token bucket on lines per second and a cap on line
length, so a flood of output cannot swamp the protocol channel. Dropped lines are counted and
announced ("N lines dropped") as soon as lines flow again, and at the end of the job."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLimits:
    lines_per_s: float = 100.0
    burst: int = 200
    max_line_chars: int = 2000


class LogLimiter:
    def __init__(self, limits: LogLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._tokens = float(limits.burst)
        self._last = clock()
        self._dropped = 0
        self._lock = threading.Lock()

    def admit(self, line: str) -> tuple[int, str | None]:
        """Returns (lines dropped since the last admitted line, the line to send or None)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self._limits.burst), self._tokens + (now - self._last) * self._limits.lines_per_s)
            self._last = now
            if self._tokens < 1.0:
                self._dropped += 1
                return 0, None
            self._tokens -= 1.0
            dropped, self._dropped = self._dropped, 0
            return dropped, self._truncate(line)

    def take_dropped(self) -> int:
        with self._lock:
            dropped, self._dropped = self._dropped, 0
            return dropped

    def _truncate(self, line: str) -> str:
        limit = self._limits.max_line_chars
        if len(line) <= limit:
            return line
        return f"{line[:limit]} … [{len(line) - limit} characters cut]"


def dropped_note(count: int) -> str:
    return f"{count} line{'s' if count != 1 else ''} dropped (log rate limit)"
