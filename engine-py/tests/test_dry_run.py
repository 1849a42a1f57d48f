"""The dry-run adapter: no WanGP, settings checked and written, progress over a set duration."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bridge_process import FAKE_WANGP, read_record, t2v_settings


def dry_run(start_bridge, *args: str):
    bridge = start_bridge(adapter_args=["--adapter", "dry-run", *args])
    ready = bridge.next_message()
    assert ready["type"] == "ready"
    return bridge, ready


def test_ready_says_dry_run_without_wangp(start_bridge) -> None:
    _, ready = dry_run(start_bridge, "--dry-run-duration", "0")
    assert (ready["adapter"], ready["wangp_version"], ready["gpu"], ready["wangp"]) == ("dry-run", None, None, None)


def test_a_job_writes_settings_json_and_reports_progress_over_the_duration(start_bridge, tmp_path: Path) -> None:
    bridge, _ = dry_run(start_bridge, "--dry-run-duration", "0.4")
    started = time.monotonic()
    messages = bridge.run_job("d1", t2v_settings(num_inference_steps=8, seed=7), tmp_path / "d1")
    elapsed = time.monotonic() - started

    result = messages[-1]
    assert result["type"] == "result"
    assert [m["step"] for m in messages if m["type"] == "progress"] == list(range(1, 9))
    assert elapsed >= 0.4
    written = json.loads(Path(result["main_file"]).read_text())
    assert result["files"] == [str(tmp_path / "d1" / "settings.json")]
    assert written == result["settings"]
    assert (written["seed"], written["multi_prompts_gen_type"], written["output_filename"]) == (7, "FG", "output")


def test_settings_json_is_exactly_what_the_wangp_adapter_sends(start_bridge, tmp_path: Path, record_file: Path) -> None:
    settings = t2v_settings(
        seed=99, resolution="960x544", activated_loras=["fixture_style.safetensors"], loras_multipliers="0.3"
    )
    dry, _ = dry_run(start_bridge, "--dry-run-duration", "0")
    written = json.loads(
        Path(dry.run_job("same", settings, tmp_path / "dry", output_name="same")[-1]["main_file"]).read_text()
    )
    real = start_bridge()
    real.wait_for("ready")
    assert real.run_job("same", settings, tmp_path / "real", output_name="same")[-1]["type"] == "result"

    sent = next(r for r in read_record(record_file) if r["event"] == "submit")["params"]
    sent.pop("settings_version")  # added by WanGP's own normalisation
    assert written == sent


def test_bad_settings_are_invalid(start_bridge, tmp_path: Path) -> None:
    bridge, _ = dry_run(start_bridge, "--dry-run-duration", "0")
    error = bridge.run_job("bad", {"model_type": "t2v", "prompt": "x", "num_inference_steps": "30"}, tmp_path / "bad")[
        -1
    ]
    assert (error["kind"], error["detail"]["problems"]) == (
        "invalid",
        ["num_inference_steps must be a positive integer, got '30'"],
    )


def test_with_a_wangp_root_unknown_model_types_are_invalid(start_bridge, tmp_path: Path) -> None:
    bridge, _ = dry_run(start_bridge, "--dry-run-duration", "0", "--wangp-root", str(FAKE_WANGP))
    assert bridge.run_job("ok", t2v_settings(model_type="vace_14B"), tmp_path / "ok")[-1]["type"] == "result"
    assert bridge.run_job("no", t2v_settings(model_type="t2v_9000"), tmp_path / "no")[-1]["kind"] == "invalid"
    bridge.send({"type": "describe", "id": "d", "model_type": "i2v_720p"})
    described = bridge.wait_for("described")
    assert described["defaults"]["resolution"] == "1280x720"


def test_cancel_stops_a_dry_run_job(start_bridge, tmp_path: Path) -> None:
    bridge, _ = dry_run(start_bridge, "--dry-run-duration", "10")
    bridge.generate("slow", t2v_settings(num_inference_steps=100), tmp_path / "slow")
    bridge.wait_for("progress")
    bridge.send({"type": "cancel", "id": "slow"})
    assert bridge.job_messages("slow", timeout=3)[-1]["kind"] == "cancelled"
    assert not (tmp_path / "slow" / "settings.json").exists()


def test_a_job_named_to_fail_once_fails_its_first_attempt_with_oom_then_runs(start_bridge, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    env = {"WGP_FARM_DRY_RUN_FAIL_ONCE": "rehearse, other", "WGP_FARM_DRY_RUN_FAIL_ONCE_DIR": str(markers)}
    bridge = start_bridge("--dry-run-duration", "0", adapter_args=["--adapter", "dry-run"], env=env)
    assert bridge.next_message()["type"] == "ready"

    first = bridge.run_job("rehearse", t2v_settings(num_inference_steps=4), tmp_path / "a1")[-1]
    assert (first["type"], first["kind"]) == ("error", "oom")
    assert "dry-run rehearsal" in first["message"]
    second = bridge.run_job("rehearse", t2v_settings(num_inference_steps=4), tmp_path / "a2")[-1]
    assert second["type"] == "result"
    plain = bridge.run_job("plain", t2v_settings(num_inference_steps=4), tmp_path / "p")[-1]
    assert plain["type"] == "result"
    assert sorted(path.name for path in markers.iterdir()) == ["rehearse.failed"]
