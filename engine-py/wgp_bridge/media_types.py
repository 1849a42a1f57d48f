"""What kind of media a WanGP output is, and which output is a job's main file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, Literal

MediaType = Literal["video", "image", "audio", "other"]
_BY_EXTENSION: dict[str, MediaType] = {
    **dict.fromkeys((".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".gif"), "video"),
    **dict.fromkeys((".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"), "image"),
    **dict.fromkeys((".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus"), "audio"),
}


def media_type_of(path: str) -> MediaType:
    return _BY_EXTENSION.get(PurePath(path).suffix.lower(), "other")


def main_outputs(model_def: dict[str, Any] | None) -> tuple[str, ...]:
    """The model's main output kinds, as WanGP's model metadata infers them (`main_output`), else
    from the definition's own flags (models/model_metadata.py: infer_main_outputs)."""
    if not isinstance(model_def, dict):
        return ()
    declared = (model_def.get("metadata") or {}).get("main_output")
    if isinstance(declared, str):
        return (declared,)
    if isinstance(declared, (list, tuple)) and declared:
        return tuple(str(kind) for kind in declared)
    if model_def.get("audio_only"):
        return ("audio",)
    if model_def.get("image_outputs"):
        return ("image",)
    return ("video",)


def pick_main_file(files: Sequence[str], wanted: Sequence[str]) -> str:
    """The last file of one of the model's main output kinds (WanGP saves the full video of sliding
    windows last); the last file when none is of those kinds."""
    for path in reversed(files):
        if media_type_of(path) in wanted:
            return path
    return files[-1]
