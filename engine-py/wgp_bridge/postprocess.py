"""Late post-processing requests (`postprocess` command): the values WanGP accepts, checked before
anything is sent, and the keyword arguments of WanGP's session call.

The accepted values are WanGP's registered post-processors (v12.60, `postprocessing/*/wgp_bridge.py`,
docs/API.md "Late Postprocessing And Media Editing"): a spatial upsampler value is a method followed by
its multiplier (`lanczos1.5`, `flashvsr2`, `coz4`; no multiplier means 2), a temporal one `rife2` or
`rife4`, film grain an intensity above 0 with a saturation, a soundtrack a registered audio processor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wgp_bridge.errors import JobError
from wgp_bridge.fake_media import Edit
from wgp_bridge.media_types import media_type_of
from wgp_bridge.protocol import PostprocessCommand

MAX_SEED = 999_999_999
_HALF_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
_BOTH = ("video", "image")
# method -> (multipliers, media it accepts); VAE upsamplers are refused for late post-processing.
SPATIAL_UPSAMPLERS: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "lanczos": (_HALF_STEPS, _BOTH),
    "flashvsr": (_HALF_STEPS, _BOTH),
    "flashvsr2pass": (_HALF_STEPS, _BOTH),
    "seedvr2": (_HALF_STEPS, _BOTH),
    "ltx23": ((2.0,), ("video",)),
    "ltx25": ((2.0,), ("video",)),
    "coz": ((2.0, 4.0, 8.0, 16.0), ("image",)),
    "flux_pid": ((4.0,), ("image",)),
    "flux2_pid": ((4.0,), ("image",)),
    "flux_pid(1.5)": ((4.0,), ("image",)),
    "flux2_pid(1.5)": ((4.0,), ("image",)),
    "qwen_pid(1.5)": ((4.0,), ("image",)),
}
# RIFE: the value names the frame multiplier.
TEMPORAL_UPSAMPLERS = {"rife2": 2, "rife4": 4}
# Soundtrack processors of submit_audio_remux; `custom` lays an existing audio file under the video.
SOUNDTRACK_METHODS = ("custom", "mmaudio", "prismaudio")
_VOICE_METHODS = ("seedvc_one_speaker", "seedvc_two_speakers", "seedvc", "seedvc2")
_MEDIA_PARAMS = {
    "temporal_upsampling": "",
    "spatial_upsampling": "",
    "film_grain_intensity": 0.0,
    "film_grain_saturation": 0.5,
    "seed": -1,
}
_REMUX_PARAMS = {
    "postprocess_audio": "",
    "audio_source": None,
    "postprocess_audio_prompt": "",
    "postprocess_audio_neg_prompt": "",
    "seed": -1,
}
_seed_source = random.SystemRandom()


@dataclass(frozen=True)
class EditRequest:
    """A checked `postprocess` command: WanGP's call, its source and keyword arguments."""

    call: str
    source: str
    kwargs: dict[str, Any]

    @property
    def mode(self) -> str:
        return "edit_postprocessing" if self.call == "media_postprocessing" else "edit_remux"

    @property
    def settings(self) -> dict[str, Any]:
        """What was asked of WanGP, as its edit task records it (`mode`, `video_source`, the call's values)."""
        return {"mode": self.mode, "video_source": self.source, **self.kwargs}


def edit_of(request: EditRequest) -> Edit:
    """What a rehearsal (wgp_bridge.fake_media) does to a video for this request."""
    if request.call == "audio_remux":
        return Edit(soundtrack=True, audio_source=request.kwargs["audio_source"])
    spatial = request.kwargs["spatial_upsampling"]
    return Edit(
        spatial=spatial_factor(spatial) or 1.0 if spatial else 1.0,
        temporal=TEMPORAL_UPSAMPLERS.get(request.kwargs["temporal_upsampling"], 1),
        grain=float(request.kwargs["film_grain_intensity"]),
    )


def spatial_factor(value: str) -> float | None:
    """The multiplier of a spatial upsampling value, or None when WanGP registers no such value."""
    text = value.strip().lower()
    for method in sorted(SPATIAL_UPSAMPLERS, key=len, reverse=True):
        if text.startswith(method):
            rest = text[len(method) :]
            try:
                factor = float(rest) if rest else 2.0
            except ValueError:
                return None
            return factor if factor in SPATIAL_UPSAMPLERS[method][0] else None
    return None


def prepare_edit(command: PostprocessCommand) -> EditRequest:
    """The command's call with every value checked and the seed made explicit; JobError("invalid") lists
    every problem at once."""
    defaults = _MEDIA_PARAMS if command.call == "media_postprocessing" else _REMUX_PARAMS
    unknown = sorted(set(command.params) - set(defaults))
    problems = [f"unknown parameter '{name}' for {command.call}" for name in unknown]
    kwargs = {**defaults, **{k: v for k, v in command.params.items() if k in defaults}}
    source_media = media_type_of(command.source)
    if not Path(command.source).is_file():
        problems.append(f"source {command.source} does not exist")
    if command.call == "media_postprocessing":
        problems += _media_problems(kwargs, source_media)
    else:
        problems += _remux_problems(kwargs, source_media)
    seed = kwargs.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.append(f"seed must be an integer, not {seed!r}")
    if problems:
        raise JobError("invalid", "invalid post-processing: " + "; ".join(problems), {"problems": problems})
    if seed < 0:
        kwargs["seed"] = _seed_source.randint(0, MAX_SEED)
    return EditRequest(command.call, command.source, kwargs)


def _media_problems(kwargs: dict[str, Any], source_media: str) -> list[str]:
    problems: list[str] = []
    spatial, temporal = kwargs["spatial_upsampling"], kwargs["temporal_upsampling"]
    if not isinstance(spatial, str):
        problems.append("spatial_upsampling must be a string such as 'lanczos2'")
    elif spatial and spatial_factor(spatial) is None:
        problems.append(
            f"spatial_upsampling '{spatial}' is not one of WanGP's late upsamplers: a method of "
            f"{', '.join(SPATIAL_UPSAMPLERS)} followed by one of its multipliers (e.g. lanczos1.5, flashvsr2, coz4)"
        )
    elif spatial and source_media in _BOTH and source_media not in _spatial_media(spatial):
        problems.append(f"spatial_upsampling '{spatial}' does not take {source_media}s")
    if not isinstance(temporal, str) or (temporal and temporal not in TEMPORAL_UPSAMPLERS):
        problems.append(f"temporal_upsampling must be one of {', '.join(TEMPORAL_UPSAMPLERS)}, not {temporal!r}")
    elif temporal and source_media == "image":
        problems.append("temporal_upsampling is video-only")
    intensity, saturation = kwargs["film_grain_intensity"], kwargs["film_grain_saturation"]
    if not _number_in(intensity, 0.0, 1.0):
        problems.append(f"film_grain_intensity must be a number from 0 to 1, not {intensity!r}")
    if not _number_in(saturation, 0.0, 1.0):
        problems.append(f"film_grain_saturation must be a number from 0 to 1, not {saturation!r}")
    grain = _number_in(intensity, 0.0, 1.0) and intensity > 0
    if not problems and not spatial and not temporal and not grain:
        problems.append("choose at least one post-processing: spatial_upsampling, temporal_upsampling or film grain")
    return problems


def _remux_problems(kwargs: dict[str, Any], source_media: str) -> list[str]:
    problems: list[str] = []
    method, audio_source = kwargs["postprocess_audio"], kwargs["audio_source"]
    if method in _VOICE_METHODS:
        problems.append(f"postprocess_audio '{method}' replaces voices; a soundtrack is one of {', '.join(SOUNDTRACK_METHODS)}")
    elif method not in SOUNDTRACK_METHODS:
        problems.append(f"postprocess_audio must be one of {', '.join(SOUNDTRACK_METHODS)}, not {method!r}")
    if audio_source is not None and (not isinstance(audio_source, str) or not Path(audio_source).is_absolute()):
        problems.append("audio_source must be an absolute path")
    elif method == "custom" and audio_source is None:
        problems.append("postprocess_audio 'custom' needs audio_source (the soundtrack file)")
    elif audio_source is not None and media_type_of(audio_source) != "audio":
        problems.append(f"audio_source {audio_source} is not an audio file")
    for key in ("postprocess_audio_prompt", "postprocess_audio_neg_prompt"):
        if not isinstance(kwargs[key], str):
            problems.append(f"{key} must be a string")
    if source_media in ("image", "audio"):
        problems.append("audio remuxing is only available with videos")
    return problems


def _spatial_media(value: str) -> tuple[str, ...]:
    text = value.strip().lower()
    method = next(m for m in sorted(SPATIAL_UPSAMPLERS, key=len, reverse=True) if text.startswith(m))
    return SPATIAL_UPSAMPLERS[method][1]


def _number_in(value: Any, low: float, high: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )
