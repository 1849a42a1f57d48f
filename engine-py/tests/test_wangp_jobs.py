"""Jobs end to end through the wangp adapter against the WanGP test double."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from bridge_process import BridgeProcess, read_record, t2v_settings

pytestmark = pytest.mark.wangp_contract


def test_a_job_reports_progress_per_step_then_one_result_with_its_file(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    staging = tmp_path / "staging" / "job-1"
    messages = ready_bridge.run_job(
        "job-1", t2v_settings(num_inference_steps=5, seed=1234), staging, output_name="video"
    )

    steps = [(m["step"], m["total"]) for m in messages if m["type"] == "progress" and m["phase"] == "inference"]
    assert steps == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    percents = [m["percent"] for m in messages if m["type"] == "progress"]
    assert percents == sorted(percents) and 0 < percents[-1] <= 100
    assert [m["text"] for m in messages if m["type"] == "status"] == [
        "Loading model Fixture Text2video 14B...",
        "Model loaded",
    ]
    result = messages[-1]
    assert result["type"] == "result"
    assert [m["type"] for m in messages].count("result") == 1
    assert result["files"] == [str(staging / "video.mp4")]
    assert result["main_file"] == str(staging / "video.mp4")
    assert Path(result["main_file"]).read_bytes().startswith(b"FAKE-WANGP-OUTPUT")
    assert result["seed"] == 1234
    assert result["model_type"] == "t2v"
    assert set(result["timings"]) == {"model_load_s", "generation_s", "total_s"}


def test_the_settings_sent_to_wangp_pin_seed_prompt_mode_enhancer_and_file_name(
    ready_bridge: BridgeProcess, tmp_path: Path, record_file: Path
) -> None:
    result = ready_bridge.run_job(
        "job-2", t2v_settings(seed=-1, output_filename="{date}"), tmp_path / "out", output_name="job-2"
    )[-1]

    # Recorded by the double's wgp.validate_task, under either API layer (the double's or WanGP's own).
    submitted = [r for r in read_record(record_file) if r["event"] == "validate"]
    assert len(submitted) == 1
    params = submitted[0]["params"]
    assert submitted[0]["id"] == "job-2"
    assert params["multi_prompts_gen_type"] == "FG"
    assert params["prompt_enhancer"] == ""
    assert params["output_filename"] == "job-2"
    assert isinstance(params["seed"], int) and 0 <= params["seed"] <= 999_999_999
    assert result["seed"] == params["seed"]
    added_by_wangp_api = {"settings_version", "client_id"}
    assert result["settings"] == {k: v for k, v in params.items() if k not in added_by_wangp_api}


def test_the_model_loads_once_and_again_only_when_the_model_type_changes(
    start_bridge, tmp_path: Path, record_file: Path
) -> None:
    bridge = start_bridge(env={"FAKE_WANGP_LOAD_S": "0.3"})
    assert bridge.next_message()["type"] == "ready"
    first = bridge.run_job("a", t2v_settings(), tmp_path / "a")[-1]
    second = bridge.run_job("b", t2v_settings(), tmp_path / "b")[-1]
    third = bridge.run_job("c", t2v_settings(model_type="t2v_1.3B"), tmp_path / "c")[-1]

    assert [r["model_type"] for r in read_record(record_file) if r["event"] == "load"] == ["t2v", "t2v_1.3B"]
    # Timed between the two statuses, which WanGP's job thread takes from its queue every 10 ms.
    assert first["timings"]["model_load_s"] >= 0.3 - 0.02
    assert second["timings"]["model_load_s"] == 0
    assert third["timings"]["model_load_s"] >= 0.3 - 0.02


def test_with_several_files_the_last_one_is_the_main_file(ready_bridge: BridgeProcess, tmp_path: Path) -> None:
    result = ready_bridge.run_job("rep", t2v_settings(repeat_generation=3), tmp_path / "rep", output_name="clip")[-1]

    assert [Path(f).name for f in result["files"]] == ["clip.mp4", "clip(2).mp4", "clip(3).mp4"]
    assert result["main_file"] == result["files"][-1]
    assert all(Path(f).is_file() for f in result["files"])


def test_a_lora_is_found_relative_to_the_model_family_lora_folder(ready_bridge: BridgeProcess, tmp_path: Path) -> None:
    settings = t2v_settings(activated_loras=["fixture_style.safetensors"], loras_multipliers="0.7")
    assert ready_bridge.run_job("lora", settings, tmp_path / "lora")[-1]["type"] == "result"


def test_outputs_leave_the_scratch_folder_and_the_gpu_config_is_seeded(
    ready_bridge: BridgeProcess, tmp_path: Path, record_file: Path
) -> None:
    ready_bridge.run_job("s", t2v_settings(), tmp_path / "s")

    assert list((tmp_path / "gpu0" / "outputs").iterdir()) == []
    config = json.loads((tmp_path / "gpu0" / "wgp_config.json").read_text())
    assert config["preload_model_policy"] == []
    assert config["keep_intermediate_sliding_windows"] == 0
    init = next(r for r in read_record(record_file) if r["event"] == "init")
    assert init["config_path"] == str(tmp_path / "gpu0" / "wgp_config.json")
    assert init["config"]["attention_mode"] == "auto"  # seeded from the WanGP root's file


def test_many_jobs_in_a_row_all_succeed(ready_bridge: BridgeProcess, tmp_path: Path) -> None:
    for index in range(25):
        messages = ready_bridge.run_job(f"j{index}", t2v_settings(num_inference_steps=2), tmp_path / f"j{index}")
        assert messages[-1]["type"] == "result", messages[-1]


@pytest.mark.parametrize("terminal_signal", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hang-up"])
def test_ctrl_c_on_the_terminal_does_not_stop_a_running_job(
    start_bridge, tmp_path: Path, terminal_signal: signal.Signals
) -> None:
    """A terminal's Ctrl+C (or its hang-up) reaches the whole process group; the worker drains, the engine goes on."""
    bridge = start_bridge(env={"FAKE_WANGP_STEP_S": "0.05"})
    bridge.wait_for("ready")
    bridge.generate("through-ctrl-c", t2v_settings(num_inference_steps=10), tmp_path / "ctrl-c")
    bridge.wait_for("progress")
    bridge.process.send_signal(terminal_signal)

    assert bridge.job_messages("through-ctrl-c")[-1]["type"] == "result"
    bridge.send({"type": "ping", "id": "after-ctrl-c"})
    assert bridge.wait_for("pong")["id"] == "after-ctrl-c"
    assert bridge.process.poll() is None


@pytest.mark.parametrize(
    ("model_type", "media_type", "extension"),
    [("t2v", "video", ".mp4"), ("z_image", "image", ".jpg"), ("ace_step_v1", "audio", ".wav")],
)
def test_the_result_carries_the_media_type_of_the_models_main_output(
    ready_bridge: BridgeProcess, tmp_path: Path, model_type: str, media_type: str, extension: str
) -> None:
    result = ready_bridge.run_job(model_type, t2v_settings(model_type=model_type), tmp_path / model_type)[-1]
    assert result["type"] == "result", result
    assert result["media_type"] == media_type
    assert result["main_file"].endswith(extension) and result["main_file"] in result["files"]
