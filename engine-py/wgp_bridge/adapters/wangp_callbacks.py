"""The callback object handed to WanGP for one job. Forwards progress, status, info and stream
lines to the job, keeps what the outcome needs (load time, info texts, error signs in the
stream), and never lets an exception reach WanGP: on the job thread one would abort the job
while WanGP keeps generating, inside `on_stream` it would surface at a `print()` in WanGP."""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from wgp_bridge.adapters.wangp_progress import ProgressTracker
from wgp_bridge.adapters.wangp_signs import CUDA_POISON_SIGNS, STREAM_OOM_SIGNS, contains_any
from wgp_bridge.bridge_log import note
from wgp_bridge.job_context import JobContext

STREAM_TAIL_LINES = 40


def _never_raises(method: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(method)
    def guarded(self: JobCallbacks, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception as exc:
            note(f"{method.__name__} callback failed: {exc!r}")

    return guarded


class JobCallbacks:
    def __init__(self, job: JobContext, clock: Callable[[], float] = time.monotonic) -> None:
        self._job = job
        self._clock = clock
        self._lock = threading.Lock()
        self._load_started: float | None = None
        self._progress = ProgressTracker(clock)
        self.model_load_s = 0.0
        self.infos: list[str] = []
        self.stream_tail: deque[str] = deque(maxlen=STREAM_TAIL_LINES)
        self.stream_shows_oom = False
        self.stream_shows_cuda_error = False

    @_never_raises
    def on_progress(self, update: Any) -> None:
        view = self._progress.view(update)
        self._job.progress(
            view.phase,
            view.step,
            view.total,
            view.percent,
            view.text,
            window=view.window,
            windows=view.windows,
            eta_s=view.eta_s,
        )

    @_never_raises
    def on_status(self, text: str) -> None:
        self._time_model_load(text)
        self._job.status(text)

    @_never_raises
    def on_info(self, text: str) -> None:
        self.infos.append(text)
        self._job.log("info", text)

    @_never_raises
    def on_stream(self, message: Any) -> None:
        text = str(message.text)
        with self._lock:
            self.stream_tail.append(text)
            self.stream_shows_oom = self.stream_shows_oom or contains_any(text, STREAM_OOM_SIGNS)
            self.stream_shows_cuda_error = self.stream_shows_cuda_error or contains_any(text, CUDA_POISON_SIGNS)
        self._job.log(message.stream, text)

    def _time_model_load(self, text: str) -> None:
        if text.startswith("Loading model"):
            self._load_started = self._clock()
        elif text.startswith("Model loaded") and self._load_started is not None:
            self.model_load_s += self._clock() - self._load_started
            self._load_started = None
