"""The bridge's folder must not shadow WanGP's top-level packages (CONTRACT.md §1.1)."""

from __future__ import annotations

from bridge_process import ENGINE_PY

WANGP_TOP_LEVEL = {"shared", "models", "plugins", "postprocessing", "preprocessing", "profiles", "wgp"}


def test_no_wangp_package_name_is_importable_from_the_bridge_folder() -> None:
    names = {path.stem for path in ENGINE_PY.iterdir() if path.is_dir() or path.suffix == ".py"}
    assert names & WANGP_TOP_LEVEL == set()
