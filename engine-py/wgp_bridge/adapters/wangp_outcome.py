"""Turns a finished WanGP job (its GenerationResult and what the callbacks saw) into the
bridge's verdict: the generated files, or a JobError of the right kind."""

from __future__ import annotations

from typing import Any

from wgp_bridge.adapters.wangp_callbacks import JobCallbacks
from wgp_bridge.adapters.wangp_signs import (
    CUDA_POISON_SIGNS,
    DOWNLOAD_SIGNS,
    MESSAGE_OOM_SIGNS,
    USER_ERROR_SIGNS,
    contains_any,
)
from wgp_bridge.errors import JobError


def generated_files_or_raise(result: Any, seen: JobCallbacks, cancel_requested: bool) -> list[str]:
    errors = list(getattr(result, "errors", None) or [])
    files = [str(path) for path in getattr(result, "generated_files", None) or []]
    if errors or not getattr(result, "success", False):
        raise _failure(errors, seen, cancel_requested or bool(getattr(result, "cancelled", False)), files)
    if not files:
        reason = f": {seen.infos[-1]}" if seen.infos else ""
        raise JobError(
            "engine",
            f"WanGP reported success but wrote no file{reason}",
            {"infos": list(seen.infos), "stream_tail": list(seen.stream_tail)},
        )
    return files


def _failure(errors: list[Any], seen: JobCallbacks, cancelled: bool, files: list[str]) -> JobError:
    messages = [str(getattr(error, "message", error)) for error in errors]
    detail: dict[str, Any] = {
        "errors": [{"message": m, "stage": getattr(e, "stage", None)} for m, e in zip(messages, errors, strict=True)],
        "infos": list(seen.infos),
        "stream_tail": list(seen.stream_tail),
        "files": files,
    }
    first = messages[0] if messages else "WanGP reported a failure without a message"
    if cancelled:
        return JobError("cancelled", "Generation was cancelled", detail)
    if any(contains_any(m, MESSAGE_OOM_SIGNS) for m in messages) or seen.stream_shows_oom:
        return JobError("oom", first, detail)
    if any(contains_any(m, CUDA_POISON_SIGNS) for m in messages) or seen.stream_shows_cuda_error:
        detail["cuda_context_poisoned"] = True
        return JobError("engine", f"CUDA error, the engine restarts: {first}", detail, restart_required=True)
    validation = [m for m, e in zip(messages, errors, strict=True) if getattr(e, "stage", None) == "validation"]
    if validation:
        return JobError("invalid", validation[0], detail)
    user_errors = [m for m in messages if contains_any(m, USER_ERROR_SIGNS)]
    if user_errors:
        return JobError("invalid", user_errors[0], detail)
    if any(contains_any(m, DOWNLOAD_SIGNS) for m in messages):
        return JobError("download", f"WanGP could not download a file: {first}", detail)
    return JobError("engine", first, detail)
