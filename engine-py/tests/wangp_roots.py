"""Which WanGP the bridge's contract tests run against.

By default: the test double (test/fixtures/fake-wangp), whose `shared/api.py` is a double too.
With WGP_FARM_TEST_API_LAYER=real: a test root that takes WanGP's own API layer from the checkout
named by WGP_FARM_TEST_WANGP_ROOT (`shared/api.py`, `shared/api_cli.py` and the `shared/utils`
modules they import) and the double's `wgp.py`, models and LoRAs, plus stand-ins for torch and PIL.
WanGP's code is only copied into a temporary folder, never into the repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bridge_process import FAKE_WANGP

MODE_VARIABLE = "WGP_FARM_TEST_API_LAYER"
CHECKOUT_VARIABLE = "WGP_FARM_TEST_WANGP_ROOT"
# WanGP's API layer: the files the real-layer root takes from the checkout.
REAL_API_FILES = (
    "shared/api.py",
    "shared/api_cli.py",
    "shared/utils/frame_scheduler.py",
    "shared/utils/loras_mutipliers.py",
    "shared/utils/process_locks.py",
    "shared/utils/thread_utils.py",
    "shared/utils/virtual_media.py",
)
# The double's side: its wgp.py and data, and its stand-in for shared/model_dropdowns.py (gradio).
DOUBLE_FILES = ("wgp.py", "wgp_config.json", "defaults", "models", "loras", "shared/model_dropdowns.py")
# WanGP's shared/utils/__init__.py imports torch and diffusers; the API layer needs none of it.
UTILS_INIT = '"""Test root: stands in for WanGP\'s shared/utils/__init__.py (torch and diffusers)."""\n'


def real_api_layer_wanted() -> bool:
    return os.environ.get(MODE_VARIABLE, "") == "real"


def real_api_layer_checkout() -> Path | None:
    raw = os.environ.get(CHECKOUT_VARIABLE, "").strip()
    return Path(raw).resolve() if raw else None


def skip_reason() -> str | None:
    """Why the real-API-layer mode cannot run, or None when it can."""
    checkout = real_api_layer_checkout()
    if checkout is None:
        return (
            f"{CHECKOUT_VARIABLE} is unset: point it at a WanGP checkout (e.g. from "
            "../shared/tools/export-commit.py) to run the contract tests over WanGP's own shared/api.py"
        )
    missing = [name for name in REAL_API_FILES if not (checkout / name).is_file()]
    if missing:
        return f"{checkout} is not a WanGP checkout with the in-process API: missing {', '.join(missing)}"
    return None


def build_real_api_root(checkout: Path, destination: Path) -> Path:
    """Writes the test root: the double's wgp.py and data + WanGP's API layer + stand-ins."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in DOUBLE_FILES:
        _copy(FAKE_WANGP / name, destination / name)
    for name in REAL_API_FILES:
        _copy(checkout / name, destination / name)
    (destination / "shared" / "utils" / "__init__.py").write_text(UTILS_INIT, encoding="utf-8")
    # Linked, not copied, so the double's helpers still find the repository's catalog.
    (destination / "shared" / "fake_wangp").symlink_to(FAKE_WANGP / "shared" / "fake_wangp", target_is_directory=True)
    for standin in ("torch", "PIL"):
        _copy(FAKE_WANGP / "standins" / standin, destination / standin)
    return destination


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy2(source, target)
