"""What an adapter sees of the running job: report progress, status and log lines, and learn
about a cancel. Messages carry the job id; after `finish` late callbacks are ignored."""

from __future__ import annotations

import threading
from collections.abc import Callable

from wgp_bridge.bridge_log import note
from wgp_bridge.channel import ProtocolChannel
from wgp_bridge.log_limiter import LogLimiter, LogLimits, dropped_note


class JobContext:
    def __init__(self, job_id: str, channel: ProtocolChannel, log_limits: LogLimits) -> None:
        self.job_id = job_id
        self.cancelled = threading.Event()
        self._channel = channel
        self._limiter = LogLimiter(log_limits)
        self._cancel_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._finished = False

    def progress(
        self,
        phase: str,
        step: int | None,
        total: int | None,
        percent: int | None,
        text: str = "",
        *,
        window: int = 1,
        windows: int = 1,
        eta_s: float | None = None,
    ) -> None:
        self._emit(
            "progress",
            phase=phase,
            step=step,
            total=total,
            percent=percent,
            text=text,
            window=window,
            windows=windows,
            eta_s=eta_s,
        )

    def status(self, text: str) -> None:
        self._emit("status", text=text)

    def log(self, stream: str, line: str) -> None:
        if self._finished:
            return
        dropped, admitted = self._limiter.admit(line)
        if dropped:
            self._emit("log", stream="bridge", line=dropped_note(dropped))
        if admitted is not None:
            self._emit("log", stream=stream, line=admitted)

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Runs hook when the job is cancelled, at once if it already was."""
        with self._lock:
            if not self.cancelled.is_set():
                self._cancel_hooks.append(hook)
                return
        _run_hook(hook)

    def request_cancel(self) -> None:
        with self._lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            hooks, self._cancel_hooks = self._cancel_hooks, []
        for hook in hooks:
            _run_hook(hook)

    def finish(self) -> None:
        """Announces lines still counted as dropped; nothing is sent for this job afterwards
        except its terminal message."""
        dropped = self._limiter.take_dropped()
        if dropped:
            self._emit("log", stream="bridge", line=dropped_note(dropped))
        with self._send_lock:
            self._finished = True

    def _emit(self, message_type: str, **fields: object) -> None:
        with self._send_lock:
            if not self._finished:
                self._channel.send(message_type, id=self.job_id, **fields)


def _run_hook(hook: Callable[[], None]) -> None:
    try:
        hook()
    except Exception as exc:  # a failing cancel must not take the command loop down
        note(f"cancel hook failed: {exc!r}")
