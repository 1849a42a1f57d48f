"""Pre-flight: WanGP's needs checked before it is imported, alone and at bridge start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bridge_process import ENGINE_PY, FAKE_WANGP

from wgp_bridge.preflight import run_preflight


def checkout(tmp_path: Path, mmgp: str | None = "3.7.12", config: dict | None = None) -> Path:
    """A WanGP-shaped folder: the double's files, with a wgp.py version block like WanGP's."""
    root = tmp_path / "wangp"
    shutil.copytree(FAKE_WANGP, root, ignore=shutil.ignore_patterns("__pycache__"))
    header = f'WanGP_version = "12.60"\nsettings_version = 2.74\n'
    if mmgp is not None:
        header += f'target_mmgp_version = "{mmgp}"\n'
    (root / "wgp.py").write_text(header + (root / "wgp.py").read_text(encoding="utf-8"), encoding="utf-8")
    if config is not None:
        (root / "wgp_config.json").write_text(json.dumps(config), encoding="utf-8")
    return root


def fake_mmgp(tmp_path: Path, version: str) -> Path:
    """An installed-package record for mmgp, as pip leaves it in site-packages."""
    site = tmp_path / "site"
    info = site / f"mmgp-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmgp\nVersion: {version}\n", encoding="utf-8")
    return site


def preflight_cli(root: Path, *extra: str, site: Path | None = None) -> tuple[int, dict]:
    path = [str(ENGINE_PY), *([str(site)] if site else [])]
    done = subprocess.run(
        [sys.executable, "-m", "wgp_bridge.preflight", "--wangp-root", str(root), *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
    )
    return done.returncode, json.loads(done.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


def test_a_missing_mmgp_fails_and_names_the_pinned_version_to_install(tmp_path: Path) -> None:
    code, report = preflight_cli(checkout(tmp_path, mmgp="3.7.12"))
    assert code == 1 and report["ok"] is False
    assert report["wangp_version"] == "12.60" and report["mmgp_required"] == "3.7.12"
    assert by_name(report)["mmgp"]["status"] == "fail"
    assert "pip install mmgp==3.7.12" in by_name(report)["mmgp"]["fix"]


def test_another_mmgp_version_fails_before_wangp_would_exit_opaquely(tmp_path: Path) -> None:
    code, report = preflight_cli(checkout(tmp_path), site=fake_mmgp(tmp_path, "3.7.10"))
    mmgp = by_name(report)["mmgp"]
    assert code == 1 and report["mmgp_installed"] == "3.7.10"
    assert "SystemExit(None)" in mmgp["message"] and "pip install mmgp==3.7.12" in mmgp["fix"]


def test_the_pinned_mmgp_passes(tmp_path: Path) -> None:
    code, report = preflight_cli(checkout(tmp_path), site=fake_mmgp(tmp_path, "3.7.12"))
    assert by_name(report)["mmgp"]["status"] == "ok"
    assert code == 0 and report["ok"] is True


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"attention_mode": "auto"}, "lacks video_profile"),
        ({"video_profile": 4}, "lacks attention_mode"),
        ({"attention_mode": "fastest", "video_profile": 4}, "'fastest' is not one of"),
    ],
)
def test_root_config_keys_wangp_reads_at_import_are_checked(tmp_path: Path, config: dict, message: str) -> None:
    report = run_preflight(checkout(tmp_path, mmgp=None, config=config))
    check = next(c for c in report.checks if c.name == "root-config")
    assert check.status == "fail" and message in check.message and check.fix


def test_missing_settings_folder_and_enabled_plugins_are_warnings(tmp_path: Path) -> None:
    root = checkout(tmp_path, mmgp=None)
    gpu_config = tmp_path / "gpu0" / "wgp_config.json"
    gpu_config.parent.mkdir()
    gpu_config.write_text(json.dumps({"enabled_plugins": ["wan2gp-gallery"]}), encoding="utf-8")
    report = run_preflight(root, [gpu_config])
    checks = {check.name: check for check in report.checks}

    assert checks["settings"].status == "warn" and "FileExistsError" in checks["settings"].message
    assert checks[f"plugins:{gpu_config}"].status == "warn"
    assert '"enabled_plugins": []' in checks[f"plugins:{gpu_config}"].fix
    assert checks["mmgp"].status == "skip"
    assert report.ok
    (root / "settings").mkdir()
    assert next(c for c in run_preflight(root).checks if c.name == "settings").status == "ok"


def test_the_bridge_refuses_to_start_on_a_failed_preflight_naming_the_fix(start_bridge, tmp_path: Path) -> None:
    root = checkout(tmp_path, mmgp="9.9.9")
    bridge = start_bridge(
        adapter_args=["--adapter", "wangp", "--wangp-root", str(root), "--config-dir", str(tmp_path / "gpu0")]
    )
    fatal = bridge.next_message()

    assert fatal["type"] == "fatal"
    assert "pip install mmgp==9.9.9" in fatal["message"]
    assert fatal["detail"]["preflight"]["ok"] is False
    assert bridge.process.wait(10) == 3


def test_ready_carries_the_preflight_report(ready_bridge_message: dict) -> None:
    preflight = ready_bridge_message["wangp"]["preflight"]
    assert preflight["ok"] is True
    assert {check["name"] for check in preflight["checks"]} >= {"checkout", "mmgp", "ffmpeg", "root-config"}
