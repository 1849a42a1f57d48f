"""scripts/generate-wangp-catalog.py on a small WanGP-shaped checkout: WanGP is read, never run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bridge_process import REPO_ROOT

WGP = '''
import torch  # never imported by the generator
target_mmgp_version = "9.1.2"
WanGP_version = "99.1"
settings_version = 3.5
ATTACHMENT_KEYS = ["image_start", "video_guide3"]
family_handlers = ["models.demo.demo_handler"]

def generate_media(task, send_cmd, prompt, video_length, state, model_type, plugin_data=None):
    raise SystemExit("not to be run")
'''
HANDLER = '''
import os
import torch
from shared.utils.hf import build_hf_url
from .rules import is_small

@torch.no_grad()
def heavy():
    return torch.zeros(1)

class family_handler:
    @staticmethod
    def query_supported_types():
        return ["demo", "demo_small"]

    @staticmethod
    def get_lora_dir(base_model_type, args, lora_root):
        return os.path.join(lora_root, "demo_small" if is_small(base_model_type) else "demo")
'''


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_catalog_is_read_from_the_checkouts_own_files(tmp_path: Path) -> None:
    checkout = tmp_path / "wangp"
    write(checkout / "wgp.py", WGP)
    write(checkout / "models" / "demo" / "demo_handler.py", HANDLER)
    write(checkout / "models" / "demo" / "rules.py", "def is_small(t):\n    return t.endswith('_small')\n")
    write(checkout / "models" / "_settings.json", json.dumps({"prompt": "", "sliding_window_size": 129}))
    for name, architecture in (("demo", "demo"), ("demo_small_distilled", "demo_small"), ("other", "other")):
        write(checkout / "defaults" / f"{name}.json", json.dumps({"model": {"name": name.title(), "architecture": architecture}}))
    out = tmp_path / "catalog.json"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate-wangp-catalog.py"), str(checkout), "--commit", "abc", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    catalog = json.loads(out.read_text(encoding="utf-8"))

    assert catalog["wangp"] == {
        "repository": "deepbeepmeep/Wan2GP",
        "commit": "abc",
        "version": "99.1",
        "mmgp_version": "9.1.2",
        "settings_version": 3.5,
    }
    assert catalog["generate_media_parameters"] == ["prompt", "video_length", "model_type"]
    assert catalog["setting_names"] == ["model_type", "prompt", "settings_version", "sliding_window_size", "video_length"]
    assert catalog["media_keys"] == ["image_start", "video_guide3"]
    assert {name: model["lora_dir"] for name, model in catalog["models"].items()} == {
        "demo": "demo",
        "demo_small_distilled": "demo_small",
        "other": None,
    }
