"""Progress that tells the truth across a whole job.

WanGP's API layer reports a percent per sliding window (it restarts with each window), maps Wan
2.2's "Denoising First/Second Phase" to plain `inference` (it looks for "first pass"), and labels
late status-only updates with the last phase. The status text has what is missing:
`"Sliding Window 2/3 - Denoising First Phase | 0:12 / 1:30"` (wgp.py: get_generation_status,
build_callback). This turns each update into one phase, the window n/N, one overall percent that
never goes back, and an ETA that never grows."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WINDOW = re.compile(r"sliding window\s+(\d+)\s*/\s*(\d+)", re.IGNORECASE)
# Status texts, most specific first, and the phase each names.
_PHASE_TEXTS = (
    ("denoising first phase", "inference_stage_1"),
    ("denoising second phase", "inference_stage_2"),
    ("denoising third phase", "inference_stage_3"),
    ("vae decoding", "decoding"),
    ("upsampling", "post_processing"),
    ("film grain", "post_processing"),
    ("remuxing", "post_processing"),
    ("post processing", "post_processing"),
    ("audio - ", "post_processing"),  # a soundtrack's steps ("Audio - Generating Soundtrack")
    ("aborting", "cancelled"),
)
_STEP_PHASES = frozenset({"inference", "inference_stage_1", "inference_stage_2", "inference_stage_3"})
# Share of the job before the first window (model load, text encoding) and after the last
# (post-processing, saving); the windows share the rest evenly.
_BEFORE, _AFTER = 0.05, 0.05
# Within a window: denoising fills most of it, VAE decoding the end.
_DENOISE_END, _DECODE_AT = 0.9, 0.95


@dataclass(frozen=True)
class ProgressView:
    phase: str
    step: int | None
    total: int | None
    percent: int
    text: str
    window: int
    windows: int
    eta_s: float | None


class ProgressTracker:
    """One per job: fed WanGP's ProgressUpdate objects in order, on one thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._window, self._windows = 1, 1
        self._percent = 0
        self._eta: float | None = None
        self._denoise_started: float | None = None
        self._within = 0.0

    def view(self, update: Any) -> ProgressView:
        text = str(getattr(update, "status", "") or "")
        self._read_window(text)
        phase = _phase_named_in(text) or str(getattr(update, "phase", "") or "inference")
        step, total = getattr(update, "current_step", None), getattr(update, "total_steps", None)
        overall = self._overall(phase, step, total)
        self._percent = max(self._percent, min(100, round(100 * overall)))
        return ProgressView(
            phase, step, total, self._percent, text, self._window, self._windows, self._estimate_eta(overall)
        )

    def _read_window(self, text: str) -> None:
        match = _WINDOW.search(text)
        if match is None:
            return
        window, windows = int(match.group(1)), max(1, int(match.group(2)))
        if (window, windows) != (self._window, self._windows):
            self._within = 0.0
        self._window, self._windows = min(window, windows), windows

    def _overall(self, phase: str, step: int | None, total: int | None) -> float:
        if phase in ("loading_model", "encoding_text"):
            return _BEFORE * (0.5 if phase == "loading_model" else 1.0)
        if phase in ("post_processing", "downloading_output"):
            return 1.0 - _AFTER
        if phase in _STEP_PHASES and step is not None and total:
            if self._denoise_started is None:
                self._denoise_started = self._clock()
            self._within = max(self._within, _DENOISE_END * min(1.0, step / total))
        elif phase == "decoding":
            self._within = max(self._within, _DECODE_AT)
        windows_done = (self._window - 1 + self._within) / self._windows
        return _BEFORE + (1.0 - _BEFORE - _AFTER) * windows_done

    def _estimate_eta(self, overall: float) -> float | None:
        if self._denoise_started is None or overall <= _BEFORE:
            return self._eta
        elapsed = self._clock() - self._denoise_started
        done = (overall - _BEFORE) / (1.0 - _BEFORE)
        raw = elapsed * (1.0 - done) / done
        self._eta = round(raw if self._eta is None else min(self._eta, raw), 1)
        return self._eta


def _phase_named_in(text: str) -> str | None:
    lowered = text.lower()
    return next((phase for marker, phase in _PHASE_TEXTS if marker in lowered), None)
