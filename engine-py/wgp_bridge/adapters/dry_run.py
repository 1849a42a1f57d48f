"""The dry-run adapter: no WanGP, no GPU. It checks each job's settings, writes `settings.json`
(exactly what the wangp adapter would send to WanGP) into the job's output folder, and reports
progress over a configurable duration — for trying a pipeline and a task list anywhere."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wgp_bridge import fake_media
from wgp_bridge.adapters.base import JobOutcome, StartInfo, Timings
from wgp_bridge.errors import JobError
from wgp_bridge.job_context import JobContext
from wgp_bridge.job_settings import prepare_settings
from wgp_bridge.media_types import media_type_of
from wgp_bridge.postprocess import edit_of, prepare_edit
from wgp_bridge.protocol import GenerateCommand, PostprocessCommand

SETTINGS_FILE = "settings.json"
DEFAULT_STEPS = 30
DEFAULT_FRAMES = 81
POSTPROCESS_STEPS = 4
# Rehearsing failures: jobs named here fail their first attempt with an out-of-memory error, as a GPU
# would, so that an operator (and `wgp-farm demo`) sees a retry happen. The marker folder is shared by
# every engine of the host, so the retry succeeds whichever slot takes it.
FAIL_ONCE_ENV = "WGP_FARM_DRY_RUN_FAIL_ONCE"
FAIL_ONCE_DIR_ENV = "WGP_FARM_DRY_RUN_FAIL_ONCE_DIR"
_SAFE_MODEL_TYPE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class DryRunOptions:
    duration_s: float
    # Optional WanGP checkout: model types are then checked against its defaults/ and finetunes/.
    wangp_root: Path | None = None


class DryRunAdapter:
    name = "dry-run"

    def __init__(self, options: DryRunOptions) -> None:
        self._options = options

    def start(self) -> StartInfo:
        return StartInfo()

    def generate(self, command: GenerateCommand, job: JobContext) -> JobOutcome:
        started = time.monotonic()
        settings = prepare_settings(command)
        model_type = settings["model_type"]
        if self._model_file(model_type) is None and self._options.wangp_root is not None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        steps = settings.get("num_inference_steps") or DEFAULT_STEPS
        pause = self._options.duration_s / steps
        fails_at = steps // 2 if _first_rehearsed_failure(command.id) else None
        for step in range(1, steps + 1):
            if job.cancelled.wait(pause) if pause > 0 else job.cancelled.is_set():
                raise JobError("cancelled", "Generation was cancelled", {"step": step})
            if step == fails_at:
                raise JobError(
                    "oom", "CUDA out of memory (dry-run rehearsal: the first attempt fails)", {"step": step}
                )
            job.progress("inference", step, steps, round(100 * step / steps), "Dry run")
        files = [str(_write_json(Path(command.output_dir) / SETTINGS_FILE, settings))]
        if fake_media.real_media_wanted():
            width, height = fake_media.parse_resolution(settings.get("resolution"))
            frames = int(settings.get("video_length") or DEFAULT_FRAMES)
            video = Path(command.output_dir) / f"{command.output_name}.mp4"
            files.append(str(fake_media.write_test_video(video, width, height, frames).resolve()))
        total_s = round(time.monotonic() - started, 3)
        return JobOutcome(
            files, settings["seed"], model_type, settings, Timings(0.0, total_s, total_s), main_outputs=("video",)
        )

    def postprocess(self, command: PostprocessCommand, job: JobContext) -> JobOutcome:
        """Checks the call's values, writes them as settings.json, and with WGP_FARM_FAKE_MEDIA=ffmpeg
        also the post-processed video (`<source stem>_post.mp4`, as WanGP names it)."""
        started = time.monotonic()
        request = prepare_edit(command)
        steps = POSTPROCESS_STEPS
        for step in range(1, steps + 1):
            if job.cancelled.wait(self._options.duration_s / steps) if self._options.duration_s > 0 else job.cancelled.is_set():
                raise JobError("cancelled", "Post-processing was cancelled", {"step": step})
            job.progress("post_processing", step, steps, round(100 * step / steps), "Dry run")
        files = [str(_write_json(Path(command.output_dir) / SETTINGS_FILE, request.settings))]
        if fake_media.real_media_wanted() and media_type_of(request.source) == "video":
            target = Path(command.output_dir) / f"{Path(request.source).stem}_post.mp4"
            files.append(str(fake_media.write_edited_video(Path(request.source), target, edit_of(request)).resolve()))
        total_s = round(time.monotonic() - started, 3)
        return JobOutcome(
            files, request.kwargs["seed"], request.mode, request.settings, Timings(0.0, total_s, total_s),
            main_outputs=("video", "image"),
        )

    def describe(self, model_type: str) -> dict[str, Any]:
        model_file = self._model_file(model_type)
        if model_file is None and self._options.wangp_root is not None:
            raise JobError("invalid", f"Unknown model_type: {model_type}", {"model_type": model_type})
        definition = json.loads(model_file.read_text(encoding="utf-8")) if model_file else {}
        model = definition.pop("model", {})
        return {
            "model_type": model_type,
            "name": model.get("name"),
            "defaults": {**definition, "model_type": model_type},
            "lora_dir": None,
            "loras": [],
            "loras_supported": True,
            "availability": None,
        }

    def close(self) -> None:
        pass

    def _model_file(self, model_type: str) -> Path | None:
        root = self._options.wangp_root
        if root is None or not _SAFE_MODEL_TYPE.fullmatch(model_type):
            return None
        for folder in ("defaults", "finetunes"):
            candidate = root / folder / f"{model_type}.json"
            if candidate.is_file():
                return candidate
        return None


def _first_rehearsed_failure(job_id: str) -> bool:
    """True once per job named in WGP_FARM_DRY_RUN_FAIL_ONCE (a marker file records the failure)."""
    names = {name.strip() for name in os.environ.get(FAIL_ONCE_ENV, "").split(",")}
    folder = os.environ.get(FAIL_ONCE_DIR_ENV)
    if job_id not in names or not folder:
        return False
    Path(folder).mkdir(parents=True, exist_ok=True)
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", job_id)
    try:
        with open(Path(folder) / f"{safe_name}.failed", "x", encoding="utf-8"):
            return True
    except FileExistsError:
        return False


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
    return path.resolve()
