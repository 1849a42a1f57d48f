"""Shape checks of a WanGP settings dict, done before anything is sent: types of the keys the
farm uses, absolute media paths. Lenient about keys it does not know (WanGP ignores those)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from wgp_bridge.wangp_catalog import builtin_media_keys

MEDIA_KEYS = builtin_media_keys()
RESERVED_KEYS = {
    "state": "is WanGP's internal UI state, not a setting",
    "_api": "asks WanGP to return tensors in memory; the bridge works with files only",
}
_RESOLUTION = re.compile(r"^\d+x\d+$")
_SECONDS = re.compile(r"^\s*\d+(\.\d+)?\s*s\s*$", re.IGNORECASE)

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return _is_int(value) and value > 0


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_KEY_CHECKS: dict[str, tuple[Check, str]] = {
    "seed": (lambda v: _is_int(v), "an integer (-1 or absent: the bridge picks one)"),
    "num_inference_steps": (_is_positive_int, "a positive integer"),
    "video_length": (
        lambda v: _is_positive_int(v) or (isinstance(v, str) and bool(_SECONDS.match(v))),
        'a positive integer number of frames, or seconds like "5s"',
    ),
    "resolution": (
        lambda v: isinstance(v, str) and bool(_RESOLUTION.match(v)),
        'a string "WIDTHxHEIGHT", e.g. "832x480"',
    ),
    "guidance_scale": (_is_number, "a number"),
    "flow_shift": (_is_number, "a number"),
    "negative_prompt": (lambda v: isinstance(v, str), "a string"),
    "activated_loras": (_is_str_list, "a list of strings"),
    "loras_multipliers": (
        lambda v: isinstance(v, str) or (isinstance(v, list) and all(_is_number(x) for x in v)),
        'a string like "0.7 1.0" or a list of numbers',
    ),
    "video_prompt_type": (lambda v: isinstance(v, str), "a string of flags"),
    "image_prompt_type": (lambda v: isinstance(v, str), "a string of flags"),
    "repeat_generation": (_is_positive_int, "a positive integer"),
    "batch_size": (_is_positive_int, "a positive integer"),
}


def settings_problems(settings: Any) -> list[str]:
    if not isinstance(settings, dict):
        return ["settings must be a JSON object"]
    problems: list[str] = []
    model_type = settings.get("model_type")
    if not isinstance(model_type, str) or not model_type.strip():
        problems.append('model_type must be a non-empty string (a WanGP model type such as "t2v")')
    prompt = settings.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append("prompt must be a non-empty string")
    for key, reason in RESERVED_KEYS.items():
        if key in settings:
            problems.append(f"{key} must not be sent: it {reason}")
    for key, (check, expected) in _KEY_CHECKS.items():
        if key in settings and settings[key] is not None and not check(settings[key]):
            problems.append(f"{key} must be {expected}, got {settings[key]!r}")
    for key in MEDIA_KEYS:
        problems.extend(_media_problems(key, settings.get(key)))
    return problems


def _media_problems(key: str, value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list) else [value]
    problems = []
    for item in items:
        if not isinstance(item, str):
            problems.append(f"{key} must be a path string or a list of them, got {item!r}")
        elif "://" in item:
            problems.append(f"{key} must be a local file (WanGP does not fetch URLs): {item}")
        elif not os.path.isabs(item.split("|", 1)[0]):
            problems.append(f"{key} must be an absolute path: {item}")
    return problems
