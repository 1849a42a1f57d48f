"""Each error kind through the wangp adapter: invalid, oom, cancelled, engine, busy, download."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bridge_process import BridgeProcess, t2v_settings

pytestmark = pytest.mark.wangp_contract


def terminal(bridge: BridgeProcess, job_id: str, settings: dict, tmp_path: Path) -> dict:
    return bridge.run_job(job_id, settings, tmp_path / job_id)[-1]


@pytest.mark.parametrize(
    ("settings", "message_part"),
    [
        ({"model_type": "t2v", "prompt": "   "}, "prompt must be a non-empty string"),
        ({"model_type": "no_such_model", "prompt": "x"}, "Unknown model_type: no_such_model"),
        (t2v_settings(activated_loras=["missing_lora.safetensors"]), "Loras files are missing"),
        (t2v_settings(resolution=832), "resolution must be"),
        (t2v_settings(video_guide="relative/guide.mp4"), "must be an absolute path"),
        (t2v_settings(video_prompt_type="VA"), "You must provide a Control Video"),
    ],
)
def test_invalid_settings_end_the_job_with_kind_invalid(
    ready_bridge: BridgeProcess, tmp_path: Path, settings: dict, message_part: str
) -> None:
    error = terminal(ready_bridge, "bad", settings, tmp_path)
    assert (error["type"], error["kind"]) == ("error", "invalid")
    assert message_part in error["message"]


@pytest.mark.parametrize(
    ("fault", "message_part"),
    [
        ("lora-load", "Error while loading Loras: missing_style.safetensors"),
        ("lora-mult", "only one '|' character in Loras Multipliers"),
        ("lora-phases", "should be at most 1 phases for this multiplier"),
        ("slash-window", "Prompt slash window commands require"),
        ("slash-command", "Unknown prompt command '/zoom'"),
        ("slash-duration", "Invalid /duration value 'soon'"),
        ("keep-frames", "invalid keep frames 1:3,9x"),
    ],
)
def test_user_errors_raised_during_generation_are_invalid_with_wangps_message(
    ready_bridge: BridgeProcess, tmp_path: Path, fault: str, message_part: str
) -> None:
    # PROTOCOL.md "Errors by what they say": stage "generation", yet the task's own mistake.
    error = terminal(ready_bridge, fault, t2v_settings(f"[fake:{fault}] x"), tmp_path)
    assert (error["kind"], error["detail"]["errors"][0]["stage"]) == ("invalid", "generation")
    assert message_part in error["message"]


def test_a_weight_download_that_fails_is_kind_download_and_the_next_job_loads_again(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    error = terminal(ready_bridge, "dl", t2v_settings("[fake:download] x"), tmp_path)
    assert error["kind"] == "download"
    assert "cannot find the requested files in the local cache" in error["message"]
    assert terminal(ready_bridge, "after-dl", t2v_settings(), tmp_path)["type"] == "result"


def test_a_malformed_generate_command_is_refused_as_invalid_for_its_id(ready_bridge: BridgeProcess) -> None:
    ready_bridge.send(
        {"type": "generate", "id": "rel", "settings": t2v_settings(), "output_dir": "relative/dir", "output_name": "x"}
    )
    error = ready_bridge.wait_for("error")
    assert (error["id"], error["kind"]) == ("rel", "invalid")
    ready_bridge.send(
        {"type": "generate", "id": "name", "settings": t2v_settings(), "output_dir": "/tmp/x", "output_name": "../up"}
    )
    assert ready_bridge.wait_for("error")["kind"] == "invalid"


def test_oom_is_recognised_from_the_reworded_message_and_the_session_stays_usable(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    error = terminal(ready_bridge, "oom", t2v_settings("[fake:oom] big"), tmp_path)
    assert (error["kind"], error["detail"]["errors"][0]["stage"]) == ("oom", "generation")
    assert "unsufficient VRAM" in error["message"]
    assert any("CUDA out of memory" in line for line in error["detail"]["stream_tail"])

    assert terminal(ready_bridge, "after", t2v_settings(), tmp_path)["type"] == "result"


def test_oom_while_loading_the_model_passes_the_raw_text_and_is_still_oom(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    error = terminal(ready_bridge, "load-oom", t2v_settings("[fake:load-oom] x"), tmp_path)
    assert error["kind"] == "oom"
    assert "CUDA out of memory" in error["message"]
    assert terminal(ready_bridge, "retry", t2v_settings(), tmp_path)["type"] == "result"


def test_cancel_mid_job_stops_at_the_next_step(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge(env={"FAKE_WANGP_STEP_S": "0.05"})
    bridge.wait_for("ready")
    bridge.generate("long", t2v_settings(num_inference_steps=200), tmp_path / "long")
    first_step = bridge.wait_for("progress")
    while first_step.get("phase") != "inference":
        first_step = bridge.wait_for("progress")
    bridge.send({"type": "cancel", "id": "long"})
    messages = bridge.job_messages("long", timeout=5)

    error = messages[-1]
    assert (error["type"], error["kind"]) == ("error", "cancelled")
    steps = [m["step"] for m in messages if m["type"] == "progress" and m["phase"] == "inference"]
    assert not steps or max(steps) < 20
    assert not list((tmp_path / "long").glob("*.mp4"))
    assert terminal(bridge, "next", t2v_settings(), tmp_path)["type"] == "result"


def test_a_second_generate_while_one_runs_is_busy_and_the_first_finishes(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge(env={"FAKE_WANGP_STEP_S": "0.02"})
    bridge.wait_for("ready")
    bridge.generate("first", t2v_settings(num_inference_steps=20), tmp_path / "first")
    bridge.generate("second", t2v_settings(), tmp_path / "second")

    busy = bridge.job_messages("second")[-1]
    assert (busy["kind"], busy["detail"]["running"]) == ("busy", "first")
    assert bridge.job_messages("first")[-1]["type"] == "result"


def test_silent_success_without_files_when_the_attention_mode_is_missing_is_an_engine_error(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    error = terminal(ready_bridge, "attn", t2v_settings(override_attention="flash"), tmp_path)
    assert error["kind"] == "engine"
    assert "wrote no file" in error["message"] and "attention mode 'flash'" in error["message"]


def test_a_generic_model_failure_is_an_engine_error_and_the_engine_goes_on(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    error = terminal(ready_bridge, "err", t2v_settings("[fake:error] x"), tmp_path)
    assert error["kind"] == "engine"
    assert "injected model failure" in error["message"]
    assert terminal(ready_bridge, "ok", t2v_settings(), tmp_path)["type"] == "result"


def test_a_cuda_error_that_poisons_the_context_ends_the_process_non_zero(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    messages = ready_bridge.run_job("cuda", t2v_settings("[fake:cuda] x"), tmp_path / "cuda")
    assert (messages[-1]["kind"], messages[-1]["detail"]["cuda_context_poisoned"]) == ("engine", True)
    assert ready_bridge.next_message()["type"] == "fatal"
    assert ready_bridge.process.wait(10) == 4


def test_a_crash_inside_wangp_ends_the_process_without_a_terminal_message(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    ready_bridge.generate("crash", t2v_settings("[fake:crash] x"), tmp_path / "crash")
    with pytest.raises(EOFError):
        ready_bridge.job_messages("crash")
    assert ready_bridge.process.wait(10) == 70


def test_shutdown_during_a_job_cancels_it_and_exits_zero(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge(env={"FAKE_WANGP_STEP_S": "0.05"})
    bridge.wait_for("ready")
    bridge.generate("running", t2v_settings(num_inference_steps=500), tmp_path / "running")
    bridge.wait_for("progress")
    started = time.monotonic()
    bridge.send({"type": "shutdown"})

    assert bridge.job_messages("running")[-1]["kind"] == "cancelled"
    assert bridge.process.wait(10) == 0
    assert time.monotonic() - started < 5
