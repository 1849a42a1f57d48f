"""Real short videos for rehearsals: the dry-run engine and the WanGP test double write them instead of
placeholders when `WGP_FARM_FAKE_MEDIA=ffmpeg`, so that stitching and post-processing are checked on
real files (sizes and frame counts with ffprobe). Never used with the real WanGP.

A generation is ffmpeg's `testsrc2` at the task's resolution, frame count and fps. Post-processing
imitates what WanGP's processors do to the shape of a video: a spatial upsampler scales both sides by
its multiplier (rounded to 16 pixels, like WanGP's Lanczos), RIFE multiplies the frame count and the
fps, film grain adds noise, a soundtrack adds an audio track (the given file, else a sine tone).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

FAKE_MEDIA_ENV = "WGP_FARM_FAKE_MEDIA"
DEFAULT_FPS = 16
_ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def real_media_wanted() -> bool:
    return os.environ.get(FAKE_MEDIA_ENV, "").strip().lower() == "ffmpeg"


@dataclass(frozen=True)
class VideoShape:
    width: int
    height: int
    frames: int
    fps: float


@dataclass(frozen=True)
class Edit:
    """What to do to a video: a spatial multiplier, a frame multiplier, grain intensity, a soundtrack."""

    spatial: float = 1.0
    temporal: int = 1
    grain: float = 0.0
    soundtrack: bool = False
    audio_source: str | None = None


def parse_resolution(value: object, default: tuple[int, int] = (832, 480)) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in str(value).lower().split("x"))
        return (width, height) if width > 0 and height > 0 else default
    except ValueError:
        return default


def write_test_video(path: Path, width: int, height: int, frames: int, fps: float = DEFAULT_FPS) -> Path:
    """`frames` frames of testsrc2 at width×height (even sizes, as yuv420p needs)."""
    size = f"{_even(width)}x{_even(height)}"
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}", "-frames:v", str(max(1, frames)), *_ENCODE, str(path)])
    return path


def write_edited_video(source: Path, target: Path, edit: Edit) -> Path:
    shape = probe_video(source)
    filters = []
    fps = shape.fps
    if edit.temporal > 1:
        fps = shape.fps * edit.temporal
        filters.append(f"fps={fps}")
    if edit.spatial != 1.0:
        width = int(round(shape.width * edit.spatial / 16) * 16)
        height = int(round(shape.height * edit.spatial / 16) * 16)
        filters.append(f"scale={width}:{height}:flags=lanczos")
    if edit.grain > 0:
        filters.append(f"noise=alls={max(1, round(edit.grain * 100))}:allf=t")
    inputs = ["-i", str(source)]
    audio: list[str] = []
    if edit.soundtrack:
        duration = shape.frames / shape.fps
        if edit.audio_source:
            inputs += ["-i", edit.audio_source]
        else:
            inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration:.3f}"]
        audio = ["-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-shortest"]
    video = ["-vf", ",".join(filters), *_ENCODE] if filters else ["-c:v", "copy"]
    _ffmpeg([*inputs, *audio, *video, str(target)])
    return target


def probe_video(path: Path) -> VideoShape:
    """Width, height, exact frame count (decoded) and fps of a video's first stream."""
    completed = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
            "-show_entries", "stream=width,height,nb_read_frames,r_frame_rate", "-of", "json", str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(completed.stdout)["streams"][0]
    numerator, denominator = (int(part) for part in stream["r_frame_rate"].split("/"))
    return VideoShape(int(stream["width"]), int(stream["height"]), int(stream["nb_read_frames"]), numerator / denominator)


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _ffmpeg(args: list[str]) -> None:
    completed = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
