"""The command loop: reads commands on the main thread, runs each job on its own thread so a
`cancel` can arrive mid-job, and sends exactly one terminal message (`result` or `error`) per job."""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass
from typing import BinaryIO

from wgp_bridge.adapters.base import Adapter, JobOutcome
from wgp_bridge.bridge_log import note
from wgp_bridge.channel import ProtocolChannel
from wgp_bridge.errors import JobError, describe_exception
from wgp_bridge.job_context import JobContext
from wgp_bridge.log_limiter import LogLimits
from wgp_bridge.parent_watch import exit_parent_gone
from wgp_bridge.protocol import (
    CancelCommand,
    Command,
    CommandError,
    DescribeCommand,
    GenerateCommand,
    OversizedLine,
    PingCommand,
    PostprocessCommand,
    ShutdownCommand,
    parse_command,
    read_lines,
)

EXIT_OK = 0
EXIT_RESTART_REQUIRED = 4


@dataclass(frozen=True)
class ServerLimits:
    max_line_bytes: int
    log: LogLimits
    shutdown_grace_s: float = 10.0


@dataclass
class _RunningJob:
    context: JobContext
    thread: threading.Thread


class BridgeServer:
    def __init__(self, channel: ProtocolChannel, adapter: Adapter, limits: ServerLimits) -> None:
        self._channel = channel
        self._adapter = adapter
        self._limits = limits
        self._lock = threading.Lock()
        self._running: _RunningJob | None = None

    def serve(self, commands: BinaryIO) -> int:
        """Handles commands until `shutdown` or end of input; returns the exit code.

        End of input with a job running means the parent died (a live one says `shutdown`): the
        process exits at once, so that the job writes nothing more into its staging folder."""
        for line in read_lines(commands, self._limits.max_line_bytes):
            if isinstance(line, OversizedLine):
                self._channel.send(
                    "protocol_error",
                    id=None,
                    message=f"line of {line.size} bytes refused: the limit is {self._limits.max_line_bytes}",
                    detail={"max_line_bytes": self._limits.max_line_bytes},
                )
                continue
            if not line.strip():
                continue
            try:
                command = parse_command(line)
            except CommandError as exc:
                self._refuse(exc)
                continue
            if isinstance(command, ShutdownCommand):
                return self._shut_down()
            self._dispatch(command)
        with self._lock:
            running = self._running
        if running is not None:
            exit_parent_gone(f"end of input during job {running.context.job_id}")
        return self._shut_down()

    def _dispatch(self, command: Command) -> None:
        if isinstance(command, (GenerateCommand, PostprocessCommand)):
            self._start_job(command)
        elif isinstance(command, CancelCommand):
            self._cancel(command.id)
        elif isinstance(command, DescribeCommand):
            self._describe(command)
        elif isinstance(command, PingCommand):
            self._channel.send("pong", id=command.id)

    def _refuse(self, exc: CommandError) -> None:
        if exc.id is not None and exc.command_type in ("generate", "postprocess", "describe"):
            self._channel.send("error", id=exc.id, kind="invalid", message=exc.message, detail=exc.detail)
        else:
            self._channel.send("protocol_error", id=exc.id, message=exc.message, detail=exc.detail)

    def _start_job(self, command: GenerateCommand | PostprocessCommand) -> None:
        with self._lock:
            running = self._running
            if running is not None:
                self._channel.send(
                    "error",
                    id=command.id,
                    kind="busy",
                    message=f"job {running.context.job_id} is still running; one job at a time",
                    detail={"running": running.context.job_id},
                )
                return
            context = JobContext(command.id, self._channel, self._limits.log)
            thread = threading.Thread(
                target=self._run_job, args=(command, context), name=f"bridge-job-{command.id}", daemon=True
            )
            self._running = _RunningJob(context, thread)
        thread.start()

    def _run_job(self, command: GenerateCommand | PostprocessCommand, context: JobContext) -> None:
        failure: JobError | None = None
        try:
            if isinstance(command, PostprocessCommand):
                outcome = self._adapter.postprocess(command, context)
            else:
                outcome = self._adapter.generate(command, context)
        except JobError as exc:
            failure = exc
        except BaseException as exc:
            note(f"job {command.id} failed inside the bridge:\n{traceback.format_exc()}")
            failure = JobError(
                "engine", f"bridge failure: {describe_exception(exc)}", {"traceback": traceback.format_exc(limit=8)}
            )
        context.finish()
        if failure is None or not failure.restart_required:
            with self._lock:
                self._running = None  # before the terminal message: the parent may send the next job at once
        if failure is None:
            self._channel.send("result", **_result_fields(command.id, outcome))
            return
        self._channel.send("error", id=command.id, kind=failure.kind, message=failure.message, detail=failure.detail)
        if failure.restart_required:
            self._channel.send(
                "fatal",
                message=f"engine unusable after job {command.id}; exiting so it is restarted",
                detail=failure.detail,
            )
            os._exit(EXIT_RESTART_REQUIRED)

    def _cancel(self, job_id: str) -> None:
        with self._lock:
            running = self._running
        if running is not None and running.context.job_id == job_id:
            running.context.request_cancel()
        # A cancel for a job that already ended (or never ran) is a no-op: its terminal message went out.

    def _describe(self, command: DescribeCommand) -> None:
        try:
            described = self._adapter.describe(command.model_type)
        except JobError as failure:
            self._channel.send(
                "error", id=command.id, kind=failure.kind, message=failure.message, detail=failure.detail
            )
            return
        except Exception as exc:
            self._channel.send("error", id=command.id, kind="engine", message=describe_exception(exc), detail=None)
            return
        self._channel.send("described", id=command.id, **described)

    def _shut_down(self) -> int:
        with self._lock:
            running = self._running
        if running is not None:
            running.context.request_cancel()
            running.thread.join(self._limits.shutdown_grace_s)
            if running.thread.is_alive():
                note(
                    f"job {running.context.job_id} did not stop within {self._limits.shutdown_grace_s}s; exiting anyway"
                )
                return EXIT_OK
        try:
            self._adapter.close()
        except Exception as exc:
            note(f"closing the engine failed: {exc!r}")
        return EXIT_OK


def _result_fields(job_id: str, outcome: JobOutcome) -> dict[str, object]:
    return {
        "id": job_id,
        "files": outcome.files,
        "main_file": outcome.main_file,
        "media_type": outcome.media_type,
        "seed": outcome.seed,
        "model_type": outcome.model_type,
        "settings": outcome.settings,
        "timings": {
            "model_load_s": outcome.timings.model_load_s,
            "generation_s": outcome.timings.generation_s,
            "total_s": outcome.timings.total_s,
        },
    }
