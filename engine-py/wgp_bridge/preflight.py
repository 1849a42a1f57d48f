"""Pre-flight: what a WanGP checkout needs before it is imported, checked without importing it.

Importing WanGP fails late and opaquely: a wrong `mmgp` makes `wgp.py` call `exit()` (a bare
`SystemExit(None)`), a root config without `video_profile`/`attention_mode` raises `KeyError`, a
missing ffmpeg is downloaded from GitHub at start-up. The bridge runs these checks before `init`
and refuses to start on a failure, naming the fix; `python -m wgp_bridge.preflight` prints the same
report as JSON for the `doctor` command."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "warn", "fail", "skip"]
ATTENTION_MODES = ("auto", "sdpa", "sage", "sage2", "flash", "xformers")
# Root config keys WanGP reads with [] at import (wgp.py:3312,3321 at v12.60).
REQUIRED_ROOT_KEYS = ("attention_mode", "video_profile")
# Only literal assignments (`WanGP_version = "12.60"`, `settings_version = 2.74`) count.
_VERSION_LINE = re.compile(
    r'^(WanGP_version|target_mmgp_version|settings_version)[ \t]*=[ \t]*(?:"([^"\n]*)"|([0-9][0-9.]*))[ \t]*(?:#.*)?$',
    re.M,
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class PreflightReport:
    wangp_root: str
    wangp_version: str | None
    mmgp_required: str | None
    mmgp_installed: str | None
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "checks": [asdict(check) for check in self.checks], "ok": self.ok}


def read_versions(root: Path) -> dict[str, str]:
    """The version lines of `wgp.py`, read as text (it cannot be imported without a GPU stack)."""
    try:
        text = (root / "wgp.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for name, quoted, number in _VERSION_LINE.findall(text):
        found.setdefault(name, quoted or number)
    return found


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def run_preflight(root: Path, config_paths: Iterable[Path] = ()) -> PreflightReport:
    root = root.resolve()
    versions = read_versions(root)
    required, installed = versions.get("target_mmgp_version"), installed_version("mmgp")
    checks = [
        _checkout(root),
        _mmgp(required, installed),
        *(_tool(root, tool) for tool in ("ffmpeg", "ffprobe")),
        _settings_folder(root),
        _root_config(root),
        *(_plugins(path) for path in config_paths),
    ]
    return PreflightReport(str(root), versions.get("WanGP_version"), required, installed, tuple(checks))


def _checkout(root: Path) -> Check:
    missing = [name for name in ("wgp.py", "shared/api.py") if not (root / name).is_file()]
    if missing:
        return Check(
            "checkout",
            "fail",
            f"{root} is not a WanGP checkout with the in-process API: no {', '.join(missing)}",
            "point --wangp-root at a WanGP checkout of v10.981 or later (shared/api.py)",
        )
    return Check("checkout", "ok", f"{root} has wgp.py and shared/api.py")


def _mmgp(required: str | None, installed: str | None) -> Check:
    if required is None:
        return Check("mmgp", "skip", "wgp.py names no target_mmgp_version")
    fix = f"pip install mmgp=={required} (in WanGP's Python environment)"
    if installed is None:
        return Check("mmgp", "fail", f"mmgp is not installed; WanGP needs mmgp {required}", fix)
    if installed != required:
        return Check(
            "mmgp",
            "fail",
            f"mmgp {installed} is installed but WanGP needs {required}: importing WanGP would exit with SystemExit(None)",
            fix,
        )
    return Check("mmgp", "ok", f"mmgp {installed}, as WanGP needs")


def _tool(root: Path, tool: str) -> Check:
    for folder in (root / "ffmpeg_bins", root):
        if (folder / tool).is_file():
            return Check(tool, "ok", f"{folder / tool}")
    found = shutil.which(tool)
    if found:
        return Check(tool, "ok", found)
    return Check(
        tool,
        "warn",
        f"{tool} is not on PATH nor in {root / 'ffmpeg_bins'}: WanGP downloads it from GitHub when it starts",
        "install ffmpeg on the host (e.g. apt-get install ffmpeg)",
    )


def _settings_folder(root: Path) -> Check:
    if (root / "settings").is_dir():
        return Check("settings", "ok", f"{root / 'settings'} exists")
    return Check(
        "settings",
        "warn",
        f"{root / 'settings'} is missing: WanGP creates it at import without exist_ok, so engines starting "
        "together on this checkout can fail with FileExistsError",
        f"mkdir {root / 'settings'} (or start one engine first)",
    )


def _root_config(root: Path) -> Check:
    path = root / "wgp_config.json"
    if not path.is_file():
        return Check("root-config", "ok", f"no {path}: WanGP writes its defaults on first start")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Check("root-config", "fail", f"{path} cannot be read: {exc}", f"fix or delete {path}")
    if not isinstance(config, dict):
        return Check("root-config", "fail", f"{path} is not a JSON object", f"fix or delete {path}")
    missing = [key for key in REQUIRED_ROOT_KEYS if key not in config]
    if missing:
        return Check(
            "root-config",
            "fail",
            f"{path} lacks {', '.join(missing)}: WanGP raises KeyError at import",
            f"add {', '.join(missing)} to {path} (or delete it so WanGP writes its defaults)",
        )
    attention = config.get("attention_mode")
    if attention not in ATTENTION_MODES:
        return Check(
            "root-config",
            "fail",
            f"{path}: attention_mode {attention!r} is not one of {', '.join(ATTENTION_MODES)}",
            f'set "attention_mode": "auto" in {path}',
        )
    return Check("root-config", "ok", f"{path} has {', '.join(REQUIRED_ROOT_KEYS)}")


def _plugins(config_path: Path) -> Check:
    name = f"plugins:{config_path}"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Check(name, "skip", f"{config_path} cannot be read yet")
    plugins = config.get("enabled_plugins") if isinstance(config, dict) else None
    if plugins:
        return Check(
            name,
            "warn",
            f"{config_path} enables plugins ({', '.join(map(str, plugins))}): they load into every engine",
            f'set "enabled_plugins": [] in {config_path}',
        )
    return Check(name, "ok", "no plugins enabled")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wgp_bridge.preflight", description=__doc__)
    parser.add_argument("--wangp-root", required=True, type=Path)
    parser.add_argument("--config", action="append", default=[], type=Path, help="a GPU's wgp_config.json")
    options = parser.parse_args(argv)
    report = run_preflight(options.wangp_root, options.config)
    print(json.dumps(report.as_dict(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
