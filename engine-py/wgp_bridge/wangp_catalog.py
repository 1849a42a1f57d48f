"""What a WanGP knows: setting names, media keys, model types, versions.

Two sources: the repository's built-in catalog (libs/tasks/catalog/wangp-catalog.json, generated
from a pinned WanGP by scripts/generate-wangp-catalog.py and shared with TypeScript and the test
double), and the WanGP this process runs (`host_catalog`), read from its loaded `wgp` module and its
JSON model definitions. The host's own lists win: WanGP ignores, or in later versions refuses,
setting names it does not know, so the bridge sends only those."""

from __future__ import annotations

import inspect
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

CATALOG_VARIABLE = "WGP_FARM_WANGP_CATALOG"
_BUILTIN = Path(__file__).resolve().parents[2] / "libs" / "tasks" / "catalog" / "wangp-catalog.json"
# generate_media parameters that are plumbing, not settings (as in the catalog generator).
_NOT_SETTINGS = frozenset({"task", "send_cmd", "state", "plugin_data"})
# Added by WanGP's API layer itself, whatever generate_media's signature says.
_API_SETTINGS = frozenset({"settings_version", "client_id"})


@cache
def builtin_catalog() -> dict[str, Any]:
    path = Path(os.environ.get(CATALOG_VARIABLE, "").strip() or _BUILTIN)
    return json.loads(path.read_text(encoding="utf-8"))


def builtin_media_keys() -> tuple[str, ...]:
    return tuple(builtin_catalog()["media_keys"])


def host_catalog(wgp: Any, root: Path) -> dict[str, Any]:
    """The lists of the WanGP loaded in this process; a list it does not expose falls back to the
    built-in catalog's, and `source` says which came from where."""
    builtin = builtin_catalog()
    setting_names = _signature_settings(wgp)
    media_keys = getattr(wgp, "ATTACHMENT_KEYS", None)
    model_types = _model_types(root)
    return {
        "version": _text(getattr(wgp, "WanGP_version", None)),
        "mmgp_version": _text(getattr(wgp, "target_mmgp_version", None)),
        "settings_version": getattr(wgp, "settings_version", None),
        "setting_names": setting_names or sorted(builtin["setting_names"]),
        "media_keys": list(media_keys) if isinstance(media_keys, (list, tuple)) else list(builtin["media_keys"]),
        "model_types": model_types,
        "source": {
            "setting_names": "host" if setting_names else "builtin",
            "media_keys": "host" if isinstance(media_keys, (list, tuple)) else "builtin",
            "model_types": "host",
            "builtin_wangp": builtin["wangp"],
        },
    }


def _signature_settings(wgp: Any) -> list[str]:
    generate_media = getattr(wgp, "generate_media", None)
    if not callable(generate_media):
        return []
    try:
        parameters = inspect.signature(generate_media).parameters
    except (TypeError, ValueError):
        return []
    named = [name for name, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    return sorted({*named, *_API_SETTINGS} - _NOT_SETTINGS)


def _model_types(root: Path) -> list[str]:
    """WanGP's JSON model definitions: `defaults/` and the host's own `finetunes/`."""
    return sorted({path.stem for folder in ("defaults", "finetunes") for path in (root / folder).glob("*.json")})


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def unknown_settings(settings: dict[str, Any], known: list[str] | frozenset[str]) -> list[str]:
    known_set = known if isinstance(known, frozenset) else frozenset(known)
    return sorted(key for key in settings if key not in known_set)
