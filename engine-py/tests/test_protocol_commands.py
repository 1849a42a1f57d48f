"""The command loop: ping, describe, refusals that keep the process alive, shutdown and EOF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bridge_process import BridgeProcess, t2v_settings

pytestmark = pytest.mark.wangp_contract


def test_ping_is_answered_with_pong(ready_bridge: BridgeProcess) -> None:
    ready_bridge.send({"type": "ping", "id": "p-1"})
    assert ready_bridge.next_message() == {"type": "pong", "id": "p-1"}


def test_describe_returns_defaults_lora_folder_loras_and_availability(
    ready_bridge: BridgeProcess, wangp_root: Path
) -> None:
    ready_bridge.send({"type": "describe", "id": "d", "model_type": "t2v"})
    described = ready_bridge.wait_for("described")

    assert described["id"] == "d"
    assert described["name"] == "Fixture Text2video 14B"
    assert described["defaults"]["num_inference_steps"] == 30
    assert described["defaults"]["model_type"] == "t2v"
    assert described["lora_dir"] == str(wangp_root / "loras" / "wan")
    assert described["loras"] == ["fixture_style.safetensors"]
    assert described["availability"]["status"] == "available"


def test_describe_knows_each_family_lora_folder(ready_bridge: BridgeProcess) -> None:
    folders = {}
    for model_type in ("t2v_1.3B", "vace_1.3B", "i2v", "i2v_720p", "vace_14B"):
        ready_bridge.send({"type": "describe", "id": model_type, "model_type": model_type})
        folders[model_type] = Path(ready_bridge.wait_for("described")["lora_dir"]).name
    assert folders == {
        "t2v_1.3B": "wan_1.3B",
        "vace_1.3B": "wan_1.3B",
        "i2v": "wan_i2v",
        "i2v_720p": "wan_i2v",
        "vace_14B": "wan",
    }


def test_describe_of_an_unknown_model_type_is_an_invalid_error(ready_bridge: BridgeProcess) -> None:
    ready_bridge.send({"type": "describe", "id": "d2", "model_type": "nope"})
    error = ready_bridge.wait_for("error")
    assert (error["id"], error["kind"]) == ("d2", "invalid")


def test_unknown_and_malformed_commands_get_a_protocol_error_and_the_process_lives_on(
    ready_bridge: BridgeProcess, tmp_path: Path
) -> None:
    ready_bridge.send({"type": "launch_rockets", "id": "x"})
    unknown = ready_bridge.next_message()
    assert (unknown["type"], unknown["id"]) == ("protocol_error", "x")
    assert "unknown command type" in unknown["message"]

    for bad in (b"this is not json", b"[1, 2, 3]", b'{"type": "cancel"}', b'{"type":"ping","id":NaN}', b"\xff\xfe"):
        ready_bridge.send(bad)
        assert ready_bridge.next_message()["type"] == "protocol_error"

    assert ready_bridge.run_job("still-alive", t2v_settings(), tmp_path / "alive")[-1]["type"] == "result"


def test_an_oversized_line_is_refused_without_killing_the_process(start_bridge) -> None:
    bridge = start_bridge("--max-line-bytes", "4096")
    assert bridge.next_message()["max_line_bytes"] == 4096
    bridge.send(b'{"type":"ping","id":"' + b"x" * 100_000 + b'"}')
    refusal = bridge.next_message()
    assert refusal["type"] == "protocol_error" and "4096" in refusal["message"]
    bridge.send({"type": "ping", "id": "after"})
    assert bridge.next_message() == {"type": "pong", "id": "after"}


def test_a_cancel_for_a_job_that_is_not_running_is_ignored(ready_bridge: BridgeProcess) -> None:
    ready_bridge.send({"type": "cancel", "id": "ghost"})
    ready_bridge.send({"type": "ping", "id": "p"})
    assert ready_bridge.next_message() == {"type": "pong", "id": "p"}


def test_shutdown_exits_zero(ready_bridge: BridgeProcess) -> None:
    ready_bridge.send({"type": "shutdown"})
    assert ready_bridge.process.wait(10) == 0


def test_end_of_input_exits_zero(ready_bridge: BridgeProcess) -> None:
    ready_bridge.process.stdin.close()
    assert ready_bridge.process.wait(10) == 0


def describe_lora_dirs(bridge: BridgeProcess, *model_types: str) -> dict[str, str]:
    assert bridge.next_message()["type"] == "ready"
    folders = {}
    for model_type in model_types:
        bridge.send({"type": "describe", "id": model_type, "model_type": model_type})
        folders[model_type] = bridge.wait_for("described")["lora_dir"]
    return folders


def test_describe_reports_the_lora_folder_under_the_loras_flag(start_bridge, tmp_path: Path) -> None:
    # WanGP's --loras moves the LoRA root; each family keeps its folder under it.
    bridge = start_bridge(f"--wangp-arg=--loras={tmp_path / 'farm-loras'}")
    assert describe_lora_dirs(bridge, "t2v", "i2v", "z_image") == {
        "t2v": str(tmp_path / "farm-loras" / "wan"),
        "i2v": str(tmp_path / "farm-loras" / "wan_i2v"),
        "z_image": str(tmp_path / "farm-loras" / "z_image"),
    }


def test_describe_reports_the_lora_folder_under_the_configs_loras_root(
    start_bridge, tmp_path: Path, wangp_root: Path
) -> None:
    config_dir = tmp_path / "gpu0"
    config_dir.mkdir()
    seeded = json.loads((wangp_root / "wgp_config.json").read_text(encoding="utf-8"))
    (config_dir / "wgp_config.json").write_text(json.dumps({**seeded, "loras_root": str(tmp_path / "shared-loras")}))
    bridge = start_bridge(
        adapter_args=["--adapter", "wangp", "--wangp-root", str(wangp_root), "--config-dir", str(config_dir)]
    )
    assert describe_lora_dirs(bridge, "t2v_1.3B") == {"t2v_1.3B": str(tmp_path / "shared-loras" / "wan_1.3B")}
