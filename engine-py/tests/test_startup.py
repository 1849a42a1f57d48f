"""Start-up: `ready` with what the worker needs, or `fatal` with why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bridge_process import FAKE_WANGP, read_record


def test_ready_describes_the_engine(start_bridge, tmp_path: Path, record_file: Path) -> None:
    bridge = start_bridge(env={"CUDA_VISIBLE_DEVICES": "3"})
    ready = bridge.next_message()

    assert ready["type"] == "ready"
    assert ready["protocol"] == 1
    assert ready["adapter"] == "wangp"
    assert ready["wangp_version"] == "12.60+fake-wangp"
    assert ready["python"] == ".".join(map(str, sys.version_info[:3]))
    assert ready["gpu"] is None  # torch is not loaded in the test double
    assert ready["wangp"]["config_path"] == str(tmp_path / "gpu0" / "wgp_config.json")
    init = next(r for r in read_record(record_file) if r["event"] == "init")
    assert "--gpu" not in init["argv"]
    assert init["cuda_visible_devices"] == "3"


def test_legacy_options_become_cli_args_and_per_gpu_config_keys(
    start_bridge, tmp_path: Path, record_file: Path
) -> None:
    bridge = start_bridge(
        "--wgp-attention-mode",
        "sdpa",
        "--wgp-profile",
        "3.5",
        "--wgp-compile",
        "transformer",
        "--wgp-transformer-dtype-policy",
        "fp16",
        "--wgp-boost",
        "2",
        "--wgp-transformer-quantization",
        "fp8",
        "--wgp-vae-precision",
        "32",
        "--wgp-mixed-precision",
        "1",
        "--wgp-preload-policy",
        "S",
    )
    ready = bridge.next_message()
    assert ready["type"] == "ready", ready

    init = next(r for r in read_record(record_file) if r["event"] == "init")
    assert init["argv"][:6] == ["--attention", "sdpa", "--compile", "--profile", "3.5", "--fp16"]
    config = json.loads((tmp_path / "gpu0" / "wgp_config.json").read_text())
    assert (config["boost"], config["transformer_quantization"], config["vae_precision"]) == (2, "fp8", "32")
    assert (config["mixed_precision"], config["preload_model_policy"]) == ("1", ["S"])
    assert config == init["config"]


@pytest.mark.parametrize(
    ("args", "reason_part"),
    [
        (["--wgp-preload-policy", "P"], "wait forever"),
        (["--wgp-vae-precision", "fp32"], "use 32"),
        (["--wgp-attention-mode", "sage3"], "WanGP accepts only"),
        (["--wangp-arg=--gpu", "--wangp-arg=cuda:1"], "CUDA_VISIBLE_DEVICES"),
    ],
)
def test_values_wangp_no_longer_takes_are_refused_with_the_reason(
    start_bridge, args: list[str], reason_part: str
) -> None:
    bridge = start_bridge(*args)
    fatal = bridge.next_message()
    assert fatal["type"] == "fatal"
    assert reason_part in fatal["message"]
    assert bridge.process.wait(10) == 2


@pytest.mark.parametrize(
    ("env", "args", "message_part"),
    [
        ({"FAKE_WANGP_INIT_FAULT": "mmgp"}, [], "SystemExit"),
        ({"FAKE_WANGP_INIT_FAULT": "no-gpu"}, [], "Found no NVIDIA driver"),
        ({}, ["--wangp-arg=--no-such-flag"], "SystemExit(2)"),
    ],
)
def test_a_failing_wangp_init_is_reported_as_fatal(start_bridge, env: dict, args: list[str], message_part: str) -> None:
    bridge = start_bridge(*args, env=env)
    fatal = bridge.next_message()
    assert fatal["type"] == "fatal"
    assert message_part in fatal["message"]
    assert bridge.process.wait(10) == 3


def test_a_folder_that_is_not_wangp_is_fatal(start_bridge, tmp_path: Path) -> None:
    bridge = start_bridge(
        adapter_args=["--adapter", "wangp", "--wangp-root", str(tmp_path), "--config-dir", str(tmp_path / "cfg")]
    )
    fatal = bridge.next_message()
    assert fatal["type"] == "fatal" and "shared/api.py" in fatal["message"]


def test_the_wangp_adapter_needs_its_folders(start_bridge) -> None:
    bridge = start_bridge(adapter_args=["--adapter", "wangp", "--wangp-root", str(FAKE_WANGP)])
    fatal = bridge.next_message()
    assert fatal["type"] == "fatal" and "--config-dir" in fatal["message"]
    assert bridge.process.wait(10) == 2
