"""Failures the bridge reports: per job (`JobError`) or for the whole engine (`FatalError`)."""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal["invalid", "oom", "cancelled", "engine", "busy", "download"]


class JobError(Exception):
    """Ends one job with an `error` message. `restart_required` also ends the process: the
    engine is unusable (a poisoned CUDA context) and the parent must start a fresh one."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        detail: dict[str, Any] | None = None,
        *,
        restart_required: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail
        self.restart_required = restart_required


class FatalError(Exception):
    """The engine cannot start (or go on): reported as a `fatal` message, then the process exits."""

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def describe_exception(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
