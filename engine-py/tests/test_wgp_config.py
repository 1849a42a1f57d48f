from __future__ import annotations

import json
from pathlib import Path

import pytest
from wgp_bridge.errors import FatalError
from wgp_bridge.wgp_config import prepare_config


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_a_missing_gpu_config_is_seeded_from_the_root_with_keys_applied_and_preload_dropped(tmp_path: Path) -> None:
    write(tmp_path / "wangp" / "wgp_config.json", {"profile": 4, "preload_model_policy": ["P", "S"], "boost": 1})
    target = prepare_config(tmp_path / "gpu1", tmp_path / "wangp", {"boost": 2})
    assert json.loads(target.read_text()) == {
        "profile": 4,
        "preload_model_policy": ["S"],
        "boost": 2,
        "keep_intermediate_sliding_windows": 0,
    }


def test_an_existing_gpu_config_is_kept_and_updated(tmp_path: Path) -> None:
    write(tmp_path / "wangp" / "wgp_config.json", {"profile": 4})
    write(tmp_path / "gpu1" / "wgp_config.json", {"profile": 2, "keep_intermediate_sliding_windows": 0})
    target = prepare_config(tmp_path / "gpu1", tmp_path / "wangp", {"vae_precision": "32"})
    assert json.loads(target.read_text()) == {
        "profile": 2,
        "keep_intermediate_sliding_windows": 0,
        "vae_precision": "32",
    }


def test_without_any_config_wangp_writes_its_defaults_unless_keys_must_be_set(tmp_path: Path) -> None:
    target = prepare_config(tmp_path / "gpu1", tmp_path / "wangp", {})
    assert target == tmp_path / "gpu1" / "wgp_config.json" and not target.exists()
    with pytest.raises(FatalError, match="Start WanGP once"):
        prepare_config(tmp_path / "gpu2", tmp_path / "wangp", {"boost": 2})
