"""The per-GPU `wgp_config.json`: seeded from the WanGP root's, with the option keys applied.

Two keys are always pinned: no preload ("P" hangs after a failed load and loads a model at
import) and no intermediate sliding-window files (only the final video is kept)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wgp_bridge.bridge_log import note
from wgp_bridge.errors import FatalError

CONFIG_NAME = "wgp_config.json"
PINNED_KEYS: dict[str, Any] = {"keep_intermediate_sliding_windows": 0}


def prepare_config(config_dir: Path, wangp_root: Path, keys: dict[str, Any]) -> Path:
    target = config_dir / CONFIG_NAME
    config_dir.mkdir(parents=True, exist_ok=True)
    seed = target if target.is_file() else wangp_root / CONFIG_NAME
    if not seed.is_file():
        if keys:
            raise FatalError(
                f"cannot seed {target}: the WanGP root has no {CONFIG_NAME}. Start WanGP once to create it, "
                f"or drop the options that set config keys ({', '.join(sorted(keys))})",
                {"config_path": str(target), "keys": sorted(keys)},
            )
        note(f"no {CONFIG_NAME} to seed from; WanGP will write its defaults to {target}")
        return target
    try:
        current = json.loads(seed.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FatalError(f"cannot read {seed}: {exc}", {"config_path": str(seed)}) from None
    wanted = {**current, **keys, **PINNED_KEYS}
    policy = wanted.get("preload_model_policy") or []
    if "P" in policy:
        note(f"removing 'P' from preload_model_policy seeded from {seed}")
        wanted["preload_model_policy"] = [letter for letter in policy if letter != "P"]
    if seed != target or wanted != current:
        _write_atomically(target, wanted)
    return target


def _write_atomically(path: Path, config: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(config, indent=2), encoding="utf-8")
    os.replace(temporary, path)
