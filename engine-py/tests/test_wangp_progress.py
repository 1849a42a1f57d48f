"""Progress as WanGP reports it, told truthfully: phases, sliding windows, one overall percent and
an ETA that only move forward (PROTOCOL.md "Progress")."""

from __future__ import annotations

from pathlib import Path

import pytest
from bridge_process import BridgeProcess, t2v_settings

from wgp_bridge.adapters.wangp_progress import ProgressTracker

pytestmark = pytest.mark.wangp_contract


def progress_of(bridge: BridgeProcess, tmp_path: Path, **settings) -> list[dict]:
    messages = bridge.run_job("p", t2v_settings(**settings), tmp_path / "p")
    assert messages[-1]["type"] == "result", messages[-1]
    return [m for m in messages if m["type"] == "progress"]


def test_sliding_windows_give_one_overall_percent_that_never_goes_back(
    start_bridge, tmp_path: Path
) -> None:
    bridge = start_bridge(env={"FAKE_WANGP_STEP_S": "0.01"})
    assert bridge.next_message()["type"] == "ready"
    progress = progress_of(
        bridge, tmp_path, num_inference_steps=3, video_length=81, sliding_window_size=33, sliding_window_overlap=5
    )

    assert {m["windows"] for m in progress if m["phase"] != "encoding_text"} == {3}
    windows = [m["window"] for m in progress]
    assert windows == sorted(windows) and windows[-1] == 3
    percents = [m["percent"] for m in progress]
    assert percents == sorted(percents) and len(set(percents)) > 6 and percents[-1] >= 90
    steps = [(m["window"], m["step"]) for m in progress if m["phase"] == "inference"]
    assert steps == [(w, s) for w in (1, 2, 3) for s in (1, 2, 3)]
    assert [m["window"] for m in progress if m["phase"] == "decoding"] == [1, 2, 3]
    etas = [m["eta_s"] for m in progress if m["eta_s"] is not None]
    assert etas and etas == sorted(etas, reverse=True)


def test_two_phase_denoising_is_reported_phase_by_phase(ready_bridge: BridgeProcess, tmp_path: Path) -> None:
    progress = progress_of(ready_bridge, tmp_path, num_inference_steps=4, guidance_phases=2)
    phases = [(m["phase"], m["step"]) for m in progress if m["step"] is not None]
    assert phases == [("inference_stage_1", 1), ("inference_stage_1", 2), ("inference_stage_2", 3), ("inference_stage_2", 4)]
    assert "Denoising Second Phase" in progress[-2]["text"]


def test_post_processing_is_its_own_phase_after_decoding(ready_bridge: BridgeProcess, tmp_path: Path) -> None:
    progress = progress_of(ready_bridge, tmp_path, num_inference_steps=2, spatial_upsampling="lanczos1.5")
    assert [m["phase"] for m in progress][-2:] == ["decoding", "post_processing"]
    assert progress[-1]["percent"] >= progress[-2]["percent"]


class Update:
    def __init__(self, phase: str, status: str, step: int | None = None, total: int | None = None) -> None:
        self.phase, self.status, self.current_step, self.total_steps = phase, status, step, total


def test_the_tracker_keeps_percent_and_eta_monotonic_when_wangp_restarts_per_window() -> None:
    now = [0.0]
    tracker = ProgressTracker(clock=lambda: now[0])
    views = []
    for window in (1, 2):
        for step in (1, 2):
            now[0] += 1.0 if window == 1 else 5.0  # the second window is slower: ETA holds, never grows
            views.append(tracker.view(Update("inference", f"Sliding Window {window}/2 - Denoising | 1s", step, 2)))
    assert [v.percent for v in views] == sorted(v.percent for v in views)
    assert [v.window for v in views] == [1, 1, 2, 2]
    etas = [v.eta_s for v in views]
    assert etas == sorted(etas, reverse=True) and etas[-1] == 0.0
