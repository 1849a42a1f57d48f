"""The host's own WanGP lists (setting names, media keys, model types, version) reported in `ready`,
and only names the host knows sent to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bridge_process import read_record, t2v_settings

from wgp_bridge.wangp_catalog import builtin_catalog

pytestmark = pytest.mark.wangp_contract


def test_ready_reports_the_hosts_version_setting_names_media_keys_and_models(ready_bridge_message: dict) -> None:
    catalog = ready_bridge_message["wangp"]["catalog"]

    assert catalog["version"] == ready_bridge_message["wangp_version"] == "12.60+fake-wangp"
    assert {"video_length", "activated_loras", "model_type", "settings_version"} <= set(catalog["setting_names"])
    assert not {"task", "send_cmd", "state", "plugin_data"} & set(catalog["setting_names"])
    assert catalog["media_keys"] == builtin_catalog()["media_keys"]
    assert catalog["model_types"] == [
        "ace_step_v1",
        "i2v",
        "i2v_720p",
        "t2v",
        "t2v_1.3B",
        "vace_1.3B",
        "vace_14B",
        "z_image",
    ]
    assert catalog["source"]["setting_names"] == "host"
    assert catalog["source"]["builtin_wangp"]["version"] == builtin_catalog()["wangp"]["version"]


def test_a_setting_the_host_does_not_know_is_not_sent(start_bridge, tmp_path: Path, record_file: Path) -> None:
    # Like a later line of WanGP, the double refuses unknown names when asked to.
    bridge = start_bridge(env={"FAKE_WANGP_REFUSE_UNKNOWN_SETTINGS": "1"})
    assert bridge.next_message()["type"] == "ready"
    messages = bridge.run_job("j", t2v_settings(no_such_setting=1), tmp_path / "j")

    assert messages[-1]["type"] == "result", messages[-1]
    notes = [m["line"] for m in messages if m["type"] == "log" and m["stream"] == "bridge"]
    assert any("not sent, unknown to WanGP 12.60+fake-wangp: no_such_setting" in line for line in notes)
    sent = next(r for r in read_record(record_file) if r["event"] == "validate")["params"]
    assert "no_such_setting" not in sent and "no_such_setting" not in messages[-1]["settings"]


def test_the_builtin_catalog_is_the_repositorys_one_file() -> None:
    catalog = builtin_catalog()
    path = Path(__file__).resolve().parents[2] / "libs" / "tasks" / "catalog" / "wangp-catalog.json"
    assert catalog == json.loads(path.read_text(encoding="utf-8"))
    assert catalog["wangp"]["commit"] and catalog["wangp"]["mmgp_version"]
